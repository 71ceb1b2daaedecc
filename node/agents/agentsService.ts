/**
 * The agents service (docs/agents-runtime.md): `/agents/<id>/<path>` on the gateway reaches agent
 * `id` here as `/<id>/<path>`. Agents come from an {@link AgentDirectory} (the config's or
 * AgentMarketplace's); a paused agent or one whose lease ran out is refused (423, 402) and closed
 * with its state kept, and served again once resumed or funded. Their bundle and config are read through the gateway by root (verified by the blockstore). Each
 * agent has a queue (single writer), an isolate and a PGlite store opened on demand and closed
 * when idle. `/<id>/_fleek/snapshot` and `/<id>/_fleek/restore` are the operator's (the gateway
 * checks its token and vouches with the service token).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createBLAKE3 } from "hash-wasm";
import { LRUCache } from "lru-cache";
import { requestHash, responseHash } from "../acks/computeReceipt";
import type { FunctionRequest } from "../functions/functionRuntime";
import { headerPairs } from "../functions/functionsService";
import { BadBodyError, readJsonBody } from "../gateway/httpReplies";
import type { ServiceAnswer, ServiceRequest } from "../services/serviceChannel";
import { SERVICE_TOKEN_HEADER, type ServiceContext, type ServiceInstance } from "../services/serviceContract";
import { readBoundedBody, readGatewayContent, ServiceRefusal } from "../services/serviceInput";
import { JsonRpcProvider } from "ethers";
import { AgentMarketDirectory } from "../chain/agentMarketDirectory";
import { ConfigAgentDirectory, leaseRefusal, type AgentDirectory, type AgentEntry } from "./agentDirectory";
import { AgentError, AgentHost, storeLimits, type AgentFailure, type AgentUsage } from "./agentHost";
import { chat } from "./agentLlm";
import { AGENT_METER_HEADER, snapshotRecordRefusal, type AgentMeter, type SnapshotRecord } from "./agentRecords";
import { openSecret, sealingPublicKey } from "./agentSecrets";
import { readWakeHint } from "./agentAlarms";
import { agentsConfigFrom, type AgentsConfig } from "./agentsConfig";
import { AgentStore } from "./agentStore";
import { AgentTakeover, readRecord } from "./agentTakeover";

const FAILURE_STATUS: Record<AgentFailure, number> = {
  cpu: 503,
  memory: 503,
  wall: 504,
  threw: 500,
  "bad-module": 422,
  "response-too-large": 502,
  unavailable: 503,
};
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "trailer", "te"]);

/** Starts the service (in its own process, by the service framework). */
export async function startAgentsService(context: ServiceContext): Promise<ServiceInstance> {
  const config = agentsConfigFrom(context.options);
  const market = config.marketplace;
  const directory = market
    ? new AgentMarketDirectory(new JsonRpcProvider(market.rpcUrl, undefined, { staticNetwork: true }), market.address, {
        ttlMs: market.ttlMs,
        missTtlMs: market.ttlMs,
        minMemoryMiB: 8,
        maxMemoryMiB: config.limits.memoryMiB,
      })
    : new ConfigAgentDirectory(config.agents);
  const runtime = new AgentsRuntime(config, directory, context);
  return {
    // On the framed channel (serviceChannel.ts), as functions: an agent's answer is bounded
    // (`responseBytes`), and the HTTP hop cost the gateway and this process more CPU per request
    // than the agent's own run (bench/RESULTS.md "Agents").
    invoke: (request) =>
      runtime.serve(request).catch((error: unknown) => {
        if (error instanceof ServiceRefusal || error instanceof BadBodyError) return errorAnswer(error.status, error.message);
        if (error instanceof AgentError) return errorAnswer(FAILURE_STATUS[error.kind], error.message, { "x-fleek-agent-error": error.kind });
        context.logger.warn("agent request failed", { error: String(error) });
        return errorAnswer(500, `internal error: ${error instanceof Error ? error.message : String(error)}`);
      }),
    close: () => runtime.close(),
  };
}

function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): ServiceAnswer {
  return { status, headers: { ...headers, "content-type": "application/json" }, body: Buffer.from(JSON.stringify(body)) };
}

