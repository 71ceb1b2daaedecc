import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { deliveryAckFromJson, deliveryAckToJson, encodeDeliveryAck, type SignedDeliveryAck } from "../acks/deliveryAck";
import type { AckRefusal, DeliveryAckDesk } from "../acks/deliveryAckDesk";
import { CLIENT_HEADER, METER_HEADER, type ComputeDesk, type InvocationMeter } from "../acks/computeDesk";
import { computeAckFromJson, type SignedComputeAck } from "../acks/computeReceipt";
import { effectiveLimits, functionLimitsFrom, LIMITS_HEADER, type RegisteredLimits } from "../functions/functionLimits";
import { BadFunctionPath, functionRootOf } from "../functions/functionPath";
import { payerBindingFromJson } from "../acks/payerBinding";
import type { BlockStore } from "../blockstore/blockStore";
import { isChainUnreachable } from "../chain/chainUnreachable";
import { ContentTooLargeError, IntegrityError } from "../blockstore/errors";
import { proofForBlock, leavesFromOutboard, blockCount } from "../blockstore/blockTree";
import { loadBlockHashing } from "../blockstore/blockHashing";
import { parseContentHash, type ContentHash } from "../blockstore/contentHash";
import { OriginError, type OriginFailure } from "../origins/originError";
import type { OriginFetcher } from "../origins/originFetcher";
import type { Attachment } from "../services/serviceChannel";
import { routeAgents, type AgentGateway } from "./agentRoutes";
import { bundleAttachment } from "./bundleAttachment";
import { CONTENT_LENGTH_HEADER } from "./gatewayHeaders";
import { meterReceiptHook } from "./meterReceipt";
import { BadBodyError, readJsonBody, replyError, replyJson } from "./httpReplies";
import { serveContent, type ContentServing } from "./serveContent";

/** What the gateway serves from and may write to. */
export interface GatewayOptions {
  store: BlockStore;
  /** Brings content the store lacks, e.g. `peerFetcher.fetch` (peers first, as Fleek's fetcher). */
  fetchMissing?: (hash: ContentHash) => Promise<unknown>;
  /** Needed for POST /origins. */
  origins?: OriginFetcher;
  /**
   * Bearer token the operator gives to those allowed to add content with POST /origins. Without
   * one, adding content over HTTP is off: an open node would fetch anything for anyone.
   */
  operatorToken?: string;
  /** Needed for the /acks routes; its node key is also sent as `x-fleek-node` on content. */
  acks?: DeliveryAckDesk;
  /** The node's services (its ServiceSupervisor), for /services/... and /fn/... */
  services?: ServiceRouter;
  /**
   * Paid functions: with it, `/fn/` requests must name a client key whose payer can cover them
   * (402 otherwise, before anything runs) and answers carry a signed receipt; `POST /acks/compute`
   * takes the client's countersignature. Without it functions run unmetered.
   */
  compute?: ComputeDesk;
  /**
   * FunctionRegistry (node/chain/functionDirectory.ts): a registered function runs under the
   * limits its owner registered, capped by the node's. Without it every function runs under the node's.
   */
  functions?: { lookup(root: string): Promise<{ limits: RegisteredLimits } | undefined> };
  /** Agents (agentRoutes.ts): the node key to sign their receipts and snapshots' records, the services' token. */
  agents?: AgentGateway;
}

/** What the gateway needs of the node's services. */
export interface ServiceRouter {
  /**
   * Forwards the request to service `id` as `forwardPath` (path and query); `hook` is called once
   * with the answer's status and headers (undefined: no answer) and returns the headers to send.
   */
  route(
    id: string,
    req: IncomingMessage,
    res: ServerResponse,
    forwardPath: string,
    hook?: (status: number, headers: IncomingHttpHeaders | undefined) => IncomingHttpHeaders | undefined,
    attachment?: Attachment,
  ): void;
  /** Whether service `id` would take an attachment keyed `key` (it has not been handed it before). */
  wantsAttachment(id: string, key: string): boolean;
  /** Service `id`'s config section, if configured. */
  optionsOf(id: string): Record<string, unknown> | undefined;
  /** Each service's state, for GET /services. */
  status(): unknown;
}

const NO_QUERY = new URLSearchParams();

/** `retry-after` of a 503 when the chain's RPC did not answer (a directory's or the escrow's read). */
const CHAIN_RETRY_SECONDS = 5;

