import { isRangeTooLarge, type Rpc } from "./rpc";

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
  /** First range size in blocks. */
  initialRange?: number;
  maxRange?: number;
  /** Ranges grow while answers stay under a quarter of this, and shrink above it. */
  targetLogs?: number;
  /** `eth_getLogs` calls in flight at once. */
  concurrency?: number;
}

/**
 * Fetches the logs of a set of contracts over a block range with `eth_getLogs`: ranges adapt to
 * the answers (grow while sparse, shrink when dense or when the node refuses a range as too
 * large, splitting that range in two), a bounded number of calls run ahead in parallel, and chunks
 * come out in block order.
 */
export class LogFetcher {
  private range: number;
  private readonly maxRange: number;
  private readonly targetLogs: number;
  private readonly concurrency: number;

  constructor(private readonly rpc: Rpc, private readonly addresses: readonly string[], options: LogFetcherOptions = {}) {
    this.range = options.initialRange ?? 1_000;
    this.maxRange = options.maxRange ?? 100_000;
    this.targetLogs = options.targetLogs ?? 10_000;
    this.concurrency = options.concurrency ?? 4;
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

  /** The logs of exactly `from`..`to`, splitting the range while the node says it is too large. */
  async fetchRange(from: number, to: number): Promise<LogChunk> {
    let logs: RawLog[];
    try {
      logs = await this.rpc.send<RawLog[]>("eth_getLogs", [{ address: this.addresses, fromBlock: hex(from), toBlock: hex(to) }]);
    } catch (err) {
      if (!isRangeTooLarge(err) || from === to) throw err;
      const mid = from + Math.floor((to - from) / 2);
      this.range = Math.max(1, Math.min(this.range, mid - from + 1));
      const [left, right] = await Promise.all([this.fetchRange(from, mid), this.fetchRange(mid + 1, to)]);
      return { from, to, logs: left.logs.concat(right.logs) };
    }
    if (logs.length > this.targetLogs) this.range = Math.max(1, Math.floor(this.range / 2));
    else if (logs.length < this.targetLogs / 4) this.range = Math.min(this.maxRange, this.range * 2);
    return { from, to, logs };
  }
}

/** A block number as a JSON-RPC quantity. */
export function hex(n: number): string {
  return "0x" + n.toString(16);
}
