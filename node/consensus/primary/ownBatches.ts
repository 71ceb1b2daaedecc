/**
 * Which of our own batch digests must be proposed again, and when (docs/consensus.md
 * "Re-proposing own batches"). A digest is re-proposed only once the header that carried it can no
 * longer be committed, so an honest node never gets one batch into two committed certificates:
 *
 * - a header we never certified is dead as soon as we propose the next one (nobody else can
 *   certify it): {@link OwnBatches.superseded} hands its payload to that next header;
 * - a header that is or may be certified is dead once Bullshark can no longer order it: when a
 *   later certificate of ours was committed (a certificate at or below its author's last
 *   committed round is skipped), or when its round is at or below the GC round of a commit.
 *
 * Re-proposing earlier (say, when the next leader commits without it) lets the first header still
 * commit through a later leader: during catch-up that second commit can be hundreds of rounds
 * after the first, past the executor's duplicate window, and the batch is delivered twice.
 */
import { AuthorityIndex } from "../types/committee";
import { Certificate, Digest, hex } from "../types/messages";

interface Pending {
  payload: Digest[];
  /** False only for a header of this process whose certificate we have not formed. */
  mayBeCertified: boolean;
}

/** Own header payloads not yet committed, by round. */
export class OwnBatches {
  private readonly pending = new Map<number, Pending>();
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

  /** Records the payload of our new header at `round`, not certified yet. */
  proposed(round: number, payload: Digest[]): void {
    this.track(round, payload, false);
  }

  /** Our header at `round` is certified: from now on it is dead only by the rules of a certified header. */
  certified(round: number): void {
    const p = this.pending.get(round);
    if (p) p.mayBeCertified = true;
  }

  /**
   * Records our headers that may still commit, from before a restart (primary.log), in any order.
   * A certificate of each may exist at peers even if we did not store it (it is broadcast before
   * it is written), so each is treated as certified: its payload is not handed to the next header,
   * and is proposed again only once the header is dead. A digest carried by several of them was
   * moved out of the older ones when they died (or were superseded), so it stays with the latest
   * only: re-proposing it when an older one dies again would commit it twice. Headers at or below
   * our last committed round are settled and ignored.
   */
  restored(headers: readonly { round: number; payload: Digest[] }[]): void {
    const later = new Set<string>();
    for (const h of [...headers].sort((a, b) => b.round - a.round)) {
      const payload = h.payload.filter((d) => !later.has(hex(d)));
      for (const d of h.payload) later.add(hex(d));
      this.track(h.round, payload, true);
    }
  }

  /**
   * We propose our next header: returns the payload of our header at `round` if it was never
   * certified (it is dead, the next header takes its payload), else nothing (it stays tracked).
   */
  superseded(round: number): Digest[] {
    const p = this.pending.get(round);
    if (!p || p.mayBeCertified) return [];
    this.pending.delete(round);
    return p.payload;
  }

  /**
   * Takes one committed sub-DAG (in commit order) and returns the digests to propose again: those
   * of our headers that this commit makes dead. A header never certified is left to
   * {@link superseded}: only the current one can be such, and the next header takes its payload.
   */
  committed(leaderRound: number, certificates: Certificate[]): Digest[] {
    for (const c of certificates) {
      if (c.header.author !== this.me) continue;
      this.pending.delete(c.header.round);
      this.committedRound = Math.max(this.committedRound, c.header.round);
    }
    const gcRound = leaderRound - this.gcDepth;
    const dead: Digest[] = [];
    for (const [round, p] of this.pending) {
      if (!p.mayBeCertified || (round > this.committedRound && round > gcRound)) continue;
      this.pending.delete(round);
      dead.push(...p.payload);
    }
    return dead;
  }

  /** Payloads waiting for their header's fate (bounded by the rounds a header can stay alive). */
  get size(): number {
    return this.pending.size;
  }

  private track(round: number, payload: Digest[], mayBeCertified: boolean): void {
    if (payload.length > 0 && !this.settled(round)) this.pending.set(round, { payload, mayBeCertified });
  }
}