const ORIGIN_STATUS: Record<OriginFailure, number> = {
  "bad-pointer": 400,
  timeout: 504,
  "upstream-status": 502,
  integrity: 502,
  "too-large": 413,
  network: 502,
};

const ACK_STATUS: Record<AckRefusal, number> = {
  "wrong-node": 400,
  "bad-window": 400,
  expired: 400,
  "bad-signature": 401,
  replay: 409,
  busy: 503,
};

/**
 * The HTTP gateway's request handler. Routes:
 * - `GET|HEAD /blake3/<hash>[?mime=type]` content (see {@link serveContent});
 * - `GET /blake3/<hash>/outboard` the block hashes, to verify blocks against the root;
 * - `GET /blake3/<hash>/proof/<block>` the proof of one block (sibling hashes, top down);
 * - `PUT /blake3/<hash>` a function's bundle, by anyone, once FunctionRegistry registers its root;
 * - `POST /origins` `{url, integrity?}` with `Authorization: Bearer <operator token>`;
 * - `GET /acks/draft?hash=&bytes=&client=` the ack a client should sign; `POST /acks` a signed ack;
 * - `POST /acks/payer` the escrow account that pays for a client key's acks (see payerBinding.ts);
 * - `POST /acks/compute` a function receipt countersigned by its client (see computeReceipt.ts);
 * - `GET /health` a small answer peers time for their latency and uptime measurements;
 * - `GET /services` the services' states; `/services/<id>/<rest>` forwarded to service `id` as `/<rest>`;
 * - `/fn/<scheme>/<root>/<path>` forwarded to the functions service as is (docs/functions.md);
 * - `/agents/...` the agents service and its snapshots (agentRoutes.ts, docs/agents-runtime.md).
 */
export function createGatewayHandler(options: GatewayOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const nodeHeaders: Record<string, string> = options.acks ? { "x-fleek-node": options.acks.nodeKey.toString("hex") } : {};
  const serving: ContentServing = { store: options.store, fetchMissing: options.fetchMissing, extraHeaders: nodeHeaders };
  const operatorDigest = options.operatorToken ? sha256(options.operatorToken) : undefined;

  // Not async: a warm function's request is routed without a promise (docs/functions.md "Warm path, third pass").
  const route = (req: IncomingMessage, res: ServerResponse): Promise<void> | void => {
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const query = queryAt < 0 ? NO_QUERY : new URLSearchParams(url.slice(queryAt + 1));
    const parts = path.split("/");
    if (parts[1] === "fn" || parts[1] === "services") {
      if (!options.services) return replyError(res, 404, "this node runs no services");
      if (parts[1] === "fn") return routeFunction(options, options.services, req, res, url);
      if (parts.length === 2 || (parts.length === 3 && parts[2] === "")) return replyJson(res, 200, { services: options.services.status() });
      const forward = "/" + parts.slice(3).join("/") + (queryAt < 0 ? "" : url.slice(queryAt));
      // The functions service by its id is the same paid door as /fn/.
      if (parts[2] === "functions") return routeFunction(options, options.services, req, res, forward);
      return options.services.route(parts[2], req, res, forward, stripMeter);
    }
    if (parts[1] === "agents") {
      if (!options.services) return replyError(res, 404, "this node runs no services");
      return routeAgents(
        options.agents,
        options.services,
        options.store,
        operatorDigest,
        req,
        res,
        parts,
        queryAt < 0 ? "" : url.slice(queryAt),
        options.compute,
      );
    }
    if (parts[1] === "blake3" && parts.length >= 3) {
      const hash = parseContentHash(parts[2]);
      if (!hash) return replyError(res, 400, `not a content root (64 hex characters): ${JSON.stringify(parts[2])}`);
      if (req.method === "PUT" && parts.length === 3) return putRegisteredBundle(options, req, res, hash);
      if (req.method !== "GET" && req.method !== "HEAD")
        return replyError(res, 405, "use GET or HEAD (or PUT a registered function's bundle)", { allow: "GET, HEAD, PUT" });
      if (parts.length === 3) return serveContent(serving, req, res, hash, query.get("mime") ?? undefined);
      if (parts.length === 4 && parts[3] === "outboard") return serveOutboard(options.store, res, hash);
      if (parts.length === 5 && parts[3] === "proof") return serveProof(options.store, res, hash, parts[4]);
    }
    if (path === "/origins") {
      if (req.method !== "POST") return replyError(res, 405, "use POST", { allow: "POST" });
      return addFromOrigin(options, operatorDigest, req, res);
    }
    if (path === "/acks/draft" && req.method === "GET") return draftAck(options.acks, res, query);
    if (path === "/acks" && req.method === "POST") return acceptAck(options.acks, req, res);
    if (path === "/acks/payer" && req.method === "POST") return acceptPayer(options.acks, req, res);
    if (path === "/acks/compute" && req.method === "POST") return acceptComputeAck(options.compute, req, res);
    if (path === "/health" && req.method === "GET")
      // tokenNodeId: the registry node that admits creator-token calls here, which a caller's deposit must name (null: none taken).
      return replyJson(res, 200, { ok: true, node: options.acks?.nodeKey.toString("hex") ?? null, tokenNodeId: options.agents?.tokenPaid?.nodeId ?? null });
    return replyError(res, 404, `no route ${req.method} ${path}`);
  };

  return (req, res) => {
    let pending: Promise<void> | void;
    try {
      pending = route(req, res);
    } catch (error) {
      return replyFailure(res, error);
    }
    pending?.catch((error: unknown) => replyFailure(res, error));
  };
}

