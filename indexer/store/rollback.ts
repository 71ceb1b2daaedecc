import { sql } from "kysely";
import { deleteRows, upsertRows } from "./bulk";
import { rowFromDb, type AnyTable } from "./tables";
import type { RawDb } from "./database";

/**
 * Undoes every derived change made after block `ancestor`, in the caller's transaction:
 * per-block tables lose their rows past the ancestor; each journaled row gets back its image from
 * before its earliest change past the ancestor (or is deleted if it did not exist then).
 * Cost is proportional to the rows changed, not to the size of the tables.
 */
export async function rollbackTo(trx: RawDb, tables: readonly AnyTable[], ancestor: number): Promise<void> {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const { rows } = await sql<{ table_name: string; pk: string; before: Record<string, unknown> | null }>`
    SELECT DISTINCT ON (table_name, pk) table_name, pk, before
    FROM indexer_journal WHERE block_number > ${ancestor}
    ORDER BY table_name, pk, block_number ASC`.execute(trx);
  const restores = new Map<AnyTable, { upserts: Record<string, unknown>[]; deletes: Record<string, unknown>[] }>();
  for (const r of rows) {
    const table = byName.get(r.table_name);
    if (!table) throw new Error(`journal names unknown table ${r.table_name}`);
    let changes = restores.get(table);
    if (!changes) restores.set(table, (changes = { upserts: [], deletes: [] }));
    if (r.before) changes.upserts.push(rowFromDb(table, r.before));
    else {
      const key = JSON.parse(r.pk) as unknown[];
      changes.deletes.push(Object.fromEntries(table.primaryKey.map((c, i) => [c, key[i]])));
    }
  }
  for (const [table, { upserts, deletes }] of restores) {
    await deleteRows(trx, table, deletes);
    await upsertRows(trx, table, upserts);
  }
  for (const table of tables) {
    if (table.rollback === "byBlock") await trx.deleteFrom(table.name).where("block_number", ">", ancestor).execute();
  }
}

/**
 * Drops what no rollback needs once `floor` is final: journal entries up to it and block hashes
 * below it (the floor's own hash stays: it is the deepest possible common ancestor, and the next
 * batch links to it when it is the cursor).
 */
export async function pruneBelowFloor(trx: RawDb, floor: number): Promise<void> {
  await trx.deleteFrom("indexer_journal").where("block_number", "<=", floor).execute();
  await trx.deleteFrom("indexer_blocks").where("block_number", "<", floor).execute();
}
