/**
 * Take-over between nodes (docs/agents-runtime.md "Hosting and take-over"). The host of an agent
 * (agentHosting.ts) serves it; any other node answers its requests with a redirect to the host.
 * The host snapshots each agent whose state changed every `snapshotEveryMs` and at clean shutdown,
 * and hands each signed record to the next nodes in the agent's order, which fetch the snapshot
 * into their own blockstores at once. When a node becomes an agent's host (the one before it
 * stopped answering, left the set, or it starts), it restores the newest record it holds that is
 * newer than its own state's, then serves. For a marketplace agent on a node that follows the
 * registry, the record of the latest epoch report holding the agent, proven against the root the
 * chain holds, is a floor: records below it or beside it (its sequence, another content or signer)
 * are refused, and it is restored without the guess of who hosted the agent.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "../logger";
import { ServiceRefusal, readGatewayContent } from "../services/serviceInput";
import type { AgentDirectory, AgentEntry } from "./agentDirectory";
import type { AgentHost } from "./agentHost";
import { JsonRpcProvider, Network } from "ethers";
import { RegistryHostingNodes } from "../chain/registryHostingNodes";
import { RegistryReporting } from "../chain/registryReporting";
import { marketplaceAgentId, verifyAgentSnapshotLeaf } from "../../protocol/agentSnapshots";
import { agentHostOrder } from "../../protocol/agentHosting";
import { AgentHosting, type Committees, type HostingNodes, type HostNode } from "./agentHosting";
import { newestRecord, snapshotLeaf, snapshotRecordRefusal, type SnapshotRecord } from "./agentRecords";
import type { AgentLimits, HostingConfig } from "./agentsConfig";

/** Nodes after the host that keep each of its snapshot records. */
const RECORD_KEEPERS = 2;
/** Nodes asked for a reported record's proof besides this one (the first of the agent's order after it). */
const PROOF_SOURCES = 3;
/** Committee members asked for it as well (those not asked already, first in the agent's order): only members keep proofs. */
const PROOF_COMMITTEE_SOURCES = 3;
/** Largest proof answer read (a record and a path of 32-byte hashes). */
const MAX_PROOF_BYTES = 64 * 1024;
/** Time the chain has to answer for the roots of the epochs a take-over's proofs name. */
const PROOF_DEADLINE_MS = 30_000;
const KEPT_RECORD = "kept-record.json";
const OWN_RECORD = "snapshot.json";

/** What take-over needs from the runtime. */
export interface TakeoverDeps {
  hosting: HostingConfig;
  limits: AgentLimits;
  gatewayUrl: string;
  logger: Logger;
  directory: AgentDirectory;
  agentDir: (id: string) => string;
  /** The hosts the runtime has built. */
  hosts: () => Iterable<AgentHost>;
  snapshot: (host: AgentHost) => Promise<SnapshotRecord>;
  restore: (host: AgentHost, record: unknown) => Promise<unknown>;
}

/**
 * The hosting set's one source (docs/agents-runtime.md "Hosting and take-over"): the registry's
 * active, non-jailed nodes of the current epoch when `hosting.registry` is set, else the config's
 * `hosting.nodes` (a node that follows no chain). With the registry, also its committee: the nodes
 * that keep the reported snapshot proofs.
 */
function hostingNodes(config: HostingConfig, provider: JsonRpcProvider | undefined): { nodes: HostingNodes; committees?: () => Promise<Committees> } {
  if (config.registry && provider) {
    const r = config.registry;
    const registry = new RegistryHostingNodes(provider, BigInt(r.chainId), r.address, r.pollMs);
    return { nodes: () => registry.nodes(), committees: () => registry.committees() };
  }
  const set = { nodes: config.nodes ?? [], left: [] };
  return { nodes: async () => set };
}

/** Whether two records are the same leaf of a report (content, size, number, signer; not the signing time). */
function sameLeaf(a: SnapshotRecord, b: SnapshotRecord): boolean {
  return a.root === b.root && a.bytes === b.bytes && a.sequence === b.sequence && a.nodeKey === b.nodeKey;
}

/** Reads a record file of an agent's folder, if any. */
export function readRecord(dir: string, name = OWN_RECORD): SnapshotRecord | undefined {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as SnapshotRecord) : undefined;
}

