/**
 * The functions service (docs/functions.md): `/fn/blake3/<root>/<path>` runs the JavaScript
 * module whose content root is `<root>` on the request (`/fn/ipfs/<cid>/<path>` for a CIDv1 raw
 * BLAKE3 CID, whose digest is that root). The module comes from the node's blockstore, which
 * fetches missing content from peers and verifies every block against the root, so the bytes that
 * run are the bytes the root names: handed with the request that first names it when the node
 * holds it (gateway/bundleAttachment.ts), else read through the gateway (`GET /blake3/<root>`).
 */
import type { IncomingHttpHeaders } from "node:http";
import { LRUCache } from "lru-cache";
import { requestHash, responseHash } from "../acks/computeReceipt";
import { METER_HEADER, type InvocationMeter } from "../acks/computeDesk";
import type { ServiceAnswer, ServiceRequest } from "../services/serviceChannel";
import type { ServiceContext, ServiceInstance } from "../services/serviceContract";
import { effectiveLimits, functionLimitsFrom, runtimeThreadsFrom, LIMITS_HEADER, type FunctionLimits, type RegisteredLimits } from "./functionLimits";
import { BadFunctionPath, functionRootOf } from "./functionPath";
import { readBoundedBody, readGatewayContent, ServiceRefusal } from "../services/serviceInput";
import { FunctionError, FunctionRuntime, type FunctionFailure, type FunctionRequest } from "./functionRuntime";
import { FunctionThreads, type FunctionRunner } from "./functionThreads";

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

/** How long a service whose runtime thread stopped answers its refused requests before it exits. */
const THREAD_FAILED_EXIT_MS = 200;

/** Failures that stop a run partway: what it used until then is metered and charged. */
const STOPPED: ReadonlySet<FunctionFailure> = new Set(["cpu", "wall", "memory"]);

