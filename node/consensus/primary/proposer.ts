/**
 * Decides when this node creates its next header (docs/consensus.md "Narwhal: proposer", Bullshark rules of
 * the Sui code): a header for round r+1 needs 2f+1 weight of round-r certificates; it is created
 * as soon as enough batch digests are waiting and the round is "ready", or when the header delay
 * expires (possibly empty).
 *
 * Ready: after an even (leader) round r, once we hold the leader's certificate, so our odd header
 * votes for it; after an odd round, once the previous leader has f+1 votes among our parents, or
 * 2f+1 weight of parents do not vote for it (it cannot commit through us), or we lead next.
 */
import { AuthorityIndex, Committee } from "../types/committee";
import { Certificate, Digest, hex } from "../types/messages";

/** Options of a {@link Proposer}. */
export interface ProposerOptions {
  committee: Committee;
  me: AuthorityIndex;
  /** Create a header once this many own batch digests wait (and the round is ready). */
  headerBatches: number;
  /** Create a header at the latest this long after the previous one (when parents allow). */
  maxHeaderDelayMs: number;
  /** At most this many digests per header. */
  maxHeaderBatches: number;
  /** The stored certificate of `author` at `round`, if any. */
  certificateOf: (round: number, author: AuthorityIndex) => Certificate | undefined;
  /** Called with each new header's round, parents and payload; resolves once it is sent. */
  propose: (round: number, parents: Certificate[], payload: Digest[]) => Promise<void>;
}

/** The proposer state machine, driven by certificates and own batch digests. */
export class Proposer {
  /** Round of the last header we created. */
  private round: number;
  /** Round of the certificates in `parents`. */
  private parentsRound = 0;
  private parents: Certificate[] = [];
  private digests: Digest[] = [];
  /** performance.now() of the last proposal: the max header delay is an interval, not a wall-clock time. */
  private lastProposal = performance.now();
  private proposing = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly o: ProposerOptions,
    /** Round of the last header created before a restart (0 for a fresh node). */
    lastRound: number,
  ) {
    this.round = lastRound;
    this.timer = setInterval(() => this.tryPropose(), Math.max(10, Math.floor(o.maxHeaderDelayMs / 4)));
  }

  /** Round of the last header created. */
  get currentRound(): number {
    return this.round;
  }

  /** Queues the digest of an own batch that a quorum stored. */
  addBatch(digest: Digest): void {
    this.digests.push(digest);
    this.tryPropose();
  }

  /** Puts digests back at the front of the queue (own batches that must be proposed again). */
  requeue(digests: Digest[]): void {
    this.digests.unshift(...digests);
    this.tryPropose();
  }

  /**
   * Adds certificates of round `round` once their weight reached a quorum (the first call for a
   * round passes the quorum; later calls add single certificates).
   */
  addParents(round: number, certificates: Certificate[]): void {
    if (round > this.parentsRound) {
      this.parentsRound = round;
      this.parents = [...certificates];
    } else if (round === this.parentsRound) {
      const have = new Set(this.parents.map((c) => hex(c.digest)));
      for (const c of certificates) if (!have.has(hex(c.digest))) this.parents.push(c);
    } else {
      return;
    }
    this.tryPropose();
  }

  private ready(): boolean {
    const { committee } = this.o;
    const r = this.parentsRound;
    if (r % 2 === 0) {
      return r === 0 || this.parents.some((c) => c.header.author === committee.leader(r));
    }
    if (r < 3 || committee.leader(r + 1) === this.o.me) return true;
    const leader = this.o.certificateOf(r - 1, committee.leader(r - 1));
    if (!leader) return true; // the leader of r-1 never reached us: nothing to wait for
    const leaderDigest = hex(leader.digest);
    let votes = 0;
    let noVotes = 0;
    for (const c of this.parents) {
      const w = committee.weight(c.header.author);
      if (c.header.parents.some((p) => hex(p) === leaderDigest)) votes += w;
      else noVotes += w;
    }
    return votes >= committee.validityThreshold || noVotes >= committee.quorumThreshold;
  }

  private tryPropose(): void {
    if (this.proposing || this.parentsRound < this.round) return;
    if (this.o.committee.weightOf(this.parents.map((c) => c.header.author)) < this.o.committee.quorumThreshold) return;
    const timerExpired = performance.now() - this.lastProposal >= this.o.maxHeaderDelayMs;
    const enoughDigests = this.digests.length >= this.o.headerBatches;
    if (!timerExpired && !(enoughDigests && this.ready())) return;

    const round = this.parentsRound + 1;
    const parents = this.parents;
    const payload = this.digests.splice(0, this.o.maxHeaderBatches);
    this.round = round;
    this.parents = [];
    this.lastProposal = performance.now();
    this.proposing = true;
    this.o.propose(round, parents, payload).finally(() => {
      this.proposing = false;
    });
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }
}
