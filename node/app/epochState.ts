/**
 * The application state of one epoch: a pure function of the epoch's context (read from the
 * registry at the epoch's first block) and its committed transaction sequence. Every member
 * applies the same sequence and so holds the same acks, measurements and signatures, closes at
 * the same transaction, and builds byte-identical reports. Transactions that break a rule are
 * refused here with a reason and change nothing; the node logs them and goes on.
 */
import { recoverAddress, type TypedDataDomain } from "ethers";
import type { FunctionSponsor } from "../acks/computeDesk";
import { verifyComputeAck, type SignedComputeAck } from "../acks/computeReceipt";
import { verifyDeliveryAckSignature, type SignedDeliveryAck } from "../acks/deliveryAck";
import { verifyPayerBinding, type PayerBinding } from "../acks/payerBinding";
import { checkTransaction, transactionPayload } from "../client/transaction";
import { AppTxKind, decodeAppTx, type AppTx, type PeerReport } from "./appTransactions";
import { quorum, reportDigest, reportDomain, type EpochReport, type NodeMeasurement } from "../../protocol/report";
import { completeEpochReport, reportRewardsTree, type NodeStanding } from "../../protocol/reportRoots";
import { computeReputation, isPlausible, METRICS, type PeerMeasurement } from "../../protocol/reputation";
import type { RewardsTree } from "../../protocol/rewards";
import { assignedAgentHost } from "../../protocol/agentHosting";
import { agentSnapshotsRoot, type AgentSnapshotLeaf } from "../../protocol/agentSnapshots";
import { snapshotLeaf, snapshotRecordRefusal, type SnapshotRecord } from "../agents/agentRecords";
import {
  agentService,
  BANDWIDTH_PRICE_PER_GB,
  DEFAULT_COMPUTE_PRICES,
  usageTotals,
  type AgentPrices,
  type ComputePrices,
  type Delivery,
} from "../../protocol/usage";

/** A node as the epoch's context knows it. */
export interface ContextNode {
  id: number;
  /** Ed25519 node key, hex without 0x. */
  nodeKey: string;
  /** Report signer address (checksummed). */
  signer: string;
  owner: string;
  lockedUntil: bigint;
}

/** Everything the state needs from the chain, fixed for the epoch. */
export interface EpochContext {
  epoch: number;
  /**
   * The acks of this epoch are those whose window starts in [acksFromMs, acksUntilMs): from the
   * previous epoch's scheduled end to this one's (start + duration as each epoch started, chain
   * time, Unix ms). These intervals never overlap, so no ack counts in two epochs; the gap between
   * an epoch's end and the next one's start (reveals, report) belongs to the next epoch.
   */
  acksFromMs: number;
  acksUntilMs: number;
  chainId: bigint;
  registry: string;
  /** The committee, in committee order. */
  committee: ContextNode[];
  /** The active set: the nodes the report covers. */
  active: ContextNode[];
  /** Reputation after the last reported epoch (node id → 0-100). */
  previousReputation: ReadonlyMap<number, number>;
  /** USDC units per 10^9 bytes (default protocol/usage.ts BANDWIDTH_PRICE_PER_GB). */
  pricePerGB?: bigint;
  /** Edge function prices, `ServiceEscrow`'s at the epoch's first block (default protocol/usage.ts DEFAULT_COMPUTE_PRICES). */
  computePrices?: ComputePrices;
  /** The block that started the epoch: escrow balances and limits are read there. */
  startBlock?: number;
  /** `AgentMarketplace.pricePer1kTokens` at the epoch's first block (default: tokens are not charged). */
  agentPrices?: AgentPrices;
}

/** An agent's terms for the epoch, read from AgentMarketplace at its first block. */
export interface AgentTerms {
  /** `priceAt(id, epoch)`: USDC units per call (a change made during the epoch applies from the next). */
  price: bigint;
  /** Its owner's escrow account, which pays the LLM tokens its calls used. */
  owner: string;
}

/** Acknowledged calls of one agent by one client on one node (the agent is `bytes32(agentId)`, hex without 0x). */
export interface AgentCalls {
  nodeId: number;
  client: string;
  agent: string;
  requests: bigint;
  cpuUs: bigint;
  llmTokens: bigint;
}

/**
 * The result of applying one transaction. `late` marks the refusals honest members cause too
 * (a duplicate, or work arriving after the epoch closed), as opposed to invalid transactions.
 */
