import type { Logger } from "../log";
import type { EntityStore } from "../store/entityStore";
import type { SyncState } from "../store/syncState";
import type { AnyTable } from "../store/tables";
import type { Dispatcher } from "./dispatch";
import type { SyncOptions, SyncStats } from "./engine";
import { fetchHeaders, type Header } from "./headers";
import type { LogFetcher, RawLog } from "./logFetcher";
import type { Progress } from "./progress";
import type { RawDb } from "../store/database";

/**
 * What the ways of following the chain (backfill.ts, realtime.ts, reorg.ts) share: the database
 * and the write buffer, the committed cursor, the fetcher and dispatcher, and the counters.
 */
export interface EngineParts {
  readonly options: SyncOptions;
  readonly db: RawDb;
  readonly store: EntityStore;
  readonly stats: SyncStats;
  readonly dispatch: Dispatcher;
  readonly fetcher: LogFetcher;
  /** Every table a rollback may touch: the modules', the journal, the block hashes and the children. */
  readonly tables: readonly AnyTable[];
  readonly log: Logger;
  readonly progress: Progress;
  /** The committed cursor: moved only by a commit or a rollback. */
  state: SyncState;
}

/** Runs `work` (waiting on the RPC) and adds its time to `rpcMs`. */
export async function timedRpc<T>(parts: EngineParts, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    parts.stats.rpcMs += Date.now() - started;
  }
}

/** The headers of `numbers`, fetched concurrently (`headerConcurrency`). */
export function headersOf(parts: EngineParts, numbers: number[]): Promise<Map<number, Header>> {
  return timedRpc(parts, () => fetchHeaders(parts.options.rpc, numbers, parts.options.headerConcurrency ?? 8));
}

/** Adds the logs of factory-deployed contracts (see {@link ChildContracts}) to a range's logs. */
export function withChildLogs(parts: EngineParts, from: number, to: number, logs: RawLog[]): Promise<RawLog[]> {
  return timedRpc(parts, () => parts.dispatch.children.withChildLogs(parts.options.rpc, from, to, logs));
}