/** Starts the service (called in its own process by the service framework). */
export async function startFunctionsService(context: ServiceContext): Promise<ServiceInstance> {
  const limits = functionLimitsFrom(context.options.limits);
  const refusedHosts = context.nodeHosts.map((h) => h.toLowerCase());
  const onPlanDropped = (missed: number) =>
    context.logger.warn("the lockdown's plan did not fit an isolate: dropped, with the isolates built from it; every isolate walks now", { missed });
  const threads = runtimeThreadsFrom(context.options.threads);
  // One runtime on this thread unless the node asks for more (docs/functions.md "Runtime threads").
  const runtime: FunctionRunner =
    threads === 1
      ? new FunctionRuntime(limits, new Set(refusedHosts), onPlanDropped)
      : await FunctionThreads.start(
          limits,
          refusedHosts,
          {
            onPlanDropped,
            onThreadFailed: (reason) => {
              // A fault of ours: the supervisor restarts the service, with its backoff, once the
              // thread's refused requests were answered (500).
              context.logger.error("a function runtime thread stopped: the service restarts", { reason });
              setTimeout(() => process.exit(1), THREAD_FAILED_EXIT_MS);
            },
          },
          threads,
        );
  const sources = new FunctionSources(context.gatewayUrl, limits);
  return {
    invoke: async (request) => {
      try {
        return await serve(runtime, sources, limits, request);
      } catch (error) {
        if (error instanceof BadFunctionPath || error instanceof ServiceRefusal) return errorAnswer(error.status, error.message);
        if (error instanceof FunctionError) return errorAnswer(FAILURE_STATUS[error.failure], error.message, { "x-fleek-function-error": error.failure });
        context.logger.warn("function request failed", { error: String(error) });
        return errorAnswer(500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    close: async () => runtime.close(),
  };
}

/** An error answer, `{"error": message}` as every error of the node. */
function errorAnswer(status: number, message: string, headers: Record<string, string> = {}): ServiceAnswer {
  return { status, headers: { ...headers, "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ error: message })) };
}

async function serve(runtime: FunctionRunner, sources: FunctionSources, nodeLimits: FunctionLimits, req: ServiceRequest): Promise<ServiceAnswer> {
  const url = new URL(req.url, "http://function");
  const root = functionRootOf(url.pathname);
  const limits = effectiveLimits(nodeLimits, registeredLimits(req.headers[LIMITS_HEADER]));
  const body = await readBoundedBody(req.body, req.headers["content-length"] as string | undefined, limits.requestBytes);
  const source = await sources.get(root, req.attachment?.key === root ? req.attachment.bytes : undefined);
  if (Buffer.byteLength(source) > limits.bundleBytes)
    throw new ServiceRefusal(422, `the function's bundle is ${Buffer.byteLength(source)} bytes, over its ${limits.bundleBytes}-byte limit`);
  // A meter only when the gateway asks for one (a paid node, which receipts it): an unpaid node's
  // gateway stripped it unread, after it cost the request two hashes and its JSON.
  const metered = req.headers[METER_HEADER] !== undefined;
  // (The node's business, not the function's.)
  if (metered) delete req.headers[METER_HEADER];
  const path = "/" + url.pathname.split("/").slice(4).join("/");
  const host = req.headers.host ?? "function";
  const headers = headerPairs(req.headers);
  const method = req.method;
  const request: FunctionRequest = {
    method,
    url: `http://${host}${path}${url.search}`,
    headers,
    body: body.length > 0 ? body : null,
    // main(params) is built by the runtime, only for a module that exports main (functionRuntime.ts).
    params: { path, search: url.search },
  };
  const started = Date.now();
  const meterOf = (cpuUs: number, answered: Uint8Array): InvocationMeter => ({
    root,
    requestHash: requestHash(method, `${path}${url.search}`, body).toString("hex"),
    responseHash: responseHash(answered).toString("hex"),
    cpuUs,
    wallMs: Date.now() - started,
    egressBytes: answered.byteLength,
  });
  let answer;
  try {
    answer = await runtime.run(root, source, request, limits);
  } catch (error) {
    // A run a limit stopped still used the node: its error answer is metered (and receipted by a
    // paid gateway) with the CPU time spent, as Cloudflare bills a Worker that exceeded its limit.
    if (!(error instanceof FunctionError) || !STOPPED.has(error.failure) || error.cpuUs === undefined) throw error;
    const stopped = errorAnswer(FAILURE_STATUS[error.failure], error.message, { "x-fleek-function-error": error.failure, "x-fleek-function": root });
    if (metered) stopped.headers[METER_HEADER] = JSON.stringify(meterOf(error.cpuUs, stopped.body));
    return stopped;
  }
  const out: Record<string, string> = {};
  // x-fleek-* are the node's: a function cannot set its own meter or receipt.
  for (const [k, v] of answer.headers) if (!HOP_BY_HOP.has(k) && !k.startsWith("x-fleek-")) out[k] = v;
  out["x-fleek-function"] = root;
  if (metered) out[METER_HEADER] = JSON.stringify(meterOf(answer.cpuUs, answer.body));
  return { status: answer.status, headers: out, body: answer.body };
}

/** The request's headers as name/value pairs, a repeated header as several pairs (as on the wire). */
export function headerPairs(headers: IncomingHttpHeaders): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string") pairs.push([name, value]);
    else if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
  }
  return pairs;
}

/** The limits the gateway read from FunctionRegistry for this function, if any (a malformed header counts as none). */
function registeredLimits(header: string | string[] | undefined): Partial<RegisteredLimits> | undefined {
  if (typeof header !== "string") return undefined;
  try {
    const parsed = JSON.parse(header) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Partial<RegisteredLimits>) : undefined;
  } catch {
    return undefined;
  }
}

/** Function sources by root, read through the gateway once and kept in memory. */
class FunctionSources {
  private readonly cache = new LRUCache<string, string>({ maxSize: SOURCE_CACHE_BYTES, sizeCalculation: (s) => Math.max(1, s.length) });
  private readonly loading = new Map<string, Promise<string>>();

  constructor(
    private readonly gatewayUrl: string,
    private readonly limits: FunctionLimits,
  ) {}

  /** The source of `root`: kept, else `attached` (the bundle the gateway handed with the request, read from its blockstore), else read through the gateway. */
  async get(root: string, attached?: Buffer): Promise<string> {
    const cached = this.cache.get(root);
    if (cached !== undefined) return cached;
    if (attached) {
      const source = attached.toString("utf8");
      this.cache.set(root, source);
      return source;
    }
    let pending = this.loading.get(root);
    if (!pending) {
      pending = this.load(root).finally(() => this.loading.delete(root));
      this.loading.set(root, pending);
    }
    return pending;
  }

  private async load(root: string): Promise<string> {
    const bundle = await readGatewayContent(this.gatewayUrl, root, this.limits.bundleBytes, { kind: "function", what: "the function's bundle" });
    const source = bundle.toString("utf8");
    this.cache.set(root, source);
    return source;
  }
}
