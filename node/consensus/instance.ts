/**
 * One node's consensus for one epoch: worker, primary, Bullshark and executor wired together
 * over two authenticated peer networks, with state under `<dataDir>/epoch-<n>/`.
 * Starting it on existing state is the restart path: stored certificates are replayed into the
 * DAG and Bullshark resumes from its persisted state.
 */
import { Bullshark } from "./bullshark/bullshark";
import { Executor, CommitListener } from "./executor/executor";
import { Parameters } from "./parameters";
import { Primary } from "./primary/primary";
import { AuthorityIndex, Committee } from "./types/committee";
import { KeyPair } from "./types/crypto";
import { hex } from "./types/messages";
import { Worker } from "./worker/worker";
import { PeerNetwork } from "../network/peerNetwork";
import { ConsensusStore, SequenceCompacted, StoreStats } from "../storage/consensusStore";
import { Logger } from "../logger";

/** Largest frame between peers: a full batch plus slack. */
function maxFrame(p: Parameters): number {
  return p.batchSize + p.maxTxSize + 1024 * 1024;
}

/**
 * Above the largest batch an honest worker seals: just under `batchSize` of transactions plus one
 * more, plus a 4-byte length per transaction of at least 96 bytes (its envelope).
 */
function maxSealedBatch(p: Parameters): number {
  return Math.ceil(1.05 * (p.batchSize + p.maxTxSize)) + 8;
}

/** Per-peer send queue of the primary: headers, votes, certificates and catch-up replies. */
const PRIMARY_QUEUE_BYTES = 16 * 1024 * 1024;
/** Per-peer send queue of the worker: batches and their re-sends. */
const WORKER_QUEUE_BYTES = 32 * 1024 * 1024;

/** A running consensus instance for one epoch. */
export class ConsensusInstance {
  private constructor(
    /** Committee of this epoch. */
    readonly committee: Committee,
    /** Our authority index in it. */
    readonly me: AuthorityIndex,
    private readonly primaryNet: PeerNetwork,
    private readonly workerNet: PeerNetwork,
    readonly worker: Worker,
    readonly primary: Primary,
    readonly executor: Executor,
    private readonly store: ConsensusStore,
  ) {}

  /** Starts (or restarts from `dataDir`) the instance of `committee` for the member holding `key`. */
  static async start(committee: Committee, key: KeyPair, dataDir: string, params: Parameters, logger: Logger): Promise<ConsensusInstance> {
    const me = committee.indexOf(key.publicKey);
    if (me === undefined) throw new Error("this node is not in the committee");
    const log = logger.child({ epoch: committee.epoch, node: me });
    const store = new ConsensusStore(dataDir, committee.epoch, {
      gcDepth: params.gcDepth,
      retainRounds: params.retainRounds,
      segmentBytes: params.batchSegmentBytes,
      logSegmentBytes: params.logSegmentBytes,
    });
    try {
      store.checkPrimaryLog(me);
    } catch (err) {
      await store.close();
      throw err;
    }
    for (const d of store.damage) {
      // A commit whose certificates a crash lost is routine; a torn or corrupt record is not.
      if (d.kind === "refused") log.info("log cut after a crash, the rest is recomputed", { ...d });
      else log.warn("damaged log record dropped with everything after it", { ...d });
    }
    const net = (domain: "primary" | "worker", maxQueueBytes: number) =>
      new PeerNetwork({
        key,
        committee,
        me,
        domain,
        endpointOf: (i) => committee.members[i][domain],
        maxFrame: maxFrame(params),
        maxQueueBytes,
        logger: log.child({ domain }),
      });
    // Per-peer send queues (docs/consensus.md "Resource bounds").
    const primaryNet = net("primary", PRIMARY_QUEUE_BYTES);
    const workerNet = net("worker", WORKER_QUEUE_BYTES);
    const worker = new Worker({
      committee,
      me,
      network: workerNet,
      store,
      logger: log.child({ component: "worker" }),
      batchSize: params.batchSize,
      maxBatchDelayMs: params.maxBatchDelayMs,
      retryMs: params.syncRetryMs,
      maxPendingBatches: params.maxPendingBatches,
      maxPenBytes: params.maxPendingBatches * maxSealedBatch(params),
      // Two full headers of one author may wait for their payload at once.
      maxWantedPerAuthor: 2 * params.maxHeaderBatches,
      serveBytesPerSecond: params.serveBytesPerSecond,
    });
    const primary = new Primary({
      committee,
      me,
      key,
      network: primaryNet,
      store,
      worker,
      logger: log.child({ component: "primary" }),
      headerBatches: params.headerBatches,
      maxHeaderBatches: params.maxHeaderBatches,
      maxHeaderDelayMs: params.maxHeaderDelayMs,
      headerResendMs: params.headerResendMs,
      syncRetryMs: params.syncRetryMs,
      maxFrame: maxFrame(params),
      gcDepth: params.gcDepth,
    });
    const executor = new Executor(store, worker, params.gcDepth);
    executor.subscribe(executor.deliveredIndex + 1, (b) => {
      if (b.author === me) worker.committed(b.digest);
    });
    const bullshark = new Bullshark(committee, params.gcDepth, store.lastBullsharkState());
    const consensusLog = log.child({ component: "bullshark" });
    bullshark.onReject = (c, why) => {
      if (why === "equivocation") consensusLog.warn("equivocating certificate", { author: c.header.author, round: c.header.round, digest: hex(c.digest) });
    };
    let persisted: Promise<void> = Promise.resolve();
    primary.onCertificate = (c) => {
      for (const sub of bullshark.processCertificate(c)) {
        consensusLog.debug("committed", { index: sub.index, leaderRound: sub.leader.header.round, certificates: sub.certificates.length });
        // Persist each commit before it reaches the executor, in order.
        const batches = executor.plan(sub);
        const record = { index: sub.index, leaderRound: sub.leader.header.round, batches };
        persisted = persisted.then(() => store.recordCommit(sub, batches)).then(() => executor.enqueue(record));
        primary.onCommitted(sub.leader.header.round, sub.certificates);
      }
      primary.setGcRound(bullshark.gcRound);
      store.compact({ gcRound: bullshark.gcRound, deliveredIndex: executor.deliveredIndex, ownUncommitted: (key) => worker.isUncommitted(key) });
    };
    await Promise.all([workerNet.start(), primaryNet.start()]);
    // Synchronously after listening: no peer frame can be handled before the stored DAG is back,
    // so Bullshark still sees certificates in causal order.
    const recovered = primary.recover();
    log.info("consensus started", { round: primary.round, recovered });
    return new ConsensusInstance(committee, me, primaryNet, workerNet, worker, primary, executor, store);
  }

  /**
   * Subscribes to the committed sequence from sub-DAG `from` (1 = the epoch's start); if the
   * batches from there were compacted away, `onCompacted` is called instead and nothing is delivered.
   */
  subscribe(from: number, listener: CommitListener, onCompacted?: (err: SequenceCompacted) => void): () => void {
    return this.executor.subscribe(from, listener, onCompacted);
  }

  /** Sizes of the in-memory structures that could grow with the epoch, for tests and diagnostics. */
  stats(): StoreStats & { recentBatches: number } {
    return { ...this.store.stats(), ...this.executor.stats() };
  }

  /** Stops networking and timers and closes the store. */
  async stop(): Promise<void> {
    this.primary.stop();
    this.worker.stop();
    await Promise.all([this.primaryNet.close(), this.workerNet.close()]);
    await this.store.close();
  }
}
