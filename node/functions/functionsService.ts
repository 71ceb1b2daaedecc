/**
 * The functions service (docs/functions.md): `/fn/blake3/<root>/<path>` runs the JavaScript
 * module whose content root is `<root>` on the request (`/fn/ipfs/<cid>/<path>` for a CIDv1 raw
 * BLAKE3 CID, whose digest is that root). The module comes from the node's gateway
 * (`GET /blake3/<root>`: the blockstore, which fetches missing content from peers and verifies
 * every block against the root), so the bytes that run are the bytes the root names.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { LRUCache } from "lru-cache";
import { requestHash, responseHash } from "../acks/computeReceipt";
import { METER_HEADER, type InvocationMeter } from "../acks/computeDesk";
import { replyError } from "../gateway/httpReplies";
import { decodeCid } from "../origins/ipfsCid";
import type { ServiceContext, ServiceInstance } from "../services/serviceContract";
import { functionLimitsFrom, type FunctionLimits } from "./functionLimits";
import { FunctionError, FunctionRuntime, type FunctionFailure, type FunctionRequest } from "./functionRuntime";

/** The HTTP status of each failure; the body says which limit or error it was. */
const FAILURE_STATUS: Record<FunctionFailure, number> = {
  cpu: 503,
  memory: 503,
  wall: 504,
  threw: 500,
  "bad-module": 422,
  "response-too-large": 502,
};

/** Sources kept in memory by root, so a warm function is not read from the gateway again. */
const SOURCE_CACHE_BYTES = 64 * 1024 * 1024;
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "trailer", "te"]);

/** A request that cannot reach the function, with its status. */
class RefusedRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the service (called in its own process by the service framework). */
export async function startFunctionsService(context: ServiceContext): Promise<ServiceInstance> {
  const limits = functionLimitsFrom(context.options.limits);
  const runtime = new FunctionRuntime(limits, new Set(context.nodeHosts.map((h) => h.toLowerCase())));
  const sources = new FunctionSources(context.gatewayUrl, limits);
  return {
    handle: (req, res) => {
      serve(runtime, sources, limits, req, res).catch((error: unknown) => {
        if (res.headersSent) return res.destroy();
        if (error instanceof RefusedRequest) return replyError(res, error.status, error.message);
        if (error instanceof FunctionError) return replyError(res, FAILURE_STATUS[error.failure], error.message, { "x-fleek-function-error": error.failure });
        context.logger.warn("function request failed", { error: String(error) });
        replyError(res, 500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
      });
    },
    close: async () => runtime.close(),
  };
}

async function serve(runtime: FunctionRuntime, sources: FunctionSources, limits: FunctionLimits, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://function");
  const parts = url.pathname.split("/");
  // ["", "fn", scheme, id, ...path]
  if (parts[1] !== "fn" || parts.length < 4) throw new RefusedRequest(404, "functions are at /fn/blake3/<root>/<path>");
  const root = parts[2] === "ipfs" ? rootOfCid(parts[3]) : parts[3].toLowerCase();
  if (parts[2] !== "blake3" && parts[2] !== "ipfs") throw new RefusedRequest(404, `unknown content scheme ${JSON.stringify(parts[2])}: use /fn/blake3/<root>/<path>`);
  if (!/^[0-9a-f]{64}$/.test(root)) throw new RefusedRequest(400, `not a content root (64 hex characters): ${JSON.stringify(parts[3])}`);
  const body = await readBody(req, limits.requestBytes);
  const source = await sources.get(root);
  const path = "/" + parts.slice(4).join("/");
  const host = req.headers.host ?? "function";
  const headers: [string, string][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]]);
  const method = req.method ?? "GET";
  const request: FunctionRequest = {
    method,
    url: `http://${host}${path}${url.search}`,
    headers,
    body: body.length > 0 ? new Uint8Array(body) : null,
    params: {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(headers),
      ...(body.length > 0 ? { body: body.toString("utf8") } : {}),
    },
  };
  const started = Date.now();
  const answer = await runtime.run(root, source, request);
  const meter: InvocationMeter = {
    root,
    requestHash: requestHash(method, `${path}${url.search}`, body).toString("hex"),
    responseHash: responseHash(answer.body).toString("hex"),
    cpuUs: answer.cpuUs,
    wallMs: Date.now() - started,
    egressBytes: answer.body.byteLength,
  };
  const out: Record<string, string> = {};
  // x-fleek-* are the node's: a function cannot set its own meter or receipt.
  for (const [k, v] of answer.headers) if (!HOP_BY_HOP.has(k) && !k.startsWith("x-fleek-")) out[k] = v;
  res.writeHead(answer.status, { ...out, "content-length": answer.body.byteLength, "x-fleek-function": root, [METER_HEADER]: JSON.stringify(meter) });
  res.end(answer.body);
}

/**
 * The content root a CID names: a CIDv1 `raw` with a BLAKE3 multihash (`bafkr4…`) carries it
 * as its digest, so the function is read and verified through the blockstore as by root. Other
 * CIDs (sha2-256 raw leaves, dag-pb) name bytes by a hash the blockstore does not index.
 */
function rootOfCid(text: string): string {
  const cid = decodeCid(text);
  if (!cid) throw new RefusedRequest(400, `not a CID (CIDv1 base32 or CIDv0): ${JSON.stringify(text)}`);
  if (cid.rawBlake3) return cid.rawBlake3.toString("hex");
  throw new RefusedRequest(
    501,
    "functions by IPFS CID need a CIDv1 raw with a BLAKE3 multihash (bafkr4…, the bundle's b3sum); for other CIDs add the bundle through POST /origins and call /fn/blake3/<root>",
  );
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw new RefusedRequest(413, `request body is ${declared} bytes, over the ${maxBytes}-byte limit`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > maxBytes) throw new RefusedRequest(413, `request body over the ${maxBytes}-byte limit`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Function sources by root, read through the gateway once and kept in memory. */
class FunctionSources {
  private readonly cache = new LRUCache<string, string>({ maxSize: SOURCE_CACHE_BYTES, sizeCalculation: (s) => Math.max(1, s.length) });
  private readonly loading = new Map<string, Promise<string>>();

  constructor(
    private readonly gatewayUrl: string,
    private readonly limits: FunctionLimits,
  ) {}

  async get(root: string): Promise<string> {
    const cached = this.cache.get(root);
    if (cached !== undefined) return cached;
    let pending = this.loading.get(root);
    if (!pending) {
      pending = this.load(root).finally(() => this.loading.delete(root));
      this.loading.set(root, pending);
    }
    return pending;
  }

  private async load(root: string): Promise<string> {
    const answer = await fetch(`${this.gatewayUrl}/blake3/${root}`);
    if (answer.status === 404) {
      await answer.body?.cancel();
      throw new RefusedRequest(404, `no function with root ${root}: neither this node nor its peers hold it`);
    }
    if (!answer.ok || !answer.body) throw new RefusedRequest(502, `the blockstore could not give ${root}: HTTP ${answer.status}`);
    const max = this.limits.bundleBytes;
    const declared = Number(answer.headers.get("content-length") ?? 0);
    if (declared > max) {
      await answer.body.cancel();
      throw new RefusedRequest(422, `the function's bundle is ${declared} bytes, over the ${max}-byte limit`);
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    const reader = answer.body.getReader();
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      size += part.value.length;
      if (size > max) {
        await reader.cancel();
        throw new RefusedRequest(422, `the function's bundle is over the ${max}-byte limit`);
      }
      parts.push(part.value);
    }
    const source = Buffer.concat(parts).toString("utf8");
    this.cache.set(root, source);
    return source;
  }
}
