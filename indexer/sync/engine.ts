import { Interface, type Result } from "ethers";
import { sql, type Kysely } from "kysely";
import type { EventHandler, HandlerContext, IndexerModule, PrefetchKey } from "../module";
import { silentLogger, type Logger } from "../log";
import type { IndexerDatabase } from "../store/database";
import { EntityStore, writePending, type PendingWrites } from "../store/entity-store";
import { BLOCKS_TABLE, JOURNAL_TABLE } from "../store/core-tables";
import { upsertRows } from "../store/bulk";
import { coreMigrations, migrate } from "../store/migrations";
import { pruneBelowFloor, rollbackTo } from "../store/rollback";
import { readSyncState, writeChainHead, writeSyncState, type SyncState } from "../store/sync-state";
import type { AnyTable } from "../store/tables";
import { ChainMismatchError, ChainMovedError, UnrecoverableReorgError } from "./errors";
import { CHILDREN_TABLE, ChildContracts, childrenMigrations } from "./children";
import { buildDecoders, type EventArgs, type LogDecoder } from "./decode";
import { hex, LogFetcher, type LogFetcherOptions, type RawLog } from "./log-fetcher";
import { Progress } from "./progress";
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

interface Header {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

interface Decoder {
  contract: string;
  /** By topic0. */
  events: Map<string, { name: string; decode: LogDecoder }>;
}

interface DecodedEvent {
  raw: RawLog;
  /** `Contract:EventName`. */
  key: string;
  args: EventArgs;
}

/**
 * The sync loop. Each batch of blocks is applied by the modules' handlers to an
 * {@link EntityStore}, then flushed together with the cursor in one transaction: a crash at any
 * point leaves the database at the last committed batch, and a restart continues from there.
 * Blocks older than `finalityDepth` are backfilled in large batches without journal; newer ones are
 * applied with their headers checked against the stored hash chain and a journal that
 * {@link rollbackTo} uses to undo a reorg.
 */
export class SyncEngine {
  /** Counters since this engine started. */
  readonly stats: SyncStats = { events: 0, batches: 0, reorgs: 0, rpcMs: 0, handlerMs: 0, dbMs: 0, dbWaitMs: 0 };
  private readonly db: Kysely<any>;
  private readonly store: EntityStore;
  private readonly tables: AnyTable[];
  private readonly handlers = new Map<string, EventHandler[]>();
  private readonly prefetchers = new Map<string, ((args: EventArgs) => PrefetchKey[])[]>();
  private readonly decoders = new Map<string, Decoder>();
  private readonly fetcher: LogFetcher;
  private readonly children: ChildContracts;
  private readonly log: Logger;
  private readonly progress: Progress;
  private state!: SyncState;

  constructor(private readonly options: SyncOptions) {
    this.db = options.database.db;
    this.store = new EntityStore(this.db);
    this.log = options.log ?? silentLogger;
    this.progress = new Progress(this.log);
    this.tables = [...options.modules.flatMap((m) => m.tables), JOURNAL_TABLE, BLOCKS_TABLE, CHILDREN_TABLE];
    const signatures = new Map<string, string[]>();
    for (const m of options.modules) {
      for (const [contract, events] of Object.entries(m.events)) {
        if (!options.contracts[contract]) throw new Error(`module ${m.name} reads contract ${contract}, which has no address`);
        signatures.set(contract, [...(signatures.get(contract) ?? []), ...events.map((e) => (e.startsWith("event ") ? e : `event ${e}`))]);
      }
      for (const [key, handler] of Object.entries(m.handlers)) this.handlers.set(key, [...(this.handlers.get(key) ?? []), handler]);
      for (const [key, fetch] of Object.entries(m.prefetch ?? {})) this.prefetchers.set(key, [...(this.prefetchers.get(key) ?? []), fetch]);
    }
    for (const [contract, events] of signatures) {
      this.decoders.set(options.contracts[contract].toLowerCase(), { contract, events: buildDecoders(new Interface([...new Set(events)])) });
    }
    this.fetcher = new LogFetcher(options.rpc, [...this.decoders.keys()], options.fetcher);
    this.children = new ChildContracts(options.modules, options.contracts, this.decoders);
  }

  /** Applies migrations and loads (or creates) the cursor; checks the RPC serves the same chain. */
  async init(): Promise<void> {
    await migrate(this.db, { ...coreMigrations, ...childrenMigrations, ...Object.assign({}, ...this.options.modules.map((m) => m.migrations)) });
    await this.children.load(this.db);
    const chainId = Number(await this.options.rpc.send<string>("eth_chainId", []));
    const stored = await readSyncState(this.db);
    if (stored && stored.chainId !== chainId) throw new ChainMismatchError(stored.chainId, chainId);
    const before = this.options.startBlock - 1;
    this.state = stored ?? { chainId, cursorBlock: before, cursorHash: null, cursorTimestamp: null, journalFloor: before, chainHead: null };
  }

