/**
 * Turns committed sub-DAGs into the committed transaction sequence: sub-DAGs by index, within a
 * sub-DAG certificates in Bullshark's order, within a certificate its batches in digest order,
 * within a batch its transactions in order. A batch committed again by a sub-DAG whose leader
 * round is within 2·gcDepth of its first commit is not delivered again: the window bounds memory
 * and covers every honest re-proposal (docs/consensus.md "Memory over an epoch"). Batches a node
 * does not hold yet are fetched before anything after them is emitted.
 */
import { CommittedSubDag } from "../bullshark/bullshark";
import { Digest, hex } from "../types/messages";
import { CommitRecord, ConsensusStore, DeliveredBatch, DELIVERY_WINDOW_GC_DEPTHS, pruneDeliveries, SequenceCompacted } from "../../storage/consensusStore";
import { Worker } from "../worker/worker";

/** One batch of the committed sequence. */
export interface CommittedBatch {
  /** Index of the sub-DAG that committed it (consecutive from 1 in an epoch). */
  subDagIndex: number;
  /** Round of that sub-DAG's leader. */
  leaderRound: number;
  /** Author and round of the certificate whose header carried the batch. */
  author: number;
  round: number;
  /** Header creation time (ms), for latency measurements. */
  createdAt: number;
  digest: Digest;
  /** The encoded batch (see decodeBatch). */
  batch: Buffer;
}

/** Listener of the committed sequence. */
export type CommitListener = (b: CommittedBatch) => void;

/** Delivers the committed sequence to subscribers, live or from a past sub-DAG index. */
export class Executor {
  private chain: Promise<void> = Promise.resolve();
  /** Batches delivered by recent sub-DAGs: digest → leader round (ascending, see {@link plan}). */
  private readonly recent: Map<string, number>;
  private readonly listeners = new Set<CommitListener>();
  /** Index of the last sub-DAG fully delivered. */
  private lastIndex: number;

  constructor(
    private readonly store: ConsensusStore,
    private readonly worker: Worker,
    private readonly gcDepth: number,
  ) {
    // After a restart: everything recorded as committed was (or will be, from the store) delivered.
    this.lastIndex = store.lastCommitIndex;
    this.recent = store.takeRecentDeliveries();
  }

  /** Index of the last sub-DAG whose batches were all delivered. */
  get deliveredIndex(): number {
    return this.lastIndex;
  }

  /**
   * The batches a committed sub-DAG delivers, in order, without those a sub-DAG of the last
   * 2·gcDepth leader rounds delivered. Call once per sub-DAG, in index order, before recording it:
   * every node prunes at the same leader rounds, so every node drops the same duplicates.
   */
  plan(sub: CommittedSubDag): DeliveredBatch[] {
    const leaderRound = sub.leader.header.round;
    pruneDeliveries(this.recent, leaderRound - DELIVERY_WINDOW_GC_DEPTHS * this.gcDepth);
    const batches: DeliveredBatch[] = [];
    for (const c of sub.certificates) {
      for (const digest of c.header.payload) {
        const key = hex(digest);
        if (this.recent.has(key)) continue;
        this.recent.set(key, leaderRound);
        batches.push({ digest, author: c.header.author, round: c.header.round, createdAt: c.header.createdAt });
      }
    }
    return batches;
  }

  /** Queues a committed sub-DAG as {@link plan} made it (call in index order). */
  enqueue(rec: CommitRecord): void {
    this.chain = this.chain.then(async () => {
      await this.emitCommit(rec, (b) => {
        for (const l of this.listeners) l(b);
      });
      for (const b of rec.batches) this.store.releaseBatch(b.digest);
      this.lastIndex = rec.index;
    });
  }

  /** Sizes of the in-memory structures, for tests and diagnostics. */
  stats(): { recentBatches: number } {
    return { recentBatches: this.recent.size };
  }

  /**
   * Calls `listener` for every committed batch from sub-DAG `from` on, exactly once and in order:
   * first the stored past, then live. Returns a function that unsubscribes. If the batches of a
   * sub-DAG still to be replayed are compacted away (`from` below the store's `retainedFrom`, or
   * a replay that fell behind it), `onCompacted` is called and delivery stops there.
   *
   * Live delivery emits a sub-DAG batch by batch, awaiting fetches in between, so a listener
   * added at an arbitrary moment could join mid sub-DAG. The replay therefore runs outside the
   * delivery chain while it is long (so it does not hold up other subscribers), and finishes
   * inside it: between two sub-DAGs, where `lastIndex` is exactly what was delivered.
   */
  subscribe(from: number, listener: CommitListener, onCompacted: (err: SequenceCompacted) => void = () => {}): () => void {
    let active = true;
    let next = Math.max(1, from);
    const live: CommitListener = (b) => {
      if (b.subDagIndex >= next) listener(b);
    };
    const replayDelivered = async (): Promise<void> => {
      while (active && next <= this.lastIndex) {
        const upTo = this.lastIndex;
        const was = next;
        for (const rec of this.store.commitsFrom(next)) {
          if (rec.index > upTo || !active) break;
          await this.emitCommit(rec, (b) => active && listener(b));
          next = rec.index + 1;
        }
        // Delivered sub-DAGs are written and held from retainedFrom on, so a pass always gets
        // somewhere; if one does not (its records were deleted meanwhile), stop rather than spin.
        if (active && next === was) throw new SequenceCompacted(next, this.store.retainedFrom);
      }
    };
    const compacted = (err: unknown): void => {
      if (!(err instanceof SequenceCompacted)) throw err;
      if (active) onCompacted(err);
      active = false;
    };
    void replayDelivered()
      .then(() => {
        if (!active) return;
        this.chain = this.chain.then(async () => {
          await replayDelivered().catch(compacted);
          if (active) this.listeners.add(live);
        });
      })
      .catch(compacted);
    return () => {
      active = false;
      this.listeners.delete(live);
    };
  }

  /** Emits the batches of sub-DAG `rec`, fetching any not stored (after a restart, or a partition). */
  private async emitCommit(rec: CommitRecord, emit: CommitListener): Promise<void> {
    for (const b of rec.batches) {
      // Checked before fetching: a compacted batch may be held by no one any more.
      if (rec.index < this.store.retainedFrom) throw new SequenceCompacted(rec.index, this.store.retainedFrom);
      await this.worker.fetch([b.digest], b.author);
      const batch = await this.store.getBatch(b.digest);
      if (!batch) throw new SequenceCompacted(rec.index, this.store.retainedFrom); // compacted during the fetch
      emit({ subDagIndex: rec.index, leaderRound: rec.leaderRound, ...b, batch });
    }
  }
}
