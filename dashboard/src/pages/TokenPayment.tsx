/**
 * The Agents page's payment in the creator token (docs/agents.md "Calls paid in the creator
 * token"): the caller's deposit in TokenCallEscrow for the agent's token, its withdrawal request,
 * a deposit (approve then deposit), and "Call with token", which the call form runs.
 */
import { useState } from "react";
import type { JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { connectSuite, creatorToken } from "../lib/contracts";
import { useInputTransaction } from "../lib/useTransaction";
import { useSuite } from "../lib/useChain";
import { type TokenPayer } from "../lib/tokenCalls";
import { tokenChannelId, tokenVoucherDomain } from "../../../protocol/tokenVoucher";
import { useTokenCalls, type TokenCallsData } from "../hooks/useTokenCalls";
import { useAllowance } from "../hooks/useAllowance";
import { AmountField, readAmount } from "../components/AmountField";
import { ApprovalSteps } from "../components/ApprovalSteps";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { TextField } from "../components/TextField";
import { TxStatus } from "../components/TxStatus";
import { formatDateTime, formatToken } from "../lib/format";
import type { AgentInfo } from "../data/source";

/**
 * Paying an agent's calls in its owner's creator token (docs/agents.md "Calls paid in the creator
 * token"): the caller's deposit in TokenCallEscrow and its withdrawal request, a deposit (approve
 * then deposit), and "Call with token" through the node whose id the caller names: vouchers are
 * per node, and the page keeps each channel's cumulative in its storage.
 */
export function TokenPayment({
  agent,
  signer,
  account,
  busy,
  call,
}: {
  agent: AgentInfo;
  signer: JsonRpcSigner;
  account: string;
  busy: boolean;
  call?: (payment: TokenPayer, symbol: string) => Promise<void>;
}) {
  const state = useTokenCalls(account, agent.id, agent.owner);
  return (
    // Inside the call form: Enter in its inputs must not submit the form, which would send a USDC-paid call.
    <fieldset className="card" data-testid="token-payment" onKeyDown={(e) => e.key === "Enter" && e.target instanceof HTMLInputElement && e.preventDefault()}>
      <legend>Pay in the owner&apos;s creator token</legend>
      <Loaded state={state} what="your creator-token deposit">
        {(t) =>
          t ? (
            <TokenPaymentFields data={t} agent={agent} signer={signer} account={account} busy={busy} call={call} />
          ) : (
            <p className="hint">The agent&apos;s owner has no creator token yet.</p>
          )
        }
      </Loaded>
    </fieldset>
  );
}

export function TokenPaymentFields({
  data: t,
  agent,
  signer,
  account,
  busy,
  call,
}: {
  data: TokenCallsData;
  agent: AgentInfo;
  signer: JsonRpcSigner;
  account: string;
  busy: boolean;
  call?: (payment: TokenPayer, symbol: string) => Promise<void>;
}) {
  const { deployment, refresh } = useApp();
  const reads = useSuite();
  const allowance = useAllowance(t.token, account, "tokenCallEscrow");
  const { text, setText, tx } = useInputTransaction(refresh);
  const [node, setNode] = useState("");
  const tokens = (wei: bigint) => formatToken(wei, t.symbol);
  const parsed = text === "" ? {} : readAmount(text);
  const amountError =
    parsed.value === 0n ? "The amount must be more than zero." : parsed.value! > t.wallet ? `Your wallet holds ${tokens(t.wallet)}.` : undefined;
  const amount = parsed.value !== undefined && !amountError ? parsed.value : undefined;
  const nodeError = node === "" || /^[1-9][0-9]{0,9}$/.test(node) ? undefined : "A node id: a whole number from 1.";
  const deposit = () =>
    tx.run(async (send) => {
      const escrow = connectSuite(deployment, signer).tokenCallEscrow;
      // Approve only what is missing: an exact allowance, never an unlimited one.
      if ((allowance.data ?? 0n) < amount!)
        await send(`Approve ${t.symbol}`, () => creatorToken(t.token, signer).approve(deployment.contracts.tokenCallEscrow, amount!));
      await send(`Deposit ${t.symbol}`, () => escrow.deposit(agent.owner, amount!));
    }, t.symbol);
  const callWithToken = () => {
    const channel = { caller: account, agentId: BigInt(agent.id), nodeId: Number(node), token: t.token };
    void call!(
      {
        signer,
        storage: localStorage,
        domain: tokenVoucherDomain(BigInt(deployment.chainId), deployment.contracts.tokenCallEscrow),
        channel,
        // The chain's figure at the call: a node may have redeemed past what this page stored (another browser's vouchers).
        redeemed: () => reads.tokenCallEscrow.redeemed(tokenChannelId(channel)),
        price: t.price,
      },
      t.symbol,
    );
  };
  return (
    <>
      <dl className="stats">
        <Stat label={`Your deposit of ${t.symbol}`} value={tokens(t.balance)} testId="token-deposit" />
        <Stat
          label="Requested withdrawal"
          value={t.pending > 0n ? `${tokens(t.pending)} from ${formatDateTime(t.readyAt)}` : "none"}
          testId="token-withdrawal"
        />
        <Stat label={`Price per call in epoch ${t.epoch}`} value={t.price > 0n ? tokens(t.price) : "none"} testId="token-price" />
        <Stat label={`${t.symbol} in your wallet`} value={tokens(t.wallet)} testId="token-wallet" />
      </dl>
      <AmountField label="Amount to deposit" value={text} onChange={setText} max={t.wallet} symbol={t.symbol} check={() => amountError} />
      <ApprovalSteps
        approve={`Approve ${t.symbol}`}
        action={`Deposit ${t.symbol}`}
        amount={amount}
        allowance={allowance.data}
        state={tx.state}
        approveText={`Approve ${tokens(amount ?? 0n)} for TokenCallEscrow`}
        actionText={`Deposit ${tokens(amount ?? 0n)}`}
      />
      <div className="actions">
        <button type="button" disabled={tx.busy || amount === undefined} onClick={deposit}>
          Deposit
        </button>
      </div>
      <TxStatus state={tx.state} />
      <TextField
        label="Node id (the gateway's node in the registry)"
        inputMode="numeric"
        value={node}
        onChange={(v) => setNode(v.trim())}
        error={nodeError}
        testId="token-node"
      />
      <div className="actions">
        <button type="button" disabled={busy || !call || node === "" || !!nodeError || t.price === 0n} onClick={callWithToken}>
          Call with token
        </button>
      </div>
      <p className="hint" data-testid="token-call-note">
        {t.price > 0n
          ? `Each call signs a voucher in your wallet raising what you owe the node for this agent by ${tokens(t.price)}; the node admits it against your deposit and redeems it later. The deposit stays yours until a node redeems it (withdrawals wait out a delay, so nodes can redeem first).`
          : `The agent has no price in ${t.symbol} in epoch ${t.epoch}: pay in USDC, or wait for the epoch its token price starts.`}
      </p>
    </>
  );
}
