/**
 * Which of our own batch digests must be proposed again, and when (docs/consensus.md
 * "Re-proposing own batches"). A digest is re-proposed only once the header that carried it can no
 * longer be committed, so an honest node never gets one batch into two committed certificates:
 *
 * - a header we never certified is dead as soon as we propose the next one (nobody else can
 *   certify it): the primary moves its payload into that next header itself;
 * - a certified header is dead once Bullshark can no longer order it: when a later certificate of
 *   ours was committed (a certificate at or below its author's last committed round is skipped),
 *   or when its round is at or below the GC round of a commit.
 *
 * Re-proposing earlier (say, when the next leader commits without it) lets the first header still
 * commit through a later leader: during catch-up that second commit can be hundreds of rounds
 * after the first, past the executor's duplicate window, and the batch is delivered twice.
 */
import { AuthorityIndex } from "../types/committee";
import { Certificate, Digest } from "../types/messages";

/** Own header payloads not yet committed, by round. */
export class OwnBatches {
  private readonly pending = new Map<number, Digest[]>();
  /** Round of our last committed certificate: ours at or below it can no longer commit. */
  private committedRound: number;

  constructor(
    private readonly me: AuthorityIndex,
    private readonly gcDepth: number,
    /** Our last committed round before a restart (Bullshark's stored state), 0 for a fresh node. */
    committedRound = 0,
  ) {
    this.committedRound = committedRound;
  }

  /** True if a header of ours at `round` was committed or can no longer be (see the module comment). */
  settled(round: number): boolean {
    return round <= this.committedRound;
  }

  /** Records the payload of our header at `round`. */
  proposed(round: number, payload: Digest[]): void {
    if (payload.length > 0 && !this.settled(round)) this.pending.set(round, payload);
  }

  /** Forgets the header at `round`: its payload went into a newer header of ours. */
  moved(round: number): void {
    this.pending.delete(round);
  }

  /**
   * Takes one committed sub-DAG (in commit order) and returns the digests to propose again: those
   * of our headers that this commit makes dead. `keep` is the round of our uncertified current
   * header, whose payload the next header takes over anyway.
   */
  committed(leaderRound: number, certificates: Certificate[], keep?: number): Digest[] {
    for (const c of certificates) {
      if (c.header.author !== this.me) continue;
      this.pending.delete(c.header.round);
      this.committedRound = Math.max(this.committedRound, c.header.round);
    }
    const gcRound = leaderRound - this.gcDepth;
    const dead: Digest[] = [];
    for (const [round, payload] of this.pending) {
      if (round === keep || (round > this.committedRound && round > gcRound)) continue;
      this.pending.delete(round);
      dead.push(...payload);
    }
    return dead;
  }

  /** Payloads waiting for their header's fate (bounded by the rounds a header can stay alive). */
  get size(): number {
    return this.pending.size;
  }
}
