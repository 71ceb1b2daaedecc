import type { Kysely } from "kysely";
import { deleteRows, selectByKeys, upsertRows } from "./bulk";
import { JOURNAL_TABLE } from "./core-tables";
import { rowFromDb, rowKey, rowToImage, type AnyTable, type TableDef } from "./tables";

interface CachedRow {
  table: AnyTable;
  /** The primary-key values. */
  key: Record<string, unknown>;
  row: Record<string, unknown> | null;
  dirty: boolean;
}

type JournalEntry = {
  block_number: number;
  table_name: string;
  pk: string;
  before: Record<string, unknown> | null;
};

/** Cached rows kept between batches; past this the cache is dropped after a flush. */
const MAX_CACHED_ROWS = 200_000;

/**
 * The handlers' view of derived state: reads go through an in-memory cache, writes are buffered
 * and reach the database in bulk in {@link flush}, inside the transaction that also advances the
 * sync cursor. Inside the finality window every first change of a row in a block journals the
 * row's previous image, which is what a reorg rollback restores.
 */
export class EntityStore {
  private readonly cache = new Map<string, CachedRow>();
  private journal: JournalEntry[] = [];
  private journaledInBlock = new Set<string>();
  private blockNumber = -1;
  private journaling = false;

  constructor(private readonly db: Kysely<any>) {}

  /** Starts a block: following writes belong to it and are journaled when `journaling`. */
  beginBlock(blockNumber: number, journaling: boolean): void {
    if (blockNumber !== this.blockNumber) this.journaledInBlock.clear();
    this.blockNumber = blockNumber;
    this.journaling = journaling;
  }

  /** The row with this primary key, or undefined. */
  async get<Row extends Record<string, unknown>>(table: TableDef<Row>, key: Partial<Row>): Promise<Row | undefined> {
    return ((await this.load(table, key)).row as Row | null) ?? undefined;
  }

  /** Loads these rows (of one table) in one query and caches them, present or absent. */
  async prefetch(table: AnyTable, keys: Record<string, unknown>[]): Promise<void> {
    const missing = new Map<string, Record<string, unknown>>();
    for (const key of keys) {
      const cacheKey = `${table.name}\u0000${rowKey(table, key)}`;
      if (!this.cache.has(cacheKey)) missing.set(cacheKey, key);
    }
    if (missing.size === 0) return;
    const found = await selectByKeys(this.db, table, [...missing.values()]);
    for (const raw of found) {
      const row = rowFromDb(table, raw);
      missing.delete(`${table.name}\u0000${rowKey(table, row)}`);
      this.cacheRow(table, row);
    }
    for (const [cacheKey, key] of missing) this.cache.set(cacheKey, { table, key: pickKey(table, key), row: null, dirty: false });
  }

  /** Inserts or replaces a row. */
  async set<Row extends Record<string, unknown>>(table: TableDef<Row>, row: Row): Promise<void> {
    const entry = await this.beforeWrite(table, row);
    entry.row = row;
    entry.dirty = true;
  }

  /** Deletes the row with this primary key (a no-op when absent). */
  async delete<Row extends Record<string, unknown>>(table: TableDef<Row>, key: Partial<Row>): Promise<void> {
    const entry = await this.beforeWrite(table, key);
    if (entry.row === null) return;
    entry.row = null;
    entry.dirty = true;
  }

  /** Writes every buffered change and journal entry through `trx`; the cache stays valid. */
  async flush(trx: Kysely<any>): Promise<void> {
    const byTable = new Map<AnyTable, { upserts: Record<string, unknown>[]; deletes: Record<string, unknown>[] }>();
    for (const entry of this.cache.values()) {
      if (!entry.dirty) continue;
      let changes = byTable.get(entry.table);
      if (!changes) byTable.set(entry.table, (changes = { upserts: [], deletes: [] }));
      if (entry.row) changes.upserts.push(entry.row);
      else changes.deletes.push(entry.key);
    }
    for (const [table, { upserts, deletes }] of byTable) {
      await deleteRows(trx, table, deletes);
      await upsertRows(trx, table, upserts);
    }
    await upsertRows(trx, JOURNAL_TABLE, this.journal);
  }

  /** Marks everything written by the last {@link flush} as persisted. */
  committed(): void {
    for (const [key, entry] of this.cache) {
      entry.dirty = false;
      // Per-block rows are never read back by handlers: keep the cache for mutable state.
      if (entry.table.rollback === "byBlock") this.cache.delete(key);
    }
    this.journal = [];
    if (this.cache.size > MAX_CACHED_ROWS) this.cache.clear();
  }

  /** Forgets everything buffered and cached (after a failed batch or a rollback). */
  reset(): void {
    this.cache.clear();
    this.journal = [];
    this.journaledInBlock.clear();
    this.blockNumber = -1;
  }

  private cacheRow(table: AnyTable, row: Record<string, unknown>): void {
    this.cache.set(`${table.name}\u0000${rowKey(table, row)}`, { table, key: pickKey(table, row), row, dirty: false });
  }

  private async load(table: AnyTable, key: Record<string, unknown>, knownAbsent = false): Promise<CachedRow> {
    const cacheKey = `${table.name}\u0000${rowKey(table, key)}`;
    let entry = this.cache.get(cacheKey);
    if (entry) return entry;
    const pk = pickKey(table, key);
    if (knownAbsent) {
      entry = { table, key: pk, row: null, dirty: false };
      this.cache.set(cacheKey, entry);
      return entry;
    }
    let query = this.db.selectFrom(table.name).selectAll();
    for (const c of table.primaryKey) query = query.where(c, "=", key[c] as never);
    const raw = await query.executeTakeFirst();
    entry = { table, key: pk, row: raw ? rowFromDb(table, raw) : null, dirty: false };
    this.cache.set(cacheKey, entry);
    return entry;
  }

  private async beforeWrite(table: AnyTable, key: Record<string, unknown>): Promise<CachedRow> {
    if (this.blockNumber < 0) throw new Error("EntityStore: write outside a block");
    // A per-block row of the current block cannot exist in the database yet: batches never
    // split a block, so skip the read.
    const entry = await this.load(table, key, table.rollback === "byBlock");
    if (this.journaling && table.rollback === "journal") {
      const pk = rowKey(table, key);
      const marker = `${table.name}\u0000${pk}`;
      if (!this.journaledInBlock.has(marker)) {
        this.journaledInBlock.add(marker);
        this.journal.push({ block_number: this.blockNumber, table_name: table.name, pk, before: entry.row && rowToImage(table, entry.row) });
      }
    }
    return entry;
  }
}

function pickKey(table: AnyTable, row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(table.primaryKey.map((c) => [c, row[c]]));
}
