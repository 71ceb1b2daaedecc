/** The chain moved under a batch (a log's block hash differs from the header fetched): retry. */
export class ChainMovedError extends Error {}

/** A reorg deeper than the journal reaches (past the finality depth): the database must be rebuilt. */
export class UnrecoverableReorgError extends Error {
  constructor(cursor: number, floor: number) {
    super(
      `reorg below block ${floor + 1}, the oldest block that can be undone (cursor ${cursor}); ` + `raise --finality-depth and resync from an empty database`,
    );
  }
}

/** The database was synced from another chain. */
export class ChainMismatchError extends Error {
  constructor(stored: number, rpc: number) {
    super(`the database holds chain ${stored} but the RPC serves chain ${rpc}; use another database or RPC`);
  }
}
