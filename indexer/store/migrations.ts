import { Migrator, sql, type Migration } from "kysely";
import { BLOCKS_TABLE, JOURNAL_TABLE } from "./coreTables";
import { SYNC_STATE_CHANNEL } from "./syncState";
import { createTables } from "./tables";
import type { RawDb } from "./database";

/**
 * The engine's own schema. Each derivation module brings its own migrations; names sort in
 * order of application ("000-core", "100-token", ...), and unordered application is allowed so
 * branches that add modules in parallel merge without renumbering.
 */
export const coreMigrations: Record<string, Migration> = {
  "000-core": {
    async up(db: RawDb) {
      await db.schema
        .createTable("indexer_state")
        .addColumn("id", "int4", (c) => c.primaryKey())
        .addColumn("chain_id", "int8", (c) => c.notNull())
        .addColumn("cursor_block", "int8", (c) => c.notNull())
        .addColumn("cursor_hash", "text")
        .addColumn("cursor_timestamp", "int8")
        // Highest block processed without journaling: no rollback can go below it.
        .addColumn("journal_floor", "int8", (c) => c.notNull())
        .addColumn("chain_head", "int8")
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await createTables(db, [BLOCKS_TABLE, JOURNAL_TABLE]);
    },
  },
  // Every change of the cursor was announced at commit, for the API's cache (undone by 002).
  "001-state-notify": {
    async up(db: RawDb) {
      await sql`CREATE FUNCTION indexer_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify(${sql.lit(SYNC_STATE_CHANNEL)}, ''); RETURN NULL; END $$`.execute(db);
      await sql`CREATE TRIGGER indexer_state_notify AFTER INSERT OR UPDATE OR DELETE ON indexer_state
        FOR EACH STATEMENT EXECUTE FUNCTION indexer_state_notify()`.execute(db);
    },
  },
  // API processes now read the cursor at the start of every request (a notification arrives after
  // the commit, so answers keyed on it could be older than what /health had shown): nobody listens.
  "002-state-notify-dropped": {
    async up(db: RawDb) {
      await sql`DROP TRIGGER IF EXISTS indexer_state_notify ON indexer_state`.execute(db);
      await sql`DROP FUNCTION IF EXISTS indexer_state_notify()`.execute(db);
    },
  },
};

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrate(db: RawDb, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`migration ${failed ?? "?"} failed: ${(error as Error).message}`);
  }
}
