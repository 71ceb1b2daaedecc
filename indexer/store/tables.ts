import { sql, type RawBuilder } from "kysely";
import type { RawDb } from "./database";

/**
 * Table declarations: one per derived table, from which come its row type (what handlers read
 * and write), its DDL (the migrations create tables and indexes from it) and what the entity
 * store needs to read, buffer, bulk-write and roll back it without per-table code.
 */

/** PostgreSQL column types the store knows how to convert. */
export type ColumnType = "text" | "numeric" | "int8" | "int4" | "bool" | "jsonb";

/** How a reorg undoes a table's rows. */
export type RollbackKind =
  /** Mutable rows: the store journals a before-image per row and block inside the finality window. */
  | "journal"
  /** Rows that belong to one block (events, per-block snapshots): a rollback deletes rows past the ancestor. */
  | "byBlock";

/** The SQL type of each column type: 78 digits hold any uint256 (wei amounts). */
const SQL_TYPE: Record<ColumnType, RawBuilder<unknown>> = {
  text: sql`text`,
  numeric: sql`numeric(78,0)`,
  int8: sql`int8`,
  int4: sql`int4`,
  bool: sql`boolean`,
  jsonb: sql`jsonb`,
};

/**
 * A column: its PostgreSQL type, the JS type `T` handlers see (numeric as bigint, int8 as number,
 * jsonb as the parsed value) and whether it may hold null. Built with {@link col}.
 */
export class Column<T = unknown, Nullable extends boolean = boolean> {
  /** Phantom: carries `T` into {@link RowOf}. */
  declare readonly js: T;
  constructor(
    readonly type: ColumnType,
    readonly nullable: Nullable,
    /** The migration that added the column to an existing table (absent: created with the table). */
    readonly addedIn?: string,
    /** The value rows that existed before {@link addedIn} get. */
    readonly defaultValue?: RawBuilder<unknown>,
  ) {}

  /** The column may hold null. */
  orNull(): Column<T, true> {
    return new Column<T, true>(this.type, true, this.addedIn, this.defaultValue);
  }

  /** The column came with a later migration, which gave existing rows `value`. */
  added(migration: string, value: RawBuilder<unknown>): Column<T, Nullable> {
    return new Column<T, Nullable>(this.type, this.nullable, migration, value);
  }
}

/** Column constructors, by the JS type a handler sees. */
export const col = {
  text: <T extends string = string>() => new Column<T, false>("text", false),
  /** An unsigned 256-bit amount (wei, weights). */
  wei: () => new Column<bigint, false>("numeric", false),
  /** Block numbers, timestamps, ids: a JS number (they stay below 2^53). */
  int8: () => new Column<number, false>("int8", false),
  int4: () => new Column<number, false>("int4", false),
  bool: () => new Column<boolean, false>("bool", false),
  json: <T>() => new Column<T, false>("jsonb", false),
};

/** The JS row of a table's columns. */
export type RowOf<C extends Record<string, Column>> = {
  -readonly [K in keyof C]: C[K] extends Column<infer T, infer N> ? (N extends true ? T | null : T) : never;
};

/** A derived table. `Row` is the JS shape handlers use. */
export interface TableDef<Row extends Record<string, unknown>, Name extends string = string> {
  name: Name;
  columns: { [K in keyof Row & string]: Column };
  primaryKey: readonly (keyof Row & string)[];
  rollback: RollbackKind;
  /** Secondary indexes by name: the columns each orders by. */
  indexes: Readonly<Record<string, readonly (keyof Row & string)[]>>;
}

/** Any table descriptor. */
export type AnyTable = TableDef<Record<string, unknown>>;

/** Declares a table: its row type follows from its columns. */
export function defineTable<const Name extends string, C extends Record<string, Column>>(def: {
  name: Name;
  columns: C;
  primaryKey: readonly (keyof C & string)[];
  rollback: RollbackKind;
  indexes?: Readonly<Record<string, readonly (keyof C & string)[]>>;
}): TableDef<RowOf<C>, Name> {
  if (def.rollback === "byBlock" && !("block_number" in def.columns)) {
    throw new Error(`table ${def.name}: byBlock rollback needs a block_number column`);
  }
  return { ...def, indexes: def.indexes ?? {} } as unknown as TableDef<RowOf<C>, Name>;
}

