import { FetchRequest, JsonRpcProvider } from "ethers";
import type { Logger } from "../log";
import { silentLogger } from "../log";

/** A JSON-RPC endpoint: one method call at a time. */
export interface Rpc {
  send<T = any>(method: string, params: unknown[]): Promise<T>;
}

/** An EIP-1193 provider (e.g. Hardhat's in-process `hre.network.provider`). */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

/** Wraps an EIP-1193 provider as an {@link Rpc}. */
export function rpcFromEip1193(provider: Eip1193Provider): Rpc {
  return { send: (method, params) => provider.request({ method, params }) as Promise<any> };
}

/** An {@link Rpc} over HTTP(S) through ethers' JSON-RPC provider (no batching, no caching). */
export function rpcFromUrl(url: string, timeoutMs = 30_000): Rpc {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  const provider = new JsonRpcProvider(request, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  return { send: (method, params) => provider.send(method, params) };
}

/** Retry policy for {@link RetryingRpc}. */
export interface RetryOptions {
  /** Attempts per call before the error is passed on. */
  attempts?: number;
  /** First backoff; doubles per attempt (with jitter) up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A call that takes longer counts as failed and is retried. */
  timeoutMs?: number;
  log?: Logger;
}

/**
 * Retries failed calls (errors, timeouts, rate limits) with exponential backoff. Errors that
 * {@link isRangeTooLarge} recognises are passed on at once: the log fetcher splits the range
 * instead. A call either returns the node's full answer or throws, so retries cannot skip or
 * duplicate events.
 */
export class RetryingRpc implements Rpc {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  /** Calls made and retries needed so far (progress and tests). */
  readonly stats = { calls: 0, retries: 0 };

  constructor(private readonly inner: Rpc, options: RetryOptions = {}) {
    this.attempts = options.attempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.log = options.log ?? silentLogger;
  }

  async send<T = any>(method: string, params: unknown[]): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.stats.calls++;
      try {
        return await withTimeout(this.inner.send<T>(method, params), this.timeoutMs, method);
      } catch (err) {
        if (isRangeTooLarge(err) || attempt >= this.attempts) throw err;
        this.stats.retries++;
        const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.log.warn("rpc call failed, retrying", { method, attempt, delayMs: Math.round(delay), error: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, method: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`rpc ${method} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether an `eth_getLogs` error means "ask for a smaller range" (result or range caps of common
 * providers: "query returned more than 10000 results", "block range is too wide", "limit exceeded",
 * response size limits).
 */
export function isRangeTooLarge(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ""} ${JSON.stringify((err as { error?: unknown })?.error ?? "")}`.toLowerCase();
  return /more than \d+ results|too many results|block range|range is too|response size|too large|-32005/.test(text);
}
