import { GraphQLError } from "graphql";

/** Error codes the API puts in `extensions.code`. */
export type ApiErrorCode =
  | "BAD_USER_INPUT"
  | "QUERY_TOO_COMPLEX"
  | "QUERY_TIMEOUT"
  | "NOT_INDEXED"
  | "INTERNAL_SERVER_ERROR"
  // rewardProof: the epoch is not indexed / has no settled rewards / its signed root does not follow from its report
  | "EPOCH_NOT_FOUND"
  | "EPOCH_NOT_SETTLED"
  | "REPORT_MISMATCH";

/** A GraphQL error with a code clients can switch on. */
export function apiError(code: ApiErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** Bad arguments: a cursor that is not ours, a page size out of range, a malformed address. */
export function badInput(message: string): GraphQLError {
  return apiError("BAD_USER_INPUT", message);
}

/** PostgreSQL's code for a statement cancelled by `statement_timeout`. */
const QUERY_CANCELED = "57014";
/** PostgreSQL's code for a value that does not parse as its column's type (a forged cursor). */
const INVALID_TEXT = "22P02";

/**
 * Turns an error escaping a resolver into what the client sees: ours pass as they are, a
 * statement timeout becomes QUERY_TIMEOUT, anything else is masked (details stay in the log).
 */
export function maskError(error: unknown, isDev: boolean): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (error instanceof GraphQLError && error.extensions?.code && !error.originalError) return error;
  if (original instanceof GraphQLError && original.extensions?.code) {
    return error instanceof GraphQLError
      ? new GraphQLError(original.message, { nodes: error.nodes, path: error.path, extensions: original.extensions })
      : original;
  }
  const path = error instanceof GraphQLError ? error.path : undefined;
  if ((original as { code?: string })?.code === QUERY_CANCELED) {
    return new GraphQLError("the query took longer than the statement timeout; narrow it (smaller `first`, more filters)", {
      path,
      extensions: { code: "QUERY_TIMEOUT" },
    });
  }
  if ((original as { code?: string })?.code === INVALID_TEXT) {
    return new GraphQLError("invalid cursor or argument value", { path, extensions: { code: "BAD_USER_INPUT" } });
  }
  return new GraphQLError(isDev ? `internal error: ${(original as Error)?.message}` : "internal error", {
    path,
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  });
}
