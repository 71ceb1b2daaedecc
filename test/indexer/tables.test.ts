/**
 * Each indexer table is declared once (indexer/store/tables.ts: `defineTable`), and the migrations
 * create it from the declaration, except columns a later migration added. Whatever path a
 * database took, its migrated schema must be the declaration: column order, SQL type and
 * nullability, primary key and secondary indexes, on PGlite and PostgreSQL alike.
 */
import { expect } from "chai";
import { sql } from "kysely";
import { allModules } from "../../indexer/derive";
import { BLOCKS_TABLE, JOURNAL_TABLE } from "../../indexer/store/coreTables";
import { coreMigrations, migrate } from "../../indexer/store/migrations";
import type { AnyTable, ColumnType } from "../../indexer/store/tables";
import { CHILDREN_TABLE, childrenMigrations } from "../../indexer/sync/children";
import { dropTestDatabases, testBackends } from "./helpers";

/** How PostgreSQL's information_schema names each declared column type. */
const INFORMATION_SCHEMA_TYPE: Record<ColumnType, string> = {
  text: "text",
  numeric: "numeric(78,0)",
  int8: "bigint",
  int4: "integer",
  bool: "boolean",
  jsonb: "jsonb",
};

const TABLES: AnyTable[] = [BLOCKS_TABLE, JOURNAL_TABLE, CHILDREN_TABLE, ...allModules.flatMap((m) => m.tables)];

describe("indexer tables: the migrated schema is each table's declaration", function () {
  after(dropTestDatabases);

  for (const backend of [{ name: "pglite" }, { name: "postgres" }] as const) {
    it(`columns, primary keys and indexes on ${backend.name}`, async function () {
      const b = (await testBackends()).find((x) => x.name === backend.name)!;
      if (!b.fresh) return this.skip();
      const database = await b.fresh();
      try {
        await migrate(database.db, { ...coreMigrations, ...childrenMigrations, ...Object.assign({}, ...allModules.map((m) => m.migrations)) });
        expect(new Set(TABLES.map((t) => t.name)).size, "table names are unique").to.equal(TABLES.length);
        for (const table of TABLES) {
          const { rows: columns } = await sql<{ column_name: string; type: string; is_nullable: string }>`
            SELECT column_name, CASE WHEN data_type = 'numeric' THEN format('numeric(%s,%s)', numeric_precision, numeric_scale) ELSE data_type END AS type, is_nullable
            FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${table.name} ORDER BY ordinal_position`.execute(database.db);
          const declared = Object.entries(table.columns).map(([name, c]) => ({
            column_name: name,
            type: INFORMATION_SCHEMA_TYPE[c.type],
            is_nullable: c.nullable && !table.primaryKey.includes(name) ? "YES" : "NO",
          }));
          // Added columns come last in the table, in the order their migrations ran.
          const order = (added?: string) => added ?? "";
          declared.sort((x, y) => order(table.columns[x.column_name].addedIn).localeCompare(order(table.columns[y.column_name].addedIn)));
          expect(columns, `${table.name}: columns`).to.deep.equal(declared);

          const { rows: keys } = await sql<{ column_name: string }>`
            SELECT a.attname::text AS column_name FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ${table.name}::regclass AND i.indisprimary ORDER BY k.n`.execute(database.db);
          expect(
            keys.map((k) => k.column_name),
            `${table.name}: primary key`,
          ).to.deep.equal([...table.primaryKey]);

          const { rows: indexes } = await sql<{ name: string; columns: string[] }>`
            SELECT c.relname AS name, array_agg(a.attname::text ORDER BY k.n) AS columns FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ${table.name}::regclass AND NOT i.indisprimary GROUP BY c.relname ORDER BY c.relname`.execute(database.db);
          const declaredIndexes = Object.entries(table.indexes)
            .map(([name, cols]) => ({ name, columns: [...cols] }))
            .sort((x, y) => x.name.localeCompare(y.name));
          expect(indexes, `${table.name}: indexes`).to.deep.equal(declaredIndexes);
        }
        // Not vacuous: the later migration's columns were checked too.
        expect(
          TABLES.filter((t) => Object.values(t.columns).some((c) => c.addedIn))
            .map((t) => t.name)
            .sort(),
        ).to.deep.equal(["agent_market", "agents", "epochs", "escrow_epochs", "nodes"]);
      } finally {
        await database.close();
      }
    });
  }
});
