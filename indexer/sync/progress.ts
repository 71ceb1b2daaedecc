import type { Logger } from "../log";

/**
 * Reports sync progress as a log line at most every `everyMs`: block reached, target, events
 * applied, events/s since the start and an ETA from the block rate.
 */
export class Progress {
  private readonly startedAt = Date.now();
  private lastReport = 0;
  private startBlock: number | undefined;

  constructor(private readonly log: Logger, private readonly everyMs = 5_000) {}

  /** Notes that sync reached `block` of `target` with `events` applied in total. */
  update(block: number, target: number, events: number): void {
    this.startBlock ??= block;
    const now = Date.now();
    if (now - this.lastReport < this.everyMs) return;
    this.lastReport = now;
    const seconds = Math.max(0.001, (now - this.startedAt) / 1000);
    const blocksDone = block - this.startBlock;
    const blocksLeft = Math.max(0, target - block);
    this.log.info("sync progress", {
      block,
      target,
      events,
      eventsPerSecond: Math.round(events / seconds),
      etaSeconds: blocksDone > 0 ? Math.round((blocksLeft * seconds) / blocksDone) : null,
    });
  }
}
