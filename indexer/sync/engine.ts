import type { IndexerModule } from "../module";
import { silentLogger, type Logger } from "../log";
import type { IndexerDatabase } from "../store/database";
import { EntityStore } from "../store/entityStore";
import { BLOCKS_TABLE, JOURNAL_TABLE } from "../store/coreTables";
import { coreMigrations, migrate } from "../store/migrations";
import { readSyncState, writeChainHead } from "../store/syncState";
import { backfill } from "./backfill";
import { CHILDREN_TABLE, childrenMigrations } from "./children";
import { Dispatcher } from "./dispatch";
import { timedRpc, type EngineParts } from "./engineParts";
import { ChainMismatchError, UnrecoverableReorgError } from "./errors";
import { LogFetcher, type LogFetcherOptions } from "./logFetcher";
import { Progress } from "./progress";
import { applyUnfinalized } from "./realtime";
import { checkCursorCanonical } from "./reorg";
import type { Rpc } from "./rpc";

/** What to sync, from where, into what. */
export interface SyncOptions {
  database: IndexerDatabase;
  /** The chain (wrap it in a RetryingRpc for fault tolerance). */
  rpc: Rpc;
  /** Suite contract addresses by name (`FLK`, `Vesting`, `Emission`, ...). */
  contracts: Record<string, string>;
  modules: readonly IndexerModule[];
  /** First block that can hold a suite event (the deployment block). */
  startBlock: number;
  /** Blocks behind the head that may still be reorged; state inside this window is journaled. */
  finalityDepth: number;
  /** Backfill commits once this many events are buffered (or at the end of the range). */
  batchEvents?: number;
  /** Most blocks per batch inside the finality window (each needs its header). */
  maxRealtimeBlocks?: number;
  /** Header fetches in flight at once. */
  headerConcurrency?: number;
  fetcher?: LogFetcherOptions;
  log?: Logger;
  /** Sleep between head polls once caught up. */
  pollIntervalMs?: number;
  /** Least time between two progress lines (default 5 s). */
  progressEveryMs?: number;
}

/** Time split of a sync, for progress and the bench. */
export interface SyncStats {
  events: number;
  batches: number;
  reorgs: number;
  /** Waiting on the RPC (logs and headers). */
  rpcMs: number;
  /** Decoding and handlers (in memory, CPU). */
  handlerMs: number;
  /** Prefetch reads, the commit transactions and rollbacks (commits overlap the next batch's handlers). */
  dbMs: number;
  /** Of which the backfill waited on the database, with nothing else left to do. */
  dbWaitMs: number;
}

/**
 * The sync loop. Each batch of blocks is applied by the modules' handlers (dispatch.ts) to an
 * {@link EntityStore}, then flushed together with the cursor in one transaction (commit.ts): a
 * crash at any point leaves the database at the last committed batch, and a restart continues
 * from there. Blocks older than `finalityDepth` are backfilled in large batches without journal
 * (backfill.ts); newer ones are applied with their headers checked against the stored hash chain
 * and a journal (realtime.ts) that a reorg is undone with (reorg.ts).
 */
export class SyncEngine {
  /** Counters since this engine started. */
  readonly stats: SyncStats = { events: 0, batches: 0, reorgs: 0, rpcMs: 0, handlerMs: 0, dbMs: 0, dbWaitMs: 0 };
  private readonly parts: EngineParts;

  constructor(private readonly options: SyncOptions) {
    const log = options.log ?? silentLogger;
    const dispatch = new Dispatcher(options.modules, options.contracts, options.rpc);
    this.parts = {
      options,
      db: options.database.db,
      store: new EntityStore(options.database.db),
      stats: this.stats,
      dispatch,
      fetcher: new LogFetcher(options.rpc, [...dispatch.decoders.keys()], options.fetcher),
      tables: [...options.modules.flatMap((m) => m.tables), JOURNAL_TABLE, BLOCKS_TABLE, CHILDREN_TABLE],
      log,
      progress: new Progress(log, options.progressEveryMs),
      // Set by init().
      state: undefined as never,
    };
  }

  /** Applies migrations and loads (or creates) the cursor; checks the RPC serves the same chain. */
  async init(): Promise<void> {
    const { db } = this.parts;
    await migrate(db, { ...coreMigrations, ...childrenMigrations, ...Object.assign({}, ...this.options.modules.map((m) => m.migrations)) });
    await this.parts.dispatch.children.load(db);
    const chainId = Number(await this.options.rpc.send<string>("eth_chainId", []));
    const stored = await readSyncState(db);
    if (stored && stored.chainId !== chainId) throw new ChainMismatchError(stored.chainId, chainId);
    const before = this.options.startBlock - 1;
    this.parts.state = stored ?? { chainId, cursorBlock: before, cursorHash: null, cursorTimestamp: null, journalFloor: before, chainHead: null };
  }

  /** The last block applied. */
  get cursor(): number {
    return this.parts.state.cursorBlock;
  }

  /**
   * One pass: reads the head, undoes a reorg if the stored cursor block is no longer canonical,
   * then applies everything up to the head. Returns the head it synced to.
   */
  async syncOnce(): Promise<number> {
    const parts = this.parts;
    const before = parts.state.cursorBlock;
    const head = Number(await timedRpc(parts, () => this.options.rpc.send<string>("eth_blockNumber", [])));
    if (parts.state.chainHead !== head && parts.state.cursorHash) await writeChainHead(parts.db, head);
    parts.state.chainHead = head;
    await checkCursorCanonical(parts);
    const finalized = head - this.options.finalityDepth;
    if (parts.state.cursorBlock < finalized) await backfill(parts, finalized);
    while (parts.state.cursorBlock < head) {
      const to = Math.min(head, parts.state.cursorBlock + (this.options.maxRealtimeBlocks ?? 100));
      await applyUnfinalized(parts, parts.state.cursorBlock + 1, to, finalized);
    }
    // Rate-limited: following the head stays quiet, a long catch-up reports every few seconds.
    if (parts.state.cursorBlock !== before) parts.progress.update(parts.state.cursorBlock, head, this.stats.events);
    return head;
  }

  /** Syncs until the cursor reaches the head seen at the start of a pass. */
  async syncToHead(): Promise<void> {
    for (;;) {
      const head = await this.syncOnce();
      if (this.parts.state.cursorBlock >= head) return;
    }
  }

  /**
   * Follows the chain until `signal` aborts. A failed pass (RPC down past its retries, the chain
   * moving under a batch) is logged and retried from the committed cursor after a backoff.
   */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.syncOnce();
        failures = 0;
        await sleep(this.options.pollIntervalMs ?? 1_000, signal);
      } catch (err) {
        if (err instanceof UnrecoverableReorgError || err instanceof ChainMismatchError) throw err;
        this.parts.store.reset();
        this.parts.state = (await readSyncState(this.parts.db)) ?? this.parts.state;
        failures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        // A programming error will fail every retry the same way: its stack says where.
        const bug = err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
        this.parts.log.warn("sync pass failed; retrying from the committed cursor", {
          error: (err as Error).message,
          delayMs: delay,
          ...(bug ? { stack: err.stack } : {}),
        });
        await sleep(delay, signal);
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    // Remove the listener when the timer fires: a listener per poll would pile up on the signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
