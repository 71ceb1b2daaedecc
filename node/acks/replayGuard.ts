/**
 * Remembers which acks were accepted until they could no longer be accepted anyway (their window
 * end plus clock skew), so a replayed ack is refused without keeping every ack forever.
 */
export class ReplayGuard {
  /** Ack id → time after which it is forgotten. */
  private readonly seen = new Map<string, number>();

  /**
   * @param capacity most acks remembered at once; past it new acks are refused rather than old
   * ones forgotten early, which would re-open the door to replays.
   */
  constructor(private readonly capacity = 1_000_000) {}

  /**
   * Records `id` as used until `forgetAfter` (Unix ms). Returns "replay" if it was already used,
   * "full" if the guard cannot remember more right now, "fresh" if it is now recorded.
   */
  claim(id: string, forgetAfter: number, now: number): "fresh" | "replay" | "full" {
    if (this.seen.has(id)) return "replay";
    if (this.seen.size >= this.capacity) this.prune(now);
    if (this.seen.size >= this.capacity) return "full";
    this.seen.set(id, forgetAfter);
    return "fresh";
  }

  /** Forgets ids whose time is over. */
  prune(now: number): void {
    for (const [id, forgetAfter] of this.seen) if (forgetAfter < now) this.seen.delete(id);
  }
}
