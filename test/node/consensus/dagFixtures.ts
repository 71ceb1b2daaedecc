/**
 * Builders for hand-made DAGs: a committee of fresh keys and certificates whose parents the test
 * chooses. Bullshark never checks signatures (the primary does before delivery), so these
 * certificates carry real digests but no votes.
 */
import { Committee, Member, NO_CHAIN } from "../../../node/consensus/types/committee";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Certificate, genesis, makeCertificate, signHeader } from "../../../node/consensus/types/messages";

/**
 * A committee of `n` members with weight 1 on made-up ports, and their keys by authority index;
 * with `seed`, the same keys every time (for a DAG two processes must build alike).
 */
export function testCommittee(n: number, epoch = 1, seed?: number): { committee: Committee; keys: KeyPair[] } {
  const pairs = Array.from({ length: n }, (_, i) => (seed === undefined ? KeyPair.generate() : KeyPair.fromSeed(Buffer.alloc(32, seed + i))));
  const members: Member[] = pairs.map((k, i) => ({
    publicKey: k.publicKey,
    primary: { host: "127.0.0.1", port: 10_000 + i },
    worker: { host: "127.0.0.1", port: 11_000 + i },
    weight: 1,
  }));
  const committee = new Committee(epoch, members, NO_CHAIN);
  const keys = committee.members.map((m) => pairs.find((p) => p.publicKey.equals(m.publicKey))!);
  return { committee, keys };
}

/** A DAG under construction: certificates by round and author, starting from genesis. */
export class DagBuilder {
  readonly rounds: Map<number, Certificate>[] = [];

  constructor(
    readonly committee: Committee,
    private readonly keys: KeyPair[],
  ) {
    this.rounds[0] = new Map(genesis(committee).map((c) => [c.header.author, c]));
  }

  /** The certificate of `author` at `round` (throws if absent). */
  get(round: number, author: number): Certificate {
    const c = this.rounds[round]?.get(author);
    if (!c) throw new Error(`no certificate for ${author} at round ${round}`);
    return c;
  }

  /**
   * Adds a certificate for `author` at `round` whose parents are the round-1 certificates of
   * `parentAuthors` (default: all of them), carrying the batch digests `payload`.
   */
  add(round: number, author: number, parentAuthors?: number[], payload: Buffer[] = []): Certificate {
    const prev = this.rounds[round - 1];
    const parents = (parentAuthors ?? [...prev.keys()]).map((a) => this.get(round - 1, a).digest);
    const header = signHeader({ epoch: this.committee.epoch, round, author, createdAt: round, payload, parents }, this.keys[author], this.committee.domain);
    const cert = makeCertificate(header, []);
    (this.rounds[round] ??= new Map()).set(author, cert);
    return cert;
  }

  /** Adds certificates for `authors` in each round of [from, to], each referencing all of the round below. */
  fullRounds(from: number, to: number, authors: number[]): void {
    for (let r = from; r <= to; r++) for (const a of authors) this.add(r, a);
  }

  /** Every non-genesis certificate in round order (a valid causal delivery order). */
  all(): Certificate[] {
    return this.rounds.slice(1).flatMap((m) => [...m.values()]);
  }
}
