import { col, defineTable } from "./tables";

/**
 * The engine's own tables. `indexer_state` holds the sync cursor (advanced in the same
 * transaction as derived state), `indexer_blocks` the hash chain of recent blocks (for reorg
 * detection, also after a restart) and `indexer_journal` the before-images of mutable rows changed
 * inside the finality window.
 */

/** Journal entry: the image of a row before its first change in a block (null = row was absent). */
export const JOURNAL_TABLE = defineTable({
  name: "indexer_journal",
  columns: {
    block_number: col.int8(),
    table_name: col.text(),
    pk: col.text(),
    before: col.json<Record<string, unknown>>().orNull(),
  },
  primaryKey: ["block_number", "table_name", "pk"],
  rollback: "byBlock",
});

/** A block the indexer has processed, kept while it may still be reorged out. */
export const BLOCKS_TABLE = defineTable({
  name: "indexer_blocks",
  columns: {
    block_number: col.int8(),
    hash: col.text(),
    parent_hash: col.text(),
    timestamp: col.int8(),
  },
  primaryKey: ["block_number"],
  rollback: "byBlock",
});
