import { sql } from "kysely";
import { writePending, type PendingWrites } from "../store/entityStore";
import { writeSyncState, type SyncState } from "../store/syncState";
import type { EngineParts } from "./engineParts";
import type { RawDb } from "../store/database";

/**
 * Writes a batch's changes, `extra`'s writes and the cursor `next` in one transaction, then
 * moves the in-memory cursor. `asyncCommit` (finalized backfill only) commits without waiting
 * for the WAL flush: if the PostgreSQL server crashes, its last such commits may be lost, but
 * each whole (WAL replay restores a transaction entirely or not at all), derived state and
 * cursor together, so the restarted indexer finds an older cursor with the state that matches
 * it and re-applies those final blocks to the same result. Inside the finality window the wait
 * stays: those commits are few and small.
 */
export async function commitBatch(
  parts: EngineParts,
  pending: PendingWrites,
  events: number,
  next: SyncState,
  asyncCommit: boolean,
  extra: (trx: RawDb) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  await parts.db.transaction().execute(async (trx) => {
    if (asyncCommit) await sql`SET LOCAL synchronous_commit = off`.execute(trx);
    await writePending(trx, pending);
    await extra(trx);
    await writeSyncState(trx, next);
  });
  parts.state = next;
  parts.stats.dbMs += Date.now() - started;
  parts.stats.events += events;
  parts.stats.batches++;
}
