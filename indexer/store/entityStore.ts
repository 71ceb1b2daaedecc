import { deleteRows, insertRows, selectByKeys, upsertRows } from "./bulk";
import { JOURNAL_TABLE } from "./coreTables";
import { rowFromDb, rowKey, rowToImage, type AnyTable, type TableDef } from "./tables";
import type { RawDb } from "./database";

interface CachedRow {
  table: AnyTable;
  /** Its key in the table's cache (see {@link cacheKey}). */
  k: string;
  /** Holds at least the primary-key values. */
  key: Record<string, unknown>;
  row: Record<string, unknown> | null;
  /** Changed since the last {@link EntityStore.takeWrites}. */
  dirty: boolean;
}

type JournalEntry = {
  block_number: number;
  table_name: string;
  pk: string;
  before: Record<string, unknown> | null;
};

/**
 * A batch's buffered changes, taken out of the store by {@link EntityStore.takeWrites} so the
 * handlers of the next batch can run while these are being written.
 */
export interface PendingWrites {
  tables: Map<AnyTable, { upserts: Record<string, unknown>[]; deletes: Record<string, unknown>[] }>;
  journal: JournalEntry[];
}

/** Cached rows kept between batches; past this the cache is trimmed after a batch. */
const MAX_CACHED_ROWS = 200_000;

/**
 * The handlers' view of derived state: reads go through an in-memory cache, writes are buffered
 * and reach the database in bulk ({@link takeWrites} then {@link writePending}), inside the
 * transaction that also advances the sync cursor. Inside the finality window every first change of
 * a row in a block journals the row's previous image, which is what a reorg rollback restores.
 *
 * The cache is a write-back cache of committed state plus the pending batch: a row absent from it
 * has the same value in the database as in the last committed batch, which is what lets the next
 * batch read the database while the previous one is still being written (see {@link takeWrites}).
 */
export class EntityStore {
  /** Per table, rows by cache key (see {@link cacheKey}). */
  private readonly cache = new Map<AnyTable, Map<string, CachedRow>>();
  private cachedRows = 0;
  /** Rows changed since the last {@link takeWrites}. */
  private dirty: CachedRow[] = [];
  private journal: JournalEntry[] = [];
  private journaledInBlock = new Set<string>();
  private blockNumber = -1;
  private journaling = false;

  constructor(private readonly db: RawDb) {}

  /** Starts a block: following writes belong to it and are journaled when `journaling`. */
  beginBlock(blockNumber: number, journaling: boolean): void {
    if (blockNumber !== this.blockNumber) this.journaledInBlock.clear();
    this.blockNumber = blockNumber;
    this.journaling = journaling;
  }

  /** The row with this primary key, or undefined. */
  get<Row extends Record<string, unknown>>(table: TableDef<Row>, key: Partial<Row>): Promise<Row | undefined> {
    // Cache hits (nearly every read once a batch is prefetched) answer without a database hop.
    const entry = this.tableCache(table).get(cacheKey(table, key));
    if (entry) return Promise.resolve((entry.row as Row | null) ?? undefined);
    return this.load(table, key).then((e) => (e.row as Row | null) ?? undefined);
  }

  /** Loads these rows (of one table) in one query and caches them, present or absent. */
  async prefetch(table: AnyTable, keys: Record<string, unknown>[]): Promise<void> {
    const cached = this.tableCache(table);
    const missing = new Map<string, Record<string, unknown>>();
    for (const key of keys) {
      const k = cacheKey(table, key);
      if (!cached.has(k)) missing.set(k, key);
    }
    if (missing.size === 0) return;
    const found = await selectByKeys(this.db, table, [...missing.values()]);
    for (const raw of found) {
      const row = rowFromDb(table, raw);
      const k = cacheKey(table, row);
      missing.delete(k);
      this.cacheEntry(cached, { table, k, key: row, row, dirty: false });
    }
    for (const [k, key] of missing) this.cacheEntry(cached, { table, k, key, row: null, dirty: false });
  }

  /**
   * Inserts or replaces a row. The store keeps `row` itself until it is written, possibly while
   * the next batch's handlers run: treat it as immutable (build a new object for a change).
   */
  set<Row extends Record<string, unknown>>(table: TableDef<Row>, row: Row): Promise<void> {
    const entry = this.beforeWrite(table, row);
    if (entry instanceof Promise) return entry.then((e) => void this.write(e, row));
    this.write(entry, row);
    return Promise.resolve();
  }

  /** Deletes the row with this primary key (a no-op when absent). */
  delete<Row extends Record<string, unknown>>(table: TableDef<Row>, key: Partial<Row>): Promise<void> {
    const entry = this.beforeWrite(table, key);
    const remove = (e: CachedRow) => {
      if (e.row !== null) this.write(e, null);
    };
    if (entry instanceof Promise) return entry.then(remove);
    remove(entry);
    return Promise.resolve();
  }

