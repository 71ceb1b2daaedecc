/**
 * Drives a committee member through the end of each epoch (docs/spec.md §5, docs/consensus.md "Fleek's own node"
 * (committee and epochs), adapted to an on-chain registry):
 *
 * 1. During the epoch: forwards acks, pings peers, commits a beacon secret (persisted first).
 * 2. At the epoch's end on chain: submits its peer measurements and a CloseEpoch transaction; the
 *    state closes when more than 2/3 of the committee's closes are in the sequence, so every
 *    member cuts at the same transaction. Reveals its beacon secret.
 * 3. Once closed: signs the report's EIP-712 digest with the registered signer key and submits the
 *    signature as a transaction, so every member sees the same signatures in the same order.
 * 4. With a quorum of signatures and the report window open, submits `submitEpochReport`: members
 *    take turns by committee position (the first at once, the next `submitStaggerMs` later, ...);
 *    a report already accepted counts as done, RPC errors are retried on the next tick.
 *
 * The state is a function of the committed sequence. It is snapshotted (epochStateSnapshot.ts)
 * in the epoch's folder every `snapshotEverySubDags` sub-DAGs or `snapshotEveryMs`, and when it
 * closes or takes a signature; after a restart it is restored from the snapshot and the sequence
 * replayed from the next batch (from index 1 without one). The beacon secrets are written before
 * the commitment is sent; the beacon's transactions run beside the other duties, so one that does
 * not mine never holds up a close or a signature.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { hexlify, type Wallet } from "ethers";
import { signTransaction } from "../client/transaction";
import type { KeyPair } from "../consensus/types/crypto";
import { decodeBatch } from "../consensus/types/messages";
import type { Logger } from "../logger";
import type { EpochBatch, EpochCompacted } from "../node";
import { beaconCommitment } from "../../protocol/committee";
import { orderSignatures } from "../../protocol/report";
import { rewardProof } from "../../protocol/rewards";
import { sponsorOf, type FunctionDirectory } from "../chain/functionDirectory";
import type { RegistryReporting, EpochPhase } from "../chain/registryReporting";
import type { FunctionSponsor } from "../acks/computeDesk";
import type { EpochContext } from "./epochState";
import type { AckForwarder } from "./ackForwarder";
import { AppTxKind, encodeAppTx, type AppTx, type PeerReport } from "./appTransactions";
import { EpochState, type ClosedReport } from "./epochState";
import type { PeerPinger } from "./peerPinger";
import { readSnapshot, writeSnapshot, type AppliedPosition } from "./epochStateSnapshot";
import { writeReportedAgentSnapshots } from "./reportedAgentSnapshots";

/** The part of FleekNode the reporter uses. */
export interface ReportingNode {
  submit(txs: Buffer[]): { accepted: number; status: number; reason: string };
  subscribe(from: number, listener: (b: EpochBatch) => void, onCompacted?: (err: EpochCompacted) => void): () => void;
  status(): { epoch: number; member: boolean };
}

/** Settings of an {@link EpochReporter}. */
export interface ReporterOptions {
  node: ReportingNode;
  /** The node's ed25519 key: signs its consensus transactions. */
  key: KeyPair;
  /** The registered report signer. */
  wallet: Wallet;
  chain: RegistryReporting;
  /**
   * FunctionRegistry (the committee's `committee.functionRegistry`, the same for every member):
   * owner-pays functions are charged to their owners. Without it every invocation is its client's.
   */
  functions?: FunctionDirectory;
  /**
   * Beacon secrets go to `<dataDir>/beacon/`; closed reports, claim proofs and each marketplace
   * agent's latest reported snapshot record (reportedAgentSnapshots.ts) to `<dataDir>/reports/`.
   */
  dataDir: string;
  logger: Logger;
  acks?: AckForwarder;
  pinger?: PeerPinger;
  /** How often the chain is polled and pending work retried (default 1 s). */
  tickMs?: number;
  /** Wait between members' turns to submit the report (default 5 s). */
  submitStaggerMs?: number;
  /** Re-send a close or signature not yet seen committed after this long (default 5 s). */
  resendMs?: number;
  /** The consensus folder of an epoch: its state's snapshot goes there. Without it, no snapshots. */
  epochDir?: (epoch: number) => string;
  /**
   * Snapshot the state after this many sub-DAGs (default 50) or this long (default 30 s) since
   * the last snapshot, whichever comes first. Both must stay well inside the node's retention
   * window (`retainRounds`), or a restart finds its snapshot's next batch compacted.
   */
  snapshotEverySubDags?: number;
  snapshotEveryMs?: number;
}

