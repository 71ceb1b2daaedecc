import type { ReactNode } from "react";

/**
 * The steps before a transaction (uploads through a gateway, checks on chain): a busy line while
 * they run, what they produced (e.g. the uploaded roots), or why they failed, as an alert.
 */
export function UploadStatus({
  busy,
  busyText,
  done,
  doneTestId,
  error,
  errorTestId,
}: {
  busy: boolean;
  busyText: string;
  done?: ReactNode;
  doneTestId?: string;
  error?: string;
  errorTestId: string;
}) {
  return (
    <>
      {busy && <p aria-busy="true">{busyText}</p>}
      {done && (
        <p className="hint" data-testid={doneTestId}>
          {done}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid={errorTestId}>
          {error}
        </p>
      )}
    </>
  );
}
