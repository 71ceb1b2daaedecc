/**
 * Accumulates client transactions and seals them into a batch when their size reaches
 * `batchSize` bytes or `maxBatchDelayMs` after the first transaction, whichever comes first
 * (docs/consensus.md "Narwhal: workers").
 */
import { encodeBatch } from "../types/messages";

/** Options of a {@link BatchMaker}. */
export interface BatchMakerOptions {
  batchSize: number;
  maxBatchDelayMs: number;
  /** Receives each sealed, encoded batch. */
  onSeal: (batch: Buffer, txCount: number) => void;
}

/** Groups transactions into batches. */
export class BatchMaker {
  private txs: Buffer[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatchMakerOptions) {}

  /** Bytes of transactions waiting to be sealed. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Adds a transaction (already validated). */
  add(tx: Buffer): void {
    this.txs.push(tx);
    this.bytes += tx.length;
    if (this.bytes >= this.options.batchSize) this.seal();
    else if (!this.timer) this.timer = setTimeout(() => this.seal(), this.options.maxBatchDelayMs);
  }

  /** Seals what is pending now (no-op when empty). */
  seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.txs.length === 0) return;
    const txs = this.txs;
    this.txs = [];
    this.bytes = 0;
    this.options.onSeal(encodeBatch(txs), txs.length);
  }

  /** Stops the delay timer (pending transactions are dropped with the process). */
  stop(): void {
    clearTimeout(this.timer);
  }
}
