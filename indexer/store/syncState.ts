import { sql } from "kysely";
import type { RawDb } from "./database";

/** The notification channel on which every change of `indexer_state` is announced at commit. */
export const SYNC_STATE_CHANNEL = "indexer_state";

/** Where sync stands: the last block whose events are all applied. */
export interface SyncState {
  chainId: number;
  cursorBlock: number;
  cursorHash: string | null;
  cursorTimestamp: number | null;
  /** Highest block applied without a journal: reorgs cannot be undone below it. */
  journalFloor: number;
  chainHead: number | null;
}

/** Reads the cursor; undefined on a database that never synced. */
export async function readSyncState(db: RawDb): Promise<SyncState | undefined> {
  const row = await db.selectFrom("indexer_state").selectAll().where("id", "=", 1).executeTakeFirst();
  if (!row) return undefined;
  return {
    chainId: row.chain_id,
    cursorBlock: row.cursor_block,
    cursorHash: row.cursor_hash,
    cursorTimestamp: row.cursor_timestamp,
    journalFloor: row.journal_floor,
    chainHead: row.chain_head,
  };
}

/** Writes the cursor (inside the batch's transaction). */
export async function writeSyncState(db: RawDb, s: SyncState): Promise<void> {
  const values = {
    id: 1,
    chain_id: s.chainId,
    cursor_block: s.cursorBlock,
    cursor_hash: s.cursorHash,
    cursor_timestamp: s.cursorTimestamp,
    journal_floor: s.journalFloor,
    chain_head: s.chainHead,
    updated_at: sql`now()`,
  };
  await db
    .insertInto("indexer_state")
    .values(values)
    .onConflict((oc) => oc.column("id").doUpdateSet({ ...values, id: undefined } as never))
    .execute();
}

/** Records the chain head seen by the syncer (for the API's lag), outside any batch. */
export async function writeChainHead(db: RawDb, head: number): Promise<void> {
  await db.updateTable("indexer_state").set({ chain_head: head }).where("id", "=", 1).execute();
}
