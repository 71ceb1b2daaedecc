/**
 * The worker (one per node): batches client transactions, disseminates each batch to the other
 * workers and waits for 2f+1 weight of acknowledgments (its own included) before handing the
 * digest to the primary; stores peers' batches and acknowledges them once durable; fetches
 * batches the primary or the executor needs (docs/consensus.md "Narwhal: workers").
 *
 * Everything a peer can make it hold is bounded (docs/consensus.md "Resource bounds"):
 * - batches a peer pushes before any header references them wait in memory, in a per-peer pen of
 *   at most what an honest worker can have outstanding (`maxPendingBatches` full batches); past
 *   it they are neither stored nor acknowledged; garbage collection empties the pen of what it
 *   passed, and only batches a header or certificate references reach the disk;
 * - digests wanted for a header (not yet certified) count against its author's quota and are
 *   given up at garbage collection; only certified payloads, which a quorum stored, are fetched
 *   until found;
 * - batches served to a peer (read from disk when not cached): one request at a time per peer
 *   (4 more queued, the rest dropped), `serveBytesPerSecond` per peer, and nothing more while a
 *   budget's worth is still queued to it.
 */
import { AuthorityIndex, Committee } from "../types/committee";
import { batchDigest, decodeBatch, Digest, hex } from "../types/messages";
import { decodeWorker, encodeWorker, WorkerMessage } from "../types/wire";
import { PeerNetwork } from "../../network/peerNetwork";
import { ConsensusStore } from "../../storage/consensusStore";
import { Logger } from "../../logger";
import { BatchMaker } from "./batchMaker";

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
   * (backpressure tied to consensus progress, not just to dissemination). Also the size of each
   * peer's pen of unreferenced batches: an honest peer never has more outstanding.
   */
  maxPendingBatches: number;
  /** Bytes of one peer's pen: `maxPendingBatches` batches of the largest size an honest worker seals. */
  maxPenBytes: number;
  /** Most digests wanted at once for one author's uncertified headers. */
  maxWantedPerAuthor: number;
  /**
   * Bytes of batches served to one peer per second (also the burst): what a peer's requests can
   * make us read from disk. Past it a request is cut short; an honest peer asks again later.
   */
  serveBytesPerSecond: number;
}

/** Most digests asked of one peer in one request frame (the wire cap). */
const MAX_REQUEST_DIGESTS = 1_000;

interface PendingBatch {
  /** The encoded worker frame, built once for the broadcast and every re-send. */
  frame: Buffer;
  acks: Set<AuthorityIndex>;
  /**
   * performance.now(), as are askedAt and a ServeState's at: retry periods and refills in this
   * process, which a wall clock stepped back would stall or drain.
   */
  sentAt: number;
  /** Delay before the next re-send; doubles each time so a slow peer is not flooded. */
  retryMs: number;
}

interface Wanted {
  /** Resolved with true once stored, false when given up at garbage collection. */
  waiters: ((found: boolean) => void)[];
  /** Peers to ask, in order; the first is the author of the header that referenced it. */
  from: AuthorityIndex[];
  askedAt: number;
  /** Set while only an uncertified header of `author` at `round` wants it (quota, GC apply). */
  header?: { author: AuthorityIndex; round: number };
}

/** Serving one peer: its budget (bytes, refilled at `serveBytesPerSecond`) and its requests in turn. */
interface ServeState {
  tokens: number;
  at: number;
  /** The requests being served, one after the other. */
  queue: Promise<void>;
  /** Requests queued and not started. */
  waiting: number;
}

/** Requests of one peer queued while another of its requests is served. */
const MAX_QUEUED_REQUESTS = 4;

/** Batches one peer pushed that nothing referenced yet, in arrival order. */
interface Pen {
  batches: Map<string, Penned>;
  bytes: number;
  /** Batches refused because the pen was full (logged every 1,000). */
  refused: number;
}

interface Penned {
  batch: Buffer;
  /** Our primary's round when it arrived: dropped once garbage collection passes it. */
  round: number;
}

/** One node's worker. */
export class Worker {
  private readonly maker: BatchMaker;
  private readonly pending = new Map<string, PendingBatch>();
  private readonly wanted = new Map<string, Wanted>();
  /** Per author, how many entries of `wanted` its uncertified headers hold. */
  private readonly wantedByAuthor = new Map<AuthorityIndex, number>();
  /** Per peer, batches it pushed that no header or certificate referenced yet (insertion order). */
  private readonly pens = new Map<AuthorityIndex, Pen>();
  /** Own batches sealed and not yet committed: they count against backpressure until they commit. */
  private readonly uncommitted = new Set<string>();
  private round = 0;
  /** Per peer, its serving budget and the requests of it being served. */
  private readonly serving = new Map<AuthorityIndex, ServeState>();
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