  /** The last block applied. */
  get cursor(): number {
    return this.state.cursorBlock;
  }

  /**
   * One pass: reads the head, undoes a reorg if the stored cursor block is no longer canonical,
   * then applies everything up to the head. Returns the head it synced to.
   */
  async syncOnce(): Promise<number> {
    const before = this.state.cursorBlock;
    const head = Number(await this.timedRpc<string>("eth_blockNumber", []));
    if (this.state.chainHead !== head && this.state.cursorHash) await writeChainHead(this.db, head);
    this.state.chainHead = head;
    await this.checkCursorCanonical();
    const finalized = head - this.options.finalityDepth;
    if (this.state.cursorBlock < finalized) await this.backfill(finalized);
    while (this.state.cursorBlock < head) {
      const to = Math.min(head, this.state.cursorBlock + (this.options.maxRealtimeBlocks ?? 100));
      await this.applyUnfinalized(this.state.cursorBlock + 1, to, finalized);
    }
    // Rate-limited: following the head stays quiet, a long catch-up reports every few seconds.
    if (this.state.cursorBlock !== before) this.progress.update(this.state.cursorBlock, head, this.stats.events);
    return head;
  }

  /** Syncs until the cursor reaches the head seen at the start of a pass. */
  async syncToHead(): Promise<void> {
    for (;;) {
      const head = await this.syncOnce();
      if (this.state.cursorBlock >= head) return;
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
        this.store.reset();
        this.state = (await readSyncState(this.db)) ?? this.state;
        failures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        this.log.warn("sync pass failed; retrying from the committed cursor", { error: (err as Error).message, delayMs: delay });
        await sleep(delay, signal);
      }
    }
  }

  /**
   * Applies the finalized blocks up to `target` in large batches, pipelined: while one batch's
   * transaction is being written, the next batch's logs and headers are fetched and its handlers
   * run (the database works on another core than the handlers). Batches still commit one after
   * another, in order, each with its cursor.
   */
  private async backfill(target: number): Promise<void> {
    let batchFrom = this.state.cursorBlock + 1;
    let pending: RawLog[] = [];
    let writing: Promise<void> | undefined;
    const chunks = this.fetcher.fetch(batchFrom, target);
    try {
      for (;;) {
        const started = Date.now();
        const next = await chunks.next();
        this.stats.rpcMs += Date.now() - started;
        if (next.done) break;
        pending = pending.length ? pending.concat(next.value.logs) : next.value.logs;
        if (pending.length < (this.options.batchEvents ?? 10_000) && next.value.to < target) continue;
        const [from, to] = [batchFrom, next.value.to];
        const logs = await this.withChildLogs(from, to, pending);
        batchFrom = to + 1;
        pending = [];
        const blocks = new Set(logs.filter((l) => !l.blockTimestamp).map((l) => Number(l.blockNumber)));
        blocks.add(to);
        const headers = await this.fetchHeaders([...blocks]);
        await this.runHandlers(logs, headers, false);
        // Batches commit in order: take this batch's writes only once the previous one is in.
        await this.waitForDatabase(writing);
        const end = headers.get(to)!;
        const state = { ...this.state, cursorBlock: to, cursorHash: end.hash, cursorTimestamp: end.timestamp, journalFloor: to };
        writing = this.commitBatch(this.store.takeWrites(), logs.length, state, true, async (trx) => {
          await upsertRows(trx, BLOCKS_TABLE, [headerRow(end)]);
          await pruneBelowFloor(trx, to);
        }).then(() => {
          this.log.debug("backfill batch", { from, to, events: logs.length });
          this.progress.update(this.state.cursorBlock, this.state.chainHead ?? target, this.stats.events);
        });
        // Awaited before the next commit or at the end; meanwhile a failure is not unhandled.
        writing.catch(() => {});
      }
      await this.waitForDatabase(writing);
    } catch (err) {
      // Nothing past the last committed batch reached the database: forget its buffered and
      // cached writes too (the state moves only when a commit succeeds).
      await writing?.catch(() => {});
      this.store.reset();
      throw err;
    }
  }

  /** Adds the logs of factory-deployed contracts (see {@link ChildContracts}) to a range's logs. */
  private async withChildLogs(from: number, to: number, logs: RawLog[]): Promise<RawLog[]> {
    const started = Date.now();
    try {
      return await this.children.withChildLogs(this.options.rpc, from, to, logs);
    } finally {
      this.stats.rpcMs += Date.now() - started;
    }
  }