export type ApplyResult = { ok: true; refusedAcks?: number } | { ok: false; reason: string; late?: true };

/** The report of a closed epoch, its digest and rewards tree (for claim proofs). */
export interface ClosedReport {
  report: EpochReport;
  digest: string;
  rewards: RewardsTree;
}

const TX_RULES = { maxTxSize: 64 * 1024, verifySignatures: true };

/** A committed transaction checked and decoded, or why not (see EpochState.checked). */
type CheckedTx = { decoded: AppTx; bad?: undefined } | { decoded?: undefined; bad: string };

/** Acked content (bytes, acks) or invocations of one (node, client or owner-pays function, function root) entry. */
export interface Served {
  nodeId: number;
  client: string;
  sponsor?: FunctionSponsor;
  /** The function's content root (invocations only): the report's per-function charges come from it. */
  root?: string;
  bytes: bigint;
  acks: bigint;
  requests: bigint;
  cpuUs: bigint;
}

/**
 * Everything an {@link EpochState} holds, as plain values in the state's own order (maps as entry
 * lists in insertion order): {@link EpochState.save} and {@link EpochState.restore} round-trip it
 * exactly. The closed report is kept as the report alone; its digest and rewards tree are
 * recomputed from it and the context.
 */
export interface EpochStateData {
  context: EpochContext;
  seenAcks: string[];
  served: [string, Served][];
  sponsors: [string, FunctionSponsor | null][];
  acksPerNode: [number, bigint][];
  bytesPerNode: [number, bigint][];
  payers: [string, PayerBinding][];
  debitable: [string, bigint][];
  measurements: [string, PeerMeasurement][];
  closers: number[];
  report?: EpochReport;
  signatures: [number, { signer: string; signature: string }][];
  /** Agent terms and calls (absent in snapshots from before agent calls were charged). */
  agentTerms?: [string, AgentTerms | null][];
  agentCalls?: [string, AgentCalls][];
  /** Snapshot records kept and refused (absent in snapshots from before they went through consensus). */
  agentSnapshots?: [string, SnapshotRecord][];
  refusedSnapshots?: number;
}

/**
 * The nodes that host agents in `context`'s epoch (node keys): the active set, so a node that left
 * or was jailed hosts no agent from the next epoch and its agents move to their next node. The one
 * place the epoch state takes its hosting set from (docs/agents-runtime.md "Snapshots through consensus").
 */
export function agentHostingSet(context: EpochContext): string[] {
  return context.active.map((n) => n.nodeKey);
}

/** One epoch's deterministic application state. */
export class EpochState {
  private readonly memberByKey = new Map<string, ContextNode>();
  private readonly activeByKey = new Map<string, ContextNode>();
  private readonly activeIds: Set<number>;
  /** client:nonce of every ack counted. */
  private readonly seenAcks = new Set<string>();
  /** The same ids in counting order, so a snapshot takes only those counted since the last one ({@link acksSince}). */
  private readonly ackOrder: string[] = [];
  /**
   * Acked content (bytes, acks) per (node id, client key hex), and invocations per (node id, client
   * key hex or owner-pays function, function root), in first-seen order: the report's per-function
   * charges come from the root. One entry per counted ack at most, as before the root was kept.
   */
  private readonly served = new Map<string, Served>();
  /** Function root (hex) → its owner-pays sponsor at the epoch's first block, or null: its clients pay. */
  private readonly sponsors = new Map<string, FunctionSponsor | null>();
  private readonly acksPerNode = new Map<number, bigint>();
  private readonly bytesPerNode = new Map<number, bigint>();
  private readonly payers = new Map<string, PayerBinding>();
  /** Each transaction's check, while its buffer lives (a batch's transactions are checked once, not once per pass). */
  private readonly checkedTxs = new WeakMap<Buffer, CheckedTx>();
  /** Escrow account (lower-case) → what the report may debit it (`ServiceEscrow.debitable` at the epoch's first block). */
  private readonly debitable = new Map<string, bigint>();
  /** Latest report of each (reporter, peer), keyed "reporter:peer". */
  private readonly measurements = new Map<string, PeerMeasurement>();
  private readonly closers = new Set<number>();
  private closedReport: ClosedReport | undefined;
  /** Member id → its report signature, in sequence order. */
  private readonly signatures = new Map<number, { signer: string; signature: string }>();
  /** Agent (`bytes32(agentId)` hex) → its terms at the epoch's first block, or null: not a marketplace agent. */
  private readonly agentTerms = new Map<string, AgentTerms | null>();
  /** "node:client key:agent" → acknowledged calls, in first-seen order. */
  private readonly agentCalls = new Map<string, AgentCalls>();
  /** Agent (marketplace id, decimal) → the newest snapshot record its assigned host signed this epoch: one per agent. */
  private readonly agentSnapshots = new Map<string, SnapshotRecord>();
  private refusedSnapshotCount = 0;
  readonly domain: TypedDataDomain;

