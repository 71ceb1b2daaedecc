import { Migrator, sql, type Kysely, type Migration } from "kysely";
import { SYNC_STATE_CHANNEL } from "./sync-state";

/**
 * The engine's own schema. Each derivation module brings its own migrations; names sort in
 * order of application ("000-core", "100-token", ...), and unordered application is allowed so
 * branches that add modules in parallel merge without renumbering.
 */
export const coreMigrations: Record<string, Migration> = {
  "000-core": {
    async up(db: Kysely<any>) {
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
      await db.schema
        .createTable("indexer_blocks")
        .addColumn("block_number", "int8", (c) => c.primaryKey())
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("parent_hash", "text", (c) => c.notNull())
        .addColumn("timestamp", "int8", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("indexer_journal")
        .addColumn("block_number", "int8", (c) => c.notNull())
        .addColumn("table_name", "text", (c) => c.notNull())
        .addColumn("pk", "text", (c) => c.notNull())
        .addColumn("before", "jsonb")
        .addPrimaryKeyConstraint("indexer_journal_pk", ["block_number", "table_name", "pk"])
        .execute();
    },
  },
  // Every change of the cursor (a batch, a rollback, a new chain head) is announced at commit, so
  // API processes can drop their response caches without polling (see api/state-watcher.ts).
  "001-state-notify": {
    async up(db: Kysely<any>) {
      await sql`CREATE FUNCTION indexer_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify(${sql.lit(SYNC_STATE_CHANNEL)}, ''); RETURN NULL; END $$`.execute(db);
      await sql`CREATE TRIGGER indexer_state_notify AFTER INSERT OR UPDATE OR DELETE ON indexer_state
        FOR EACH STATEMENT EXECUTE FUNCTION indexer_state_notify()`.execute(db);
    },
  },
};

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrate(db: Kysely<any>, migrations: Record<string, Migration>): Promise<void> {
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

/** Column type for wei amounts: 78 digits hold any uint256. */
export const WEI = sql`numeric(78,0)`;