  private async waitForDatabase(writing: Promise<void> | undefined): Promise<void> {
    const started = Date.now();
    await writing;
    this.stats.dbWaitMs += Date.now() - started;
  }

  private async applyUnfinalized(from: number, to: number, finalized: number): Promise<void> {
    const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const headers = await this.fetchHeaders(numbers);
    let parent = this.state.cursorHash;
    for (const n of numbers) {
      const h = headers.get(n)!;
      if (parent && h.parentHash !== parent) {
        // The cursor block left the canonical chain between our check and now.
        if (n === from) return this.handleReorg();
        throw new ChainMovedError(`block ${n} does not link to block ${n - 1}`);
      }
      parent = h.hash;
    }
    const started = Date.now();
    const { logs: suiteLogs } = await this.fetcher.fetchRange(from, to);
    this.stats.rpcMs += Date.now() - started;
    const logs = await this.withChildLogs(from, to, suiteLogs);
    for (const l of logs) {
      if (headers.get(Number(l.blockNumber))?.hash !== l.blockHash) throw new ChainMovedError(`logs of block ${Number(l.blockNumber)} come from another fork`);
    }
    const end = headers.get(to)!;
    // Blocks that became final cannot be reorged: raise the rollback floor and drop their journal.
    const journalFloor = Math.max(this.state.journalFloor, Math.min(finalized, to));
    const state = { ...this.state, cursorBlock: to, cursorHash: end.hash, cursorTimestamp: end.timestamp, journalFloor };
    try {
      await this.runHandlers(logs, headers, true);
      await this.commitBatch(this.store.takeWrites(), logs.length, state, false, async (trx) => {
        await upsertRows(trx, BLOCKS_TABLE, numbers.map((n) => headerRow(headers.get(n)!)));
        await pruneBelowFloor(trx, journalFloor);
      });
    } catch (err) {
      // Nothing of this batch reached the database: forget its buffered writes too.
      this.store.reset();
      throw err;
    }
  }

  /** Decodes `logs`, prefetches what their handlers read and runs the handlers into the store. */
  private async runHandlers(logs: RawLog[], headers: Map<number, Header>, journaling: boolean): Promise<void> {
    let t = Date.now();
    const events = this.decode(logs);
    this.stats.handlerMs += Date.now() - t;
    t = Date.now();
    await this.prefetch(events);
    this.stats.dbMs += Date.now() - t;
    t = Date.now();
    for (const event of events) await this.applyEvent(event, headers, journaling);
    this.stats.handlerMs += Date.now() - t;
  }

  /**
   * Writes a batch's changes, `extra`'s writes and the cursor `next` in one transaction, then
   * moves the in-memory cursor. `asyncCommit` (finalized backfill only) commits without waiting
   * for the WAL flush: if the PostgreSQL server crashes, its last such commits may be lost, but
   * each whole (WAL replay restores a transaction entirely or not at all), derived state and
   * cursor together, so the restarted indexer finds an older cursor with the state that matches
   * it and re-applies those final blocks to the same result. Inside the finality window the wait
   * stays: those commits are few and small.
   */
  private async commitBatch(pending: PendingWrites, events: number, next: SyncState, asyncCommit: boolean, extra: (trx: Kysely<any>) => Promise<void>): Promise<void> {
    const started = Date.now();
    await this.db.transaction().execute(async (trx) => {
      if (asyncCommit) await sql`SET LOCAL synchronous_commit = off`.execute(trx);
      await writePending(trx, pending);
      await extra(trx);
      await writeSyncState(trx, next);
    });
    this.state = next;
    this.stats.dbMs += Date.now() - started;
    this.stats.events += events;
    this.stats.batches++;
  }

  /** The logs some handler wants, decoded, in order. */
  private decode(logs: RawLog[]): DecodedEvent[] {
    const events: DecodedEvent[] = [];
    for (const raw of logs) {
      const decoder = this.decoders.get(raw.address.toLowerCase());
      const event = decoder?.events.get(raw.topics[0]);
      if (!decoder || !event) continue;
      const key = `${decoder.contract}:${event.name}`;
      if (this.handlers.has(key) || this.children.isCreation(key)) events.push({ raw, key, args: event.decode(raw.topics, raw.data) });
    }
    return events;
  }

  /** Loads in bulk, one query per table, the rows the batch's handlers declared they will read. */
  private async prefetch(events: DecodedEvent[]): Promise<void> {
    const byTable = new Map<AnyTable, Record<string, unknown>[]>();
    for (const event of events) {
      for (const fetch of this.prefetchers.get(event.key) ?? []) {
        for (const { table, key } of fetch(event.args)) {
          const keys = byTable.get(table);
          if (keys) keys.push(key);
          else byTable.set(table, [key]);
        }
      }
    }
    for (const [table, keys] of byTable) await this.store.prefetch(table, keys);
  }