/** One runtime's take-over. */
export class AgentTakeover {
  private view: Promise<AgentHosting> | undefined;
  private readonly hostingNodes: HostingNodes;
  /** The registry's committees (the one that closed the latest report, the current one), on a node that follows the registry. */
  private readonly committees: (() => Promise<Committees>) | undefined;
  /** The chain's `agentSnapshotsRoot` of a reported epoch, on a node that follows the registry. */
  private readonly reportedRoot: ((epoch: number) => Promise<string | undefined>) | undefined;
  /** Per agent, the record its latest report holds, proven at its last adoption here: the floor of what is restored. */
  private readonly proven = new Map<string, { epoch: number; record: SnapshotRecord }>();
  /** Adoptions under way, by agent. */
  private readonly adopting = new Map<string, Promise<void>>();
  /** Agents this node serves as their host now (adopted). */
  private readonly hostedHere = new Set<string>();
  /** Each agent's write count at its last snapshot. */
  private readonly snapshotWrites = new Map<string, number>();
  private readonly ticker: NodeJS.Timeout;
  private snapshotting: Promise<void> | undefined;
  /** Periodic snapshot passes done (for status: a pass that snapshots nothing still counts). */
  ticks = 0;

  constructor(private readonly deps: TakeoverDeps) {
    // One provider for the hosting set and the reported roots: both read the same registry.
    const r = deps.hosting.registry;
    const provider = r && new JsonRpcProvider(r.rpcUrl, Network.from(r.chainId), { staticNetwork: true, cacheTimeout: -1 });
    ({ nodes: this.hostingNodes, committees: this.committees } = hostingNodes(deps.hosting, provider));
    if (r && provider) {
      const chain = new RegistryReporting(provider, BigInt(r.chainId), r.address);
      this.reportedRoot = (epoch) => chain.reportedAgentSnapshotsRoot(epoch);
    }
    this.ticker = setInterval(() => void this.snapshotChanged(), deps.hosting.snapshotEveryMs);
  }

  /** The hosting view, once this node's key is known (from its gateway). */
  hosting(): Promise<AgentHosting> {
    this.view ??= (async () => {
      const answer = await fetch(`${this.deps.gatewayUrl}/agents/_key`);
      if (answer.status !== 200) throw new ServiceRefusal(503, `this node's key is not known yet: HTTP ${answer.status} from its gateway`);
      return new AgentHosting(this.hostingNodes, this.deps.hosting.probeMs, ((await answer.json()) as { nodeKey: string }).nodeKey);
    })().catch((error: unknown) => {
      this.view = undefined;
      throw error;
    });
    return this.view;
  }

  /**
   * Where a request for `agent` goes: undefined when this node is its host (its newest known state
   * restored first), else the host to redirect to.
   */
  async route(agent: AgentEntry, host: AgentHost): Promise<HostNode | undefined> {
    const hosting = await this.hosting();
    const assigned = await hosting.hostOf(agent.id);
    if (assigned.nodeKey !== hosting.selfKey) {
      if (this.hostedHere.delete(agent.id)) {
        // Another node hosts it again: this one hands it its latest state and stops its alarms so the agent keeps one writer.
        this.deps.logger.info("agent handed back", { agent: agent.id, host: assigned.nodeKey });
        if (host.writes !== (this.snapshotWrites.get(agent.id) ?? 0))
          await this.snapshotAndHand(host).catch((error: unknown) =>
            this.deps.logger.warn("agent snapshot at hand-back failed", { agent: agent.id, error: String(error) }),
          );
        await host.stop();
      }
      return assigned;
    }
    if (!this.hostedHere.has(agent.id)) {
      // One adoption per agent at a time: concurrent requests wait for it instead of each fetching, proving and restoring.
      let adoption = this.adopting.get(agent.id);
      if (!adoption) {
        adoption = this.adopt(host, hosting.selfKey)
          .then(() => void this.hostedHere.add(agent.id))
          .finally(() => this.adopting.delete(agent.id));
        this.adopting.set(agent.id, adoption);
      }
      await adoption;
    }
    return undefined;
  }

  /**
   * Why a record to restore or keep is refused, or undefined when it may be: the record the
   * agent's latest report holds (proven at its adoption here) is taken as is; one below it, or of
   * its sequence but another leaf, is a rollback or a tampered record; any other must have been
   * signed by the agent's host (AgentHosting.hostRefusal).
   */
  async recordRefusal(record: SnapshotRecord): Promise<string | undefined> {
    const floor = this.proven.get(record.agent);
    if (floor && sameLeaf(record, floor.record)) return undefined;
    if (floor && record.sequence <= floor.record.sequence)
      return `record ${record.sequence} (root ${record.root}, signed by ${record.nodeKey}) is not newer than the record epoch ${floor.epoch}'s report holds (${floor.record.sequence}, root ${floor.record.root}): a rollback or a tampered record`;
    return (await this.hosting()).hostRefusal(record.agent, record.nodeKey, record.takenAt);
  }

