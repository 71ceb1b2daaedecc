/**
 * One agent's PGlite, in its own worker thread (agentStore.ts): PGlite runs PostgreSQL in
 * WebAssembly on the thread that calls it and ignores `statement_timeout` (no signals), so a
 * runaway query can only be stopped by terminating the thread that runs it. The host does that
 * at the query time limit; PostgreSQL's WAL makes the data folder whole again on the next open.
 */
import { PGlite } from "@electric-sql/pglite";
import { parentPort, workerData } from "node:worker_threads";
import { AGENT_ROLE_SETUP } from "./agentSqlRole";
import { databaseBytes } from "./agentStoreSize";

/** What the host asks the worker. */
export type StoreCall =
  | { id: number; op: "query"; sql: string; params: unknown[] }
  | { id: number; op: "exec"; sql: string }
  | { id: number; op: "writes"; sql: string[] }
  | { id: number; op: "size" }
  | { id: number; op: "dump" }
  | { id: number; op: "close" };

/** What the worker answers: rows (or a number, or a tarball) or the database's error message. */
export type StoreAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** The worker's start options. */
export interface StoreWorkerData {
  dataDir: string;
  /** A data dir's tarball to start from (a snapshot being restored), written into `dataDir`. */
  load?: Uint8Array;
  /** PGlite's WebAssembly compiled once by the process (agentStore.ts). */
  pgliteWasmModule?: WebAssembly.Module;
  initdbWasmModule?: WebAssembly.Module;
}

async function main(): Promise<void> {
  const { dataDir, load, pgliteWasmModule, initdbWasmModule } = workerData as StoreWorkerData;
  const db = await PGlite.create({
    dataDir,
    pgliteWasmModule,
    initdbWasmModule,
    relaxedDurability: true,
    // PostgreSQL's default 128 MB of shared buffers made an open agent's thread ~210 MiB of RSS;
    // with 16 MB, ~90 MiB (an agent's database is at most its storage quota, 64 MiB by default,
    // and its files stay in the OS page cache).
    startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"],
    ...(load ? { loadDataDir: new Blob([new Uint8Array(load)]) } : {}),
  });
  await db.exec("create table if not exists fleek_kv (key text primary key, value text not null)");
  // From here on the session is the agent's unprivileged role, for the host's statements too.
  await db.exec(AGENT_ROLE_SETUP);
  const { rows } = await db.query<{ oid: number }>("select oid::int as oid from pg_database where datname = current_database()");
  const size = () => databaseBytes(dataDir, rows[0].oid);
  const port = parentPort!;
  port.on("message", (call: StoreCall) => {
    void answer(db, call, size).then(
      (value) => port.postMessage({ id: call.id, ok: true, value } satisfies StoreAnswer),
      (error: unknown) => port.postMessage({ id: call.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies StoreAnswer),
    );
  });
  port.postMessage({ ready: true });
}

async function answer(db: PGlite, call: StoreCall, size: () => number): Promise<unknown> {
  switch (call.op) {
    case "query": {
      const result = await db.query(call.sql, call.params, { rowMode: "object" });
      return { rows: result.rows, affectedRows: result.affectedRows ?? 0 };
    }
    case "exec": {
      // The kv API's statements, literals quoted by the host (agentStore.ts): PGlite's simple
      // protocol takes half the CPU of its extended one (parse, bind, describe, execute, sync).
      const [result] = await db.exec(call.sql);
      return { rows: result?.rows ?? [], affectedRows: result?.affectedRows ?? 0 };
    }
    case "writes":
      // Queued kv writes of one or more requests, committed together (the host answers none of
      // them before this returns). A failure rolls back all of them; the host then stops the store.
      if (call.sql.length === 1) await db.exec(call.sql[0]);
      else {
        try {
          await db.exec(["begin", ...call.sql, "commit"].join(";\n"));
        } catch (error) {
          await db.exec("rollback").catch(() => undefined);
          throw error;
        }
      }
      return null;
    case "size":
      return size();
    case "dump": {
      const file = await db.dumpDataDir("gzip");
      return new Uint8Array(await file.arrayBuffer());
    }
    case "close":
      await db.close();
      return null;
  }
}

main().catch((error: unknown) => {
  parentPort!.postMessage({ failed: error instanceof Error ? error.message : String(error) });
});
