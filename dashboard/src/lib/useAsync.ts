import { useEffect, useState } from "react";
import { describeError } from "./revert";

/** The three states of a read: loading, failed (in words), or its data. */
export interface AsyncState<T> {
  data?: T;
  error?: string;
  loading: boolean;
}

/**
 * Runs `load` whenever `deps` change and keeps the last result while reloading, so a refresh
 * after a transaction does not flash the page back to a spinner.
 */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err) => live && setState({ error: describeError(err), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}