  private async applyEvent({ raw, key, args }: DecodedEvent, headers: Map<number, Header>, journaling: boolean): Promise<void> {
    const number = Number(raw.blockNumber);
    this.store.beginBlock(number, journaling);
    const header = headers.get(number);
    const ctx: HandlerContext = {
      store: this.store,
      block: { number, hash: raw.blockHash, timestamp: raw.blockTimestamp ? Number(raw.blockTimestamp) : header!.timestamp },
      log: { address: raw.address, transactionHash: raw.transactionHash, logIndex: Number(raw.logIndex) },
      contracts: this.options.contracts,
      readContract: (contract, signature, params = []) => this.readContract(contract, signature, params, number),
    };
    if (this.children.isCreation(key)) await this.children.record(key, args, this.store, number);
    for (const handler of this.handlers.get(key) ?? []) await handler(args, ctx);
  }

  private async readContract(contract: string, signature: string, args: unknown[], block: number): Promise<Result> {
    const iface = new Interface([`function ${signature}`]);
    const fn = iface.fragments[0] as import("ethers").FunctionFragment;
    const data = iface.encodeFunctionData(fn, args);
    const out = await this.options.rpc.send<string>("eth_call", [{ to: this.options.contracts[contract] ?? contract, data }, hex(block)]);
    return iface.decodeFunctionResult(fn, out);
  }

  /** Undoes a reorg if the cursor block's hash is no longer the chain's. */
  private async checkCursorCanonical(): Promise<void> {
    if (!this.state.cursorHash) return;
    const remote = await this.header(this.state.cursorBlock);
    if (remote?.hash !== this.state.cursorHash) await this.handleReorg();
  }

  /**
   * Walks back from the cursor to the newest stored block the chain still has, rolls derived
   * state back to it and moves the cursor there. Below the journal floor nothing can be undone.
   */
  private async handleReorg(): Promise<void> {
    const stored = await this.db
      .selectFrom("indexer_blocks")
      .selectAll()
      .where("block_number", ">=", this.state.journalFloor)
      .where("block_number", "<=", this.state.cursorBlock)
      .orderBy("block_number", "desc")
      .execute();
    for (const block of stored) {
      const remote = await this.header(block.block_number);
      if (remote?.hash !== block.hash) continue;
      const ancestor: number = block.block_number;
      this.log.warn("reorg: rolling back", { from: this.state.cursorBlock, to: ancestor, depth: this.state.cursorBlock - ancestor });
      const started = Date.now();
      this.store.reset();
      await this.db.transaction().execute(async (trx) => {
        await rollbackTo(trx, this.tables, ancestor);
        this.state = { ...this.state, cursorBlock: ancestor, cursorHash: block.hash, cursorTimestamp: block.timestamp };
        await writeSyncState(trx, this.state);
      });
      this.stats.reorgs++;
      this.stats.dbMs += Date.now() - started;
      return;
    }
    throw new UnrecoverableReorgError(this.state.cursorBlock, this.state.journalFloor);
  }

  private async fetchHeaders(numbers: number[]): Promise<Map<number, Header>> {
    const started = Date.now();
    const headers = new Map<number, Header>();
    const concurrency = this.options.headerConcurrency ?? 8;
    let i = 0;
    const worker = async () => {
      while (i < numbers.length) {
        const n = numbers[i++];
        const h = await this.header(n);
        if (!h) throw new ChainMovedError(`block ${n} is not available (head moved back?)`);
        headers.set(n, h);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, numbers.length) }, worker));
    this.stats.rpcMs += Date.now() - started;
    return headers;
  }

  private async header(n: number): Promise<Header | undefined> {
    const b = await this.options.rpc.send<{ number: string; hash: string; parentHash: string; timestamp: string } | null>("eth_getBlockByNumber", [hex(n), false]);
    return b ? { number: Number(b.number), hash: b.hash, parentHash: b.parentHash, timestamp: Number(b.timestamp) } : undefined;
  }

  private async timedRpc<T>(method: string, params: unknown[]): Promise<T> {
    const started = Date.now();
    try {
      return await this.options.rpc.send<T>(method, params);
    } finally {
      this.stats.rpcMs += Date.now() - started;
    }
  }
}

function headerRow(h: Header) {
  return { block_number: h.number, hash: h.hash, parent_hash: h.parentHash, timestamp: h.timestamp };
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
