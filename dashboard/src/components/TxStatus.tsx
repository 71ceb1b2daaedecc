import type { TxState } from "../lib/useTransaction";
import { shortAddress } from "../lib/format";
import { CopyButton } from "./CopyButton";

/**
 * The state of the last transaction of a form, announced to screen readers as it changes, with a
 * button that copies the transaction's full hash once there is one (to look it up in an explorer).
 */
export function TxStatus({ state }: { state: TxState }) {
  if (state.status === "idle") return null;
  const text = {
    wallet: `${state.step}: confirm in your wallet…`,
    pending: `${state.step}: pending${"hash" in state ? ` (${shortAddress(state.hash)})` : ""}…`,
    confirmed: `${state.step}: confirmed${"block" in state ? ` in block ${state.block}` : ""}.`,
    failed: `${state.step} failed: ${"reason" in state ? state.reason : ""}`,
  }[state.status];
  return (
    <div className="tx-line">
      <p className={`tx tx-${state.status}`} role={state.status === "failed" ? "alert" : "status"} data-testid="tx-status" data-status={state.status}>
        {text}
      </p>
      {"hash" in state && <CopyButton value={state.hash} label="Copy transaction hash" />}
    </div>
  );
}
