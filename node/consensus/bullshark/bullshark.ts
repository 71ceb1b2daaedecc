/**
 * Bullshark (partially synchronous) as in docs/consensus.md "Bullshark", with the later Sui fixes:
 * only even rounds are walked when ordering earlier leaders, a guarded insert, `<=` as the
 * "already committed" test, and garbage collection by `lastCommittedRound - gcDepth`.
 *
 * Input: certificates in causal order (every parent above the GC round delivered first).
 * Output: committed sub-DAGs, each a deterministic sequence of certificates ending with its leader.
 * The committed sequence depends only on the DAG, never on the delivery order; the randomized
 * test in test/node/consensus/bullsharkRandom.test.ts checks that.
 */
import { Committee, AuthorityIndex } from "../types/committee";
import { Certificate, hex } from "../types/messages";

/** One leader's committed sub-DAG. */
export interface CommittedSubDag {
  /** Consecutive from 1 across the epoch. */
  index: number;
  /** The leader certificate (also the last element of `certificates`). */
  leader: Certificate;
  /** Certificates in commit order: ascending round, ties in DFS discovery order. */
  certificates: Certificate[];
  /** The Bullshark state right after this sub-DAG, to persist with it. */
  state: BullsharkState;
}

/** What Bullshark must remember across restarts to resume exactly where it stopped. */
export interface BullsharkState {
  /** Highest committed round per authority. */
  lastCommitted: number[];
  /** Index of the last committed sub-DAG. */
  lastSubDagIndex: number;
}

interface Entry {
  cert: Certificate;
  digest: string;
  parents: Set<string>;
}

/** Reason a certificate was not inserted, for logging. */
export type InsertRejection = "below-gc" | "equivocation";

/** The Bullshark ordering state machine; pure and synchronous. */
export class Bullshark {
  private readonly dag = new Map<number, Map<AuthorityIndex, Entry>>();
  private readonly lastCommitted: number[];
  private lastSubDagIndex: number;
  /** Called when a certificate is refused (duplicates of the same certificate are silent). */
  onReject: (c: Certificate, why: InsertRejection) => void = () => {};

  constructor(
    private readonly committee: Committee,
    private readonly gcDepth: number,
    state?: BullsharkState,
  ) {
    this.lastCommitted = state ? [...state.lastCommitted] : committee.members.map(() => 0);
    this.lastSubDagIndex = state?.lastSubDagIndex ?? 0;
  }

  /** Highest round of any committed certificate (always a leader round). */
  get lastCommittedRound(): number {
    return Math.max(...this.lastCommitted);
  }

  /** Certificates at or below this round are ignored and pruned. */
  get gcRound(): number {
    return Math.max(0, this.lastCommittedRound - this.gcDepth);
  }

  /** A copy of the state to persist after a commit. */
  state(): BullsharkState {
    return { lastCommitted: [...this.lastCommitted], lastSubDagIndex: this.lastSubDagIndex };
  }

  /** Feeds one certificate; returns the sub-DAGs it commits, oldest first (often none). */
  processCertificate(c: Certificate): CommittedSubDag[] {
    if (!this.tryInsert(c)) return [];
    const leaderRound = c.header.round - 1;
    if (leaderRound < 2 || leaderRound % 2 !== 0 || leaderRound <= this.lastCommittedRound) return [];
    const leader = this.leaderEntry(leaderRound);
    if (!leader) return [];
    // Commit rule: f+1 weight of round r+1 certificates (those we hold now) reference the leader.
    let support = 0;
    for (const [author, e] of this.dag.get(c.header.round) ?? []) {
      if (e.parents.has(leader.digest)) support += this.committee.weight(author);
    }
    if (support < this.committee.validityThreshold) return [];

    const out: CommittedSubDag[] = [];
    for (const l of this.orderLeaders(leader).reverse()) {
      const certificates = this.orderDag(l);
      for (const x of certificates) {
        const o = x.header.author;
        this.lastCommitted[o] = Math.max(this.lastCommitted[o], x.header.round);
      }
      out.push({ index: ++this.lastSubDagIndex, leader: l.cert, certificates, state: this.state() });
    }
    this.prune();
    return out;
  }

  /**
   * Inserts unless garbage-collected or an equivocation; returns whether the certificate can
   * still matter for ordering (it is above its author's last committed round).
   */
  private tryInsert(c: Certificate): boolean {
    const { round, author } = c.header;
    if (round <= this.gcRound) {
      this.onReject(c, "below-gc");
      return false;
    }
    let byAuthor = this.dag.get(round);
    if (!byAuthor) this.dag.set(round, (byAuthor = new Map()));
    const digest = hex(c.digest);
    const existing = byAuthor.get(author);
    if (existing) {
      if (existing.digest !== digest) this.onReject(c, "equivocation");
      return false;
    }
    byAuthor.set(author, { cert: c, digest, parents: new Set(c.header.parents.map(hex)) });
    return round > this.lastCommitted[author];
  }

  private leaderEntry(round: number): Entry | undefined {
    return this.dag.get(round)?.get(this.committee.leader(round));
  }

  /** The leader and every earlier uncommitted leader linked to it, newest first; even rounds only. */
  private orderLeaders(leader: Entry): Entry[] {
    const toCommit = [leader];
    let current = leader;
    for (let r = leader.cert.header.round - 2; r > this.lastCommittedRound; r -= 2) {
      const prev = this.leaderEntry(r);
      if (prev && this.linked(current, prev)) {
        toCommit.push(prev);
        current = prev;
      }
    }
    return toCommit;
  }

  /** True if a path of parent edges leads from `from` down to `to`. */
  private linked(from: Entry, to: Entry): boolean {
    let frontier = [from];
    for (let r = from.cert.header.round - 1; r >= to.cert.header.round && frontier.length > 0; r--) {
      const next: Entry[] = [];
      for (const e of this.dag.get(r)?.values() ?? []) {
        if (frontier.some((f) => f.parents.has(e.digest))) next.push(e);
      }
      frontier = next;
    }
    return frontier.includes(to);
  }

  /**
   * The leader's uncommitted causal history: DFS pre-order (parents in digest order, LIFO), not
   * below the GC round, skipping what an earlier sub-DAG committed, then stably sorted by round.
   */
  private orderDag(leader: Entry): Certificate[] {
    const gcRound = this.gcRound;
    const ordered: Entry[] = [];
    const seen = new Set<string>([leader.digest]);
    const stack = [leader];
    while (stack.length > 0) {
      const x = stack.pop()!;
      ordered.push(x);
      const parentRound = x.cert.header.round - 1;
      if (parentRound <= gcRound) continue;
      const candidates = this.dag.get(parentRound);
      if (!candidates) continue;
      for (const p of x.cert.header.parents) {
        const ph = hex(p);
        if (seen.has(ph)) continue;
        const e = findByDigest(candidates, ph);
        if (!e || parentRound <= this.lastCommitted[e.cert.header.author]) continue;
        seen.add(ph);
        stack.push(e);
      }
    }
    // Array.prototype.sort is stable, which the determinism of equal-round order relies on.
    return ordered.sort((a, b) => a.cert.header.round - b.cert.header.round).map((e) => e.cert);
  }

  /** Drops every round at or below the GC round. */
  private prune(): void {
    const gcRound = this.gcRound;
    for (const r of this.dag.keys()) if (r <= gcRound) this.dag.delete(r);
  }
}

function findByDigest(round: Map<AuthorityIndex, Entry>, digest: string): Entry | undefined {
  for (const e of round.values()) if (e.digest === digest) return e;
  return undefined;
}
