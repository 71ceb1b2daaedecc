import type { AsyncState } from "../lib/useAsync";
import type { ReactNode } from "react";

/**
 * Renders a read's loading and error states in words, and its data through `children` once
 * loaded (keeping stale data on screen while a refresh runs).
 */
export function Loaded<T>({ state, what, children }: { state: AsyncState<T>; what: string; children: (data: T) => ReactNode }) {
  if (state.data !== undefined) return <>{children(state.data)}</>;
  if (state.error)
    return (
      <p role="alert" className="error">
        Could not load {what}: {state.error}
      </p>
    );
  return <p aria-busy="true">Loading {what}…</p>;
}

/**
 * Says that a source (the indexer) failed and what is shown instead, and offers to read again:
 * the page keeps working from the chain and the formulas while the source is down.
 */
export function StaleBanner({ what, reason, fallback, onRetry }: { what: string; reason: string; fallback: string; onRetry: () => void }) {
  return (
    <div role="alert" className="stale" data-testid="stale-banner">
      <p>
        Could not load {what}: {reason} Data may be stale. {fallback}
      </p>
      <button type="button" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
