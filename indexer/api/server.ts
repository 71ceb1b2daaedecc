import http from "node:http";
import type { AddressInfo } from "node:net";
import type { GraphQLError } from "graphql";
import { createYoga, type Plugin } from "graphql-yoga";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { IndexerDatabase } from "../store/database";
import { maskError } from "./errors";
import { ResponseCache } from "./responseCache";
import { FastPath, readPlainJsonPost } from "./fastPath";
import { buildSchema } from "./schema";
import { createContext, health } from "./schemaCore";
import { apiDatabase } from "./apiDatabase";
import { readSyncState } from "../store/syncState";
import { watchSyncState, type KnownState, type SyncStateWatcher } from "./stateWatcher";

/** Limits every query must pass before it runs. */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
}

/**
 * Defaults: the schema has no recursive types, so its own queries stay shallow; the depth limit
 * also covers introspection (whose nested `ofType` chains are the usual depth bomb) with room for
 * GraphiQL's standard introspection query (depth 21). Armor's cost multiplies by `first`: a full
 * page of 1,000 of the widest rows costs about 40,000.
 */
export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 25, maxAliases: 20, maxCost: 50_000, maxTokens: 2_000 };

/** Options of {@link createApi}. */
export interface ApiOptions {
  database: IndexerDatabase;
  /** GraphiQL and unmasked internal errors. */
  dev?: boolean;
  limits?: Partial<QueryLimits>;
  /** MiB of answers kept per process for the current sync state (default 64; 0 turns caching off). */
  cacheMb?: number;
}

// Armor's rejections carry no code: give them one clients can switch on.
const tooComplex = [(_: unknown, err: GraphQLError) => void Object.assign(err.extensions as object, { code: "QUERY_TOO_COMPLEX" })];

/**
 * The GraphQL handler (graphql-yoga) with limits, error codes and masking; answers go into `cache`
 * when one is given. Without a cache, `fastPath` (returned) executes the plain JSON POSTs of
 * queries yoga has validated before.
 */
export function createApi(options: ApiOptions, watcher?: SyncStateWatcher, cache?: ResponseCache) {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const dev = options.dev ?? false;
  const schema = buildSchema();
  const db = apiDatabase(options.database.db);
  const context = () => createContext(db, options.database.db, watcher);
  const mask = (error: unknown) => maskError(error, dev);
  // With a cache, every miss goes through yoga, whose cache plugin stores its answer.
  const fastPath = cache ? undefined : new FastPath(schema, context, mask);
  const plugins: Plugin[] = [
    // First: a cached answer skips parsing, validation and the limits (it passed them once).
    ...(cache ? [cache.plugin()] : []),
    maxTokensPlugin({ n: limits.maxTokens, onReject: tooComplex }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: false, onReject: tooComplex }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases, onReject: tooComplex }) as Plugin,
    costLimitPlugin({ maxCost: limits.maxCost, onReject: tooComplex }) as Plugin,
    ...(fastPath ? [fastPath.plugin()] : []),
  ];
  const yoga = createYoga({
    schema,
    context,
    plugins,
    graphiql: dev,
    landingPage: false,
    maskedErrors: { maskError: mask },
    logging: false,
  });
  return { yoga, fastPath };
}

/** A running API server. */
export interface ApiServer {
  url: string;
  /** Requests answered by the fast path (without a cache; see {@link FastPath}). */
  fastPathAnswers(): number;
  close(): Promise<void>;
}

/**
 * Serves `/graphql` and `/health` (JSON sync status: 200 once something is indexed, 503 before).
 */
export async function startApiServer(options: ApiOptions & { port?: number; host?: string }): Promise<ApiServer> {
  const watcher = await watchSyncState(options.database);
  const cacheMb = options.cacheMb ?? 64;
  const cache = cacheMb > 0 ? new ResponseCache(watcher, cacheMb * 1024 * 1024) : undefined;
  const { yoga, fastPath } = createApi(options, watcher, cache);
  const server = http.createServer(async (req, res) => {
    // First the cursor as it is now (see SyncStateWatcher): the answer reflects at least it.
    let known: KnownState | undefined;
    try {
      known = await watcher.fresh();
    } catch {
      // Unknown: nothing is served from or stored in the cache; resolvers read the database.
    }
    if (req.url === "/health") {
      try {
        const status = health(known ? known.state : await readSyncState(options.database.db));
        res.writeHead(status.indexedBlock == null ? 503 : 200, { "content-type": "application/json" });
        res.end(JSON.stringify(status));
      } catch (err) {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (err as Error).message }));
      }
      return;
    }
    if (cache || fastPath) {
      const params = await readPlainJsonPost(req);
      if (params === "gone") return void res.destroy();
      if (params && (cache ? cache.serve(params, req, res) : await fastPath!.serve(params, res))) return;
    }
    return yoga(req, res);
  });
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 4000, options.host ?? "127.0.0.1", resolve);
    });
  } catch (err) {
    await watcher.close();
    throw err;
  }
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    fastPathAnswers: () => fastPath?.answered ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }).then(() => watcher.close()),
  };
}