  constructor(readonly context: EpochContext) {
    for (const n of context.committee) this.memberByKey.set(n.nodeKey, n);
    for (const n of context.active) this.activeByKey.set(n.nodeKey, n);
    this.activeIds = new Set(context.active.map((n) => n.id));
    this.domain = reportDomain(context.chainId, context.registry);
  }

  /**
   * A copy of the state but the ack ids (see {@link EpochStateData}; the ids, the bulk of the
   * state, only grow: {@link acksSince} gives those counted after a point); later transactions
   * do not change it.
   */
  save(): Omit<EpochStateData, "seenAcks"> {
    return {
      context: this.context,
      served: [...this.served].map(([k, e]) => [k, { ...e }]),
      sponsors: [...this.sponsors],
      acksPerNode: [...this.acksPerNode],
      bytesPerNode: [...this.bytesPerNode],
      payers: [...this.payers],
      debitable: [...this.debitable],
      measurements: [...this.measurements],
      closers: [...this.closers],
      report: this.closedReport?.report,
      signatures: [...this.signatures],
      agentTerms: [...this.agentTerms],
      agentCalls: [...this.agentCalls].map(([k, c]) => [k, { ...c }]),
      agentSnapshots: [...this.agentSnapshots],
      refusedSnapshots: this.refusedSnapshotCount,
    };
  }

  /** Number of ack ids counted. */
  get ackCount(): number {
    return this.ackOrder.length;
  }

  /** The ack ids counted after the first `from` (up to the first `to`), in counting order: a copy of those only. */
  acksSince(from: number, to = this.ackOrder.length): string[] {
    return this.ackOrder.slice(from, to);
  }

  /** Records an ack id as counted. */
  private noteAck(id: string): void {
    this.seenAcks.add(id);
    this.ackOrder.push(id);
  }

  /**
   * The state {@link save} copied, with {@link acksSince}(0) as `seenAcks`. Throws if a closed report does not match its own rewards
   * tree under this context (the data is not a state this code saved).
   */
  static restore(data: EpochStateData): EpochState {
    const s = new EpochState(data.context);
    for (const id of data.seenAcks) s.noteAck(id);
    for (const [k, e] of data.served) s.served.set(k, { ...e });
    for (const [k, v] of data.sponsors) s.sponsors.set(k, v);
    for (const [k, v] of data.acksPerNode) s.acksPerNode.set(k, v);
    for (const [k, v] of data.bytesPerNode) s.bytesPerNode.set(k, v);
    for (const [k, v] of data.payers) s.payers.set(k, v);
    for (const [k, v] of data.debitable) s.debitable.set(k, v);
    for (const [k, v] of data.measurements) s.measurements.set(k, v);
    for (const id of data.closers) s.closers.add(id);
    for (const [k, v] of data.signatures) s.signatures.set(k, v);
    for (const [k, v] of data.agentTerms ?? []) s.agentTerms.set(k, v);
    for (const [k, c] of data.agentCalls ?? []) s.agentCalls.set(k, { ...c });
    for (const [k, r] of data.agentSnapshots ?? []) s.agentSnapshots.set(k, r);
    s.refusedSnapshotCount = data.refusedSnapshots ?? 0;
    if (data.report) {
      if (data.report.agentSnapshotsRoot !== agentSnapshotsRoot(s.agentSnapshotLeaves()))
        throw new Error("the saved report's agent snapshots root does not match its records");
      const rewards = reportRewardsTree(data.report.epoch, data.report.nodes, s.standing());
      if (rewards.root !== data.report.rewardsRoot) throw new Error("the saved report's rewards root does not match its nodes");
      s.closedReport = { report: data.report, rewards, digest: reportDigest(s.domain, data.report) };
    }
    return s;
  }