const ZERO32 = `0x${"00".repeat(32)}`;

/**
 * Per-epoch progress of this member. Its times, and Applied's savedAt, are performance.now(): resend
 * and snapshot intervals in this process, which a wall clock stepped back would stall.
 */
interface Progress {
  closeSentAt?: number;
  measurements?: PeerReport[];
  signatureSentAt?: number;
  quorumSeenAt?: number;
  reported?: boolean;
  reportWritten?: boolean;
  beaconDone?: boolean;
  /** Set while a beacon commit or reveal is under way (it may wait long on the chain). */
  beaconRunning?: boolean;
}

/** Where the applied sequence of an epoch stands, and when it was last snapshotted. */
interface Applied extends AppliedPosition {
  epoch: number;
  savedSubDag: number;
  savedAt: number;
}

/** The committee member's epoch-end duties; see the file comment. */
export class EpochReporter {
  private readonly states = new Map<number, Promise<EpochState>>();
  private readonly progress = new Map<number, Progress>();
  private applying: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly tickMs: number;
  private readonly staggerMs: number;
  private readonly resendMs: number;
  /** Updated as batches are delivered (before they are applied); the next batch is counted from it. */
  private delivered: Applied = { epoch: -1, subDag: 0, batch: 0, savedSubDag: 0, savedAt: 0 };
  /** The snapshots being written (off the event loop, see {@link writeSnapshot}). */
  private snapshotting: Promise<void> = Promise.resolve();

  constructor(private readonly o: ReporterOptions) {
    this.tickMs = o.tickMs ?? 1_000;
    this.staggerMs = o.submitStaggerMs ?? 5_000;
    this.resendMs = o.resendMs ?? 5_000;
  }

  /**
   * Restores the current epoch's state from its snapshot if there is a valid one, subscribes to
   * the committed sequence from the batch after it (else from index 1) and starts the duty loop.
   */
  start(): void {
    const { epoch } = this.o.node.status();
    const snapshot = this.o.epochDir && epoch >= 0 ? readSnapshot(this.o.epochDir(epoch), epoch, this.o.logger) : undefined;
    const at = snapshot?.position ?? { subDag: 0, batch: 0 };
    if (snapshot) {
      this.states.set(epoch, Promise.resolve(snapshot.state));
      this.o.logger.info("epoch state restored from its snapshot", { epoch, subDag: at.subDag, batch: at.batch });
    }
    // The resumed sub-DAG is delivered whole, from its first batch: counted from 0 again.
    this.delivered = { epoch, subDag: at.subDag, batch: 0, savedSubDag: at.subDag, savedAt: performance.now() };
    this.unsubscribe = this.o.node.subscribe(
      Math.max(1, at.subDag),
      (b) => {
        const d = this.delivered;
        const position = d.epoch === b.epoch && d.subDag === b.subDagIndex ? d.batch + 1 : 1;
        if (d.epoch !== b.epoch) Object.assign(d, { epoch: b.epoch, savedSubDag: 0, savedAt: performance.now() });
        Object.assign(d, { subDag: b.subDagIndex, batch: position });
        // Already applied in the snapshot (its sub-DAG's first `at.batch` batches).
        if (b.epoch === epoch && b.subDagIndex === at.subDag && position <= at.batch) return;
        const applied = { subDag: b.subDagIndex, batch: position };
        this.applying = this.applying.then(() => this.applyBatch(b, applied));
      },
      // Restarted after the epoch's start was compacted (docs/consensus.md "Compaction") with no
      // usable snapshot: the state cannot be rebuilt, so this member neither closes nor signs that
      // epoch's report (the others' 2/3 suffice); it takes part again from the next epoch's start.
      (err) => this.o.logger.error("cannot rebuild the epoch's state, sitting out its report", { epoch: err.epoch, err: err.message }),
    );
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.o.pinger?.start();
  }

