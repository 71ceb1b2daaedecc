import hre from "hardhat";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { sql } from "kysely";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { SyncEngine, type SyncOptions } from "../../indexer/sync/engine";
import { rpcFromEip1193, type Rpc } from "../../indexer/sync/rpc";
import { allModules } from "../../indexer/derive";
import { coreMigrations, migrate } from "../../indexer/store/migrations";
import { childrenMigrations } from "../../indexer/sync/children";
import { suiteContracts, type Suite } from "../../testkit/deploy";

/** The PostgreSQL server the tests use besides PGlite (override with TEST_DATABASE_URL). */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A backend the indexer tests run on: opens a fresh, empty database per call. */
export interface TestBackend {
  name: "pglite" | "postgres";
  /** Undefined when the backend cannot run here (reason in `skipReason`). */
  fresh?: () => Promise<IndexerDatabase & { url?: string }>;
  skipReason?: string;
}

let serverReachable: Promise<boolean> | undefined;
let pgliteTemplate: Promise<Blob> | undefined;

/** A migrated, empty PGlite cluster dumped once per process: initdb costs seconds, a load much less. */
async function migratedPgliteTemplate(): Promise<Blob> {
  const database = await openDatabase({ dataDir: "memory://" });
  await migrate(database.db, { ...coreMigrations, ...childrenMigrations, ...Object.assign({}, ...allModules.map((m) => m.migrations)) });
  const dump = await database.pglite!.dumpDataDir("none");
  await database.close();
  return dump;
}
const created: string[] = [];

async function probeServer(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** A new database on the test server, dropped when the test process exits. */
export async function freshPostgresUrl(): Promise<string> {
  // Random, not the pid: test runs in other containers (own pid namespaces) may share the server.
  const name = `indexer_test_${randomBytes(8).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  created.push(name);
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops every database this process created (call from a root `after`). */
export async function dropTestDatabases(): Promise<void> {
  if (created.length === 0) return;
  const admin = new pg.Client({ connectionString: TEST_SERVER_URL });
  await admin.connect();
  for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

/**
 * PGlite (in memory) and the PostgreSQL server. Without a reachable server the PostgreSQL runs are
 * skipped with a message, except under CI=true where they must run.
 */
export async function testBackends(): Promise<TestBackend[]> {
  serverReachable ??= probeServer();
  const reachable = await serverReachable;
  const postgres: TestBackend =
    reachable || process.env.CI === "true"
      ? { name: "postgres", fresh: async () => openDatabase({ databaseUrl: await freshPostgresUrl() }) }
      : { name: "postgres", skipReason: `no PostgreSQL at ${TEST_SERVER_URL}: start one or set TEST_DATABASE_URL to run these tests` };
  pgliteTemplate ??= migratedPgliteTemplate();
  const snapshot = await pgliteTemplate;
  return [{ name: "pglite", fresh: () => openDatabase({ dataDir: "memory://", pgliteSnapshot: snapshot }) }, postgres];
}

/**
 * Runs `work` on both backends at once, after `setup` (a fixture, loaded once for both), and hands
 * each backend's result (undefined when the backend cannot run here) to its own test: PGlite works
 * in this process and PostgreSQL in its server, so on two cores the two runs overlap instead of
 * queueing. The work starts when a test first asks for a result; a failure fails only the test of
 * its backend.
 */
export function onBothBackends<S, T>(setup: () => Promise<S>, work: (backend: Required<TestBackend>, fixture: S) => Promise<T>) {
  let runs: Promise<Map<TestBackend["name"], Promise<T | undefined>>> | undefined;
  const start = async () => {
    const fixture = await setup();
    return new Map(
      (await testBackends()).map((b) => {
        const run = b.fresh ? work(b as Required<TestBackend>, fixture) : Promise.resolve(undefined);
        run.catch(() => undefined); // awaited by its own test, not an unhandled rejection meanwhile
        return [b.name, run] as const;
      }),
    );
  };
  return async (name: TestBackend["name"]): Promise<T | undefined> => (await (runs ??= start())).get(name)!;
}

/** The in-process Hardhat network as an RPC. */
export function hardhatRpc(): Rpc {
  return rpcFromEip1193(hre.network.provider);
}

/** A sync engine over the Hardhat network with every module, ready to run. */
export async function newEngine(database: IndexerDatabase, suite: Suite, overrides: Partial<SyncOptions> = {}): Promise<SyncEngine> {
  const engine = new SyncEngine({
    database,
    rpc: hardhatRpc(),
    contracts: await suiteContracts(suite),
    modules: allModules,
    startBlock: 0,
    finalityDepth: 5,
    ...overrides,
  });
  await engine.init();
  return engine;
}

/** Every derived table's rows in primary-key order, as comparable JSON (numbers and strings). */
export async function dumpDerived(database: IndexerDatabase): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const m of allModules) {
    for (const t of m.tables) {
      const { rows } = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(t.name)} ORDER BY ${sql.join(t.primaryKey.map((c) => sql.ref(c)))}`.execute(
        database.db,
      );
      out[t.name] = rows;
    }
  }
  return out;
}

/**
 * Ends a reorg test: mines 12 blocks on the branch that replaced the fork, syncs `engine` (which
 * must see one reorg), syncs `reference` fresh and returns the derived tables, which must equal
 * the fresh sync's.
 */
export async function afterOneReorg(
  engine: SyncEngine,
  database: IndexerDatabase,
  reference: IndexerDatabase,
  suite: Suite,
): Promise<Record<string, unknown[]>> {
  for (let i = 0; i < 12; i++) await hre.network.provider.send("evm_mine");
  await engine.syncToHead();
  if (engine.stats.reorgs !== 1) throw new Error(`expected one reorg, the engine saw ${engine.stats.reorgs}`);
  await (await newEngine(reference, suite, { finalityDepth: 60 })).syncToHead();
  const got = await dumpDerived(database);
  const fresh = await dumpDerived(reference);
  if (JSON.stringify(got) !== JSON.stringify(fresh))
    throw new Error(`after the reorg the derived tables differ from a fresh sync's:\n${JSON.stringify(got)}\n${JSON.stringify(fresh)}`);
  return got;
}