  /**
   * Takes every change buffered since the last call, grouped per table for bulk writes, and
   * clears the buffer. The changed rows stay cached (as the state the next batch builds on);
   * per-block rows, never read back, leave the cache. Call it only once the previous batch's
   * writes are committed: trimming the cache here drops rows of committed batches only, so a row
   * read from the database afterwards is never older than the cache was.
   */
  takeWrites(): PendingWrites {
    const tables: PendingWrites["tables"] = new Map();
    for (const entry of this.dirty) {
      let changes = tables.get(entry.table);
      if (!changes) tables.set(entry.table, (changes = { upserts: [], deletes: [] }));
      if (entry.row) changes.upserts.push(entry.row);
      else changes.deletes.push(entry.key);
      entry.dirty = false;
      if (entry.table.rollback === "byBlock" && this.tableCache(entry.table).delete(entry.k)) this.cachedRows--;
    }
    if (this.cachedRows > MAX_CACHED_ROWS) {
      // Keep what this batch changed: its writes are not committed yet, so the database does not
      // have those values; everything else in the cache equals the database.
      this.cache.clear();
      this.cachedRows = 0;
      for (const entry of this.dirty) {
        if (entry.table.rollback !== "byBlock") this.cacheEntry(this.tableCache(entry.table), entry);
      }
    }
    const pending = { tables, journal: this.journal };
    this.dirty = [];
    this.journal = [];
    return pending;
  }

  /** Forgets everything buffered and cached (after a failed batch or a rollback). */
  reset(): void {
    this.cache.clear();
    this.cachedRows = 0;
    this.dirty = [];
    this.journal = [];
    this.journaledInBlock.clear();
    this.blockNumber = -1;
  }

  private write(entry: CachedRow, row: Record<string, unknown> | null): void {
    entry.row = row;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
  }

  private tableCache(table: AnyTable): Map<string, CachedRow> {
    let rows = this.cache.get(table);
    if (!rows) this.cache.set(table, (rows = new Map()));
    return rows;
  }

  private cacheEntry(rows: Map<string, CachedRow>, entry: CachedRow): CachedRow {
    if (!rows.has(entry.k)) this.cachedRows++;
    rows.set(entry.k, entry);
    return entry;
  }

  private async load(table: AnyTable, key: Record<string, unknown>): Promise<CachedRow> {
    const rows = this.tableCache(table);
    const k = cacheKey(table, key);
    let query = this.db.selectFrom(table.name).selectAll();
    for (const c of table.primaryKey) query = query.where(c, "=", key[c] as never);
    const raw = await query.executeTakeFirst();
    // Another read of the same row may have finished first: keep the entry it created.
    return rows.get(k) ?? this.cacheEntry(rows, { table, k, key, row: raw ? rowFromDb(table, raw) : null, dirty: false });
  }

  /** The row's cache entry (loaded first when not cached), journaled before its first change in a block. */
  private beforeWrite(table: AnyTable, key: Record<string, unknown>): CachedRow | Promise<CachedRow> {
    if (this.blockNumber < 0) throw new Error("EntityStore: write outside a block");
    const rows = this.tableCache(table);
    const k = cacheKey(table, key);
    const entry = rows.get(k);
    if (entry) return this.journalBefore(entry);
    // A per-block row of the current block cannot exist in the database yet: batches never
    // split a block, so skip the read.
    if (table.rollback === "byBlock") return this.cacheEntry(rows, { table, k, key, row: null, dirty: false });
    return this.load(table, key).then((e) => this.journalBefore(e));
  }

  private journalBefore(entry: CachedRow): CachedRow {
    const { table } = entry;
    if (this.journaling && table.rollback === "journal") {
      const pk = rowKey(table, entry.key);
      const marker = `${table.name}\u0000${pk}`;
      if (!this.journaledInBlock.has(marker)) {
        this.journaledInBlock.add(marker);
        this.journal.push({ block_number: this.blockNumber, table_name: table.name, pk, before: entry.row && rowToImage(table, entry.row) });
      }
    }
    return entry;
  }
}

/**
 * Writes a batch's changes taken by {@link EntityStore.takeWrites} through `trx`. Per-block rows
 * are plain inserts: a block's rows are all written by the batch that holds the block, and a
 * rollback deletes them, so they never exist yet.
 */
export async function writePending(trx: RawDb, pending: PendingWrites): Promise<void> {
  for (const [table, { upserts, deletes }] of pending.tables) {
    await deleteRows(trx, table, deletes);
    if (table.rollback === "byBlock") await insertRows(trx, table, upserts);
    else await upsertRows(trx, table, upserts);
  }
  await insertRows(trx, JOURNAL_TABLE, pending.journal);
}

/**
 * The cache key of a row: its primary-key values joined by NUL, which PostgreSQL text cannot
 * hold, so distinct keys never collide (cheaper than the journal's JSON {@link rowKey}).
 */
function cacheKey(table: AnyTable, row: Record<string, unknown>): string {
  const pk = table.primaryKey;
  if (pk.length === 1) return keyPart(table, pk[0], row[pk[0]]);
  let k = keyPart(table, pk[0], row[pk[0]]);
  for (let i = 1; i < pk.length; i++) k += "\u0000" + keyPart(table, pk[i], row[pk[i]]);
  return k;
}

function keyPart(table: AnyTable, column: string, value: unknown): string {
  return table.columns[column].type === "jsonb" ? JSON.stringify(value) : String(value);
}
