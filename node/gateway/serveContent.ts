import type { IncomingMessage, ServerResponse } from "node:http";
import type { BlockStore } from "../blockstore/blockStore";
import type { ContentHash } from "../blockstore/contentHash";
import { ContentNotFoundError, CorruptContentError } from "../blockstore/errors";
import { PEER_FETCH_HEADER } from "./gatewayHeaders";
import { drained, replyError } from "./httpReplies";
import { parseRange } from "./httpRange";

/** Content never changes under its root: caches may keep it for a year without asking again. */
const IMMUTABLE = "public, max-age=31536000, immutable";
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(;\s*charset=[A-Za-z0-9_-]+)?$/;

/** What content serving needs from the gateway. */
export interface ContentServing {
  store: BlockStore;
  /**
   * Brings content the store lacks (from peers); resolves once stored, rejects if no one had it.
   * Not used for requests that are themselves peer fetches, so two nodes never wait on each other.
   */
  fetchMissing?: (hash: ContentHash) => Promise<unknown>;
  /** Headers every content response carries (e.g. the node's key). */
  extraHeaders: Record<string, string>;
}

/**
 * Answers GET/HEAD /blake3/<hash>: ETag is the root, immutable caching, one byte range, body
 * streamed block by block with backpressure. The first block is read (and verified) before the
 * status line goes out, so a missing or corrupt object still gets a proper error status; a block
 * found corrupt later cuts the connection (the client sees a short body, never bad bytes).
 */
export async function serveContent(
  serving: ContentServing,
  req: IncomingMessage,
  res: ServerResponse,
  hash: ContentHash,
  mime: string | undefined,
  refetchIfCorrupt = true,
): Promise<void> {
  if (mime !== undefined && !MEDIA_TYPE.test(mime)) return replyError(res, 400, `?mime= is not a media type: ${JSON.stringify(mime)}`);
  const mayFetch = serving.fetchMissing !== undefined && req.headers[PEER_FETCH_HEADER] === undefined;
  let stored = serving.store.stat(hash);
  if (!stored && mayFetch) stored = await fetchMissing(serving, hash);
  if (!stored) return replyError(res, 404, `no content with root ${hash} on this node`);

  const etag = `"${hash}"`;
  const headers: Record<string, string | number> = {
    ...serving.extraHeaders,
    etag,
    "cache-control": IMMUTABLE,
    "accept-ranges": "bytes",
    "content-type": mime ?? stored.contentType ?? "application/octet-stream",
    "x-content-type-options": "nosniff",
  };
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined && (ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag))) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const ifRange = req.headers["if-range"] as string | undefined;
  const range = ifRange !== undefined && ifRange.trim() !== etag ? { kind: "whole" as const } : parseRange(req.headers.range, stored.length);
  if (range.kind === "unsatisfiable") return replyError(res, 416, range.reason, { "content-range": `bytes */${stored.length}` });
  const [start, end] = range.kind === "part" ? [range.start, range.end] : [0, stored.length];
  const status = range.kind === "part" ? 206 : 200;
  headers["content-length"] = end - start;
  if (range.kind === "part") headers["content-range"] = `bytes ${start}-${end - 1}/${stored.length}`;
  if (req.method === "HEAD") {
    res.writeHead(status, headers);
    return void res.end();
  }

  const cached = serving.store.cachedSlices(hash, start, end);
  if (cached) {
    res.writeHead(status, headers);
    res.cork();
    for (const slice of cached.slice(0, -1)) res.write(slice);
    return void res.end(cached[cached.length - 1]);
  }
  const reader = serving.store.read(hash, start, end);
  let first: IteratorResult<Buffer>;
  try {
    first = await reader.next();
  } catch (error) {
    if (error instanceof ContentNotFoundError) return replyError(res, 404, `no content with root ${hash} on this node`);
    if (!(error instanceof CorruptContentError)) throw error;
    // The bad copy is gone; a healthy one from a peer can still answer this request.
    if (refetchIfCorrupt && mayFetch && (await fetchMissing(serving, hash))) return serveContent(serving, req, res, hash, mime, false);
    return replyError(res, 502, `${error.message}; no peer could supply a good copy, retry later`);
  }
  res.writeHead(status, headers);
  try {
    if (first.done || first.value.length === end - start) return void res.end(first.done ? undefined : first.value);
    for (let next: IteratorResult<Buffer> = first; !next.done; next = await reader.next()) {
      if (!res.write(next.value) && !(await drained(res))) return;
    }
    res.end();
  } catch (error) {
    // Headers are out: the only honest signal left is to cut the body short.
    res.destroy(error instanceof Error ? error : undefined);
  } finally {
    // Closes the store's file handle when the body ended early or the client left.
    await reader.return(undefined);
  }
}

async function fetchMissing(serving: ContentServing, hash: ContentHash) {
  try {
    await serving.fetchMissing!(hash);
  } catch {
    return undefined;
  }
  return serving.store.stat(hash);
}
