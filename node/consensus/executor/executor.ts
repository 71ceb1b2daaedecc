/**
 * Turns committed sub-DAGs into the committed transaction sequence: sub-DAGs by index, within a
 * sub-DAG certificates in Bullshark's order, within a certificate its batches in digest order,
 * within a batch its transactions in order. A batch referenced twice is delivered once (the
 * first time). Batches a node does not hold yet are fetched before anything after them is emitted.
 */
import { CommittedSubDag } from "../bullshark/bullshark";
import { Digest, hex } from "../types/messages";
import { ConsensusStore } from "../../storage/consensus-store";
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
  /** Each batch digest committed so far → the sub-DAG that delivers it (its first). */
  private readonly firstIndex = new Map<string, number>();
  private readonly listeners = new Set<CommitListener>();
  /** Index of the last sub-DAG fully delivered. */
  private lastIndex = 0;

  constructor(
    private readonly store: ConsensusStore,
    private readonly worker: Worker,
  ) {
    // After a restart: everything recorded as committed was (or will be, from the store) delivered.
    for (const rec of store.commitsFrom(1)) {
      for (const d of rec.certificates) {
        for (const b of store.getCertificate(d)?.header.payload ?? []) {
          if (!this.firstIndex.has(hex(b))) this.firstIndex.set(hex(b), rec.index);
        }
      }
      this.lastIndex = rec.index;
    }
  }

  /** Index of the last sub-DAG whose batches were all delivered. */
  get deliveredIndex(): number {
    return this.lastIndex;
  }

  /** Queues a committed sub-DAG (call in index order). */
  enqueue(sub: CommittedSubDag): void {
    const batches: { digest: Digest; author: number; round: number; createdAt: number }[] = [];
    for (const c of sub.certificates) {
      for (const digest of c.header.payload) {
        const key = hex(digest);
        if (this.firstIndex.has(key)) continue;
        this.firstIndex.set(key, sub.index);
        batches.push({ digest, author: c.header.author, round: c.header.round, createdAt: c.header.createdAt });
      }
    }
    this.chain = this.chain.then(async () => {
      for (const b of batches) {
        await this.worker.fetch([b.digest], b.author);
        const batch = (await this.store.getBatch(b.digest))!;
        this.store.releaseBatch(b.digest);
        const out: CommittedBatch = { subDagIndex: sub.index, leaderRound: sub.leader.header.round, ...b, batch };
        for (const l of this.listeners) l(out);
      }
      this.lastIndex = sub.index;
    });
  }

  /**
   * Calls `listener` for every committed batch from sub-DAG `from` on: first the stored past,
   * then live. Returns a function that unsubscribes.
   */
  subscribe(from: number, listener: CommitListener): () => void {
    let active = true;
    const replay = async (): Promise<void> => {
      let next = from;
      // Replay until caught up with the live stream; the check and the attach happen in the same tick.
      while (active && next <= this.lastIndex) {
        const upTo = this.lastIndex;
        for (const rec of this.store.commitsFrom(next)) {
          if (rec.index > upTo) break;
          const seen = new Set<string>();
          for (const d of rec.certificates) {
            const c = this.store.getCertificate(d)!;
            for (const digest of c.header.payload) {
              const key = hex(digest);
              if (seen.has(key) || this.firstIndex.get(key) !== rec.index) continue;
              seen.add(key);
              const batch = await this.store.getBatch(digest);
              if (!active || !batch) continue;
              listener({
                subDagIndex: rec.index,
                leaderRound: rec.leaderRound,
                author: c.header.author,
                round: c.header.round,
                createdAt: c.header.createdAt,
                digest,
                batch,
              });
            }
          }
          next = rec.index + 1;
        }
      }
      if (active) this.listeners.add(listener);
    };
    void replay();
    return () => {
      active = false;
      this.listeners.delete(listener);
    };
  }
}