  /** True once more than 2/3 of the committee said the epoch ended: acks and measurements stop counting. */
  get closed(): boolean {
    return this.closedReport !== undefined;
  }

  /** The report, once closed. */
  get report(): ClosedReport | undefined {
    return this.closedReport;
  }

  /** Member signatures of the report seen so far, each checked against the report's digest. */
  get reportSignatures(): { signer: string; signature: string }[] {
    return [...this.signatures.values()];
  }

  /** Whether the report has the signatures the registry needs. */
  get hasQuorum(): boolean {
    return this.signatures.size >= quorum(this.context.committee.length);
  }

  /** Whether member `id`'s signature is in. */
  hasSigned(id: number): boolean {
    return this.signatures.has(id);
  }

  /** The snapshot records kept so far as the report's leaves (one per agent). */
  agentSnapshotLeaves(): AgentSnapshotLeaf[] {
    return this.agentSnapshotRecords().map(snapshotLeaf);
  }

  /** The snapshot records kept so far (one per agent): the report's leaves with their signatures, for the proofs a node serves. */
  agentSnapshotRecords(): SnapshotRecord[] {
    return [...this.agentSnapshots.values()];
  }

  /** Snapshot records refused so far: not the assigned host's, not newer than the one kept, not a marketplace agent's, or a bad signature. */
  get refusedSnapshots(): number {
    return this.refusedSnapshotCount;
  }

  /** Whether member `id` closed the epoch. */
  hasClosed(id: number): boolean {
    return this.closers.has(id);
  }

  /**
   * The escrow accounts that `txs`' payer bindings name and whose debitable amount is not known
   * yet: the caller reads them at the epoch's first block and hands them to {@link setDebitable}
   * before applying `txs`, so the report never depends on when a member read the chain.
   */
  unknownPayers(txs: readonly Buffer[]): string[] {
    const accounts = new Set<string>();
    for (const d of this.decodedOf(txs)) {
      if (d.kind === AppTxKind.Payer && !this.debitable.has(d.binding.account.toLowerCase())) accounts.add(d.binding.account.toLowerCase());
      if (d.kind === AppTxKind.AgentAcks) {
        for (const a of d.acks) {
          const terms = this.agentTerms.get(a.receipt.functionRoot.toString("hex"));
          if (terms && !this.debitable.has(terms.owner)) accounts.add(terms.owner);
        }
      }
      if (d.kind !== AppTxKind.ComputeAcks) continue;
      for (const a of d.acks) {
        const sponsor = this.sponsors.get(a.receipt.functionRoot.toString("hex"));
        if (sponsor && !this.debitable.has(sponsor.account)) accounts.add(sponsor.account);
      }
    }
    return [...accounts];
  }

  /** The application transactions of `txs` that decode (apply() refuses the others with the reason). */
  private *decodedOf(txs: readonly Buffer[]) {
    for (const tx of txs) {
      const c = this.checked(tx);
      if (c.decoded) yield c.decoded;
    }
  }

  /**
   * `tx`'s envelope check (its ed25519 signature) and decoding, done once per transaction: the
   * reporter asks for a batch's unknown functions, agents and payers and then applies it, and each
   * of those used to verify every signature again (four checks per transaction, on the event loop).
   */
  private checked(tx: Buffer): CheckedTx {
    let c = this.checkedTxs.get(tx);
    if (!c) {
      const bad = checkTransaction(tx, TX_RULES);
      if (bad) c = { bad };
      else {
        try {
          c = { decoded: decodeAppTx(transactionPayload(tx)) };
        } catch (err) {
          c = { bad: `undecodable: ${(err as Error).message}` };
        }
      }
      this.checkedTxs.set(tx, c);
    }
    return c;
  }

  /**
   * The function roots of `txs`' compute acks whose owner-pays terms are not known yet: the caller
   * reads them from FunctionRegistry at the epoch's first block and hands them to
   * {@link setSponsors} before {@link unknownPayers} (which then names the sponsors' accounts too).
   */
  unknownFunctions(txs: readonly Buffer[]): string[] {
    const roots = new Set<string>();
    for (const d of this.decodedOf(txs)) {
      if (d.kind !== AppTxKind.ComputeAcks) continue;
      for (const a of d.acks) if (!this.sponsors.has(a.receipt.functionRoot.toString("hex"))) roots.add(a.receipt.functionRoot.toString("hex"));
    }
    return [...roots];
  }

