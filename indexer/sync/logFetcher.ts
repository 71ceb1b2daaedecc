import { logRangeLimit, RpcTimeoutError, type Rpc } from "./rpc";

/** A log as `eth_getLogs` returns it. */
export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  /** Some nodes include it; saves a header fetch. */
  blockTimestamp?: string;
}

/** The logs of a block range, complete. */
export interface LogChunk {
  from: number;
  to: number;
  logs: RawLog[];
}

/** Range sizing and parallelism of {@link LogFetcher}. */
export interface LogFetcherOptions {
  /** First range size in blocks: small, so a dense start answers fast; it grows from there. */
  initialRange?: number;
  maxRange?: number;
  /**
   * Ranges grow while answers stay under half of this and shrink above it. Below the 10,000-log
   * cap of most providers, so a range sized on the last answer rarely hits the cap.
   */
  targetLogs?: number;
  /** Ranges grow while answers take less than this and shrink when they take twice as long. */
  targetMs?: number;
  /** Most `eth_getLogs` calls in flight at once. */
  concurrency?: number;
}

/**
 * Fetches the logs of a set of contracts over a block range with `eth_getLogs`, adapting to the
 * endpoint:
 *
 * - ranges start small and double while answers are small and fast, halve when they are large
 *   or slow;
 * - a range the endpoint refuses for its size (a stated range or result cap, a response-size
 *   limit, an HTTP 413, a timeout: {@link logRangeLimit}) is split into pieces of the stated
 *   size, else halves (the first piece alone, then the rest at the size learned), and later ranges
 *   stay under that cap, probing above it once every 256 answers; an identical request is never
 *   asked again after such a refusal (only a single block, which cannot be split, is retried, a
 *   bounded number of times by the {@link Rpc});
 * - calls are pipelined: up to `concurrency` run ahead, fewer while answers come slowly (the
 *   endpoint is saturated or rate limiting), more again once they are fast;
 * - chunks come out in block order.
 */
export class LogFetcher {
  private range: number;
  private readonly maxRange: number;
  /** Ranges never grow past this: the size an endpoint's refusal taught (a timeout teaches nothing lasting). */
  private ceiling: number;
  /** Answers since the ceiling was last set or probed; every {@link CEILING_PROBE_EVERY}, it is probed higher. */
  private sinceCeiling = 0;
  private readonly targetLogs: number;
  private readonly targetMs: number;
  private readonly maxConcurrency: number;
  private concurrency: number;

  constructor(
    private readonly rpc: Rpc,
    private readonly addresses: readonly string[],
    options: LogFetcherOptions = {},
  ) {
    this.maxRange = options.maxRange ?? 100_000;
    this.range = Math.min(this.maxRange, options.initialRange ?? 10);
    this.ceiling = this.maxRange;
    this.targetLogs = options.targetLogs ?? 5_000;
    this.targetMs = options.targetMs ?? 2_000;
    this.maxConcurrency = options.concurrency ?? 6;
    this.concurrency = Math.min(2, this.maxConcurrency);
  }

  /** The range size the next call will ask for (progress and tests). */
  get currentRange(): number {
    return this.range;
  }

  /** Yields consecutive chunks covering `from`..`to` exactly. */
  async *fetch(from: number, to: number): AsyncGenerator<LogChunk> {
    let next = from;
    const inflight: Promise<LogChunk>[] = [];
    while (next <= to || inflight.length > 0) {
      while (inflight.length < this.concurrency && next <= to) {
        const end = Math.min(to, next + this.range - 1);
        const chunk = this.fetchRange(next, end);
        // Awaited in order below; this marks a rejection as handled meanwhile.
        chunk.catch(() => {});
        inflight.push(chunk);
        next = end + 1;
      }
      yield await inflight.shift()!;
    }
  }

  /** The logs of exactly `from`..`to`, split while the endpoint refuses a range for its size. */
  async fetchRange(from: number, to: number): Promise<LogChunk> {
    const span = to - from + 1;
    const started = Date.now();
    let logs: RawLog[];
    try {
      logs = await this.rpc.send<RawLog[]>("eth_getLogs", [{ address: this.addresses, fromBlock: hex(from), toBlock: hex(to) }]);
    } catch (err) {
      const limit = span > 1 ? logRangeLimit(err, span) : undefined;
      if (limit === undefined) throw err;
      this.range = Math.max(1, Math.min(this.range, limit));
      if (!(err instanceof RpcTimeoutError)) {
        this.ceiling = Math.min(this.ceiling, this.range);
        this.sinceCeiling = 0;
      }
      this.concurrency = Math.max(1, Math.floor(this.concurrency / 2));
      // The first piece alone, to learn the cap (an endpoint that states none is found by halving:
      // pieces in parallel would each be refused down a whole binary tree, ~2^depth refusals),
      // then the rest in parallel at the range learned.
      const first = await this.fetchRange(from, Math.min(to, from + this.range - 1));
      const pieces: Promise<LogChunk>[] = [];
      for (let a = first.to + 1; a <= to; a += this.range) pieces.push(this.fetchRange(a, Math.min(to, a + this.range - 1)));
      const parts = [first, ...(await Promise.all(pieces))];
      return { from, to, logs: parts.length === 1 ? parts[0].logs : parts.flatMap((p) => p.logs) };
    }
    this.adapt(span, logs.length, Date.now() - started);
    return { from, to, logs };
  }

  /** Sizes the next ranges and the pipeline on an answer of `count` logs over `span` blocks that took `ms`. */
  private adapt(span: number, count: number, ms: number): void {
    if (count > this.targetLogs || ms > 2 * this.targetMs) {
      // Scale to the answer that came, not to the current range (others may have moved it).
      const byLogs = count > this.targetLogs ? Math.floor((span * this.targetLogs) / count) : span;
      const byTime = ms > 2 * this.targetMs ? Math.floor((span * this.targetMs) / ms) : span;
      this.range = Math.max(1, Math.min(this.range, byLogs, byTime));
      if (ms > 2 * this.targetMs) this.concurrency = Math.max(1, this.concurrency - 1);
    } else if (count < this.targetLogs / 2 && ms < this.targetMs && span >= this.range) {
      // A cap may have been a result cap in a dense stretch: probe above it now and then.
      if (++this.sinceCeiling >= CEILING_PROBE_EVERY) {
        this.ceiling = Math.min(this.maxRange, this.ceiling * 2);
        this.sinceCeiling = 0;
      }
      this.range = Math.min(this.ceiling, this.range * 2);
      this.concurrency = Math.min(this.maxConcurrency, this.concurrency + 1);
    } else if (ms < this.targetMs) {
      this.concurrency = Math.min(this.maxConcurrency, this.concurrency + 1);
    }
  }
}

/** Answers between probes above a learned range cap: at most one refusal per this many calls. */
const CEILING_PROBE_EVERY = 256;

/** A block number as a JSON-RPC quantity. */
export function hex(n: number): string {
  return "0x" + n.toString(16);
}
