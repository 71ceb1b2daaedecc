/**
 * The worker (one per node): batches client transactions, disseminates each batch to the other
 * workers and waits for 2f+1 weight of acknowledgments (its own included) before handing the
 * digest to the primary; stores peers' batches and acknowledges them once durable; fetches
 * batches the primary or the executor needs (reference/narwhal.md §3).
 */
import { AuthorityIndex, Committee } from "../types/committee";
import { batchDigest, decodeBatch, Digest, hex } from "../types/messages";
import { decodeWorker, encodeWorker, WorkerMessage } from "../types/wire";
import { PeerNetwork } from "../../network/peer-network";
import { ConsensusStore } from "../../storage/consensus-store";
import { Logger } from "../../logger";
import { BatchMaker } from "./batch-maker";

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  committee: Committee;
  me: AuthorityIndex;
  network: PeerNetwork;
  store: ConsensusStore;
  logger: Logger;
  batchSize: number;
  maxBatchDelayMs: number;
  /** Re-send a batch to peers that did not acknowledge it after this long; also the fetch retry period. */
  retryMs: number;
  /**
   * Refuse new transactions while this many own batches are sealed but not yet committed
   * (backpressure tied to consensus progress, not just to dissemination).
   */
  maxPendingBatches: number;
}

/** After this long an own batch no longer counts against the backpressure limit. */
const UNCOMMITTED_EXPIRY_MS = 30_000;

interface PendingBatch {
  /** The encoded worker frame, built once for the broadcast and every re-send. */
  frame: Buffer;
  acks: Set<AuthorityIndex>;
  sentAt: number;
  /** Delay before the next re-send; doubles each time so a slow peer is not flooded. */
  retryMs: number;
}

interface Wanted {
  waiters: (() => void)[];
  /** Peers to ask, in order; the first is the author of the header that referenced it. */
  from: AuthorityIndex[];
  askedAt: number;
}

/** One node's worker. */
export class Worker {
  private readonly maker: BatchMaker;
  private readonly pending = new Map<string, PendingBatch>();
  private readonly wanted = new Map<string, Wanted>();
  /** Own batches sealed and not yet committed → when sealed (entries expire, see committed()). */
  private readonly uncommitted = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  /** Called with the digest of each own batch once a quorum stored it. */
  onOwnBatch: (digest: Digest) => void = () => {};

  constructor(private readonly o: WorkerOptions) {
    this.maker = new BatchMaker({
      batchSize: o.batchSize,
      maxBatchDelayMs: o.maxBatchDelayMs,
      onSeal: (batch) => void this.disseminate(batch),
    });
    o.network.onFrame((from, frame) => this.onFrame(from, frame));
    this.timer = setInterval(() => this.retry(), Math.max(50, o.retryMs / 2));
  }

  /** True while the worker accepts transactions (false = the caller should retry later). */
  get accepting(): boolean {
    return this.uncommitted.size < this.o.maxPendingBatches;
  }

  /** Marks an own batch as committed, freeing room for new transactions. */
  committed(digest: Digest): void {
    this.uncommitted.delete(hex(digest));
  }

  /** Adds a validated transaction; returns false (not added) when the worker is saturated. */
  submit(tx: Buffer): boolean {
    if (!this.accepting) return false;
    this.maker.add(tx);
    return true;
  }

  private async disseminate(batch: Buffer): Promise<void> {
    const digest = batchDigest(batch);
    const key = hex(digest);
    this.uncommitted.set(key, Date.now());
    const p: PendingBatch = { frame: encodeWorker({ kind: "batch", batch }), acks: new Set(), sentAt: Date.now(), retryMs: this.o.retryMs };
    this.pending.set(key, p);
    this.o.network.broadcast(p.frame);
    await this.o.store.putBatch(digest, batch);
    this.acknowledged(key, digest, this.o.me);
  }