  /**
   * The agents (`bytes32(agentId)` hex) of `txs`' agent-call acks whose terms are not known yet: the
   * caller reads them from AgentMarketplace at the epoch's first block (`priceAt(id, epoch)` and the
   * owner) and hands them to {@link setAgentTerms} before {@link unknownPayers}.
   */
  unknownAgents(txs: readonly Buffer[]): string[] {
    const agents = new Set<string>();
    for (const d of this.decodedOf(txs)) {
      if (d.kind === AppTxKind.AgentSnapshots) for (const r of d.records) agents.add(agentService(BigInt(r.agent)).slice(2));
      if (d.kind !== AppTxKind.AgentAcks) continue;
      for (const a of d.acks) agents.add(a.receipt.functionRoot.toString("hex"));
    }
    for (const a of agents) if (this.agentTerms.has(a)) agents.delete(a);
    return [...agents];
  }

  /** Records each agent's terms (undefined: not a marketplace agent, its calls are not counted). */
  setAgentTerms(terms: ReadonlyMap<string, AgentTerms | undefined>): void {
    for (const [agent, t] of terms) this.agentTerms.set(agent.toLowerCase(), t ? { price: t.price, owner: t.owner.toLowerCase() } : null);
  }

  /** Records who pays for each function root (undefined: its clients; see {@link unknownFunctions}). */
  setSponsors(sponsors: ReadonlyMap<string, FunctionSponsor | undefined>): void {
    for (const [root, sponsor] of sponsors) this.sponsors.set(root.toLowerCase(), sponsor ? { ...sponsor, account: sponsor.account.toLowerCase() } : null);
  }

  /** Records what the escrow lets this epoch's report debit each account (see {@link unknownPayers}). */
  setDebitable(amounts: ReadonlyMap<string, bigint>): void {
    for (const [account, amount] of amounts) this.debitable.set(account.toLowerCase(), amount);
  }

  /** Applies one committed transaction (signed envelope); a refusal changes nothing. */
  apply(tx: Buffer): ApplyResult {
    const { bad, decoded } = this.checked(tx);
    if (!decoded) return { ok: false, reason: bad };
    const signerKey = tx.subarray(0, 32).toString("hex");
    // Acks and bindings come from any active node (non-members forward through a member); the
    // epoch's own business only from the committee.
    const member = this.memberByKey.get(signerKey);
    if (
      decoded.kind === AppTxKind.Acks ||
      decoded.kind === AppTxKind.Payer ||
      decoded.kind === AppTxKind.ComputeAcks ||
      decoded.kind === AppTxKind.AgentAcks ||
      decoded.kind === AppTxKind.AgentSnapshots
    ) {
      if (!member && !this.activeByKey.has(signerKey)) return { ok: false, reason: "signer is not an active node" };
      if (decoded.kind === AppTxKind.Payer) return this.applyPayer(decoded.binding);
      if (this.closed) return { ok: false, reason: "epoch closed", late: true };
      if (decoded.kind === AppTxKind.AgentSnapshots) {
        const refused = decoded.records.filter((r) => !this.keepSnapshot(r)).length;
        this.refusedSnapshotCount += refused;
        return { ok: true, refusedAcks: refused };
      }
      const counted =
        decoded.kind === AppTxKind.Acks
          ? decoded.acks.map((a) => this.countAck(a))
          : decoded.kind === AppTxKind.AgentAcks
            ? decoded.acks.map((a) => this.countAgentAck(a))
            : decoded.acks.map((a) => this.countComputeAck(a));
      return { ok: true, refusedAcks: counted.filter((c) => !c).length };
    }
    if (!member) return { ok: false, reason: "signer is not a committee member" };
    switch (decoded.kind) {
      case AppTxKind.Measurements:
        if (decoded.epoch !== this.context.epoch) return { ok: false, reason: `measurements of epoch ${decoded.epoch}` };
        if (this.closed) return { ok: false, reason: "epoch closed", late: true };
        for (const r of decoded.reports) this.record(member.id, r);
        return { ok: true };
      case AppTxKind.CloseEpoch:
        if (decoded.epoch !== this.context.epoch) return { ok: false, reason: `close of epoch ${decoded.epoch}` };
        if (this.closed || this.closers.has(member.id)) return { ok: false, reason: "already closed", late: true };
        this.closers.add(member.id);
        if (this.closers.size >= quorum(this.context.committee.length)) this.close();
        return { ok: true };
      case AppTxKind.ReportSignature: {
        if (decoded.epoch !== this.context.epoch) return { ok: false, reason: `signature for epoch ${decoded.epoch}` };
        if (!this.closedReport) return { ok: false, reason: "signature before the epoch closed" };
        if (this.signatures.has(member.id)) return { ok: false, reason: "member already signed", late: true };
        let signer: string;
        try {
          signer = recoverAddress(this.closedReport.digest, `0x${decoded.signature.toString("hex")}`);
        } catch {
          return { ok: false, reason: "malformed report signature" };
        }
        if (signer !== member.signer) return { ok: false, reason: "not the member's signature of this report" };
        this.signatures.set(member.id, { signer, signature: `0x${decoded.signature.toString("hex")}` });
        return { ok: true };
      }
    }
  }

