/** Tunable consensus parameters, with the defaults documented in node/README.md. */
export interface Parameters {
  /** Seal a batch at this many bytes of transactions. */
  batchSize: number;
  /** ... or this long after its first transaction. */
  maxBatchDelayMs: number;
  /** Create a header once this many own batches are certified-available (and the round is ready). */
  headerBatches: number;
  /** At most this many batch digests per header. */
  maxHeaderBatches: number;
  /** Create a header at the latest this long after the previous one. */
  maxHeaderDelayMs: number;
  /** Re-broadcast an uncertified own header after this long. */
  headerResendMs: number;
  /** Retry fetches of missing certificates and batches, and re-send unacknowledged batches, after this long. */
  syncRetryMs: number;
  /** Rounds kept below the last committed round. */
  gcDepth: number;
  /** Refuse transactions while this many own batches are sealed but not yet committed. */
  maxPendingBatches: number;
  /** Largest transaction accepted from clients (envelope included). */
  maxTxSize: number;
  /** Verify client transaction signatures. */
  verifyTxSignatures: boolean;
  /** Bytes of batches served to one peer per second (also the burst): what its requests can make us read. */
  serveBytesPerSecond: number;
  /**
   * Leader rounds of the committed sequence whose batches stay on disk for subscribers replaying
   * the past; older batches are compacted away (docs/consensus.md "Compaction").
   */
  retainRounds: number;
  /** Size of a batches.log segment, the unit in which batches are compacted away. */
  batchSegmentBytes: number;
  /** Size of a certificates.log or consensus.log segment, the unit in which they are compacted away. */
  logSegmentBytes: number;
}

/** Defaults for a node on a LAN or loopback; see node/README.md for the reasoning. */
export const DEFAULT_PARAMETERS: Parameters = {
  batchSize: 100_000,
  maxBatchDelayMs: 100,
  headerBatches: 1,
  maxHeaderBatches: 1_000,
  maxHeaderDelayMs: 200,
  headerResendMs: 1_000,
  syncRetryMs: 1_000,
  gcDepth: 50,
  maxPendingBatches: 100,
  maxTxSize: 64 * 1024,
  verifyTxSignatures: true,
  serveBytesPerSecond: 32 * 1024 * 1024,
  // ~30 min at 2 rounds/s (~9 GB of batches at 10,000 tx/s of 512 B): a node partitioned or down
  // for less than that catches up the epoch's sequence from its peers (docs/consensus.md "Compaction").
  retainRounds: 3600,
  batchSegmentBytes: 64 * 1024 * 1024,
  logSegmentBytes: 16 * 1024 * 1024,
};
