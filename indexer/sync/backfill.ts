import { upsertRows } from "../store/bulk";
import { BLOCKS_TABLE } from "../store/coreTables";
import { pruneBelowFloor } from "../store/rollback";
import { commitBatch } from "./commit";
import { headersOf, timedRpc, withChildLogs, type EngineParts } from "./engineParts";
import { headerRow } from "./headers";
import type { RawLog } from "./logFetcher";

/**
 * Applies the finalized blocks up to `target` in large batches, pipelined: while one batch's
 * transaction is being written, the next batch's logs and headers are fetched and its handlers
 * run (the database works on another core than the handlers). Batches still commit one after
 * another, in order, each with its cursor. Nothing is journaled: these blocks cannot be reorged.
 */
export async function backfill(parts: EngineParts, target: number): Promise<void> {
  let batchFrom = parts.state.cursorBlock + 1;
  parts.progress.begin(parts.state.cursorBlock, parts.stats.events);
  let pending: RawLog[] = [];
  let writing: Promise<void> | undefined;
  const chunks = parts.fetcher.fetch(batchFrom, target);
  try {
    for (;;) {
      const next = await timedRpc(parts, () => chunks.next());
      if (next.done) break;
      // Appended in place: chunks may be small (a dense range), and concat per chunk would copy the batch each time.
      if (pending.length === 0) pending = next.value.logs;
      else for (const log of next.value.logs) pending.push(log);
      // A chunk may hold many batches' worth (a range split on a refusal comes back whole): cut
      // at block boundaries, so batches stay near batchEvents (memory, and an even pace that
      // progress's rate can trust from the start), the last one taking the chunk's empty tail.
      const batchEvents = parts.options.batchEvents ?? 10_000;
      while (pending.length >= batchEvents || (next.value.to >= target && batchFrom <= target)) {
        const cut = blockEnd(pending, batchEvents);
        const whole = cut >= pending.length;
        const batch = whole ? pending : pending.slice(0, cut);
        pending = whole ? [] : pending.slice(cut);
        const to = whole ? next.value.to : Number(batch[batch.length - 1].blockNumber);
        ({ writing } = await backfillBatch(parts, batchFrom, to, target, batch, writing));
        batchFrom = to + 1;
      }
    }
    await waitForDatabase(parts, writing);
  } catch (err) {
    // Nothing past the last committed batch reached the database: forget its buffered and
    // cached writes too (the state moves only when a commit succeeds).
    await writing?.catch(() => {});
    parts.store.reset();
    throw err;
  }
}

/**
 * One backfill batch, `from`..`to` (of a backfill to `target`) with its logs: headers and handlers
 * now, then its commit once `previous` (the last batch's) is in. Returns the commit, still running
 * (wrapped: an async function's returned promise would be awaited).
 */
async function backfillBatch(
  parts: EngineParts,
  from: number,
  to: number,
  target: number,
  batch: RawLog[],
  previous: Promise<void> | undefined,
): Promise<{ writing: Promise<void> }> {
  const logs = await withChildLogs(parts, from, to, batch);
  const blocks = new Set(logs.filter((l) => !l.blockTimestamp).map((l) => Number(l.blockNumber)));
  blocks.add(to);
  const headers = await headersOf(parts, [...blocks]);
  await parts.dispatch.run(logs, headers, false, parts.store, parts.stats);
  // Batches commit in order: take this batch's writes only once the previous one is in.
  await waitForDatabase(parts, previous);
  const end = headers.get(to)!;
  const state = { ...parts.state, cursorBlock: to, cursorHash: end.hash, cursorTimestamp: end.timestamp, journalFloor: to };
  const writing = commitBatch(parts, parts.store.takeWrites(), logs.length, state, true, async (trx) => {
    await upsertRows(trx, BLOCKS_TABLE, [headerRow(end)]);
    await pruneBelowFloor(trx, to);
  }).then(() => {
    parts.log.debug("backfill batch", { from, to, events: logs.length });
    const head = parts.state.chainHead ?? target;
    parts.progress.update(parts.state.cursorBlock, head, parts.stats.events, {
      to: target,
      tailPasses: Math.ceil((head - target) / (parts.options.maxRealtimeBlocks ?? 100)),
    });
  });
  // Awaited before the next commit or at the end; meanwhile a failure is not unhandled.
  writing.catch(() => {});
  return { writing };
}

/** The index just past the block of `logs[n - 1]` (logs in block order): a batch cut there ends on a block boundary. */
function blockEnd(logs: readonly RawLog[], n: number): number {
  if (n >= logs.length) return logs.length;
  const block = logs[n - 1].blockNumber;
  let i = n;
  while (i < logs.length && logs[i].blockNumber === block) i++;
  return i;
}

/** Waits for the previous batch's commit, counting the wait as time the backfill had nothing else to do. */
async function waitForDatabase(parts: EngineParts, writing: Promise<void> | undefined): Promise<void> {
  const started = Date.now();
  await writing;
  parts.stats.dbWaitMs += Date.now() - started;
}