  /** The first valid binding of a client in the epoch holds. */
  private applyPayer(binding: PayerBinding): ApplyResult {
    const key = binding.clientKey.toString("hex");
    if (this.payers.has(key)) return { ok: false, reason: "client already bound this epoch", late: true };
    if (!verifyPayerBinding(binding)) return { ok: false, reason: "bad payer binding signature" };
    // A caller bug, not a bad transaction: every member must know the same amounts.
    if (!this.debitable.has(binding.account.toLowerCase())) throw new Error(`debitable amount of ${binding.account} not loaded`);
    this.payers.set(key, binding);
    return { ok: true };
  }

  /** Counts a client-signed ack if it is genuine, this epoch's, for an active node, and new. */
  private countAck(signed: SignedDeliveryAck): boolean {
    const { ack } = signed;
    const node = this.activeByKey.get(ack.nodeKey.toString("hex"));
    if (!node || ack.windowStart < this.context.acksFromMs || ack.windowStart >= this.context.acksUntilMs || ack.windowEnd <= ack.windowStart) return false;
    const id = `${ack.clientKey.toString("hex")}:${ack.nonce.toString("hex")}`;
    if (this.seenAcks.has(id) || !verifyDeliveryAckSignature(signed)) return false;
    this.noteAck(id);
    const entry = this.servedTo(node.id, ack.clientKey);
    entry.bytes += BigInt(ack.bytes);
    entry.acks += 1n;
    this.acksPerNode.set(node.id, (this.acksPerNode.get(node.id) ?? 0n) + 1n);
    this.bytesPerNode.set(node.id, (this.bytesPerNode.get(node.id) ?? 0n) + BigInt(ack.bytes));
    return true;
  }

  /**
   * Counts a compute acknowledgment if the receipt is signed by an active node, countersigned by
   * its client, this epoch's, and new: one invocation and its CPU time for the (node, client) pair,
   * charged at {@link EpochContext.computePrices}. It counts as one of the node's acks; its egress
   * is not in `bytesServed` (content deliveries), nor charged per byte (docs/functions.md).
   */
  private countComputeAck(signed: SignedComputeAck): boolean {
    const r = signed.receipt;
    const node = this.activeByKey.get(r.nodeKey.toString("hex"));
    if (!node || r.windowStart < this.context.acksFromMs || r.windowStart >= this.context.acksUntilMs || r.windowEnd <= r.windowStart) return false;
    // Its own id space: a compute nonce never shadows a delivery ack's.
    const id = `compute:${r.clientKey.toString("hex")}:${r.nonce.toString("hex")}`;
    if (this.seenAcks.has(id) || !verifyComputeAck(signed)) return false;
    const root = r.functionRoot.toString("hex");
    // A caller bug, not a bad transaction: every member must know the same sponsors.
    if (!this.sponsors.has(root)) throw new Error(`owner-pays terms of function ${root} not loaded`);
    this.noteAck(id);
    const sponsor = this.sponsors.get(root);
    const entry = sponsor ? this.servedFor(node.id, sponsor, root) : this.servedTo(node.id, r.clientKey, root);
    entry.requests += 1n;
    entry.cpuUs += BigInt(r.cpuUs);
    this.acksPerNode.set(node.id, (this.acksPerNode.get(node.id) ?? 0n) + 1n);
    return true;
  }

