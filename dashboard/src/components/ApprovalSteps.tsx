import type { TxState } from "../lib/useTransaction";

/** Where one step of an approve-then-act sequence stands. */
export type StepStatus = "to do" | "not needed" | "confirm in your wallet" | "pending" | "done" | "failed";

/**
 * The two steps of a transfer from the wallet to a contract, from the sequence's state: the token
 * approval (not needed when the allowance covers `amount`) and the action. `approve` and `action`
 * are the step names the form passes to `send`, so the state names the step it is at.
 */
function approvalSteps({
  approve,
  action,
  amount,
  allowance,
  state,
}: {
  approve: string;
  action: string;
  amount: bigint;
  allowance: bigint | undefined;
  state: TxState;
}): [StepStatus, StepStatus] {
  const at = state.status === "idle" ? -1 : [approve, action].indexOf(state.step);
  // Unknown allowance: the approval may be needed, and the form checks again before sending.
  const needed = allowance === undefined || allowance < amount;
  const untouched: StepStatus = needed ? "to do" : "not needed";
  const ongoing = { wallet: "confirm in your wallet", pending: "pending", confirmed: "done", failed: "failed", idle: "to do" } as const;
  if (at === 0) return [ongoing[state.status], "to do"];
  // At the action, the approval was sent before it, or skipped because the allowance covered the amount.
  if (at === 1) return [needed ? "done" : "not needed", ongoing[state.status]];
  return [untouched, "to do"];
}

/**
 * "1. Approve 20,000 FLK for the staking contract, 2. Stake", each with its status, shown before
 * and while a form sends: the wallet asks for two signatures, and users should know why.
 */
export function ApprovalSteps(props: {
  approve: string;
  action: string;
  amount: bigint | undefined;
  allowance: bigint | undefined;
  state: TxState;
  approveText: string;
  actionText: string;
}) {
  const { amount, approveText, actionText } = props;
  if (amount === undefined || amount === 0n) return null;
  const [first, second] = approvalSteps({ ...props, amount });
  return (
    <ol className="steps" aria-label="Steps" data-testid="approval-steps">
      <li data-step={first}>
        {approveText} <span className="hint">({first})</span>
      </li>
      <li data-step={second}>
        {actionText} <span className="hint">({second})</span>
      </li>
    </ol>
  );
}