/** The answer to a request whose route threw. */
function replyFailure(res: ServerResponse, error: unknown): void {
  if (error instanceof BadBodyError) return replyError(res, error.status, error.message);
  if (res.headersSent) return void res.destroy();
  const message = error instanceof Error ? error.message : String(error);
  // Registry, escrow and marketplace reads: the request was fine, the chain's RPC did not answer.
  if (isChainUnreachable(error))
    return replyError(res, 503, `this node could not read the chain (${message}); retry shortly`, { "retry-after": String(CHAIN_RETRY_SECONDS) });
  replyError(res, 500, `internal error: ${message}`);
}

/** A running gateway. */
export interface RunningGateway {
  server: Server;
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

/** Starts the gateway on `host:port` (port 0 picks a free one). */
export async function startGateway(options: GatewayOptions & { host?: string; port?: number }): Promise<RunningGateway> {
  const server = createServer({ keepAliveTimeout: 30_000 }, createGatewayHandler(options));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveOutboard(store: BlockStore, res: ServerResponse, hash: ContentHash): void {
  const outboard = store.outboard(hash);
  if (!outboard) return replyError(res, 404, `no content with root ${hash} on this node`);
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": outboard.length,
    "cache-control": "public, max-age=31536000, immutable",
    [CONTENT_LENGTH_HEADER]: String(store.stat(hash)!.length),
  });
  res.end(outboard);
}

async function serveProof(store: BlockStore, res: ServerResponse, hash: ContentHash, blockText: string): Promise<void> {
  const outboard = store.outboard(hash);
  if (!outboard) return replyError(res, 404, `no content with root ${hash} on this node`);
  const length = store.stat(hash)!.length;
  const index = /^\d{1,15}$/.test(blockText) ? Number(blockText) : -1;
  if (index < 0 || index >= blockCount(length)) {
    return replyError(res, 400, `block must be an integer in 0..${blockCount(length) - 1}, got ${JSON.stringify(blockText)}`);
  }
  const proof = Buffer.concat(proofForBlock(await loadBlockHashing(), leavesFromOutboard(outboard), index));
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": proof.length,
    "cache-control": "public, max-age=31536000, immutable",
    [CONTENT_LENGTH_HEADER]: String(length),
  });
  res.end(proof);
}

/**
 * Stores a function's bundle a developer uploads (`PUT /blake3/<root>`, docs/functions.md
 * "Deploying without the operator"): no operator token, since FunctionRegistry is the permission. Only a root a function
 * version registers is taken, at most its registered bundle size (capped by the node's), and the
 * bytes must hash to it: an upload can only store what someone paid gas to register, and only once.
 */
