/** Why an origin fetch failed; the gateway maps each to its HTTP status. */
export type OriginFailure =
  | "bad-pointer" // not a URL this node fetches from (400)
  | "timeout" // no answer, or the body stalled, within the time limits (504)
  | "upstream-status" // the origin answered with a non-200 status (502)
  | "integrity" // the bytes do not match the integrity hash or the CID (502)
  | "too-large" // the content exceeds the size limit (413)
  | "network"; // connection refused, reset, truncated body (502)

/** A failed origin fetch; nothing was stored. */
export class OriginError extends Error {
  constructor(
    readonly failure: OriginFailure,
    message: string,
  ) {
    super(message);
  }
}