  /** `POST /agents/_records {record}` from a host: kept (and its snapshot fetched) when newer than the one kept. */
  async receive(body: Buffer): Promise<{ status: number; body: unknown }> {
    let record: unknown;
    try {
      record = (JSON.parse(body.toString("utf8")) as { record?: unknown }).record;
    } catch {
      throw new ServiceRefusal(400, "need JSON {record}");
    }
    const id = (record as { agent?: unknown } | null)?.agent;
    if (typeof id !== "string" || !(await this.deps.directory.lookup(id))) throw new ServiceRefusal(404, `no agent ${JSON.stringify(id)} on this node`);
    const refusal = snapshotRecordRefusal(record, id) ?? (await this.recordRefusal(record as SnapshotRecord));
    if (refusal) throw new ServiceRefusal(400, `record refused: ${refusal}`);
    const r = record as SnapshotRecord;
    if (r.bytes > this.deps.limits.snapshotBytes) throw new ServiceRefusal(413, `record refused: ${r.bytes} bytes, over the snapshot limit`);
    const dir = this.deps.agentDir(id);
    const kept = readRecord(dir, KEPT_RECORD);
    if (kept && kept.sequence >= r.sequence)
      return { status: 200, body: { kept: false, reason: `record ${kept.sequence} is kept, not older than ${r.sequence}` } };
    // Fetched now, while its host is up: the gateway brings it from peers into this blockstore.
    await readGatewayContent(this.deps.gatewayUrl, r.root, this.deps.limits.snapshotBytes, { kind: "snapshot", what: "the snapshot" });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, KEPT_RECORD), JSON.stringify(r));
    return { status: 202, body: { kept: true } };
  }

  /** The record another host handed this node for `id`, if any. */
  keptRecord(id: string): SnapshotRecord | undefined {
    return readRecord(this.deps.agentDir(id), KEPT_RECORD);
  }

  /** `GET /agents/_records?agent=<id>`: the newest record this node holds for the agent (its own or one kept), for a node taking the agent over. */
  async newest(id: string): Promise<SnapshotRecord | null> {
    if (!(await this.deps.directory.lookup(id))) throw new ServiceRefusal(404, `no agent ${JSON.stringify(id)} on this node`);
    const dir = this.deps.agentDir(id);
    return newestRecord([readRecord(dir, KEPT_RECORD), readRecord(dir, OWN_RECORD)]) ?? null;
  }

  /** Snapshots `host` and hands the record to the next nodes in its order; how many kept it. */
  async snapshotAndHand(host: AgentHost): Promise<{ record: SnapshotRecord; keptBy: number }> {
    const writes = host.writes;
    const record = await this.deps.snapshot(host);
    this.snapshotWrites.set(host.agent.id, writes);
    const hosting = await this.hosting();
    const answers = await Promise.all(
      (await hosting.successors(host.agent.id, RECORD_KEEPERS)).map(async (node) => {
        try {
          const answer = await fetch(`${node.gatewayUrl}/agents/_records`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ record }),
            signal: AbortSignal.timeout(60_000),
          });
          await answer.body?.cancel();
          return answer.status === 202;
        } catch (error) {
          this.deps.logger.warn("agent record not handed on", { agent: host.agent.id, node: node.nodeKey, error: String(error) });
          return false;
        }
      }),
    );
    return { record, keptBy: answers.filter(Boolean).length };
  }

  /** Snapshots every agent hosted here whose state moved since its last snapshot. */
  snapshotChanged(): Promise<void> {
    this.snapshotting ??= (async () => {
      for (const host of this.deps.hosts()) {
        if (!this.hostedHere.has(host.agent.id) || host.writes === (this.snapshotWrites.get(host.agent.id) ?? 0)) continue;
        await this.snapshotAndHand(host).catch((error: unknown) =>
          this.deps.logger.warn("agent snapshot failed", { agent: host.agent.id, error: String(error) }),
        );
      }
      this.ticks++;
    })().finally(() => (this.snapshotting = undefined));
    return this.snapshotting;
  }

  /** The newest records the next nodes of the agent's order hold (those that answer in time). */
  private async pull(id: string): Promise<SnapshotRecord[]> {
    const hosting = await this.hosting();
    const answers = await Promise.all(
      (await hosting.successors(id, RECORD_KEEPERS)).map(async (node) => {
        try {
          const answer = await fetch(`${node.gatewayUrl}/agents/_records?agent=${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(5_000) });
          if (answer.status !== 200 || Number(answer.headers.get("content-length") ?? 0) > 16 * 1024) {
            await answer.body?.cancel();
            return undefined;
          }
          return ((await answer.json()) as { record?: SnapshotRecord | null }).record ?? undefined;
        } catch {
          return undefined;
        }
      }),
    );
    return answers.filter((r) => r !== undefined);
  }

  /** At clean shutdown: the periodic timer stops and changed agents are snapshotted a last time. */
  async close(): Promise<void> {
    clearInterval(this.ticker);
    await this.snapshotting;
    await this.snapshotChanged();
  }

  /**
   * Where `id`'s reported record is asked for: this node, the first {@link PROOF_SOURCES} after it
   * in the agent's order, and {@link PROOF_COMMITTEE_SOURCES} committee members not among those
   * ({@link committeeProofSources}). At most 7 gateways, asked in parallel.
   */
  private async proofSources(id: string): Promise<string[]> {
    const hosting = await this.hosting();
    const successors = await hosting.successors(id, PROOF_SOURCES);
    let committees: Committees = { closedLast: [], current: [] };
    try {
      committees = (await this.committees?.()) ?? committees;
    } catch (error) {
      this.deps.logger.warn("the registry's committee is not known: proofs asked of the agent's order only", { agent: id, error: String(error) });
    }
    const asked = new Set([hosting.selfKey, ...successors.map((n) => n.nodeKey)]);
    const fromCommittee = committeeProofSources(id, asked, committees, PROOF_COMMITTEE_SOURCES);
    return [this.deps.gatewayUrl, ...[...successors, ...fromCommittee].map((n) => n.gatewayUrl)];
  }

  /**
   * The record of the latest epoch report holding marketplace agent `id` that this node, the
   * first nodes of its order or committee members serve (`GET /agents/_snapshots/<id>`), proven against the root the
   * chain holds for that epoch; the latest epoch's of those that prove. Undefined for another
   * agent, a node that follows no chain, or when none proves: take-over then goes on without a
   * floor (logged when the chain or every node failed to answer).
   */
  private async reportedRecord(id: string): Promise<{ epoch: number; record: SnapshotRecord } | undefined> {
    const agentId = marketplaceAgentId(id);
    const reportedRoot = this.reportedRoot;
    if (agentId === undefined || !reportedRoot) return undefined;
    const sources = await this.proofSources(id);
    const answers = await Promise.all(
      sources.map(async (source) => {
        try {
          const answer = await fetch(`${source}/agents/_snapshots/${agentId}`, { signal: AbortSignal.timeout(5_000) });
          if (answer.status !== 200 || Number(answer.headers.get("content-length") ?? Infinity) > MAX_PROOF_BYTES) {
            await answer.body?.cancel();
            // A 404 answers too: that node holds no report with the agent.
            return { source, answered: answer.status === 404 };
          }
          return { source, answered: true, served: (await answer.json()) as { epoch?: unknown; record?: unknown; proof?: unknown } };
        } catch {
          return { source, answered: false };
        }
      }),
    );
    // Each epoch served is looked up once (a source's entry and its `previous`, at most two per
    // source), all within one deadline; an epoch the chain did not answer for leaves only the
    // entries of that epoch unproven.
    const entries = answers.flatMap(({ source, served }) =>
      (served ? [served, (served as { previous?: unknown }).previous] : []).flatMap((entry) =>
        entry === undefined ? [] : [{ source, entry: this.entryOf(id, source, entry) }],
      ),
    );
    const epochs = [...new Set(entries.flatMap(({ entry }) => (entry ? [entry.epoch] : [])))];
    const deadline = AbortSignal.timeout(PROOF_DEADLINE_MS);
    const roots = new Map<number, string | undefined>();
    let unanswered = 0;
    await Promise.all(
      epochs.map(async (epoch) => {
        try {
          roots.set(epoch, await untilAborted(reportedRoot(epoch), deadline));
        } catch (error) {
          unanswered++;
          this.deps.logger.warn("the chain did not answer for a reported epoch's root", { agent: id, epoch, error: String(error) });
        }
      }),
    );
    let best: { epoch: number; record: SnapshotRecord } | undefined;
    const provenFrom = new Set<string>();
    for (const { source, entry } of entries) {
      // A source's entry, then the one before it: between an epoch's close and its report on chain
      // only the previous one verifies.
      if (!entry || provenFrom.has(source) || !roots.has(entry.epoch)) continue;
      const root = roots.get(entry.epoch);
      if (!root || !verifyAgentSnapshotLeaf(root, snapshotLeaf(entry.record), entry.proof)) {
        this.deps.logger.warn("agent snapshot proof refused", { agent: id, source, reason: `not in the report of epoch ${entry.epoch} on chain` });
        continue;
      }
      provenFrom.add(source);
      if (!best || entry.epoch > best.epoch) best = { epoch: entry.epoch, record: entry.record };
    }
    if (!answers.some((a) => a.answered)) this.deps.logger.warn("no node answered for the agent's reported record: agent taken over without it", { agent: id });
    else if (!best && unanswered > 0) this.deps.logger.warn("the chain is unreachable: agent taken over without its reported record", { agent: id });
    return best;
  }

  /** `entry` of `source` when it is {epoch, record, proof} with a record of the agent whose signature holds; else logged. */
  private entryOf(id: string, source: string, entry: unknown): { epoch: number; record: SnapshotRecord; proof: string[] } | undefined {
    const { epoch, record, proof } = (entry ?? {}) as { epoch?: unknown; record?: unknown; proof?: unknown };
    if (!Number.isSafeInteger(epoch) || !Array.isArray(proof) || !proof.every((p) => typeof p === "string") || snapshotRecordRefusal(record, id)) {
      this.deps.logger.warn("agent snapshot proof refused", {
        agent: id,
        source,
        reason: "not {epoch, record, proof} with a record of the agent whose signature holds",
      });
      return undefined;
    }
    return { epoch: epoch as number, record: record as SnapshotRecord, proof: proof as string[] };
  }

  /**
   * Becoming `host`'s node: restores the newest record handed here, or held by the next nodes of
   * its order (a node that hosted it while this one was away), or proven in its latest report,
   * when newer than this node's own state; records the proven one refuses are dropped.
   */
  private async adopt(host: AgentHost, selfKey: string): Promise<void> {
    const id = host.agent.id;
    const dir = this.deps.agentDir(id);
    const own = readRecord(dir, OWN_RECORD);
    const reported = await this.reportedRecord(id);
    // The floor only rises: an adoption that proves only an older report keeps the newer one proven before.
    if (reported && reported.epoch > (this.proven.get(id)?.epoch ?? -1)) this.proven.set(id, reported);
    const offered = [readRecord(dir, KEPT_RECORD), ...(await this.pull(id)), reported?.record].filter(
      (r): r is SnapshotRecord => r !== undefined && snapshotRecordRefusal(r, id) === undefined,
    );
    // Every record is checked here, not only at restore: one refused there (say, a newer record a
    // node outside the hosting set signed) would stop the take-over instead of leaving the next best.
    const candidates: SnapshotRecord[] = [];
    for (const r of offered) {
      const refusal = await this.recordRefusal(r);
      if (refusal) this.deps.logger.warn("agent snapshot record refused", { agent: id, reason: refusal });
      else candidates.push(r);
    }
    const kept = newestRecord(candidates);
    if (!kept || kept.nodeKey === selfKey || kept.sequence <= (own?.sequence ?? 0)) return;
    this.deps.logger.info("agent taken over", { agent: id, from: kept.nodeKey, root: kept.root, sequence: kept.sequence, reportedEpoch: reported?.epoch });
    await this.deps.restore(host, kept);
    this.snapshotWrites.set(host.agent.id, host.writes);
  }
}

/** `promise`, or a rejection when `signal` aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(new Error(`no answer in ${PROOF_DEADLINE_MS} ms`));
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/**
 * The `count` committee members, not in `asked`, that `id`'s reported record is asked of: first
 * the committee that closed the latest report (only its members keep that report's proofs; the
 * current committee closes the next one, and its members hold older reports' at best), then the
 * current committee's; within each, in the agent's order, so the load of take-overs spreads.
 */
export function committeeProofSources(id: string, asked: ReadonlySet<string>, committees: Committees, count: number): HostNode[] {
  const chosen: HostNode[] = [];
  const seen = new Set(asked);
  for (const members of [committees.closedLast, committees.current]) {
    const byKey = new Map(members.filter((n) => !seen.has(n.nodeKey)).map((n) => [n.nodeKey, n]));
    for (const key of agentHostOrder(id, [...byKey.keys()])) {
      if (chosen.length === count) return chosen;
      chosen.push(byKey.get(key)!);
      seen.add(key);
    }
  }
  return chosen;
}