async function putRegisteredBundle(options: GatewayOptions, req: IncomingMessage, res: ServerResponse, hash: ContentHash): Promise<void> {
  if (!options.functions)
    return replyError(res, 403, "this node reads no FunctionRegistry, so it takes no bundle uploads (its operator adds content with POST /origins)");
  const registered = await options.functions.lookup(hash);
  if (!registered) return replyError(res, 403, `no function version is registered with root ${hash}: register it in FunctionRegistry, then upload its bundle`);
  const stored = options.store.stat(hash);
  if (stored) {
    req.resume();
    return replyJson(res, 200, { hash, length: stored.length, path: `/blake3/${hash}` }, { location: `/blake3/${hash}` });
  }
  const limit = effectiveLimits(functionLimitsFrom(options.services?.optionsOf("functions")?.limits), registered.limits).bundleBytes;
  const announced = Number(req.headers["content-length"]);
  if (announced > limit) {
    req.resume();
    return replyError(res, 413, `the bundle is ${announced} bytes, over its ${limit}-byte limit`);
  }
  let put: { length: number };
  try {
    put = await options.store.put(req, { expectedHash: hash, maxLength: limit, contentType: "text/javascript" });
  } catch (error) {
    if (error instanceof ContentTooLargeError) return replyError(res, 413, `the bundle is over its ${limit}-byte limit`);
    if (error instanceof IntegrityError) return replyError(res, 422, `the bundle is not the registered one: ${error.message}`);
    throw error;
  }
  replyJson(res, 201, { hash, length: put.length, path: `/blake3/${hash}` }, { location: `/blake3/${hash}` });
}

async function addFromOrigin(options: GatewayOptions, operatorDigest: Buffer | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!operatorDigest || !options.origins) return replyError(res, 403, "adding content is disabled on this node (no operator token set)");
  const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  // Compare digests: equal lengths for timingSafeEqual, and no timing leak of the token's length.
  if (!presented || !timingSafeEqual(sha256(presented), operatorDigest)) {
    return replyError(res, 401, "missing or wrong operator token", { "www-authenticate": "Bearer" });
  }
  const body = (await readJsonBody(req)) as { url?: unknown; integrity?: unknown } | null;
  if (typeof body?.url !== "string" || (body.integrity !== undefined && typeof body.integrity !== "string")) {
    return replyError(res, 400, 'body must be {"url": string, "integrity"?: string}');
  }
  try {
    const stored = await options.origins.fetch(body.url, body.integrity as string | undefined);
    replyJson(res, 201, { ...stored, path: `/blake3/${stored.hash}` }, { location: `/blake3/${stored.hash}` });
  } catch (error) {
    if (!(error instanceof OriginError)) throw error;
    replyError(res, ORIGIN_STATUS[error.failure], `origin fetch failed (${error.failure}): ${error.message}`);
  }
}

function draftAck(desk: DeliveryAckDesk | undefined, res: ServerResponse, query: URLSearchParams): void {
  if (!desk) return replyError(res, 404, "this node takes no delivery acknowledgments");
  const hash = parseContentHash(query.get("hash") ?? "");
  const bytes = Number(query.get("bytes"));
  const client = query.get("client") ?? "";
  if (!hash || !Number.isSafeInteger(bytes) || bytes < 0 || !/^[0-9a-fA-F]{64}$/.test(client)) {
    return replyError(res, 400, "need hash=<64 hex>, bytes=<integer> and client=<Ed25519 public key, 64 hex>");
  }
  const ack = desk.draft(Buffer.from(client, "hex"), hash, bytes);
  const { signature: _unsigned, ...fields } = deliveryAckToJson({ ack, signature: Buffer.alloc(0) });
  replyJson(res, 200, { ack: fields, sign: encodeDeliveryAck(ack).toString("hex") });
}

async function acceptAck(desk: DeliveryAckDesk | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!desk) return replyError(res, 404, "this node takes no delivery acknowledgments");
  let signed: SignedDeliveryAck;
  try {
    signed = deliveryAckFromJson(await readJsonBody(req));
  } catch (error) {
    if (error instanceof BadBodyError) throw error;
    return replyError(res, 400, `malformed ack: ${(error as Error).message}`);
  }
  const refusal = desk.accept(signed);
  if (refusal) return replyError(res, ACK_STATUS[refusal], `ack refused: ${refusal}`);
  replyJson(res, 202, { accepted: true });
}

async function acceptPayer(desk: DeliveryAckDesk | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!desk) return replyError(res, 404, "this node takes no delivery acknowledgments");
  let binding;
  try {
    binding = payerBindingFromJson(await readJsonBody(req));
  } catch (error) {
    if (error instanceof BadBodyError) throw error;
    return replyError(res, 400, `malformed payer binding: ${(error as Error).message}`);
  }
  if (!desk.acceptPayer(binding)) return replyError(res, 401, "payer binding refused: bad client or account signature");
  replyJson(res, 202, { accepted: true });
}

