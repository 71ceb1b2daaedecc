/**
 * The limits every function runs under (docs/functions.md "Limits"). Defaults follow issue 19
 * (128 MiB heap, 15 s wall) and Cloudflare Workers' free plan where the issue names no figure.
 */
export interface FunctionLimits {
  /** V8 heap of one function's isolate, MiB (isolated-vm refuses less than 8). */
  memoryMiB: number;
  /** CPU time one request may use inside the isolate, ms. */
  cpuMs: number;
  /** Wall time of one request, including subrequests, ms. */
  wallMs: number;
  /** Largest bundle (the module's source), bytes. */
  bundleBytes: number;
  /** Largest request body, bytes. */
  requestBytes: number;
  /** Largest response body (the function's, and each subrequest's), bytes. */
  responseBytes: number;
  /** Outbound fetches one request may make. */
  subrequests: number;
  /** Functions kept warm (one isolate each); the least recently used is dropped beyond it. */
  warmIsolates: number;
  /** Compiled code kept by root (V8 code cache), bytes. */
  codeCacheBytes: number;
}

/**
 * Runtime threads unless the node's config says: one, the runtime on the service's own thread. On
 * 2 cores, two threads (functionThreads.ts) cost warm requests more than they gave cold ones
 * (docs/functions.md "Runtime threads").
 */
export const DEFAULT_RUNTIME_THREADS = 1;

/** The defaults; a node overrides any of them in its config (`services.functions.limits`). */
export const DEFAULT_FUNCTION_LIMITS: FunctionLimits = {
  memoryMiB: 128,
  cpuMs: 50,
  wallMs: 15_000,
  bundleBytes: 1024 * 1024,
  requestBytes: 1024 * 1024,
  responseBytes: 10 * 1024 * 1024,
  subrequests: 50,
  warmIsolates: 64,
  codeCacheBytes: 64 * 1024 * 1024,
};

/** What FunctionRegistry stores per version (`Limits`): the limits its owner registered. */
export type RegisteredLimits = Pick<FunctionLimits, "memoryMiB" | "cpuMs" | "wallMs" | "bundleBytes">;

/**
 * The header the gateway hands the functions service a registered function's limits in (JSON
 * {@link RegisteredLimits}); the gateway sets or removes it on every request, so a client's own never arrives.
 */
export const LIMITS_HEADER = "x-fleek-limits";

/**
 * The limits one function runs under: what its owner registered, each capped by the node's own
 * (its config, which are also the limits of a function nobody registered).
 */
export function effectiveLimits(node: FunctionLimits, registered: Partial<RegisteredLimits> | undefined): FunctionLimits {
  const limits = { ...node };
  if (!registered) return limits;
  for (const key of ["memoryMiB", "cpuMs", "wallMs", "bundleBytes"] as const) {
    const value = registered[key];
    if (Number.isSafeInteger(value) && (value as number) > 0) limits[key] = Math.min(node[key], value as number);
  }
  // isolated-vm refuses a heap under 8 MiB.
  limits.memoryMiB = Math.max(8, limits.memoryMiB);
  return limits;
}

/** The limits of a config section, each a positive integer; throws naming the bad key. */
export function functionLimitsFrom(raw: unknown): FunctionLimits {
  if (raw === undefined) return { ...DEFAULT_FUNCTION_LIMITS };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("config: services.functions.limits must be an object");
  const limits = { ...DEFAULT_FUNCTION_LIMITS };
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in DEFAULT_FUNCTION_LIMITS)) throw new Error(`config: unknown function limit ${key}`);
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new Error(`config: function limit ${key} must be a positive integer`);
    limits[key as keyof FunctionLimits] = value as number;
  }
  if (limits.memoryMiB < 8) throw new Error("config: function limit memoryMiB must be at least 8");
  return limits;
}

/** Most runtime threads a node may ask for (`services.functions.threads`): each holds its own spares and V8 heaps. */
export const MAX_RUNTIME_THREADS = 16;

/** The functions service's runtime threads from its config (`services.functions.threads`), or the default. */
export function runtimeThreadsFrom(raw: unknown): number {
  if (raw === undefined) return DEFAULT_RUNTIME_THREADS;
  if (!Number.isSafeInteger(raw) || (raw as number) < 1 || (raw as number) > MAX_RUNTIME_THREADS)
    throw new Error(`config: services.functions.threads must be an integer from 1 to ${MAX_RUNTIME_THREADS}`);
  return raw as number;
}