  /** Bytes of transactions the worker takes before it refuses (0 when saturated). */
  get room(): number {
    return Math.max(0, (this.o.maxPendingBatches - this.uncommitted.size) * this.o.batchSize - this.maker.pendingBytes);
  }

  /** True for an own batch sealed and not committed yet (hex digest): it may be proposed again. */
  isUncommitted(key: string): boolean {
    return this.uncommitted.has(key);
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
    this.uncommitted.add(key);
    const p: PendingBatch = { frame: encodeWorker({ kind: "batch", batch }), acks: new Set(), sentAt: performance.now(), retryMs: this.o.retryMs };
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
        this.serve(from, m.digests);
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
    const key = hex(digest);
    const w = this.wanted.get(key);
    if (!w && !this.o.store.hasBatch(digest)) {
      // Pushed ahead of any header: held in the sender's pen, acknowledged only if there is room.
      let pen = this.pens.get(from);
      if (!pen) this.pens.set(from, (pen = { batches: new Map(), bytes: 0, refused: 0 }));
      if (!pen.batches.has(key)) {
        if (pen.bytes + batch.length > this.o.maxPenBytes) {
          if (pen.refused++ % 1000 === 0) this.o.logger.warn("unreferenced batches above the per-peer bound, dropped", { from, refused: pen.refused });
          return;
        }
        pen.batches.set(key, { batch, round: this.round });
        pen.bytes += batch.length;
      }
      this.o.network.send(from, encodeWorker({ kind: "batch-ack", digest }));
      return;
    }
    await this.o.store.putBatch(digest, batch);
    this.o.network.send(from, encodeWorker({ kind: "batch-ack", digest }));
    if (w) this.settle(key, w, true);
  }

  private settle(key: string, w: Wanted, found: boolean): void {
    this.wanted.delete(key);
    if (w.header) this.wantedByAuthor.set(w.header.author, (this.wantedByAuthor.get(w.header.author) ?? 1) - 1);
    w.waiters.forEach((f) => f(found));
  }

  private serve(to: AuthorityIndex, digests: Digest[]): void {
    let s = this.serving.get(to);
    if (!s) this.serving.set(to, (s = { tokens: this.o.serveBytesPerSecond, at: performance.now(), queue: Promise.resolve(), waiting: 0 }));
    // One request at a time per peer and a few more queued (a fetch and a retry can arrive
    // together; dropping all but the first delayed honest fetches by a retry period); beyond, dropped.
    if (s.waiting >= MAX_QUEUED_REQUESTS) return;
    s.waiting++;
    const state = s;
    s.queue = s.queue
      .then(async () => {
        state.waiting--;
        await this.serveOne(to, state, digests);
      })
      .catch((err) => this.o.logger.warn("serving batches failed", { to, err: String(err) }));
  }

  private async serveOne(to: AuthorityIndex, s: ServeState, digests: Digest[]): Promise<void> {
    const seen = new Set<string>();
    for (const d of digests) {
      const key = hex(d);
      if (seen.has(key)) continue;
      seen.add(key);
      const now = performance.now();
      s.tokens = Math.min(this.o.serveBytesPerSecond, s.tokens + ((now - s.at) / 1000) * this.o.serveBytesPerSecond);
      s.at = now;
      // Out of budget, or the peer has not drained what we sent: the rest waits for its retry.
      if (s.tokens <= 0 || this.o.network.pending(to) > this.o.serveBytesPerSecond) break;
      const batch = this.penned(key) ?? (await this.o.store.getBatch(d));
      if (!batch) continue;
      s.tokens -= batch.length;
      this.o.network.send(to, encodeWorker({ kind: "batch", batch }));
    }
  }

  private penned(key: string): Buffer | undefined {
    for (const pen of this.pens.values()) {
      const p = pen.batches.get(key);
      if (p) return p.batch;
    }
    return undefined;
  }

  private unpenKey(pen: Pen, key: string): void {
    const p = pen.batches.get(key);
    if (!p) return;
    pen.batches.delete(key);
    pen.bytes -= p.batch.length;
  }