/** An error answer, `{"error": message}` as every error of the node. */
function errorAnswer(status: number, message: string, headers: Record<string, string> = {}): ServiceAnswer {
  return jsonAnswer(status, { error: message }, headers);
}

/** The hosted agents of one service process. */
export class AgentsRuntime {
  private readonly hosts = new Map<string, AgentHost>();
  /** Agents being closed because they are paused or their lease ran out. */
  private readonly parking = new Set<string>();
  /** Agents parked (paused, lease ended): the sweep resumes their stored alarms once they are served again. */
  private readonly parked = new Set<string>();
  private readonly content = new LRUCache<string, Buffer>({ maxSize: 64 * 2 ** 20, sizeCalculation: (b) => Math.max(1, b.length) });
  private template: Promise<{ dir: string; baseline: number }> | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private readonly refusedHosts: ReadonlySet<string>;
  private readonly sealingKey: Buffer | undefined;
  private readonly takeover: AgentTakeover | undefined;
  private readonly wakes = new Set<NodeJS.Timeout>();

  constructor(
    private readonly config: AgentsConfig,
    private readonly directory: AgentDirectory,
    private readonly context: ServiceContext,
  ) {
    this.refusedHosts = new Set(context.nodeHosts.map((h) => h.toLowerCase()));
    this.sealingKey = context.sealingKey ? Buffer.from(context.sealingKey, "hex") : undefined;
    this.sweeper = setInterval(() => void this.closeIdle(), Math.max(50, Math.min(5_000, config.limits.idleMs / 4)));
    this.takeover = config.hosting
      ? new AgentTakeover({
          hosting: config.hosting,
          limits: config.limits,
          gatewayUrl: context.gatewayUrl,
          logger: context.logger,
          directory,
          agentDir: (id) => this.agentDir(id),
          hosts: () => this.hosts.values(),
          snapshot: (host) => this.snapshot(host),
          restore: (host, record) => this.restore(host, record),
        })
      : undefined;
    void this.scheduleWakes();
  }

  /** After a restart: opens each agent whose stored alarm is due then (opening schedules its alarms). */
  private async scheduleWakes(): Promise<void> {
    for (const agent of await this.directory.list()) {
      const due = readWakeHint(this.agentDir(agent.id));
      if (due === undefined) continue;
      const timer = setTimeout(
        () => {
          this.wakes.delete(timer);
          void this.wake(agent).catch((error: unknown) => this.context.logger.warn("agent wake failed", { agent: agent.id, error: String(error) }));
        },
        Math.max(0, due - Date.now()),
      );
      this.wakes.add(timer);
    }
  }

  private async wake(agent: AgentEntry): Promise<void> {
    const host = this.hostOf(agent);
    // A parked agent's alarms wait in its store until it is served again (the sweep wakes it then).
    if (leaseRefusal(agent, Date.now())) return this.park(agent.id);
    // With take-over, only the agent's host runs its alarms (routing adopts it first).
    if (this.takeover && (await this.takeover.route(agent, host))) return;
    await this.makeRoom(host);
    await host.wake();
  }