/** The row type of a table descriptor. */
export type RowOfTable<T> = T extends TableDef<infer Row> ? Row : never;

/**
 * A row as a query returns it: numeric as a decimal string (the drivers leave it unparsed, so wei
 * never passes through a float), everything else as in the JS row.
 */
export type SelectedRow<Row> = { [K in keyof Row]: Row[K] extends bigint ? string : Row[K] extends bigint | null ? string | null : Row[K] };

/** The tables a module file exports (its `defineTable` constants). */
export type TablesIn<M> = { [K in keyof M]: M[K] extends TableDef<Record<string, unknown>, string> ? M[K] : never }[keyof M];

/** `snake_case` as `snakeCase`: what Kysely's CamelCasePlugin makes of a column name. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** A row with its column names in camelCase. */
export type CamelRow<Row> = { [K in keyof Row as K extends string ? CamelCase<K> : K]: Row[K] };

/**
 * The Kysely database type of some tables, for a handle with the CamelCasePlugin (the API's): each
 * table's {@link SelectedRow} under its name, its columns in camelCase.
 */
export type DatabaseOf<T extends TableDef<Record<string, unknown>, string>> = { [D in T as D["name"]]: CamelRow<SelectedRow<RowOfTable<D>>> };

/**
 * Creates tables with their primary keys and indexes, leaving out the columns later migrations
 * add ({@link Column.added}): a migration's DDL must stay what it was when databases ran it.
 */
export async function createTables(db: RawDb, tables: readonly AnyTable[]): Promise<void> {
  for (const table of tables) {
    const single = table.primaryKey.length === 1 ? table.primaryKey[0] : undefined;
    let create = db.schema.createTable(table.name);
    for (const [name, column] of Object.entries(table.columns) as [string, Column][]) {
      if (column.addedIn) continue;
      create = create.addColumn(name, SQL_TYPE[column.type], (c) => (name === single ? c.primaryKey() : column.nullable ? c : c.notNull()));
    }
    // Kysely checks constraint columns against literal column names; these are declared, so dynamic.
    if (!single) create = create.addPrimaryKeyConstraint(`${table.name}_pk`, [...table.primaryKey] as never[]);
    await create.execute();
    for (const [name, columns] of Object.entries(table.indexes))
      await db.schema
        .createIndex(name)
        .on(table.name)
        .columns([...columns])
        .execute();
  }
}

/** Adds to existing tables the columns declared as added by `migration`. */
export async function addColumns(db: RawDb, migration: string, tables: readonly AnyTable[]): Promise<void> {
  for (const table of tables) {
    for (const [name, column] of Object.entries(table.columns) as [string, Column][]) {
      if (column.addedIn !== migration) continue;
      await db.schema
        .alterTable(table.name)
        .addColumn(name, SQL_TYPE[column.type], (c) => {
          const withDefault = column.defaultValue ? c.defaultTo(column.defaultValue) : c;
          return column.nullable ? withDefault : withDefault.notNull();
        })
        .execute();
    }
  }
}

/** The cache / journal key of a row: its primary-key values in order. */
export function rowKey(table: AnyTable, row: Record<string, unknown>): string {
  return JSON.stringify(table.primaryKey.map((c) => toDb(table.columns[c].type, row[c])));
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
  for (const [c, column] of Object.entries(table.columns)) row[c] = fromDb(column.type, raw[c]);
  return row as Row;
}

/** A row as a JSON-safe image (numeric as decimal strings) for the reorg journal. */
export function rowToImage(table: AnyTable, row: Record<string, unknown>): Record<string, unknown> {
  const image: Record<string, unknown> = {};
  for (const [c, column] of Object.entries(table.columns)) image[c] = column.type === "numeric" && row[c] != null ? (row[c] as bigint).toString() : row[c];
  return image;
}