  /** Moves a penned batch to the store now that a header or certificate references it. */
  private async unpen(digest: Digest): Promise<boolean> {
    const key = hex(digest);
    const batch = this.penned(key);
    if (!batch) return false;
    for (const pen of this.pens.values()) this.unpenKey(pen, key);
    await this.o.store.putBatch(digest, batch);
    return true;
  }

  /**
   * Resolves true once every batch in `digests` is stored, asking `from` first (the author of
   * the header or certificate that referenced them), then the other members in turn.
   * For an uncertified header (`header` given) it resolves false instead when the author's quota
   * of wanted digests is full or garbage collection passes the header's round.
   */
  async fetch(digests: Digest[], from: AuthorityIndex, header?: { round: number }): Promise<boolean> {
    const missing: Digest[] = [];
    for (const d of digests) if (!this.o.store.hasBatch(d) && !(await this.unpen(d))) missing.push(d);
    if (missing.length === 0) return true;
    const fresh = missing.filter((d) => !this.wanted.has(hex(d)));
    const quota = this.wantedByAuthor.get(from) ?? 0;
    if (header && quota + fresh.length > this.o.maxWantedPerAuthor) {
      this.o.logger.warn("header wants more batches than its author's bound, not fetched", { author: from, round: header.round, missing: missing.length });
      return false;
    }
    const ask: Digest[] = [];
    const waits = missing.map(
      (d) =>
        new Promise<boolean>((resolve) => {
          const key = hex(d);
          let w = this.wanted.get(key);
          if (!w) {
            const others = [...this.o.committee.members.keys()].filter((i) => i !== from && i !== this.o.me);
            w = { waiters: [], from: [from, ...others], askedAt: performance.now() };
            if (header) {
              w.header = { author: from, round: header.round };
              this.wantedByAuthor.set(from, (this.wantedByAuthor.get(from) ?? 0) + 1);
            }
            this.wanted.set(key, w);
            ask.push(d);
          } else if (!header && w.header) {
            // Now certified: a quorum stored it, so it is fetched until found.
            this.wantedByAuthor.set(w.header.author, (this.wantedByAuthor.get(w.header.author) ?? 1) - 1);
            w.header = undefined;
          }
          w.waiters.push(resolve);
        }),
    );
    if (ask.length > 0 && from !== this.o.me) this.o.network.send(from, encodeWorker({ kind: "batch-request", digests: ask.slice(0, MAX_REQUEST_DIGESTS) }));
    return (await Promise.all(waits)).every((found) => found);
  }

  /**
   * Garbage collection up to `gcRound`, with `round` our primary's current round: headers at or
   * below `gcRound` are never voted for, so their wanted digests are given up, and batches pushed
   * to us in those rounds that nothing referenced are dropped.
   */
  setRounds(gcRound: number, round: number): void {
    this.round = round;
    for (const [key, w] of this.wanted) if (w.header && w.header.round <= gcRound) this.settle(key, w, false);
    for (const [peer, pen] of this.pens) {
      for (const [key, p] of pen.batches) if (p.round <= gcRound) this.unpenKey(pen, key);
      if (pen.batches.size === 0) this.pens.delete(peer);
    }
  }

  private retry(): void {
    const now = performance.now();
    for (const p of this.pending.values()) {
      if (now - p.sentAt < p.retryMs) continue;
      p.sentAt = now;
      p.retryMs *= 2;
      for (let i = 0; i < this.o.committee.size; i++) {
        // Only to peers that are not still busy with what we already queued for them.
        if (i !== this.o.me && !p.acks.has(i) && this.o.network.pending(i) === 0) this.o.network.send(i, p.frame);
      }
    }
    // One request frame per peer per period, however many digests are missing.
    const asks = new Map<AuthorityIndex, Digest[]>();
    for (const [key, w] of this.wanted) {
      if (now - w.askedAt < this.o.retryMs) continue;
      w.askedAt = now;
      w.from.push(w.from.shift()!); // rotate: the next member in line is asked
      const peer = w.from[0];
      if (peer === this.o.me) continue;
      let list = asks.get(peer);
      if (!list) asks.set(peer, (list = []));
      if (list.length < MAX_REQUEST_DIGESTS) list.push(Buffer.from(key, "hex"));
    }
    for (const [peer, digests] of asks) this.o.network.send(peer, encodeWorker({ kind: "batch-request", digests }));
  }

  /** Stops timers. */
  stop(): void {
    this.maker.stop();
    clearInterval(this.timer);
  }
}