  /** Answers one request routed to the service. */
  async serve(req: ServiceRequest): Promise<ServiceAnswer> {
    const url = new URL(req.url, "http://agent");
    const parts = url.pathname.split("/");
    const id = parts[1] ?? "";
    const declaredLength = req.headers["content-length"] as string | undefined;
    if (id === "") return jsonAnswer(200, { agents: await this.status() });
    if (id === "_records") {
      if (!this.takeover) throw new ServiceRefusal(404, "this node keeps no agent records (no services.agents.hosting)");
      if (req.method === "GET") return jsonAnswer(200, { record: await this.takeover.newest(url.searchParams.get("agent") ?? "") });
      if (req.method !== "POST") throw new ServiceRefusal(405, "GET /agents/_records?agent=<id> or POST /agents/_records {record}");
      const answer = await this.takeover.receive(await readBoundedBody(req.body, declaredLength, 16 * 1024));
      return jsonAnswer(answer.status, answer.body);
    }
    const agent = await this.directory.lookup(id);
    if (!agent) throw new ServiceRefusal(404, `no agent ${JSON.stringify(id)} on this node`);
    if (parts[2] === "_fleek") return this.manage(agent, parts[3] ?? "", req);
    const refusal = leaseRefusal(agent, Date.now());
    if (refusal) {
      this.park(agent.id);
      throw new ServiceRefusal(refusal.status, refusal.reason);
    }
    const host = this.hostOf(agent);
    const elsewhere = await this.takeover?.route(agent, host);
    if (elsewhere) {
      // 307 keeps the method and body: the client sends the same request to the agent's host.
      const location = `${elsewhere.gatewayUrl}/agents/${parts.slice(1).join("/")}${url.search}`;
      return jsonAnswer(307, { error: `agent ${id} is hosted by node ${elsewhere.nodeKey}`, host: elsewhere }, { location });
    }
    await this.makeRoom(host);
    const body = await readBoundedBody(req.body, declaredLength, this.config.limits.requestBytes);
    const target = "/" + parts.slice(2).join("/") + url.search;
    const headers = headerPairs(req.headers);
    const method = req.method;
    const request: FunctionRequest = {
      method,
      url: `http://${req.headers.host ?? "agent"}${target}`,
      headers,
      body: body.length > 0 ? body : null,
      params: {
        method,
        path: target.split("?")[0],
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(headers),
        ...(body.length ? { body: body.toString("utf8") } : {}),
      },
    };
    const meterOf = (usage: AgentUsage, answered: Uint8Array): AgentMeter => ({
      agent: agent.id,
      bundleRoot: agent.bundleRoot,
      requestHash: requestHash(method, target, body).toString("hex"),
      responseHash: responseHash(answered).toString("hex"),
      cpuUs: usage.cpuUs,
      wallMs: usage.wallMs,
      egressBytes: answered.byteLength,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
    });
    const started = Date.now();
    let answer;
    try {
      answer = await host.request(request);
    } catch (error) {
      if (!(error instanceof AgentError) || error.cpuUs === undefined) throw error;
      // A run stopped by a limit still used the node: its error answer carries a meter too.
      const stopped = errorAnswer(FAILURE_STATUS[error.kind], error.message, { "x-fleek-agent-error": error.kind });
      const usage = { cpuUs: error.cpuUs, wallMs: Date.now() - started, promptTokens: 0, completionTokens: 0 };
      stopped.headers[AGENT_METER_HEADER] = JSON.stringify(meterOf(usage, stopped.body));
      return stopped;
    }
    const out: Record<string, string> = {};
    for (const [k, v] of answer.response.headers) if (!HOP_BY_HOP.has(k) && !k.startsWith("x-fleek-")) out[k] = v;
    out[AGENT_METER_HEADER] = JSON.stringify(meterOf(answer.usage, answer.response.body));
    return { status: answer.response.status, headers: out, body: answer.response.body };
  }