  /** Stops the loop, the pinger and the subscription. */
  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
    this.o.pinger?.stop();
  }

  /** The state of `epoch` (created on first use from the chain's context of that epoch). */
  state(epoch: number): Promise<EpochState> {
    let s = this.states.get(epoch);
    if (!s) {
      s = this.loadContext(epoch).then((ctx) => new EpochState(ctx));
      this.states.set(epoch, s);
      for (const old of this.states.keys()) if (old < epoch - 2) this.states.delete(old);
    }
    return s;
  }

  private loadContext(epoch: number) {
    return this.retrying("reading the epoch context", epoch, () => this.o.chain.context(epoch));
  }

  /** Runs a chain read until it succeeds, backing off: the state cannot go on without it. */
  /** Who pays for each root's invocations, read from FunctionRegistry at the epoch's first block. */
  private async sponsorsAt(context: EpochContext, roots: readonly string[]): Promise<Map<string, FunctionSponsor | undefined>> {
    const functions = this.o.functions;
    const sponsors = new Map<string, FunctionSponsor | undefined>();
    for (const root of roots) sponsors.set(root, functions ? sponsorOf(await functions.lookup(root, context.startBlock)) : undefined);
    return sponsors;
  }

  /** Reads the marketplace terms of the agents `txs` acknowledge calls of and the state does not know yet. */
  private async loadAgentTerms(state: EpochState, txs: readonly Buffer[], epoch: number): Promise<void> {
    const agents = state.unknownAgents(txs);
    if (agents.length > 0) state.setAgentTerms(await this.retrying("reading agent prices", epoch, () => this.o.chain.agentTerms(state.context, agents)));
  }

  private async retrying<T>(what: string, epoch: number, read: () => Promise<T>): Promise<T> {
    for (let backoff = 500; ; backoff = Math.min(backoff * 2, 30_000)) {
      try {
        return await read();
      } catch (err) {
        this.o.logger.warn(`${what} failed, retrying`, { epoch, err: String(err), retryMs: backoff });
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  private async applyBatch(b: EpochBatch, at: AppliedPosition): Promise<void> {
    const state = await this.state(b.epoch);
    const wasClosed = state.closed;
    const signatures = state.reportSignatures.length;
    const txs = decodeBatch(b.batch);
    const roots = state.unknownFunctions(txs);
    if (roots.length > 0) state.setSponsors(await this.retrying("reading owner-pays functions", b.epoch, () => this.sponsorsAt(state.context, roots)));
    await this.loadAgentTerms(state, txs, b.epoch);
    const payers = state.unknownPayers(txs);
    if (payers.length > 0) state.setDebitable(await this.retrying("reading escrow balances", b.epoch, () => this.o.chain.debitable(state.context, payers)));
    for (const tx of txs) {
      const result = state.apply(tx);
      if (!result.ok && result.late) this.o.logger.debug("late or duplicate transaction ignored", { epoch: b.epoch, reason: result.reason });
      else if (!result.ok) this.o.logger.warn("transaction refused", { epoch: b.epoch, reason: result.reason });
      else if (result.refusedAcks) this.o.logger.warn("acks refused", { epoch: b.epoch, count: result.refusedAcks });
    }
    if (!wasClosed && state.report) {
      this.o.logger.info("epoch closed", { epoch: b.epoch, digest: state.report.digest });
      this.writeReport(b.epoch, state.report);
      // Off the batch's path: a failed write costs those agents' newest proofs, never the reporter.
      const epoch = b.epoch;
      writeReportedAgentSnapshots(reportsDir(this.o.dataDir), epoch, state.agentSnapshotRecords()).catch((error: unknown) =>
        this.o.logger.warn("agent snapshot records not written", { epoch, error: String(error) }),
      );
    }
    const changed = state.closed !== wasClosed || state.reportSignatures.length !== signatures;
    this.maybeSnapshot(b.epoch, at, state, changed);
  }

  /**
   * Snapshots `state` (just after the batch at `at`) when the epoch closed or took a signature,
   * or enough sub-DAGs or time passed since the last one. A failure is logged: a restart then
   * replays from the previous snapshot, or from index 1.
   */
  private maybeSnapshot(epoch: number, at: AppliedPosition, state: EpochState, changed: boolean): void {
    const d = this.delivered;
    if (!this.o.epochDir || d.epoch !== epoch) return;
    const now = performance.now();
    const due = changed || at.subDag - d.savedSubDag >= (this.o.snapshotEverySubDags ?? 50) || now - d.savedAt >= (this.o.snapshotEveryMs ?? 30_000);
    if (!due) return;
    d.savedSubDag = at.subDag;
    d.savedAt = now;
    const failed = (err: unknown) => this.o.logger.warn("epoch state snapshot failed", { epoch, err: String(err) });
    try {
      const written = writeSnapshot(this.o.epochDir(epoch), epoch, { ...at }, state).then(
        (bytes) => this.o.logger.debug("epoch state snapshotted", { epoch, subDag: at.subDag, batch: at.batch, bytes }),
        failed,
      );
      this.snapshotting = Promise.all([this.snapshotting, written]).then(() => {});
    } catch (err) {
      failed(err);
    }
  }

  /** Resolves once every snapshot started so far is written (or failed, logged). */
  snapshotsWritten(): Promise<void> {
    return this.snapshotting;
  }

  private progressOf(epoch: number): Progress {
    let p = this.progress.get(epoch);
    if (!p) this.progress.set(epoch, (p = {}));
    return p;
  }

  /** One round of duties; errors are logged and the work retried on the next tick. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    let beacon: Promise<void> | undefined;
    try {
      await this.o.acks?.flush();
      // Read by every node, members or not: it also keeps the chain clock acks are stamped with.
      const phase = await this.o.chain.phase();
      const { epoch, member } = this.o.node.status();
      if (phase.epoch !== epoch) return; // the node follows the chain's epoch change shortly
      const state = await this.state(epoch);
      this.o.acks?.holdFrom(state.context.acksUntilMs);
      if (!member) return;
      const me = state.context.committee.find((m) => m.nodeKey === this.o.key.publicKey.toString("hex"));
      if (!me) return;
      const p = this.progressOf(epoch);
      // Beside the other duties, not before them: a commit or reveal whose transaction does not
      // mine (a stalled RPC, fees below the market's) must not hold up the close and the
      // signature, which do not need it. One at a time; the tick that started it awaits it last.
      if (!p.beaconDone && !p.beaconRunning) {
        p.beaconRunning = true;
        beacon = this.beacon(epoch, me.id, phase, p)
          .catch((err) => this.o.logger.warn("beacon duty failed, retrying", { epoch, err: String(err) }))
          .finally(() => (p.beaconRunning = false));
      }
      if (phase.now < phase.epochEnd) return;
      const now = performance.now();
      if (!state.closed && !state.hasClosed(me.id) && now - (p.closeSentAt ?? -Infinity) >= this.resendMs) {
        p.measurements ??= this.o.pinger?.take() ?? [];
        await this.o.acks?.flush();
        this.submit([
          { kind: AppTxKind.Measurements, epoch, reports: p.measurements },
          { kind: AppTxKind.CloseEpoch, epoch },
        ]);
        p.closeSentAt = now;
      }
      const report = state.report;
      if (!report) return;
      if (!state.hasSigned(me.id) && now - (p.signatureSentAt ?? -Infinity) >= this.resendMs) {
        const signature = Buffer.from(this.o.wallet.signingKey.sign(report.digest).serialized.slice(2), "hex");
        this.submit([{ kind: AppTxKind.ReportSignature, epoch, signature }]);
        p.signatureSentAt = now;
      }
      if (!state.hasQuorum || p.reported || phase.now < phase.reportOpensAt) return;
      p.quorumSeenAt ??= now;
      const turn = state.context.committee.indexOf(me);
      if (now - p.quorumSeenAt < turn * this.staggerMs) return;
      const outcome = await this.o.chain.submitReport(report.report, orderSignatures(state.reportSignatures));
      p.reported = true;
      this.o.logger.info(outcome === "submitted" ? "report submitted" : "report already accepted", { epoch });
    } catch (err) {
      this.o.logger.warn("epoch duties failed, retrying", { err: String(err) });
    } finally {
      this.ticking = false;
      // After the flag: the next ticks run meanwhile (a caller awaiting this tick sees its beacon step done).
      await beacon;
    }
  }

  /** Commit during the epoch, reveal after its end; the chain's beacon record says what is left. */
  private async beacon(epoch: number, nodeId: number, phase: EpochPhase, p: Progress): Promise<void> {
    if (p.beaconDone) return;
    const { commitment, revealed } = await this.o.chain.beacon(epoch, nodeId);
    if (phase.now < phase.epochEnd) {
      if (commitment !== ZERO32) return;
      const secret = this.beaconSecret(epoch, true)!;
      await this.o.chain.commitBeacon(nodeId, beaconCommitment(BigInt(epoch), nodeId, secret));
      this.o.logger.info("beacon committed", { epoch });
      return;
    }
    if (commitment === ZERO32 || revealed) {
      p.beaconDone = true;
      return;
    }
    const secret = this.beaconSecret(epoch, false);
    if (!secret || beaconCommitment(BigInt(epoch), nodeId, secret) !== commitment) {
      this.o.logger.error("beacon secret lost: this node cannot reveal and will be slashed", { epoch });
      p.beaconDone = true;
      return;
    }
    await this.o.chain.revealBeacon(nodeId, secret);
    this.o.logger.info("beacon revealed", { epoch });
    p.beaconDone = true;
  }

  /** The persisted secret of `epoch`; with `create`, a fresh one written (and fsynced) first. */
  private beaconSecret(epoch: number, create: boolean): string | undefined {
    const dir = path.join(this.o.dataDir, "beacon");
    const file = path.join(dir, `epoch-${epoch}.json`);
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { secret: string }).secret;
    if (!create) return undefined;
    fs.mkdirSync(dir, { recursive: true });
    const secret = hexlify(randomBytes(32));
    const fd = fs.openSync(`${file}.tmp`, "w");
    fs.writeSync(fd, JSON.stringify({ secret }));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(`${file}.tmp`, file);
    return secret;
  }

  private submit(txs: AppTx[]): void {
    const res = this.o.node.submit(txs.map((tx) => signTransaction(encodeAppTx(tx), this.o.key)));
    if (res.accepted < txs.length) this.o.logger.warn("epoch transaction not accepted, will retry", { reason: res.reason });
  }

  /** Writes the closed report and every owner's claim proof to `<dataDir>/reports/epoch-<n>.json`. */
  private writeReport(epoch: number, closed: ClosedReport): void {
    const dir = reportsDir(this.o.dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const claims = (closed.rewards.tree ? [...closed.rewards.tree.entries()] : []).map(([, [account]]) => {
      const { leaf, proof } = rewardProof(closed.rewards, account);
      return { account: leaf.account, flkWeight: leaf.flkWeight, usdcWeight: leaf.usdcWeight, proof };
    });
    const body = JSON.stringify({ epoch, digest: closed.digest, report: closed.report, claims }, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2);
    fs.writeFileSync(path.join(dir, `epoch-${epoch}.json`), body);
  }
}

/** The folder of the reporter's closed reports, under its `dataDir`. */
export function reportsDir(dataDir: string): string {
  return path.join(dataDir, "reports");
}

/** Reads a report file written by the reporter (bigints as decimal strings). */
export function readReportFile(
  dataDir: string,
  epoch: number,
): {
  epoch: number;
  digest: string;
  claims: { account: string; flkWeight: string; usdcWeight: string; proof: string[] }[];
  report: Record<string, unknown>;
} {
  return JSON.parse(fs.readFileSync(path.join(reportsDir(dataDir), `epoch-${epoch}.json`), "utf8"));
}
