import type { Logger } from "../log";
import { silentLogger } from "../log";

/**
 * A JSON-RPC endpoint: one method call at a time. The caller names the result type of the method
 * it calls (unchecked at run time, as with any JSON-RPC client); `any` by default.
 */
export interface Rpc {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the default result, see above
  send<T = any>(method: string, params: unknown[]): Promise<T>;
}

/** An EIP-1193 provider (e.g. Hardhat's in-process `hre.network.provider`). */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

/** Wraps an EIP-1193 provider as an {@link Rpc}. */
export function rpcFromEip1193(provider: Eip1193Provider): Rpc {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Rpc's default result
  return { send: (method, params) => provider.request({ method, params }) as Promise<any> };
}

/** A failed call: the HTTP status when the endpoint refused it, the JSON-RPC error code when it answered with an error. */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: number,
    readonly data?: unknown,
    /** Seconds the endpoint asked us to wait (HTTP `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** No answer within the time allowed. */
export class RpcTimeoutError extends RpcError {}

/**
 * An {@link Rpc} over HTTP(S) with `fetch`: one POST per call, connections kept alive, the body
 * read whole and parsed once (linear in its size), the request aborted when `timeoutMs` passes.
 *
 * Not ethers' JsonRpcProvider: its Node transport appends every received chunk by copying the
 * whole body so far into a new array. Hardhat's node writes an `eth_getLogs` answer in one chunk
 * per log (about 520 bytes), so an 8,000-log answer (4.8 MB, ~9,000 chunks) cost 20 GB of copying
 * (10-18 s of CPU, measured, against 0.5 s with this client), and 16,000 logs four times that:
 * past the 30 s timeout, retried with the same range forever.
 */
export function rpcFromUrl(url: string, timeoutMs = 30_000): Rpc {
  let id = 0;
  return {
    async send<T>(method: string, params: unknown[]): Promise<T> {
      const body = JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params });
      let text: string;
      let response: Response;
      try {
        response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(timeoutMs) });
        text = await response.text();
      } catch (err) {
        if ((err as Error).name === "TimeoutError") throw new RpcTimeoutError(`rpc ${method} timed out after ${timeoutMs} ms`);
        const cause = (err as { cause?: Error }).cause;
        throw new RpcError(`rpc ${method} failed: ${(err as Error).message}${cause ? ` (${cause.message})` : ""}`);
      }
      if (!response.ok) {
        const retryAfter = Number(response.headers.get("retry-after"));
        throw new RpcError(
          `rpc ${method}: HTTP ${response.status} ${response.statusText}: ${text.slice(0, 300)}`,
          response.status,
          undefined,
          undefined,
          Number.isFinite(retryAfter) ? retryAfter : undefined,
        );
      }
      let answer: { result?: T; error?: { code?: number; message?: string; data?: unknown } };
      try {
        answer = JSON.parse(text);
      } catch {
        throw new RpcError(`rpc ${method}: the answer is not JSON: ${text.slice(0, 300)}`, response.status);
      }
      if (answer.error)
        throw new RpcError(`rpc ${method}: ${answer.error.message ?? "error"} (${answer.error.code})`, response.status, answer.error.code, answer.error.data);
      if (!("result" in answer)) throw new RpcError(`rpc ${method}: an answer without result or error`, response.status);
      return answer.result as T;
    },
  };
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
 * Retries failed calls (errors, timeouts, rate limits) with exponential backoff, or after the
 * endpoint's `Retry-After`. An `eth_getLogs` over more than one block that failed because of its
 * size ({@link logRangeLimit}: a range or result cap, a response-size limit, a timeout) is passed
 * on at once: the log fetcher splits the range rather than ask the same again. A call either
 * returns the node's full answer or throws, so retries cannot skip or duplicate events.
 */
export class RetryingRpc implements Rpc {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  /** Calls made and retries needed so far (progress and tests). */
  readonly stats = { calls: 0, retries: 0 };

