/**
 * The Agents page's payment in the creator token (docs/agents.md "Calls paid in the creator
 * token"): the caller's deposit in TokenCallEscrow for the agent's token and the gateway's node,
 * a deposit (approve then deposit), its withdrawal (request, then withdraw after the delay), and
 * "Call with token", which the call form runs.
 */
import type { JsonRpcSigner } from "ethers";
import { useApp } from "../AppContext";
import { connectSuite, creatorToken } from "../lib/contracts";
import { useInputTransaction } from "../lib/useTransaction";
import { useSuite } from "../lib/useChain";
import { gatewayTokenNode, type TokenPayer } from "../lib/tokenCalls";
import { useAsync } from "../lib/useAsync";
import { tokenChannelId, tokenVoucherDomain } from "../../../protocol/tokenVoucher";
import { useTokenCalls, type TokenCallsData } from "../hooks/useTokenCalls";
import { useAllowance } from "../hooks/useAllowance";
import { AmountField, readAmount } from "../components/AmountField";
import { ApprovalSteps } from "../components/ApprovalSteps";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { TxStatus } from "../components/TxStatus";
import { formatDateTime, formatToken } from "../lib/format";
import type { AgentInfo } from "../data/source";

/** What the token payment's parts share: the agent, the wallet, and the call form's call. */
interface PaymentProps {
  agent: AgentInfo;
  signer: JsonRpcSigner;
  account: string;
  busy: boolean;
  call?: (payment: TokenPayer, symbol: string) => Promise<void>;
}

/**
 * Paying an agent's calls in its owner's creator token (docs/agents.md "Calls paid in the creator
 * token") through the gateway the call form names: the page asks the gateway which registry node
 * admits token calls there, since a deposit backs only the vouchers of the node it was made for.
 * The page keeps each channel's cumulative in its storage.
 */
export function TokenPayment({ gateway, ...props }: PaymentProps & { gateway: string }) {
  const node = useAsync(async () => (gateway === "" ? null : gatewayTokenNode(gateway)), [gateway]);
  return (
    // Inside the call form: Enter in its inputs must not submit the form, which would send a USDC-paid call.
    <fieldset className="card" data-testid="token-payment" onKeyDown={(e) => e.key === "Enter" && e.target instanceof HTMLInputElement && e.preventDefault()}>
      <legend>Pay in the owner&apos;s creator token</legend>
      <Loaded state={node} what="the gateway's node">
        {(nodeId) =>
          nodeId === null ? (
            <p className="hint" data-testid="token-no-node">
              {gateway === ""
                ? "Name a gateway above: deposits are made for the node that serves the calls."
                : `The gateway at ${gateway} takes no calls paid in creator tokens: name another gateway above.`}
            </p>
          ) : (
            <TokenPaymentOnNode key={nodeId} nodeId={nodeId} {...props} />
          )
        }
      </Loaded>
    </fieldset>
  );
}

function TokenPaymentOnNode(props: PaymentProps & { nodeId: number }) {
  const state = useTokenCalls(props.account, props.agent.id, props.agent.owner, props.nodeId);
  return (
    <Loaded state={state} what="your creator-token deposit">
      {(t) => (t ? <TokenPaymentFields data={t} {...props} /> : <p className="hint">The agent&apos;s owner has no creator token yet.</p>)}
    </Loaded>
  );
}

