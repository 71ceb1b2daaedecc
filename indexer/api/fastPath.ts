import type http from "node:http";
import { execute, type DocumentNode, type GraphQLSchema } from "graphql";
import type { Plugin } from "graphql-yoga";
import { LRUCache } from "lru-cache";

/** Largest request body the fast path reads itself; larger ones go to yoga, which has its own limit. */
const FAST_PATH_MAX_BODY = 64 * 1024;

/** Query documents remembered as having passed yoga's parsing, limits and validation. */
const VALIDATED_DOCUMENTS = 1_000;

/** A GraphQL request's JSON body. */
export interface GraphQLParams {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

/**
 * Reads a plain `POST /graphql` with a small JSON body and returns its parameters; `undefined` for
 * anything unusual (a chunked or large body, GraphQL's own media type, a browser's cross-origin
 * request that needs CORS headers, malformed JSON), which takes yoga's path; `"gone"` when the
 * client went away mid-body (nobody to answer). Once the body is read it is left on `req.body`,
 * where yoga (through @whatwg-node/server) takes it instead of reading the consumed stream.
 */
export async function readPlainJsonPost(req: http.IncomingMessage): Promise<GraphQLParams | "gone" | undefined> {
  if (req.method !== "POST" || req.url !== "/graphql") return undefined;
  const length = Number(req.headers["content-length"]);
  const accept = req.headers.accept ?? "*/*";
  if (!(length > 0 && length <= FAST_PATH_MAX_BODY) || !/application\/json|\*\/\*/.test(accept) || accept.includes("graphql-response")) return undefined;
  if (req.headers.origin) return undefined;
  if (!req.headers["content-type"]?.startsWith("application/json")) return undefined;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return "gone";
  }
  const text = chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8");
  let params: GraphQLParams | undefined;
  try {
    params = JSON.parse(text);
  } catch {
    // yoga answers malformed JSON with its usual error
  }
  (req as { body?: unknown }).body = params && typeof params === "object" && Object.keys(params).length > 0 ? params : text;
  return params && typeof params === "object" && typeof params.query === "string" ? params : undefined;
}

/**
 * Executes, without yoga's HTTP and envelop layers, the queries yoga has already parsed, checked
 * against every limit and validated once: a plain JSON POST of such a query runs graphql-js's
 * `execute` on the remembered document and sends its JSON. Yoga stays the reference for
 * everything else: a query seen for the first time, any failure to parse or validate, variables
 * that do not coerce (an answer without data), so every limit and error answer is yoga's own.
 * Errors during execution are masked with the same function yoga uses.
 *
 * Measured (bench/indexer, `--cache-mb 0`): yoga's pipeline (@whatwg-node's Request/Response,
 * envelop's hooks, the parse and validation cache lookups) was about a third of serve's CPU per
 * executed request.
 */
export class FastPath {
  /** Query text → its document, for documents yoga validated without errors. */
  private readonly validated = new LRUCache<string, DocumentNode>({ max: VALIDATED_DOCUMENTS });
  /** Requests answered here (for tests and the bench). */
  answered = 0;
  /** Documents yoga parsed, back to their text (yoga's parser cache returns one object per text). */
  private readonly sources = new WeakMap<DocumentNode, string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly context: () => unknown,
    private readonly mask: (error: unknown) => Error,
  ) {}

  /** The yoga plugin that learns which documents passed parsing, the limits and validation. */
  plugin(): Plugin {
    return {
      onParse: ({ params }) => {
        const source = typeof params.source === "string" ? params.source : params.source.body;
        return ({ result }) => {
          if (result && typeof result === "object" && "kind" in result) this.sources.set(result as DocumentNode, source);
        };
      },
      onValidate: ({ params }) => {
        const document = params.documentAST;
        return ({ valid, result }) => {
          const source = this.sources.get(document);
          if (valid && result.length === 0 && source !== undefined) this.validated.set(source, document);
        };
      },
    };
  }

  /**
   * Answers `params` if its query is a known valid document and its execution gives data; returns
   * false (nothing sent) when yoga must answer it.
   */
  async serve(params: GraphQLParams, res: http.ServerResponse): Promise<boolean> {
    const document = this.validated.get(params.query as string);
    if (!document) return false;
    const variables = params.variables;
    if (variables != null && (typeof variables !== "object" || Array.isArray(variables))) return false;
    const result = await execute({
      schema: this.schema,
      document,
      variableValues: variables as Record<string, unknown> | null | undefined,
      operationName: typeof params.operationName === "string" ? params.operationName : undefined,
      contextValue: this.context(),
    });
    // A request error (no data: the operation or variables did not fit): yoga's answer, status and all.
    if (!("data" in result) || result.data === undefined) return false;
    const body = result.errors?.length ? { errors: result.errors.map((e) => this.mask(e)), data: result.data } : { data: result.data };
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
    this.answered++;
    return true;
  }
}
