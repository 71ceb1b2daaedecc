import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import type { IndexerDatabase } from "./database";

/** Advisory-lock key of the sync writer ("FLKIDX" in ASCII): one writer per PostgreSQL database. */
export const WRITER_LOCK_KEY = 0x464c4b494458n;

/** The database to lock: PostgreSQL by URL, or a PGlite data folder (lock it before opening it). */
export type LockTarget = Pick<IndexerDatabase, "kind" | "url" | "dataDir">;

/** A held writer lock; release it on shutdown. */
export interface WriterLock {
  release(): Promise<void>;
}

/** Thrown when another sync process already writes to the database. */
export class WriterLockBusyError extends Error {
  constructor(where: string) {
    super(`another indexer sync process is already writing to ${where}; stop it, or pass --wait-for-lock to wait for it`);
  }
}

/**
 * Takes the single-writer lock: a session-level advisory lock on a dedicated PostgreSQL
 * connection (released by the server if this process dies), or a lock file holding our pid in the
 * PGlite data folder (a stale file from a dead process is taken over). With `wait`, polls until
 * the lock frees up instead of failing. `onLost` hears of a dropped lock session.
 */
export async function acquireWriterLock(database: LockTarget, wait: boolean, pollMs = 1000, onLost: (err: Error) => void = () => {}): Promise<WriterLock> {
  for (;;) {
    const lock = database.kind === "postgres" ? await tryPostgresLock(database.url!, onLost) : tryLockFile(database.dataDir!);
    if (lock) return lock;
    if (!wait) throw new WriterLockBusyError(database.kind === "postgres" ? "this PostgreSQL database" : database.dataDir!);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function tryPostgresLock(url: string, onLost: (err: Error) => void): Promise<WriterLock | undefined> {
  const client = new pg.Client({ connectionString: url });
  // The server drops the lock with the session: the writer must learn it lost exclusivity.
  client.on("error", onLost);
  await client.connect();
  const { rows } = await client.query("SELECT pg_try_advisory_lock($1) AS ok", [WRITER_LOCK_KEY.toString()]);
  if (!rows[0].ok) {
    await client.end();
    return undefined;
  }
  return { release: () => client.end() };
}

function tryLockFile(dataDir: string): WriterLock | undefined {
  // An in-memory database is private to this process.
  if (dataDir.startsWith("memory://")) return { release: async () => {} };
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "indexer.lock");
  try {
    fs.writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    // Not re-entrant: a process holding the lock is refused too.
    if (isAlive(Number(fs.readFileSync(file, "utf8")))) return undefined;
    fs.writeFileSync(file, String(process.pid));
  }
  return { release: async () => fs.rmSync(file, { force: true }) };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