  /**
   * Counts an agent call's acknowledgment as {@link countComputeAck} counts a function's (active
   * node, this epoch's window, both signatures, new nonce in its own id space), if the agent is a
   * marketplace agent: one call and its CPU time for the (node, client, agent) triple, charged at
   * the agent's price for this epoch, and its LLM tokens, charged to the agent's owner.
   */
  private countAgentAck(signed: SignedComputeAck): boolean {
    const r = signed.receipt;
    const node = this.activeByKey.get(r.nodeKey.toString("hex"));
    if (!r.agent || !node || r.windowStart < this.context.acksFromMs || r.windowStart >= this.context.acksUntilMs || r.windowEnd <= r.windowStart) return false;
    const id = `agent:${r.clientKey.toString("hex")}:${r.nonce.toString("hex")}`;
    if (this.seenAcks.has(id) || !verifyComputeAck(signed)) return false;
    const agent = r.functionRoot.toString("hex");
    // A caller bug, not a bad transaction: every member must know the same terms.
    if (!this.agentTerms.has(agent)) throw new Error(`marketplace terms of agent 0x${agent} not loaded`);
    if (this.agentTerms.get(agent) === null) return false;
    this.noteAck(id);
    const client = r.clientKey.toString("hex");
    const key = `${node.id}:${client}:${agent}`;
    let calls = this.agentCalls.get(key);
    if (!calls) this.agentCalls.set(key, (calls = { nodeId: node.id, client, agent, requests: 0n, cpuUs: 0n, llmTokens: 0n }));
    calls.requests += 1n;
    calls.cpuUs += BigInt(r.cpuUs);
    calls.llmTokens += BigInt(r.agent.llmTokens);
    this.acksPerNode.set(node.id, (this.acksPerNode.get(node.id) ?? 0n) + 1n);
    return true;
  }

  /**
   * Keeps a snapshot record if it is a marketplace agent's, signed by the agent's assigned host in
   * this epoch's hosting set ({@link agentHostingSet}), taken in the epoch's window, and newer (by sequence) than the one kept:
   * at most one record per agent, so the state is bounded by the marketplace's agents.
   */
  private keepSnapshot(r: SnapshotRecord): boolean {
    const terms = this.agentTerms.get(agentService(BigInt(r.agent)).slice(2));
    // A caller bug, not a bad transaction: every member must know the same agents.
    if (terms === undefined) throw new Error(`marketplace terms of agent ${r.agent} not loaded`);
    if (terms === null || r.nodeKey !== assignedAgentHost(r.agent, agentHostingSet(this.context))) return false;
    // Taken in this epoch's window (as acks are counted): each epoch's state starts empty, so
    // without it an older record its host signed in an earlier epoch could be replayed here and
    // committed under a later root than the newer one (takenAt is signed; only the host could
    // sign another, and the host is trusted with its epoch's records anyway).
    if (r.takenAt < this.context.acksFromMs || r.takenAt >= this.context.acksUntilMs) return false;
    const kept = this.agentSnapshots.get(r.agent);
    if ((kept && kept.sequence >= r.sequence) || snapshotRecordRefusal(r, r.agent) !== undefined) return false;
    this.agentSnapshots.set(r.agent, r);
    return true;
  }

  /** The deliveries of the agent calls counted: the callers' calls at each agent's price, the owners' tokens. */
  private agentDeliveries(): Delivery[] {
    const out: Delivery[] = [];
    for (const c of this.agentCalls.values()) {
      const terms = this.agentTerms.get(c.agent)!;
      const payer = this.payers.get(c.client);
      const service = `0x${c.agent}`;
      // As for functions, a client that named no escrow account is not charged for its calls.
      if (payer) out.push({ nodeId: c.nodeId, account: payer.account, bytes: 0n, requests: c.requests, cpuUs: c.cpuUs, service, callPrice: terms.price });
      if (c.llmTokens > 0n) out.push({ nodeId: c.nodeId, account: terms.owner, bytes: 0n, llmTokens: c.llmTokens });
    }
    return out;
  }

  /** The entry of a client's content on a node (no `root`) or of its invocations of function `root`. */
  private servedTo(nodeId: number, clientKey: Buffer, root?: string) {
    const client = clientKey.toString("hex");
    const key = `${nodeId}:${client}:${root ?? ""}`;
    let entry = this.served.get(key);
    if (!entry) this.served.set(key, (entry = { nodeId, client, root, bytes: 0n, acks: 0n, requests: 0n, cpuUs: 0n }));
    return entry;
  }