  private acknowledged(key: string, digest: Digest, by: AuthorityIndex): void {
    const p = this.pending.get(key);
    if (!p) return;
    p.acks.add(by);
    if (p.acks.has(this.o.me) && this.o.committee.weightOf(p.acks) >= this.o.committee.quorumThreshold) {
      this.pending.delete(key);
      this.onOwnBatch(digest);
    }
  }

  private onFrame(from: AuthorityIndex, frame: Buffer): void {
    let m: WorkerMessage;
    try {
      m = decodeWorker(frame);
    } catch (err) {
      this.o.logger.warn("malformed worker message", { from, err: String(err) });
      return;
    }
    switch (m.kind) {
      case "batch":
        void this.onPeerBatch(from, m.batch);
        break;
      case "batch-ack":
        this.acknowledged(hex(m.digest), m.digest, from);
        break;
      case "batch-request":
        void this.serve(from, m.digests);
        break;
    }
  }

  private async onPeerBatch(from: AuthorityIndex, batch: Buffer): Promise<void> {
    try {
      decodeBatch(batch);
    } catch (err) {
      this.o.logger.warn("malformed batch", { from, err: String(err) });
      return;
    }
    const digest = batchDigest(batch);
    await this.o.store.putBatch(digest, batch);
    this.o.network.send(from, encodeWorker({ kind: "batch-ack", digest }));
    const w = this.wanted.get(hex(digest));
    if (w) {
      this.wanted.delete(hex(digest));
      w.waiters.forEach((f) => f());
    }
  }

  private async serve(to: AuthorityIndex, digests: Digest[]): Promise<void> {
    for (const d of digests) {
      const batch = await this.o.store.getBatch(d);
      if (batch) this.o.network.send(to, encodeWorker({ kind: "batch", batch }));
    }
  }

  /**
   * Resolves once every batch in `digests` is stored, asking `from` first (the author of the
   * header or certificate that referenced them), then the other members in turn.
   */
  fetch(digests: Digest[], from: AuthorityIndex): Promise<void> {
    const missing = digests.filter((d) => !this.o.store.hasBatch(d));
    if (missing.length === 0) return Promise.resolve();
    const ask: Digest[] = [];
    const waits = missing.map(
      (d) =>
        new Promise<void>((resolve) => {
          const key = hex(d);
          let w = this.wanted.get(key);
          if (!w) {
            const others = [...this.o.committee.members.keys()].filter((i) => i !== from && i !== this.o.me);
            w = { waiters: [], from: [from, ...others], askedAt: Date.now() };
            this.wanted.set(key, w);
            ask.push(d);
          }
          w.waiters.push(resolve);
        }),
    );
    if (ask.length > 0 && from !== this.o.me) this.o.network.send(from, encodeWorker({ kind: "batch-request", digests: ask }));
    return Promise.all(waits).then(() => undefined);
  }

  private retry(): void {
    const now = Date.now();
    // A batch whose header was garbage-collected uncommitted never commits; stop counting it.
    for (const [key, at] of this.uncommitted) if (now - at > UNCOMMITTED_EXPIRY_MS) this.uncommitted.delete(key);
    for (const p of this.pending.values()) {
      if (now - p.sentAt < p.retryMs) continue;
      p.sentAt = now;
      p.retryMs *= 2;
      for (let i = 0; i < this.o.committee.size; i++) {
        // Only to peers that are not still busy with what we already queued for them.
        if (i !== this.o.me && !p.acks.has(i) && this.o.network.pending(i) === 0) this.o.network.send(i, p.frame);
      }
    }
    for (const [key, w] of this.wanted) {
      if (now - w.askedAt < this.o.retryMs) continue;
      w.askedAt = now;
      w.from.push(w.from.shift()!); // rotate: the next member in line is asked
      if (w.from[0] !== this.o.me) {
        this.o.network.send(w.from[0], encodeWorker({ kind: "batch-request", digests: [Buffer.from(key, "hex")] }));
      }
    }
  }

  /** Stops timers. */
  stop(): void {
    this.maker.stop();
    clearInterval(this.timer);
  }
}