/** The deposit for node `nodeId` (the gateway's), its withdrawal, and the token call through that node. */
export function TokenPaymentFields({ data: t, nodeId, agent, signer, account, busy, call }: PaymentProps & { data: TokenCallsData; nodeId: number }) {
  const { deployment, refresh } = useApp();
  const reads = useSuite();
  const allowance = useAllowance(t.token, account, "tokenCallEscrow");
  const { text, setText, tx } = useInputTransaction(refresh);
  const tokens = (wei: bigint) => formatToken(wei, t.symbol);
  const parsed = text === "" ? {} : readAmount(text);
  const amountError =
    parsed.value === 0n ? "The amount must be more than zero." : parsed.value! > t.wallet ? `Your wallet holds ${tokens(t.wallet)}.` : undefined;
  const amount = parsed.value !== undefined && !amountError ? parsed.value : undefined;
  const deposit = () =>
    tx.run(async (send) => {
      const escrow = connectSuite(deployment, signer).tokenCallEscrow;
      // Approve only what is missing: an exact allowance, never an unlimited one.
      if ((allowance.data ?? 0n) < amount!)
        await send(`Approve ${t.symbol}`, () => creatorToken(t.token, signer).approve(deployment.contracts.tokenCallEscrow, amount!));
      await send(`Deposit ${t.symbol}`, () => escrow.deposit(agent.owner, nodeId, amount!));
    }, t.symbol);
  const callWithToken = () => {
    const channel = { caller: account, agentId: BigInt(agent.id), nodeId, token: t.token };
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
        <Stat label="Node (the gateway's)" value={`#${nodeId}`} testId="token-node" />
        <Stat label={`Your deposit of ${t.symbol} for node #${nodeId}`} value={tokens(t.balance)} testId="token-deposit" />
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
      <TokenWithdrawal data={t} nodeId={nodeId} signer={signer} />
      <div className="actions">
        <button type="button" disabled={busy || !call || t.price === 0n} onClick={callWithToken}>
          Call with token
        </button>
      </div>
      <p className="hint" data-testid="token-call-note">
        {t.price > 0n
          ? `Each call signs a voucher in your wallet raising what you owe node #${nodeId} for this agent by ${tokens(t.price)}; the node admits it against your deposit for it (less a requested withdrawal) and redeems it later. The deposit stays yours until the node redeems it (withdrawals wait out a delay, so the node can redeem first).`
          : `The agent has no price in ${t.symbol} in epoch ${t.epoch}: pay in USDC, or wait for the epoch its token price starts.`}
      </p>
    </>
  );
}

/**
 * Taking back the deposit for node `nodeId`: a request (which stops backing new calls at once and
 * replaces an earlier one), then the withdrawal once the chain's time reaches its `readyAt`.
 */
function TokenWithdrawal({ data: t, nodeId, signer }: { data: TokenCallsData; nodeId: number; signer: JsonRpcSigner }) {
  const { deployment, refresh } = useApp();
  const { text, setText, tx } = useInputTransaction(refresh);
  const tokens = (wei: bigint) => formatToken(wei, t.symbol);
  const parsed = text === "" ? {} : readAmount(text);
  const amountError =
    parsed.value === 0n
      ? "The amount must be more than zero."
      : parsed.value! > t.balance
        ? `Your deposit for node #${nodeId} holds ${tokens(t.balance)}.`
        : undefined;
  const amount = parsed.value !== undefined && !amountError ? parsed.value : undefined;
  const ready = t.pending > 0n && t.now >= t.readyAt;
  const escrow = () => connectSuite(deployment, signer).tokenCallEscrow;
  return (
    <div data-testid="token-withdraw">
      <AmountField label="Amount to withdraw" value={text} onChange={setText} max={t.balance} symbol={t.symbol} check={() => amountError} />
      <div className="actions">
        <button
          type="button"
          disabled={tx.busy || amount === undefined}
          onClick={() => tx.run((send) => send("Request withdrawal", () => escrow().requestWithdrawal(t.token, nodeId, amount!)), t.symbol)}
        >
          Request withdrawal
        </button>
        <button
          type="button"
          disabled={tx.busy || !ready}
          onClick={() => tx.run((send) => send("Withdraw", () => escrow().withdraw(t.token, nodeId)), t.symbol)}
        >
          Withdraw
        </button>
      </div>
      <p className="hint" data-testid="token-withdraw-note">
        {t.pending === 0n
          ? "A withdrawal is requested first and taken after a delay, so the node can redeem the calls it served."
          : ready
            ? `${tokens(t.pending)} can be withdrawn now (less what the node redeemed meanwhile).`
            : `${tokens(t.pending)} can be withdrawn from ${formatDateTime(t.readyAt)}; it no longer backs new calls.`}
      </p>
      <TxStatus state={tx.state} />
    </div>
  );
}