  /** Closes every agent. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const timer of this.wakes) clearTimeout(timer);
    await this.takeover?.close();
    await Promise.all([...this.hosts.values()].map((h) => h.stop()));
  }

  private hostOf(agent: AgentEntry): AgentHost {
    let host = this.hosts.get(agent.id);
    if (!host) {
      host = new AgentHost(agent, {
        limits: this.config.limits,
        dataDir: this.agentDir(agent.id),
        template: () => (this.template ??= this.prepareTemplate()),
        content: (root, max) => this.read(root, max),
        sealingKeyHex: this.sealingKey ? sealingPublicKey(this.sealingKey).toString("hex") : undefined,
        chat: (entry, request, deadline) =>
          chat(
            { limits: this.config.limits, refusedHosts: this.refusedHosts, allowedHosts: new Set(this.config.llmHosts), apiKey: (a) => this.apiKey(a) },
            entry,
            request,
            deadline,
          ),
        refusedHosts: this.refusedHosts,
        alarmFailed: (id, error) => this.context.logger.warn("agent alarm failed", { agent: id, error: error.message }),
        alarmAllowed: () => this.alarmAllowed(agent.id),
      });
      this.hosts.set(agent.id, host);
    }
    return host;
  }

  private apiKey(agent: AgentEntry): string | undefined {
    const sealed = agent.llm?.sealedApiKey;
    if (agent.llm?.sealedElsewhere) throw new Error("llm.chat refused: the agent's owner sealed its API key to other nodes, not to this one");
    if (!sealed) return undefined;
    if (!this.sealingKey) throw new Error("llm.chat refused: this node has no sealing key to open the owner's API key");
    return openSecret(this.sealingKey, agent.id, sealed);
  }

  private agentDir(id: string): string {
    return path.join(this.context.dataDir, "agents", id);
  }

  private async prepareTemplate(): Promise<{ dir: string; baseline: number }> {
    const dir = path.join(this.context.dataDir, "template");
    return { dir, baseline: await AgentStore.prepareTemplate(dir, storeLimits(this.config.limits)) };
  }

  /** Before opening a closed agent: closes the least recently used idle ones beyond `maxOpen`. */
  private async makeRoom(host: AgentHost): Promise<void> {
    if (host.isOpen) return;
    const open = [...this.hosts.values()].filter((h) => h.isOpen && h !== host);
    const idle = open.filter((h) => h.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (let excess = open.length + 1 - this.config.limits.maxOpen; excess > 0 && idle.length > 0; excess--) await idle.shift()!.close();
  }

  /** A due alarm of `id` runs unless the agent is parked now (then it is parked: its timers dropped, its rows kept). */
  private async alarmAllowed(id: string): Promise<boolean> {
    const agent = await this.directory.lookup(id);
    if (!agent || !leaseRefusal(agent, Date.now())) return true;
    this.park(id);
    return false;
  }

  private async closeIdle(): Promise<void> {
    const now = Date.now();
    for (const id of this.parked) {
      const agent = await this.directory.lookup(id).catch(() => undefined);
      if (!agent || leaseRefusal(agent, now)) continue;
      // Served again (funded, resumed): its stored alarms are scheduled, those due while parked run now.
      this.parked.delete(id);
      if (readWakeHint(this.agentDir(id)) !== undefined)
        void this.wake(agent).catch((error: unknown) => this.context.logger.warn("agent wake failed", { agent: id, error: String(error) }));
    }
    for (const [id, host] of this.hosts) {
      if (!host.isOpen && host.pendingAlarms === 0) continue;
      const agent = await this.directory.lookup(id).catch(() => undefined);
      if (agent && leaseRefusal(agent, now)) this.park(id);
      else if (host.isOpen && host.busy === 0 && now - host.lastUsed > this.config.limits.idleMs) await host.close();
    }
  }

  /**
   * A paused agent or an ended lease: cancels its alarms' timers and closes its isolate and store
   * after the requests already in its queue (admitted while it was served, they finish). Its data
   * folder, last snapshot and stored alarms stay; once it is served again the sweep (or its next
   * request) reopens it in the same queue and its alarms run, those due meanwhile at once.
   */
  private park(id: string): void {
    this.parked.add(id);
    const host = this.hosts.get(id);
    if (!host || this.parking.has(id) || (!host.isOpen && host.pendingAlarms === 0)) return;
    this.parking.add(id);
    host
      .stop()
      .catch((error: Error) => this.context.logger.warn("closing a paused agent failed", { agent: id, error: error.message }))
      .finally(() => this.parking.delete(id));
  }

  private async status(): Promise<unknown[]> {
    const now = Date.now();
    const listed = await this.directory.list();
    // Looked up again: a chain directory refreshes what its cache holds past its time to live.
    const agents = (await Promise.all(listed.map((a) => this.directory.lookup(a.id)))).filter((a) => a !== undefined);
    return agents.map((a) => {
      const host = this.hosts.get(a.id);
      return {
        id: a.id,
        owner: a.owner,
        bundleRoot: a.bundleRoot,
        configRoot: a.configRoot,
        open: host?.isOpen ?? false,
        busy: host?.busy ?? 0,
        pendingAlarms: host?.pendingAlarms ?? 0,
        refused: leaseRefusal(a, now)?.status ?? null,
        ...(a.lease ? { paused: a.lease.paused, leaseUntil: a.lease.untilMs === null ? null : new Date(a.lease.untilMs).toISOString() } : {}),
      };
    });
  }

  /** Content by root through the gateway (verified by the blockstore), at most `maxBytes`. */
  private async read(root: string, maxBytes: number): Promise<Buffer> {
    const cached = this.content.get(root);
    if (cached && cached.length <= maxBytes) return cached;
    const bytes = await readGatewayContent(this.context.gatewayUrl, root, maxBytes, { kind: "content", what: `content ${root}` });
    this.content.set(root, bytes);
    return bytes;
  }

  /** The operator's routes: snapshot, restore, status of one agent. */
  private async manage(agent: AgentEntry, op: string, req: ServiceRequest): Promise<ServiceAnswer> {
    if (!this.context.serviceToken || req.headers[SERVICE_TOKEN_HEADER] !== this.context.serviceToken)
      throw new ServiceRefusal(401, "agent management needs the node's operator token (Authorization: Bearer <token> on the gateway)");
    const host = this.hostOf(agent);
    if (op === "snapshot" && req.method === "POST") {
      if (!this.takeover) return jsonAnswer(201, await this.snapshot(host));
      const { record, keptBy } = await this.takeover.snapshotAndHand(host);
      return jsonAnswer(201, record, { "x-fleek-record-kept-by": String(keptBy) });
    }
    if (op === "restore" && req.method === "POST") {
      const body = (await readJsonBody({ headers: req.headers, [Symbol.asyncIterator]: () => req.body[Symbol.asyncIterator]() })) as {
        record?: unknown;
      } | null;
      return jsonAnswer(200, await this.restore(host, body?.record));
    }
    if (op === "usage" && req.method === "GET") {
      const usedBytes = await host.withStore(async (store) => store?.usedBytes ?? null);
      return jsonAnswer(200, {
        agent: agent.id,
        open: host.isOpen,
        usedBytes,
        pendingAlarms: host.pendingAlarms,
        lastSnapshot: readRecord(this.agentDir(agent.id)) ?? null,
        keptRecord: this.takeover?.keptRecord(agent.id) ?? null,
        snapshotPasses: this.takeover?.ticks ?? null,
      });
    }
    throw new ServiceRefusal(404, "agent management: POST _fleek/snapshot, POST _fleek/restore {record}, GET _fleek/usage");
  }

  /**
   * Dumps the agent's store (in its queue: no write is half done), adds the tarball to the
   * blockstore through the gateway, which signs the record with the node key; keeps the record.
   */
  private async snapshot(host: AgentHost): Promise<SnapshotRecord> {
    const id = host.agent.id;
    const tarball = await host.withStore(async (open) => {
      if (open) return open.dump();
      const template = await (this.template ??= this.prepareTemplate());
      const store = await AgentStore.open(path.join(this.agentDir(id), "db"), storeLimits(this.config.limits), {
        template: template.dir,
        baseline: template.baseline,
      });
      try {
        return await store.dump();
      } finally {
        await store.close();
      }
    });
    if (tarball.byteLength > this.config.limits.snapshotBytes)
      throw new ServiceRefusal(413, `the agent's snapshot is ${tarball.byteLength} bytes, over the ${this.config.limits.snapshotBytes}-byte limit`);
    // The next number after the record this state was last snapshotted or restored from, on whichever node.
    const sequence = (readRecord(this.agentDir(id))?.sequence ?? 0) + 1;
    const answer = await fetch(`${this.context.gatewayUrl}/agents/_snapshots?agent=${encodeURIComponent(id)}&sequence=${sequence}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", [SERVICE_TOKEN_HEADER]: this.context.serviceToken ?? "" },
      body: Buffer.from(tarball),
    });
    const text = await answer.text();
    if (answer.status !== 201) throw new ServiceRefusal(502, `the gateway did not store the snapshot: HTTP ${answer.status} ${text.slice(0, 300)}`);
    const record = JSON.parse(text) as SnapshotRecord;
    fs.mkdirSync(this.agentDir(id), { recursive: true });
    fs.writeFileSync(path.join(this.agentDir(id), "snapshot.json"), JSON.stringify(record));
    return record;
  }

  /**
   * Only a node that may host agents signs records another node restores from; without a hosting
   * set this node restores only its own.
   */
  private async signerRefusal(r: SnapshotRecord): Promise<string | undefined> {
    if (this.takeover) return this.takeover.recordRefusal(r);
    const answer = await fetch(`${this.context.gatewayUrl}/agents/_key`);
    const self = answer.status === 200 ? ((await answer.json()) as { nodeKey: string }).nodeKey : undefined;
    return r.nodeKey === self ? undefined : `signed by node ${r.nodeKey}, not this node (restoring another node's record needs services.agents.hosting)`;
  }

  /**
   * Replaces the agent's state with a snapshot: the record must be signed by the node it names
   * and be this agent's; the tarball, read through the gateway (blockstore or peers, verified by
   * block), must hash to the record's root and have its length. Anything else is refused before
   * the agent's current state is touched.
   */
  private async restore(host: AgentHost, record: unknown): Promise<{ restored: string; bytes: number }> {
    const refusal = snapshotRecordRefusal(record, host.agent.id);
    if (refusal) throw new ServiceRefusal(400, `snapshot refused: ${refusal}`);
    const r = record as SnapshotRecord;
    const signer = await this.signerRefusal(r);
    if (signer) throw new ServiceRefusal(403, `snapshot refused: ${signer}`);
    const current = readRecord(this.agentDir(host.agent.id));
    // A replay: an older record, or another one of the same number (restoring the very record of the state is a roll-back to it).
    if (current && (r.sequence < current.sequence || (r.sequence === current.sequence && r.signature !== current.signature)))
      throw new ServiceRefusal(409, `snapshot refused: record ${r.sequence} is not newer than the state's record ${current.sequence}`);
    if (r.bytes > this.config.limits.snapshotBytes)
      throw new ServiceRefusal(413, `snapshot refused: ${r.bytes} bytes, over the ${this.config.limits.snapshotBytes}-byte limit`);
    let tarball: Buffer;
    try {
      tarball = await readGatewayContent(this.context.gatewayUrl, r.root, this.config.limits.snapshotBytes, { kind: "snapshot", what: "the snapshot" });
    } catch (error) {
      throw new ServiceRefusal(
        error instanceof ServiceRefusal ? error.status : 502,
        `snapshot refused: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const hasher = await createBLAKE3();
    const root = hasher.init().update(tarball).digest("hex");
    if (root !== r.root || tarball.length !== r.bytes)
      throw new ServiceRefusal(
        422,
        `snapshot refused: its content hashes to ${root} (${tarball.length} bytes), not the record's root ${r.root} (${r.bytes} bytes)`,
      );
    const dir = path.join(this.agentDir(host.agent.id), "db");
    await host.withStore(async (_open, close) => {
      await close();
      // The old state's alarms go with it; the restored state's are scheduled when it opens.
      host.dropAlarmTimers();
      const aside = `${dir}.replaced`;
      fs.rmSync(aside, { recursive: true, force: true });
      if (fs.existsSync(dir)) fs.renameSync(dir, aside);
      // A node taking over an agent it never opened has no folder for it (nor for the template) yet.
      fs.mkdirSync(this.agentDir(host.agent.id), { recursive: true });
      try {
        const template = await (this.template ??= this.prepareTemplate());
        const store = await AgentStore.open(dir, storeLimits(this.config.limits), { load: new Uint8Array(tarball), baseline: template.baseline });
        await store.close();
        fs.rmSync(aside, { recursive: true, force: true });
      } catch (error) {
        // The tarball hashed right but does not open as a database: keep the agent's old state.
        fs.rmSync(dir, { recursive: true, force: true });
        if (fs.existsSync(aside)) fs.renameSync(aside, dir);
        throw new ServiceRefusal(422, `snapshot refused: it does not open as a database: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    fs.writeFileSync(path.join(this.agentDir(host.agent.id), "snapshot.json"), JSON.stringify(r));
    return { restored: r.root, bytes: r.bytes };
  }
}
