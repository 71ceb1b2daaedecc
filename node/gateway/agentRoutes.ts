/**
 * The gateway's agents routes (docs/agents-runtime.md "HTTP"):
 * - `GET /agents/_key`: the node's Ed25519 key and its agent-sealing X25519 key (owners seal their secrets to it);
 * - `POST /agents/_snapshots?agent=<id>&sequence=<n>` (agents service only, by the service token):
 *   stores a snapshot's tarball in the blockstore and answers its record signed with the node key;
 * - `GET /agents/_snapshots/<agentId>`: a marketplace agent's record in the latest epoch report this
 *   node closed that holds one, with its proof against the report's `agentSnapshotsRoot` (take-over);
 * - `POST /agents/_records {record}`: another host's signed snapshot record, forwarded to the service (take-over);
 * - `/agents/<id>/_fleek/<op>`: the operator's (Bearer operator token), forwarded vouched by the service token;
 * - `/agents/<id>/<path>`: forwarded to the agents service as `/<id>/<path>`; the service's meter
 *   becomes a node-signed receipt (`x-fleek-receipt`), never passed on as is. On a paid node
 *   (docs/agents.md "Payment of calls") the call runs only if the client's escrow covers the
 *   agent's price and its CPU limit (402 before it runs, as functions), and the receipt is an
 *   agent-call compute receipt the client countersigns with `POST /acks/compute`.
 */
import { createHash, timingSafeEqual, type KeyObject } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { AGENT_METER_HEADER, signAgentReceipt, signSnapshot, type AgentMeter, type SnapshotRecord } from "../agents/agentRecords";
import { marketplaceAgentId } from "../../protocol/agentSnapshots";
import { reportedAgentSnapshot } from "../app/reportedAgentSnapshots";
import type { BlockStore } from "../blockstore/blockStore";
import { SERVICE_TOKEN_HEADER } from "../services/serviceContract";
import { CLIENT_HEADER, RECEIPT_HEADER, type ComputeDesk } from "../acks/computeDesk";
import { agentService } from "../../protocol/usage";
import { replyError, replyJson } from "./httpReplies";
import { meterReceiptHook } from "./meterReceipt";
import type { ServiceRouter } from "./gatewayServer";
import { routeTokenPaidCall, wantsTokenPayment, type TokenPaidAgents } from "./agentTokenRoutes";

/** What the gateway signs and checks for agents. */
export interface AgentGateway {
  nodeKey: Buffer;
  nodePrivateKey: KeyObject;
  /** The token the services were started with (ServiceContext.serviceToken). */
  serviceToken: string;
  /** Public half of the node's agent-sealing key (agents/agentSecrets.ts). */
  sealingPublicKey: Buffer;
  /** Largest snapshot the gateway stores (default 256 MiB). */
  maxSnapshotBytes?: number;
  /** On a node that charges for calls (with the gateway's ComputeDesk). */
  paid?: PaidAgents;
  /** On a node that takes calls paid in the owner's creator token (`x-fleek-pay: token`, gateway/agentTokenRoutes.ts). */
  tokenPaid?: TokenPaidAgents;
  /** On a reporting node: where the records it signs of marketplace agents go to consensus (AckForwarder.submitSnapshot). */
  recordSink?: (record: SnapshotRecord) => void;
  /** The epoch reporter's reports folder (a committee member's closed reports): `GET /agents/_snapshots/<agentId>` proves from it. */
  reportsDir?: string;
}

/** What the gateway needs to charge agent calls. */
export interface PaidAgents {
  /** The AgentMarketplace id of a hosted agent (config `marketId`), or undefined: not listed, calls refused. */
  marketId: (agent: string) => bigint | undefined;
  /** `priceAt(id, epoch)` read at the epoch's first block (undefined: unknown to the marketplace). */
  priceOf: (marketId: bigint, epoch: number) => Promise<bigint | undefined>;
  /** The agents' CPU limit per request, ms: a call reserves its price plus this much CPU. */
  cpuLimitMs: number;
}

