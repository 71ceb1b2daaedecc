import { upsertRows } from "../store/bulk";
import { BLOCKS_TABLE } from "../store/coreTables";
import { pruneBelowFloor } from "../store/rollback";
import { commitBatch } from "./commit";
import { headersOf, timedRpc, withChildLogs, type EngineParts } from "./engineParts";
import { ChainMovedError } from "./errors";
import { headerRow } from "./headers";
import { handleReorg } from "./reorg";

/**
 * Applies blocks `from..to` inside the finality window as one batch: every header is fetched and
 * must link to the one before (the first to the cursor: otherwise the cursor was reorged out, and
 * the reorg is undone instead), every log must come from those headers' blocks, handlers journal
 * what they change, and the blocks' hashes are stored for the next reorg check.
 */
export async function applyUnfinalized(parts: EngineParts, from: number, to: number, finalized: number): Promise<void> {
  const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const headers = await headersOf(parts, numbers);
  let parent = parts.state.cursorHash;
  for (const n of numbers) {
    const h = headers.get(n)!;
    if (parent && h.parentHash !== parent) {
      // The cursor block left the canonical chain between our check and now.
      if (n === from) return handleReorg(parts);
      throw new ChainMovedError(`block ${n} does not link to block ${n - 1}`);
    }
    parent = h.hash;
  }
  const { logs: suiteLogs } = await timedRpc(parts, () => parts.fetcher.fetchRange(from, to));
  const logs = await withChildLogs(parts, from, to, suiteLogs);
  for (const l of logs) {
    if (headers.get(Number(l.blockNumber))?.hash !== l.blockHash) throw new ChainMovedError(`logs of block ${Number(l.blockNumber)} come from another fork`);
  }
  const end = headers.get(to)!;
  // Blocks that became final cannot be reorged: raise the rollback floor and drop their journal.
  const journalFloor = Math.max(parts.state.journalFloor, Math.min(finalized, to));
  const state = { ...parts.state, cursorBlock: to, cursorHash: end.hash, cursorTimestamp: end.timestamp, journalFloor };
  try {
    await parts.dispatch.run(logs, headers, true, parts.store, parts.stats);
    await commitBatch(parts, parts.store.takeWrites(), logs.length, state, false, async (trx) => {
      await upsertRows(
        trx,
        BLOCKS_TABLE,
        numbers.map((n) => headerRow(headers.get(n)!)),
      );
      await pruneBelowFloor(trx, journalFloor);
    });
  } catch (err) {
    // Nothing of this batch reached the database: forget its buffered writes too.
    parts.store.reset();
    throw err;
  }
}
