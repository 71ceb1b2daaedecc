import { createHash } from "node:crypto";
import type http from "node:http";
import { useResponseCache, type Cache } from "@graphql-yoga/plugin-response-cache";
import type { Plugin } from "graphql-yoga";
import type { ExecutionResult } from "graphql";
import { LRUCache } from "lru-cache";
import type { SyncStateWatcher } from "./stateWatcher";
import type { GraphQLParams } from "./fastPath";

/** A stored answer: as the plugin gave it, and as the fast path sends it. */
interface StoredAnswer {
  result: ExecutionResult;
  /** The response body, serialized once when stored. */
  body: string;
  /** ETag and Last-Modified, as the plugin set them. */
  headers: Record<string, string>;
}

/**
 * Answers depend on nothing but the indexed state, so each one is kept until the state changes
 * (graph-node's query cache does the same per block). Yoga's response-cache plugin stores them,
 * with its rules (no errors, no wall-clock fields) and its ETag / If-None-Match handling; a stored
 * answer to a plain JSON POST is then sent by {@link ResponseCache.serve} before the request
 * reaches yoga, which costs a fraction of yoga's own pipeline.
 *
 * A key starts with the state's version, so the ETag a client gets back names the state it was
 * computed at; while the state is unknown (between a change and its re-read) nothing is served
 * from or stored in the cache.
 */
export class ResponseCache {
  private version: string | undefined;
  private readonly entries: LRUCache<string, StoredAnswer>;
  private readonly store: Cache;

  /** `maxBytes`: the answers' serialized size, at most, per process. */
  constructor(
    private readonly watcher: SyncStateWatcher,
    maxBytes: number,
  ) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (a) => Math.max(1, a.body.length) });
    this.store = {
      get: (key) => this.answer(key)?.result ?? null,
      set: (key, result) => {
        if (!this.current(key)) return;
        const { http, ...extensions } = (result.extensions ?? {}) as { http?: { headers?: Record<string, string> } };
        const body = JSON.stringify({ data: result.data, ...(Object.keys(extensions).length ? { extensions } : {}) });
        // An answer larger than the whole cache is not kept (lru-cache would refuse it anyway).
        if (body.length <= maxBytes) this.entries.set(key, { result, body, headers: http?.headers ?? {} });
      },
      // The API has no mutations; a change of state empties the whole cache.
      invalidate: () => {},
    };
  }

  /** The yoga plugin that fills the cache (and answers what {@link serve} leaves to yoga). */
  plugin(): Plugin {
    return useResponseCache({
      session: () => null,
      cache: this.store,
      enabled: () => this.watcher.current() !== undefined,
      buildResponseCacheKey: ({ documentString, variableValues, operationName }) => this.key(documentString, operationName, variableValues),
      // The only answer that depends on the wall clock.
      ttlPerSchemaCoordinate: { "Health.lagSeconds": 0 },
      includeExtensionMetadata: false,
    }) as Plugin;
  }

  /**
   * Sends the stored answer to a plain JSON POST's `params` (read by fastPath.ts's readPlainJsonPost), if
   * there is one, and returns true; otherwise false, sending nothing.
   */
  serve(params: GraphQLParams, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const key = this.key(params.query as string, params.operationName as string | undefined, params.variables as Record<string, unknown> | undefined);
    const answer = this.answer(key);
    if (!answer) return false;
    const headers = { "content-type": "application/json; charset=utf-8", ...answer.headers };
    if (req.headers["if-none-match"] === key) {
      res.writeHead(304, headers).end();
    } else {
      res.writeHead(200, headers).end(answer.body);
    }
    return true;
  }

  /** The cache key: the state's version and a hash of the operation (node:crypto: WebCrypto's costs a sixth of a hit). */
  private key(query: string, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): string {
    const operation = createHash("sha256")
      .update(`${query}|${operationName ?? ""}|${JSON.stringify(variables ?? {})}`)
      .digest("base64url");
    return `${this.watcher.current()?.version ?? "unknown"}:${operation}`;
  }

  /** The stored answer under `key`, if `key` belongs to the current state. */
  private answer(key: string): StoredAnswer | undefined {
    return this.current(key) ? this.entries.get(key) : undefined;
  }

  /** Whether `key` was made at the current state; a new state empties the cache first. */
  private current(key: string): boolean {
    const version = this.watcher.current()?.version;
    if (version !== this.version) {
      this.version = version;
      this.entries.clear();
    }
    return version !== undefined && key.startsWith(`${version}:`);
  }
}
