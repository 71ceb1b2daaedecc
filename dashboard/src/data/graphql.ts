/**
 * A minimal GraphQL client for the indexer's API: one POST per query, errors turned into sentences
 * a user can act on (indexer down, not synced yet, query refused). No client library: the queries
 * are fixed strings and a library would weigh more of the first page's budget than this file.
 */

/** An indexer failure in words; `code` is the API's `extensions.code` when it sent one. */
export class IndexerError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "IndexerError";
  }
}

/** Runs one query with its variables and resolves with its `data`. */
export type GraphQuery = <T>(document: string, variables?: Record<string, unknown>) => Promise<T>;

interface GraphResponse {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A client for the GraphQL endpoint at `url` (the indexer's `/graphql`). */
export function graphqlClient(url: string, fetchImpl: typeof fetch = (...args) => fetch(...args)): GraphQuery {
  return async <T>(document: string, variables?: Record<string, unknown>) => {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: document, variables }),
      });
    } catch {
      // fetch only throws when no answer came back at all (refused, DNS, CORS, offline).
      throw new IndexerError(
        `The indexer at ${url} is unreachable, so lists, history and totals cannot be shown. Check that it is running (\`npm run indexer -- all\`).`,
        "UNREACHABLE",
      );
    }
    let body: GraphResponse;
    try {
      body = (await response.json()) as GraphResponse;
    } catch {
      throw new IndexerError(`The indexer at ${url} answered HTTP ${response.status} without a GraphQL response.`, "BAD_RESPONSE");
    }
    const [error] = body.errors ?? [];
    if (error) {
      const code = error.extensions?.code;
      if (code === "NOT_INDEXED") throw new IndexerError("The indexer has not indexed any block yet; try again in a moment.", code);
      throw new IndexerError(`The indexer refused the query: ${error.message}${code ? ` (${code})` : ""}.`, code);
    }
    if (!response.ok || body.data == null) throw new IndexerError(`The indexer at ${url} answered HTTP ${response.status} without data.`, "BAD_RESPONSE");
    return body.data as T;
  };
}
