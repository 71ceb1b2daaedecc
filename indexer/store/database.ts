import fs from "node:fs";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { PGliteDialect } from "./pgliteDialect";
import { prepareSelects } from "./prepared";
import { PipelinedPool } from "./pipelinedPool";

/** Where the indexer keeps its tables. */
export interface DatabaseOptions {
  /** A PostgreSQL URL; when absent, an embedded PGlite database is used. */
  databaseUrl?: string;
  /** PGlite data folder (`memory://` for a throwaway database). Ignored with a URL. */
  dataDir?: string;
  /** Per-statement timeout in ms on PostgreSQL (the API's guard against runaway queries). */
  statementTimeoutMs?: number;
  /** Pool size on PostgreSQL. */
  poolSize?: number;
  /** PostgreSQL: run reads as named prepared statements (`serve`: few texts, run again and again). */
  prepareSelects?: boolean;
  /** PostgreSQL, read-only serving: `poolSize` (default 2) shared connections with pipelined queries (pipelinedPool.ts); no transactions. */
  pipeline?: boolean;
  /** PGlite: start from this data-folder dump instead of an empty cluster (skips initdb: tests). */
  pgliteSnapshot?: Blob;
}

/**
 * The engine's handle: it reads and writes every table through its declaration (tables.ts), by
 * names known at run time, so its type names no table. The API reads through the typed,
 * camelCase handle of `apiDatabase` (api/schemaCore.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type RawDb = Kysely<any>;

/** An open database: kysely handle plus what the engine needs to know about the backend. */
export interface IndexerDatabase {
  db: RawDb;
  /** The embedded instance (undefined on PostgreSQL). */
  pglite?: PGlite;
  kind: "postgres" | "pglite";
  /** The PostgreSQL URL, for the advisory-lock session (undefined on PGlite). */
  url?: string;
  /** The PGlite data folder (undefined on PostgreSQL). */
  dataDir?: string;
  close(): Promise<void>;
}

const INT8_OID = 20;

/**
 * Opens PostgreSQL when a URL is given, else PGlite in `dataDir`. Both return int8 as a JS number
 * (block numbers and timestamps fit) and numeric as a string (wei never passes through a float).
 */
export async function openDatabase(options: DatabaseOptions): Promise<IndexerDatabase> {
  if (options.databaseUrl) {
    const config: pg.ClientConfig = {
      connectionString: options.databaseUrl,
      options: options.statementTimeoutMs ? `-c statement_timeout=${options.statementTimeoutMs}` : undefined,
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
      },
    };
    const pool = options.pipeline ? new PipelinedPool(config, options.poolSize ?? 2) : new pg.Pool({ ...config, max: options.poolSize ?? 10 });
    // An idle connection dropped by the server (restart, admin action) is replaced on next use;
    // without a listener it would crash the process.
    if (pool instanceof pg.Pool) pool.on("error", () => {});
    if (options.prepareSelects) prepareSelects(pool);
    // Surface a bad URL or a server that is down now, with the URL's host in the message.
    try {
      (await pool.connect()).release();
    } catch (err) {
      await pool.end();
      throw new Error(`cannot connect to PostgreSQL at ${redactUrl(options.databaseUrl)}: ${(err as Error).message}`);
    }
    const db: RawDb = new Kysely({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: "postgres", url: options.databaseUrl, close: () => db.destroy() };
  }
  const dataDir = options.dataDir ?? "memory://";
  if (!dataDir.includes("://")) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { parsers: { [INT8_OID]: (v: string) => Number(v) }, loadDataDir: options.pgliteSnapshot });
  const db: RawDb = new Kysely({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    pglite,
    kind: "pglite",
    dataDir,
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable DATABASE_URL>";
  }
}
