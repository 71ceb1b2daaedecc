import { sql } from "kysely";
import { toDb, type AnyTable, type ColumnType } from "./tables";
import type { RawDb } from "./database";

/** Rows per statement: bounds the parameter arrays PGlite has to hold in its WASM heap. */
const ROWS_PER_STATEMENT = 5_000;

const ARRAY_TYPE: Record<ColumnType, string> = {
  text: "text[]",
  numeric: "numeric[]",
  int8: "int8[]",
  int4: "int4[]",
  bool: "bool[]",
  jsonb: "jsonb[]",
};

/**
 * Writes rows with one `INSERT … SELECT FROM unnest(...) ON CONFLICT DO UPDATE` per chunk: one
 * array parameter per column, whatever the row count, on PostgreSQL and PGlite alike.
 */
export async function upsertRows(db: RawDb, table: AnyTable, rows: Record<string, unknown>[]): Promise<void> {
  const columns = Object.keys(table.columns);
  const pk = new Set<string>(table.primaryKey);
  const updates = columns.filter((c) => !pk.has(c));
  const conflict = updates.length ? `DO UPDATE SET ${updates.map((c) => `"${c}" = EXCLUDED."${c}"`).join(", ")}` : "DO NOTHING";
  await insertChunks(db, table, rows, ` ON CONFLICT (${table.primaryKey.map((c) => `"${c}"`).join(", ")}) ${conflict}`);
}

/**
 * Inserts rows known to be new, as {@link upsertRows} without its conflict handling (a plain
 * insert skips the speculative-insertion work; a duplicate is an error).
 */
export async function insertRows(db: RawDb, table: AnyTable, rows: Record<string, unknown>[]): Promise<void> {
  await insertChunks(db, table, rows, "");
}

async function insertChunks(db: RawDb, table: AnyTable, rows: Record<string, unknown>[], tail: string): Promise<void> {
  const columns = Object.keys(table.columns);
  const head = `INSERT INTO "${table.name}" (${columns.map((c) => `"${c}"`).join(", ")}) SELECT * FROM unnest(`;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    const arrays = columns.map((c) => {
      const type = table.columns[c].type;
      return sql`${chunk.map((r) => toDb(type, r[c]))}::${sql.raw(ARRAY_TYPE[type])}`;
    });
    await sql`${sql.raw(head)}${sql.join(arrays)}${sql.raw(")" + tail)}`.execute(db);
  }
}

/** Deletes rows by primary key (`keys` hold at least the primary-key columns). */
export async function deleteRows(db: RawDb, table: AnyTable, keys: Record<string, unknown>[]): Promise<void> {
  if (keys.length === 0) return;
  const cols = table.primaryKey.map((c) => `"${c}"`).join(", ");
  const arrays = table.primaryKey.map((c) => {
    const type = table.columns[c].type;
    return sql`${keys.map((k) => toDb(type, k[c]))}::${sql.raw(ARRAY_TYPE[type])}`;
  });
  await sql`DELETE FROM ${sql.raw(`"${table.name}"`)} WHERE (${sql.raw(cols)}) IN (SELECT * FROM unnest(${sql.join(arrays)}))`.execute(db);
}

/** The rows whose primary keys are among `keys`, in one query. */
export async function selectByKeys(db: RawDb, table: AnyTable, keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  if (keys.length === 0) return [];
  const cols = table.primaryKey.map((c) => `"${c}"`).join(", ");
  const arrays = table.primaryKey.map((c) => {
    const type = table.columns[c].type;
    return sql`${keys.map((k) => toDb(type, k[c]))}::${sql.raw(ARRAY_TYPE[type])}`;
  });
  const { rows } = await sql<
    Record<string, unknown>
  >`SELECT * FROM ${sql.raw(`"${table.name}"`)} WHERE (${sql.raw(cols)}) IN (SELECT * FROM unnest(${sql.join(arrays)}))`.execute(db);
  return rows;
}
