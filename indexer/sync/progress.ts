import type { Logger } from "../log";

/** Samples kept for the rate; when full, every other one is dropped (the window keeps its span). */
const MAX_SAMPLES = 512;
/** A pass over the finality window's blocks takes about this many backfill batches' time (see {@link Progress}). */
const TAIL_PASS_BATCHES = 3;

/**
 * Reports sync progress as a log line at most every `everyMs`: block reached, target, events
 * applied, events/s since the start of the current catch-up, and an ETA from the block rate over
 * the later half of the time so far: the start (connections, JIT, the pipeline filling, a slow
 * first range) is forgotten as the sync goes on, and a rate over half the run stays steady. The
 * blocks inside the finality window are not counted at that rate: they are applied a pass of many
 * blocks at a time, and a pass waits for about three round trips in turn (the head, the logs, the
 * headers) where a backfill batch waits for about one (its logs were fetched ahead): three
 * batches' time (the window's time per update) per pass.
 */
export class Progress {
  private startedAt = Date.now();
  private lastReport = 0;
  private startBlock: number | undefined;
  private startEvents = 0;
  private samples: { at: number; block: number }[] = [];

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 5_000,
  ) {}

  /** A catch-up starts at `block` (the cursor) with `events` applied so far. */
  begin(block: number, events: number): void {
    this.startedAt = Date.now();
    this.startBlock = block;
    this.startEvents = events;
    this.samples = [{ at: this.startedAt, block }];
  }

  /**
   * Notes that sync reached `block` of `target` with `events` applied in total; during a backfill,
   * `backfill` says where it ends and how many passes then apply the blocks from there to `target`.
   */
  update(block: number, target: number, events: number, backfill?: { to: number; tailPasses: number }): void {
    const now = Date.now();
    if (this.startBlock === undefined) this.begin(block, events);
    this.samples.push({ at: now, block });
    if (this.samples.length > MAX_SAMPLES) this.samples = this.samples.filter((_, i) => i % 2 === 0 || i === this.samples.length - 1);
    if (now - this.lastReport < this.everyMs) return;
    this.lastReport = now;
    const seconds = Math.max(0.001, (now - this.startedAt) / 1000);
    const blocksDone = block - this.startBlock!;
    const blocksLeft = Math.max(0, (backfill?.to ?? target) - block);
    const half = now - (now - this.startedAt) / 2;
    const fromIndex = Math.max(
      0,
      this.samples.findIndex((s) => s.at >= half && s.at < now),
    );
    const from = this.samples[fromIndex];
    const windowSeconds = (now - from.at) / 1000;
    const rate = windowSeconds > 0 ? (block - from.block) / windowSeconds : 0;
    // Updates since `from`, one per batch (thinned samples stand for two: a slight overestimate).
    const perUpdate = windowSeconds / Math.max(1, this.samples.length - 1 - fromIndex);
    const tail = backfill && target > Math.max(block, backfill.to) ? backfill.tailPasses * TAIL_PASS_BATCHES * perUpdate : 0;
    this.log.info("sync progress", {
      block,
      target,
      events,
      eventsPerSecond: Math.round((events - this.startEvents) / seconds),
      blocksPerSecond: Math.round((blocksDone / seconds) * 10) / 10,
      etaSeconds: rate > 0 ? Math.round((blocksLeft / rate + tail) * 10) / 10 : null,
    });
  }
}