  constructor(
    private readonly inner: Rpc,
    options: RetryOptions = {},
  ) {
    this.attempts = options.attempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.log = options.log ?? silentLogger;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Rpc's default result
  async send<T = any>(method: string, params: unknown[]): Promise<T> {
    const span = method === "eth_getLogs" ? logSpan(params) : 1;
    for (let attempt = 1; ; attempt++) {
      this.stats.calls++;
      try {
        return await withTimeout(this.inner.send<T>(method, params), this.timeoutMs, method);
      } catch (err) {
        if ((span > 1 && logRangeLimit(err, span) !== undefined) || attempt >= this.attempts) throw err;
        this.stats.retries++;
        const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        const retryAfter = (err as RpcError).retryAfterSeconds;
        const delay = retryAfter !== undefined ? Math.min(this.maxDelayMs, retryAfter * 1000) : backoff;
        this.log.warn("rpc call failed, retrying", { method, attempt, delayMs: Math.round(delay), error: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, method: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RpcTimeoutError(`rpc ${method} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Blocks covered by an `eth_getLogs` call's filter. */
function logSpan(params: unknown[]): number {
  const { fromBlock, toBlock } = (params[0] ?? {}) as { fromBlock?: string; toBlock?: string };
  const span = Number(toBlock) - Number(fromBlock) + 1;
  return Number.isFinite(span) ? span : 1;
}

/**
 * Limits stated in providers' `eth_getLogs` errors, as the largest span in blocks they allow
 * (the suggested range of Alchemy and Infura; the cap of QuickNode, Coinbase / Base CDP,
 * publicnode, Avalanche, Cloudflare, thirdweb, Blast, Moonbeam, Aurora, Ankr).
 */
const STATED_LIMITS: [RegExp, (m: RegExpMatchArray) => number][] = [
  // Alchemy ("… this block range should work: [0x…, 0x…]"), Infura ("Try with this block range [0x…, 0x…]")
  [/block range(?: should work:)? \[(0x[0-9a-f]+),\s*(0x[0-9a-f]+)\]/, (m) => Number(m[2]) - Number(m[1]) + 1],
  [/requested too many blocks from \d+ to \d+, maximum is set to ([\d,]+)/, (m) => num(m[1])],
  [/limited to an? ([\d,.]+)/, (m) => num(m[1])],
  [/limited to ([\d,.]+) block/, (m) => num(m[1])],
  [/limit the query to at most ([\d,.]+) blocks/, (m) => num(m[1])],
  [/maximum block range:? ([\d,.]+)/, (m) => num(m[1])],
  [/max range: ([\d,]+)/, (m) => num(m[1])],
  [/maximum allowed number of requested blocks is ([\d,]+)/, (m) => num(m[1])],
  [/exceeds the range allowed for your plan \(\d+ > (\d+)\)/, (m) => num(m[1])],
  [/block range is too wide \(maximum (\d+)\)/, (m) => num(m[1])],
  [/max block range ([\d,.]+)/, (m) => num(m[1])],
  [/block range greater than ([\d,.]+) max/, (m) => num(m[1])],
  [/block range exceeds ([\d,.]+)/, (m) => num(m[1])],
  [/up to a ([\d,.]+) block range/, (m) => num(m[1])],
  [/blocks distance: (\d+)/, (m) => num(m[1])],
  [/query exceeds block range (\d+)/, (m) => num(m[1])],
];

/**
 * Errors that mean "the answer is too large" without a number: result caps (geth / erigon / reth
 * "query returned more than 10000 results", -32005 "limit exceeded", Arbitrum, llamarpc), range
 * caps (Base "block range too large", Ankr "block range is too wide", Chainstack, Optimism),
 * response-size limits (Alchemy "Log response size exceeded", 1RPC, Optimism "backend response
 * too large"), an HTTP 413.
 */
const SIZE_ERRORS =
  /more than \d+ results|too many results|exceeds max results|exceeds limit of|results? (?:limit|cap)|limit exceeded|range (?:is )?too (?:large|wide|big)|range limit|too (?:large|wide) (?:a )?(?:block )?range|response size|response too large|payload too large|too large|-32005/;

/**
 * Whether an `eth_getLogs` over `span` blocks failed because of its size, and if so the largest
 * span to ask next: the one the provider states, else half. Timeouts count (a dense range takes
 * long on any node), as do JSON-RPC -32005 (limit exceeded) and -32602 (invalid params, when it
 * names a range), and HTTP 413. Undefined for other errors (they are retried as they are).
 */
export function logRangeLimit(err: unknown, span: number): number | undefined {
  const e = err as RpcError & { error?: unknown };
  const text = `${e?.message ?? ""} ${JSON.stringify(e?.data ?? e?.error ?? "")}`.toLowerCase();
  const half = Math.max(1, Math.floor(span / 2));
  // A rate limit is about the pace, not the size ("rate limit exceeded"): retried as it is.
  if (e?.status === 429 || /rate limit|too many requests|rate-limit|rate exceeded/.test(text)) return undefined;
  for (const [pattern, limit] of STATED_LIMITS) {
    const m = text.match(pattern);
    // A suggestion as large as what was asked says nothing: halve.
    if (m) return Math.max(1, Math.min(span - 1, limit(m)) || half);
  }
  if (err instanceof RpcTimeoutError || e?.status === 413 || e?.code === -32005 || SIZE_ERRORS.test(text)) return half;
  if (e?.code === -32602 && /range|block|results/.test(text)) return half;
  return undefined;
}

function num(s: string): number {
  return Number(s.replace(/[,.]/g, ""));
}
