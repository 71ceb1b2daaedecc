import type { TxState } from "../lib/useTransaction";
import { shortAddress } from "../lib/format";

/** The state of the last transaction of a form, announced to screen readers as it changes. */
export function TxStatus({ state }: { state: TxState }) {
  if (state.status === "idle") return null;
  const text = {
    wallet: `${state.step}: confirm in your wallet…`,
    pending: `${state.step}: pending${"hash" in state ? ` (${shortAddress(state.hash)})` : ""}…`,
    confirmed: `${state.step}: confirmed${"block" in state ? ` in block ${state.block}` : ""}.`,
    failed: `${state.step} failed: ${"reason" in state ? state.reason : ""}`,
  }[state.status];
  return (
    <p className={`tx tx-${state.status}`} role={state.status === "failed" ? "alert" : "status"} data-testid="tx-status" data-status={state.status}>
      {text}
    </p>
  );
}