  /** The entry of an owner-pays function version's invocations on a node: charged to its owner, within its cap. */
  private servedFor(nodeId: number, sponsor: FunctionSponsor, root: string) {
    const key = `${nodeId}:fn:${sponsor.functionId}:${root}`;
    let entry = this.served.get(key);
    if (!entry) this.served.set(key, (entry = { nodeId, client: "", sponsor, root, bytes: 0n, acks: 0n, requests: 0n, cpuUs: 0n }));
    return entry;
  }

  /** Keeps a reporter's latest plausible measurement of an active peer. */
  private record(reporter: number, r: PeerReport): void {
    const m: PeerMeasurement = { ...r, reporter };
    if (!this.activeIds.has(r.peer) || !isPlausible(m)) return;
    if (METRICS.some((k) => m[k] !== undefined && !Number.isFinite(m[k]))) return;
    this.measurements.set(`${reporter}:${r.peer}`, m);
  }

  /** The measurements counted, ordered by (peer, reporter) so the report never depends on arrival. */
  orderedMeasurements(): PeerMeasurement[] {
    return [...this.measurements.values()].sort((a, b) => a.peer - b.peer || a.reporter - b.reporter);
  }

  private close(): void {
    const deliveries: Delivery[] = [];
    const budgets = new Map<string, bigint>();
    for (const s of this.served.values()) {
      const service = s.root === undefined ? undefined : `0x${s.root}`;
      if (s.sponsor) {
        const budget = `fn:${s.sponsor.functionId}`;
        budgets.set(budget, s.sponsor.cap);
        deliveries.push({ nodeId: s.nodeId, account: s.sponsor.account, budget, bytes: 0n, requests: s.requests, cpuUs: s.cpuUs, service });
        continue;
      }
      const payer = this.payers.get(s.client);
      // A client that never named its escrow account cannot be charged: its deliveries earn nothing
      // and are not in the report's charges either (they list what was billed).
      if (payer) deliveries.push({ nodeId: s.nodeId, account: payer.account, bytes: s.bytes, acks: s.acks, requests: s.requests, cpuUs: s.cpuUs, service });
    }
    deliveries.push(...this.agentDeliveries());
    // Charged at most what the escrow will debit, so revenue is only ever USDC actually paid.
    const { usage, revenue, charges } = usageTotals(
      deliveries,
      this.debitable,
      this.context.pricePerGB ?? BANDWIDTH_PRICE_PER_GB,
      this.context.computePrices ?? DEFAULT_COMPUTE_PRICES,
      budgets,
      this.context.agentPrices,
    );
    const measurements = this.orderedMeasurements();
    const ids = this.context.active.map((n) => n.id).sort((a, b) => a - b);
    const reputation = computeReputation(ids, measurements, this.context.previousReputation);
    const nodes: NodeMeasurement[] = ids.map((id) => {
      const of = measurements.filter((m) => m.peer === id);
      return {
        nodeId: id,
        uptime: meanOrDefault(
          of.map((m) => m.uptime),
          100,
        ),
        latencyMs: meanOrDefault(
          of.map((m) => m.latency),
          0,
        ),
        bytesServed: this.bytesPerNode.get(id) ?? 0n,
        deliveryAcks: this.acksPerNode.get(id) ?? 0n,
        revenue: revenue.get(id) ?? 0n,
        reputation: reputation.get(id) ?? 0,
      };
    });
    const { report, rewards } = completeEpochReport(
      {
        epoch: BigInt(this.context.epoch),
        nodes,
        usage: [...usage].map(([client, amount]) => ({ client, amount })),
        charges,
        agentSnapshotsRoot: agentSnapshotsRoot(this.agentSnapshotLeaves()),
      },
      this.standing(),
    );
    this.closedReport = { report, rewards, digest: reportDigest(this.domain, report) };
  }

  /** The active nodes' owners and locks, which the rewards tree is built over. */
  private standing(): Map<number, NodeStanding> {
    return new Map(this.context.active.map((n) => [n.id, { owner: n.owner, lockedUntil: n.lockedUntil }]));
  }
}

/**
 * Mean of the reported values, rounded down; `fallback` when nobody reported (uptime: a node no
 * member measured is not jailed for it; latency: 0 = unknown).
 */
function meanOrDefault(values: readonly (number | undefined)[], fallback: number): number {
  const present = values.filter((v): v is number => v !== undefined);
  if (present.length === 0) return fallback;
  return Math.floor(present.reduce((s, v) => s + v, 0) / present.length);
}
