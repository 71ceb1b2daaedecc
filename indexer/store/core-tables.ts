import { defineTable } from "./tables";

/**
 * The engine's own tables. `indexer_state` holds the sync cursor (advanced in the same
 * transaction as derived state), `indexer_blocks` the hash chain of recent blocks (for reorg
 * detection, also after a restart) and `indexer_journal` the before-images of mutable rows changed
 * inside the finality window.
 */

/** Journal entry: the image of a row before its first change in a block (null = row was absent). */
export const JOURNAL_TABLE = defineTable<{
  block_number: number;
  table_name: string;
  pk: string;
  before: Record<string, unknown> | null;
}>({
  name: "indexer_journal",
  columns: { block_number: "int8", table_name: "text", pk: "text", before: "jsonb" },
  primaryKey: ["block_number", "table_name", "pk"],
  rollback: "byBlock",
});

/** A block the indexer has processed, kept while it may still be reorged out. */
export const BLOCKS_TABLE = defineTable<{ block_number: number; hash: string; parent_hash: string; timestamp: number }>({
  name: "indexer_blocks",
  columns: { block_number: "int8", hash: "text", parent_hash: "text", timestamp: "int8" },
  primaryKey: ["block_number"],
  rollback: "byBlock",
});
