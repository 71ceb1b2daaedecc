/**
 * Whether an error is the chain's RPC endpoint being unreachable or failing (connection refused or
 * reset, a timeout, a 5xx or garbled answer), as opposed to a contract's revert or a bug: callers
 * answer such a failure 503 "retry shortly" rather than 500, since nothing is wrong with the request.
 */
import { isError } from "ethers";

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

/** True when `error` says the RPC endpoint could not answer (see the module's comment). */
export function isChainUnreachable(error: unknown): boolean {
  if (isError(error, "NETWORK_ERROR") || isError(error, "SERVER_ERROR") || isError(error, "TIMEOUT")) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && NETWORK_CODES.has(code);
}
