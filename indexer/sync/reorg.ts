import { rollbackTo } from "../store/rollback";
import { writeSyncState } from "../store/syncState";
import type { EngineParts } from "./engineParts";
import { UnrecoverableReorgError } from "./errors";
import { fetchHeader } from "./headers";

/** Undoes a reorg if the cursor block's hash is no longer the chain's. */
export async function checkCursorCanonical(parts: EngineParts): Promise<void> {
  if (!parts.state.cursorHash) return;
  const remote = await fetchHeader(parts.options.rpc, parts.state.cursorBlock);
  if (remote?.hash !== parts.state.cursorHash) await handleReorg(parts);
}

/**
 * Walks back from the cursor to the newest stored block the chain still has, rolls derived
 * state back to it and moves the cursor there. Below the journal floor nothing can be undone.
 */
export async function handleReorg(parts: EngineParts): Promise<void> {
  const stored = await parts.db
    .selectFrom("indexer_blocks")
    .selectAll()
    .where("block_number", ">=", parts.state.journalFloor)
    .where("block_number", "<=", parts.state.cursorBlock)
    .orderBy("block_number", "desc")
    .execute();
  for (const block of stored) {
    const remote = await fetchHeader(parts.options.rpc, block.block_number);
    if (remote?.hash !== block.hash) continue;
    const ancestor: number = block.block_number;
    parts.log.warn("reorg: rolling back", { from: parts.state.cursorBlock, to: ancestor, depth: parts.state.cursorBlock - ancestor });
    const started = Date.now();
    parts.store.reset();
    await parts.db.transaction().execute(async (trx) => {
      await rollbackTo(trx, parts.tables, ancestor);
      parts.state = { ...parts.state, cursorBlock: ancestor, cursorHash: block.hash, cursorTimestamp: block.timestamp };
      await writeSyncState(trx, parts.state);
    });
    parts.stats.reorgs++;
    parts.stats.dbMs += Date.now() - started;
    return;
  }
  throw new UnrecoverableReorgError(parts.state.cursorBlock, parts.state.journalFloor);
}
