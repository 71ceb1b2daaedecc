/**
 * The Account page's service escrow (docs/payments.md): the client's prepaid USDC, its spending
 * limit per epoch (a change takes effect at the next epoch), deposits and announced withdrawals.
 */
import { useInputTransaction, useTransaction } from "../lib/useTransaction";
import type { Suite } from "../lib/contracts";
import { useEscrow, type EscrowData } from "../hooks/useEscrow";
import { parseEscrowAmount, parseSpendingLimit } from "../lib/escrow";
import { Loaded } from "../components/Status";
import { Stat } from "../components/Stat";
import { TxStatus } from "../components/TxStatus";
import { AmountField } from "../components/AmountField";
import { ApprovalSteps } from "../components/ApprovalSteps";
import { formatDateTime, formatDuration, formatUsdc, USDC_DECIMALS } from "../lib/format";

/** The escrow section: figures, then the limit, deposit and withdrawal forms. */
export function EscrowSection({ writer, account, onDone }: { writer: Suite; account: string; onDone: () => void }) {
  const state = useEscrow(account);
  return (
    <section aria-labelledby="escrow-h">
      <h2 id="escrow-h">Service escrow</h2>
      <Loaded state={state} what="your escrow">
        {(e) => (
          <>
            <dl className="stats">
              <Stat label="Escrow balance" value={formatUsdc(e.balance)} testId="escrow-balance" />
              <Stat label={`Spending limit in epoch ${e.epoch}`} value={`${formatUsdc(e.limit)} per epoch`} testId="spending-limit" />
              <Stat
                label="Next limit"
                value={e.pending ? `${formatUsdc(e.pending.limit)} from epoch ${e.pending.fromEpoch}` : "unchanged"}
                testId="pending-limit"
              />
              <Stat label="Reserved for this epoch's report" value={formatUsdc(e.debitable)} testId="escrow-reserved" />
              <Stat label="USDC in your wallet" value={formatUsdc(e.wallet)} testId="usdc-wallet" />
            </dl>
            <p className="hint">
              Each epoch's report may debit at most the smaller of your balance and your spending limit. That much stays reserved until the report; the rest can
              be withdrawn after a notice of {formatDuration(e.noticePeriod)}.
            </p>
            <SpendingLimitForm data={e} writer={writer} onDone={onDone} />
            <DepositForm data={e} writer={writer} account={account} onDone={onDone} />
            <WithdrawForms data={e} writer={writer} onDone={onDone} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function SpendingLimitForm({ data, writer, onDone }: { data: EscrowData; writer: Suite; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const parsed = text === "" ? {} : parseSpendingLimit(text);
  const limit = parsed.value;
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Set spending limit">
      <AmountField label="New spending limit per epoch" value={text} onChange={setText} symbol="USDC" decimals={USDC_DECIMALS} check={() => parsed.error} />
      <p className="hint" data-testid="limit-note">
        Takes effect at the next epoch (epoch {data.epoch + 1}): this epoch's limit of {formatUsdc(data.limit)} stays, since the report may already count on it.
        0 stops all debits from then on and frees your whole balance for withdrawal.
      </p>
      <div className="actions">
        <button
          type="submit"
          disabled={tx.busy || limit === undefined}
          onClick={() => tx.run((send) => send("Set spending limit", () => writer.escrow.setSpendingLimit(limit!)), "USDC")}
        >
          Set limit from epoch {data.epoch + 1}
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

function DepositForm({ data, writer, account, onDone }: { data: EscrowData; writer: Suite; account: string; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const parsed = text === "" ? {} : parseEscrowAmount(text, data.wallet, "Your wallet holds");
  const amount = parsed.value;
  const deposit = () =>
    tx.run(async (send) => {
      const spender = await writer.escrow.getAddress();
      // Approve only what is missing: an exact allowance, never an unlimited one.
      if (data.allowance < amount!) await send("Approve USDC", () => writer.usdc.approve(spender, amount!));
      await send("Deposit", () => writer.escrow.deposit(account, amount!));
    }, "USDC");
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Deposit USDC">
      <AmountField
        label="Amount to deposit"
        value={text}
        onChange={setText}
        max={data.wallet}
        symbol="USDC"
        decimals={USDC_DECIMALS}
        check={() => parsed.error}
      />
      <ApprovalSteps
        approve="Approve USDC"
        action="Deposit"
        amount={amount}
        allowance={data.allowance}
        state={tx.state}
        approveText={`Approve ${formatUsdc(amount ?? 0n)} for the escrow`}
        actionText={`Deposit ${formatUsdc(amount ?? 0n)}`}
      />
      <div className="actions">
        <button type="submit" disabled={tx.busy || amount === undefined} onClick={deposit}>
          Deposit
        </button>
      </div>
      <TxStatus state={tx.state} />
    </form>
  );
}

/** Announce a withdrawal, then withdraw after the notice what the epoch's reserve leaves. */
function WithdrawForms({ data, writer, onDone }: { data: EscrowData; writer: Suite; onDone: () => void }) {
  const { text, setText, tx } = useInputTransaction(onDone);
  const withdraw = useTransaction(onDone);
  const parsed = text === "" ? {} : parseEscrowAmount(text, data.balance, "Your escrow balance is");
  const amount = parsed.value;
  return (
    <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Withdraw USDC">
      <AmountField
        label="Amount to withdraw"
        value={text}
        onChange={setText}
        max={data.balance}
        symbol="USDC"
        decimals={USDC_DECIMALS}
        check={() => parsed.error}
      />
      <p className="hint" data-testid="withdrawal-note">
        {data.announced === 0n
          ? `Announce it first; it can be withdrawn after ${formatDuration(data.noticePeriod)}. A new announcement replaces the earlier one.`
          : `Announced: ${formatUsdc(data.announced)}, withdrawable from ${formatDateTime(data.withdrawableAt)}; now it would pay ${formatUsdc(data.payout)} (what is reserved for this epoch's report stays).`}
      </p>
      <div className="actions">
        <button
          type="submit"
          disabled={tx.busy || amount === undefined}
          onClick={() => tx.run((send) => send("Announce withdrawal", () => writer.escrow.requestWithdrawal(amount!)), "USDC")}
        >
          Announce withdrawal
        </button>
        <button
          type="button"
          disabled={withdraw.busy || !data.noticePassed || data.payout === 0n}
          onClick={() => withdraw.run((send) => send("Withdraw USDC", () => writer.escrow.withdraw()), "USDC")}
        >
          {data.noticePassed ? `Withdraw ${formatUsdc(data.payout)}` : "Withdraw"}
        </button>
      </div>
      <TxStatus state={tx.state} />
      <TxStatus state={withdraw.state} />
    </form>
  );
}