/** Routes `/agents/...`; `parts` is the path split on `/`, `search` the query with its `?`. */
export async function routeAgents(
  agents: AgentGateway | undefined,
  services: ServiceRouter,
  store: BlockStore,
  operatorDigest: Buffer | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
  search: string,
  compute?: ComputeDesk,
): Promise<void> {
  // Only this gateway vouches with the service token: a client's own never reaches the service.
  const presentedService = req.headers[SERVICE_TOKEN_HEADER];
  delete req.headers[SERVICE_TOKEN_HEADER];
  if (parts[2] === "_key" && parts.length === 3) {
    if (!agents) return replyError(res, 404, "this node hosts no agents");
    return replyJson(res, 200, { nodeKey: agents.nodeKey.toString("hex"), sealingKey: agents.sealingPublicKey.toString("hex") });
  }
  if (parts[2] === "_snapshots" && parts.length === 3) {
    if (!agents) return replyError(res, 404, "this node hosts no agents");
    if (req.method !== "POST") return replyError(res, 405, "use POST", { allow: "POST" });
    if (typeof presentedService !== "string" || !sameSecret(presentedService, agents.serviceToken))
      return replyError(res, 401, "only the node's agents service stores snapshots");
    const query = new URLSearchParams(search.slice(1));
    const agent = query.get("agent") ?? "";
    const sequence = Number(query.get("sequence"));
    if (!/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(agent) || !Number.isSafeInteger(sequence) || sequence < 1)
      return replyError(res, 400, "need ?agent=<agent id>&sequence=<snapshot number, from 1>");
    const max = agents.maxSnapshotBytes ?? 256 * 2 ** 20;
    if (Number(req.headers["content-length"] ?? 0) > max) return replyError(res, 413, `snapshot over ${max} bytes`);
    let size = 0;
    const bounded = (async function* () {
      for await (const part of req as AsyncIterable<Buffer>) {
        size += part.length;
        if (size > max) throw new Error(`snapshot over ${max} bytes`);
        yield part;
      }
    })();
    const stored = await store.put(bounded, { contentType: "application/x-tar" });
    const record = signSnapshot(
      { agent, root: stored.hash, bytes: stored.length, sequence, takenAt: Date.now(), nodeKey: agents.nodeKey.toString("hex") },
      agents.nodePrivateKey,
    );
    // Into the epoch report's agentSnapshotsRoot, for a marketplace agent (the epoch state keeps only those).
    if (marketplaceAgentId(agent) !== undefined) agents.recordSink?.(record);
    return replyJson(res, 201, record);
  }
  if (parts[2] === "_snapshots" && parts.length === 4) {
    if (req.method !== "GET") return replyError(res, 405, "use GET", { allow: "GET" });
    const agentId = marketplaceAgentId(parts[3]);
    if (agentId === undefined) return replyError(res, 400, "need /agents/_snapshots/<marketplace agent id, decimal>");
    const reported = agents?.reportsDir ? await reportedAgentSnapshot(agents.reportsDir, agentId) : undefined;
    if (!reported) return replyError(res, 404, `no epoch report this node closed holds a snapshot record of agent ${agentId}`);
    return replyJson(res, 200, reported);
  }
  const id = parts[2] ?? "";
  const forward = "/" + parts.slice(2).join("/") + search;
  if (parts[3] === "_fleek") {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!agents || !operatorDigest) return replyError(res, 403, "agent management is disabled on this node (no operator token set)");
    if (!bearer || !timingSafeEqual(sha256(bearer), operatorDigest))
      return replyError(res, 401, "missing or wrong operator token", { "www-authenticate": "Bearer" });
    req.headers[SERVICE_TOKEN_HEADER] = agents.serviceToken;
  }
  // `_records` is another host handing over a snapshot record: self-authenticating (its signature, its signer in the hosting set), checked by the service.
  if (id.startsWith("_") && !(id === "_records" && parts.length === 3)) return replyError(res, 404, `no route ${req.method} /agents/${id}`);
  if (agents?.tokenPaid && wantsTokenPayment(req) && parts[3] !== "_fleek" && !id.startsWith("_"))
    return routeTokenPaidCall(agents.tokenPaid, services, req, res, id, forward);
  if (compute && agents?.paid && parts[3] !== "_fleek" && !id.startsWith("_")) return routePaidCall(agents.paid, compute, services, req, res, id, forward);
  services.route("agents", req, res, forward, (_, headers) => receiptOf(agents, headers));
}

/** A paid call: admitted against the client's escrow (402 otherwise), its meter turned into a compute receipt. */
async function routePaidCall(
  paid: PaidAgents,
  compute: ComputeDesk,
  services: ServiceRouter,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  forward: string,
): Promise<void> {
  const client = req.headers[CLIENT_HEADER];
  if (typeof client !== "string" || !/^[0-9a-fA-F]{64}$/.test(client))
    return replyError(
      res,
      402,
      `agent calls on this node are paid: send ${CLIENT_HEADER}: <Ed25519 public key, 64 hex> bound to an escrow account with POST /acks/payer`,
    );
  const marketId = paid.marketId(id);
  if (marketId === undefined) return replyError(res, 402, `agent ${id} is not listed on the marketplace: its calls cannot be paid`);
  const admission = await compute.admitAgent(Buffer.from(client, "hex"), (epoch) => paid.priceOf(marketId, epoch), paid.cpuLimitMs);
  if (typeof admission === "string") return replyError(res, 402, admission);
  services.route(
    "agents",
    req,
    res,
    forward,
    meterReceiptHook(compute, admission, AGENT_METER_HEADER, (m: AgentMeter) => ({
      root: agentService(marketId).slice(2),
      requestHash: m.requestHash,
      responseHash: m.responseHash,
      cpuUs: m.cpuUs,
      wallMs: m.wallMs,
      egressBytes: m.egressBytes,
      llmTokens: m.promptTokens + m.completionTokens,
    })),
  );
}

/** Replaces the service's meter by a signed receipt (or drops it when the node signs none). */
function receiptOf(agents: AgentGateway | undefined, headers: IncomingHttpHeaders | undefined): IncomingHttpHeaders | undefined {
  if (!headers) return headers;
  const { [AGENT_METER_HEADER]: meter, ...rest } = headers;
  if (!agents || typeof meter !== "string") return rest;
  try {
    return { ...rest, [RECEIPT_HEADER]: JSON.stringify(signAgentReceipt(JSON.parse(meter) as AgentMeter, agents.nodeKey, agents.nodePrivateKey)) };
  } catch {
    return rest;
  }
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
