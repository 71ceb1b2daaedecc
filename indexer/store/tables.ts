/**
 * Table descriptors: what the entity store needs to read, buffer, bulk-write and roll back a
 * derived table without per-table code.
 */

/** PostgreSQL column types the store knows how to convert. */
export type ColumnType = "text" | "numeric" | "int8" | "int4" | "bool" | "jsonb";

/** How a reorg undoes a table's rows. */
export type RollbackKind =
  /** Mutable rows: the store journals a before-image per row and block inside the finality window. */
  | "journal"
  /** Rows that belong to one block (events, per-block snapshots): a rollback deletes rows past the ancestor. */
  | "byBlock";

/** A derived table. `Row` is the JS shape handlers use (numeric as bigint, int8 as number). */
export interface TableDef<Row extends Record<string, unknown>> {
  name: string;
  columns: { [K in keyof Row & string]: ColumnType };
  primaryKey: readonly (keyof Row & string)[];
  rollback: RollbackKind;
}

/** Any table descriptor. */
export type AnyTable = TableDef<any>;

/** Defines a table descriptor with its row type checked against its columns. */
export function defineTable<Row extends Record<string, unknown>>(def: TableDef<Row>): TableDef<Row> {
  if (def.rollback === "byBlock" && !("block_number" in def.columns)) {
    throw new Error(`table ${def.name}: byBlock rollback needs a block_number column`);
  }
  return def;
}

/** The cache / journal key of a row: its primary-key values in order. */
export function rowKey(table: AnyTable, row: Record<string, unknown>): string {
  return JSON.stringify(table.primaryKey.map((c) => toDb(table.columns[c], row[c])));
}

/** A JS value as the database parameter for its column type. */
export function toDb(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === "numeric") return (value as bigint).toString();
  if (type === "jsonb") return JSON.stringify(value);
  return value;
}

/** A database value back to its JS shape. */
export function fromDb(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === "numeric") return BigInt(value as string);
  if (type === "int8" || type === "int4") return Number(value);
  return value;
}

/** A whole row from the database (or a journal image) to its JS shape. */
export function rowFromDb<Row extends Record<string, unknown>>(table: TableDef<Row>, raw: Record<string, unknown>): Row {
  const row: Record<string, unknown> = {};
  for (const [c, t] of Object.entries(table.columns)) row[c] = fromDb(t as ColumnType, raw[c]);
  return row as Row;
}

/** A row as a JSON-safe image (numeric as decimal strings) for the reorg journal. */
export function rowToImage(table: AnyTable, row: Record<string, unknown>): Record<string, unknown> {
  const image: Record<string, unknown> = {};
  for (const [c, t] of Object.entries(table.columns)) image[c] = t === "numeric" && row[c] != null ? (row[c] as bigint).toString() : row[c];
  return image;
}
