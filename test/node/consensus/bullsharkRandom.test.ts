/**
 * The randomized execution-plan test of docs/consensus.md "Testing: random execution plans": random DAGs with crashed and
 * slow nodes, each delivered to fresh Bullshark instances in hundreds of random causal orders;
 * every order must produce the same committed sequence.
 */
import { expect } from "chai";
import { Bullshark } from "../../../node/consensus/bullshark/bullshark";
import { Certificate, hex } from "../../../node/consensus/types/messages";
import { DagBuilder, testCommittee } from "./dagFixtures";
import { prng } from "../../../testkit/prng";

interface DagOptions {
  rounds: number;
  /** Per round, the chance that each of up to f authorities produces nothing. */
  failureProbability: number;
  /** Authorities whose certificates others often do not wait for. */
  slowNodes: number[];
  /** Chance that a certificate leaves out a slow node's certificate. */
  slowSkipProbability: number;
}

/**
 * A random DAG: each round at most f authorities are missing; every certificate references its
 * author's previous certificate when there is one, and a random quorum (or more) of the round below.
 */
function randomDag(builder: DagBuilder, rand: () => number, o: DagOptions): void {
  const n = builder.committee.size;
  const f = n - builder.committee.quorumThreshold;
  for (let r = 1; r <= o.rounds; r++) {
    const prev = [...builder.rounds[r - 1].keys()];
    const authors = [...Array(n).keys()];
    for (let k = 0; k < f; k++) {
      if (rand() < o.failureProbability) authors.splice(Math.floor(rand() * authors.length), 1);
    }
    for (const a of authors) {
      const shuffled = [...prev].sort(() => rand() - 0.5);
      const parents = new Set<number>(prev.includes(a) ? [a] : []);
      for (const p of shuffled) {
        if (parents.size >= builder.committee.quorumThreshold && rand() < 0.5) continue;
        if (o.slowNodes.includes(p) && rand() < o.slowSkipProbability && parents.size + 1 < prev.length) continue;
        parents.add(p);
      }
      for (const p of shuffled) if (parents.size < builder.committee.quorumThreshold) parents.add(p);
      builder.add(r, a, [...parents]);
    }
  }
}

/** A random causal order (Kahn's algorithm choosing randomly among ready certificates). */
function randomCausalOrder(certs: Certificate[], rand: () => number): Certificate[] {
  const byDigest = new Map(certs.map((c) => [hex(c.digest), c]));
  const missing = new Map(certs.map((c) => [c, c.header.parents.filter((p) => byDigest.has(hex(p))).length]));
  const children = new Map<string, Certificate[]>();
  for (const c of certs)
    for (const p of c.header.parents) {
      const k = hex(p);
      if (byDigest.has(k)) (children.get(k) ?? children.set(k, []).get(k)!).push(c);
    }
  const ready = certs.filter((c) => missing.get(c) === 0);
  const order: Certificate[] = [];
  while (ready.length > 0) {
    const c = ready.splice(Math.floor(rand() * ready.length), 1)[0];
    order.push(c);
    for (const child of children.get(hex(c.digest)) ?? []) {
      const left = missing.get(child)! - 1;
      missing.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return order;
}

/** The committed sequence as "subDagIndex:certificate digest" strings. */
function commitSequence(committee: DagBuilder["committee"], gcDepth: number, order: Certificate[]): string[] {
  const b = new Bullshark(committee, gcDepth);
  return order.flatMap((c) => b.processCertificate(c)).flatMap((s) => s.certificates.map((c) => `${s.index}:${hex(c.digest)}`));
}

describe("Bullshark randomized delivery orders", function () {
  this.timeout(120_000);
  const { committee, keys } = testCommittee(4);

  const setups: [string, DagOptions][] = [
    ["no failures", { rounds: 12, failureProbability: 0, slowNodes: [], slowSkipProbability: 0 }],
    ["crashed nodes", { rounds: 15, failureProbability: 0.33, slowNodes: [], slowSkipProbability: 0 }],
    ["slow nodes", { rounds: 15, failureProbability: 0, slowNodes: [3], slowSkipProbability: 0.7 }],
    ["crashed and slow nodes", { rounds: 15, failureProbability: 0.2, slowNodes: [1], slowSkipProbability: 0.5 }],
  ];

  for (const [name, options] of setups) {
    it(`commits an identical sequence for 300 orders of each of 12 DAGs (${name})`, () => {
      let committedTotal = 0;
      for (let d = 0; d < 12; d++) {
        const seed = 1000 * d + options.rounds;
        const rand = prng(seed);
        const builder = new DagBuilder(committee, keys);
        randomDag(builder, rand, options);
        const certs = builder.all();
        const gcDepth = 3 + Math.floor(rand() * 6); // small, so garbage collection happens mid-run
        const reference = commitSequence(committee, gcDepth, certs);
        for (let p = 0; p < 300; p++) {
          const got = commitSequence(committee, gcDepth, randomCausalOrder(certs, rand));
          if (got.join() !== reference.join()) {
            expect.fail(`fork: seed ${seed} order ${p}: ${got.length} vs ${reference.length} committed`);
          }
        }
        const digests = reference.map((s) => s.split(":")[1]);
        expect(new Set(digests).size).to.equal(digests.length, "a certificate committed twice");
        committedTotal += reference.length;
      }
      expect(committedTotal).to.be.greaterThan(12 * 10, "the DAGs should commit something");
    });
  }
});