/**
 * `/fn/...` to the functions service, with the limits FunctionRegistry holds for the function's
 * root (`x-fleek-limits`; the service caps them by the node's). On a paid node the request runs
 * only if its payer can cover it (402 before anything runs): the function's owner when it pays
 * (owner-pays), otherwise the escrow account its client key (`x-fleek-client`) is bound to. The
 * answer, a run a limit stopped included, carries the node-signed receipt of what the invocation
 * used (`x-fleek-receipt`) for the client to countersign; an answer without a meter (the module
 * did not compile, the service is down) is not charged and frees its reservation.
 */
function routeFunction(options: GatewayOptions, services: ServiceRouter, req: IncomingMessage, res: ServerResponse, url: string): Promise<void> | void {
  let root: string;
  try {
    const queryAt = url.indexOf("?");
    root = functionRootOf(queryAt < 0 ? url : url.slice(0, queryAt));
  } catch (error) {
    if (error instanceof BadFunctionPath) return replyError(res, error.status, error.message);
    throw error;
  }
  // The service trusts this header for the function's limits: only the registry's reaches it.
  // (Deleted only when sent: a delete turns the headers into a slow dictionary for the rest of the request.)
  if (req.headers[LIMITS_HEADER] !== undefined) delete req.headers[LIMITS_HEADER];
  // Without a registry or payments a request waits for nothing (a warm function's usual case on an unpaid node).
  if (!options.functions && !options.compute)
    return services.route("functions", req, res, url, stripMeter, bundleAttachment(options.store, services, root, undefined));
  return routePaidFunction(options, services, req, res, url, root);
}

async function routePaidFunction(
  options: GatewayOptions,
  services: ServiceRouter,
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  root: string,
): Promise<void> {
  const registered = await options.functions?.lookup(root);
  if (registered) req.headers[LIMITS_HEADER] = JSON.stringify(registered.limits);
  const compute = options.compute;
  // A cold start's bundle goes with its request rather than being read back over HTTP (after the
  // payment check on a paid node: a refused request reads nothing).
  if (!compute) return services.route("functions", req, res, url, stripMeter, bundleAttachment(options.store, services, root, registered?.limits));
  const client = req.headers[CLIENT_HEADER];
  if (typeof client !== "string" || !/^[0-9a-fA-F]{64}$/.test(client)) {
    return replyError(
      res,
      402,
      `functions on this node are paid: send ${CLIENT_HEADER}: <Ed25519 public key, 64 hex> bound to an escrow account with POST /acks/payer`,
    );
  }
  const admission = await compute.admit(Buffer.from(client, "hex"), root, registered?.limits.cpuMs);
  if (typeof admission === "string") return replyError(res, 402, admission);
  // The service meters only a request that asks (set here, whatever a client sent: a paid request always asks).
  req.headers[METER_HEADER] = "1";
  services.route(
    "functions",
    req,
    res,
    url,
    meterReceiptHook(compute, admission, METER_HEADER, (meter: InvocationMeter) => meter),
    bundleAttachment(options.store, services, root, registered?.limits),
  );
}

/** A meter is never passed on (unpaid node, other services): it is the gateway's business, not the client's. */
function stripMeter(_: number, headers: IncomingHttpHeaders | undefined): IncomingHttpHeaders | undefined {
  // The service's headers are this request's own (parsed for it): removed in place rather than copied.
  if (headers?.[METER_HEADER] !== undefined) delete headers[METER_HEADER];
  return headers;
}

async function acceptComputeAck(desk: ComputeDesk | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!desk) return replyError(res, 404, "this node runs no paid functions");
  let signed: SignedComputeAck;
  try {
    signed = computeAckFromJson(await readJsonBody(req));
  } catch (error) {
    if (error instanceof BadBodyError) throw error;
    return replyError(res, 400, `malformed compute ack: ${(error as Error).message}`);
  }
  const refusal = desk.accept(signed);
  if (refusal) return replyError(res, ACK_STATUS[refusal], `compute ack refused: ${refusal}`);
  replyJson(res, 202, { accepted: true });
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
