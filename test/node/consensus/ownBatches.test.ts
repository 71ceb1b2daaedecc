/**
 * Re-proposing own batches (docs/consensus.md "Re-proposing own batches"): an honest node never
 * gets one batch into two committed certificates, and loses none. Random DAGs are built round by
 * round through a real Bullshark; node 0 is slow (others often leave its certificate out) and
 * sometimes fails to certify its header, and each of its headers carries a new batch plus what
 * {@link OwnBatches} hands back for re-proposal.
 */
import { expect } from "chai";
import { Bullshark } from "../../../node/consensus/bullshark/bullshark";
import { OwnBatches } from "../../../node/consensus/primary/ownBatches";
import { Certificate, hex } from "../../../node/consensus/types/messages";
import { prng } from "../../../testkit/prng";
import { DagBuilder, testCommittee } from "./dagFixtures";

const ME = 0;

function digest(n: number): Buffer {
  const d = Buffer.alloc(32);
  d.writeUInt32BE(n);
  return d;
}

describe("OwnBatches: re-proposal of own batches through Bullshark", function () {
  this.timeout(60_000);
  const { committee, keys } = testCommittee(4);
  const quorum = committee.quorumThreshold;

  it("a batch of ours is committed at most once and every one is committed or still pending (120 random DAGs)", () => {
    let requeued = 0;
    let committedAfterRequeue = 0;
    let committedOnce = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const rand = prng(seed);
      const gcDepth = 3 + Math.floor(rand() * 6);
      const builder = new DagBuilder(committee, keys);
      const bullshark = new Bullshark(committee, gcDepth);
      const own = new OwnBatches(ME, gcDepth);
      const commits = new Map<string, number>();
      const wasRequeued = new Set<string>();
      let queue: Buffer[] = [];
      /** Payload of our last header if it was never certified: the next one takes it over. */
      let uncertified: { round: number; payload: Buffer[] } | undefined;
      let next = 0;
      const rounds = 40;
      for (let r = 1; r <= rounds; r++) {
        const prev = [...builder.rounds[r - 1].keys()];
        const payload = [...(uncertified?.payload ?? []), ...queue, digest(next++)];
        queue = [];
        if (uncertified) own.moved(uncertified.round);
        own.proposed(r, payload);
        const certifiedOurs = rand() < 0.8 || !prev.includes(ME);
        uncertified = certifiedOurs ? undefined : { round: r, payload };
        const authors = [...Array(committee.size).keys()].filter((a) => a !== ME || certifiedOurs);
        const certs: Certificate[] = [];
        for (const a of authors) {
          const parents = new Set<number>(prev.includes(a) ? [a] : []);
          for (const p of [...prev].sort(() => rand() - 0.5)) {
            if (p === ME && a !== ME && rand() < 0.7 && prev.length - 1 >= quorum) continue; // we are slow
            if (parents.size < quorum || rand() < 0.3) parents.add(p);
          }
          for (const p of prev) if (parents.size < quorum) parents.add(p);
          certs.push(builder.add(r, a, [...parents], a === ME ? payload : [digest(1e6 + r * 10 + a)]));
        }
        for (const c of certs.sort(() => rand() - 0.5)) {
          for (const sub of bullshark.processCertificate(c)) {
            for (const cc of sub.certificates) {
              if (cc.header.author !== ME) continue;
              for (const d of cc.header.payload) {
                const k = hex(d);
                commits.set(k, (commits.get(k) ?? 0) + 1);
                if (wasRequeued.has(k)) committedAfterRequeue++;
              }
            }
            const again = own.committed(sub.leader.header.round, sub.certificates, uncertified?.round);
            for (const d of again) wasRequeued.add(hex(d));
            requeued += again.length;
            queue.push(...again);
          }
        }
      }
      for (const [k, n] of commits) expect(n, `seed ${seed}: batch ${k.slice(0, 8)} committed ${n} times`).to.equal(1);
      committedOnce += commits.size;
      // Nothing lost: every batch not committed is still somewhere it will be proposed from.
      const pending = new Set([...queue, ...(uncertified?.payload ?? [])].map(hex));
      const lastRounds = [...builder.rounds.slice(-gcDepth - 3)].flatMap((m) => [...m.values()]).filter((c) => c.header.author === ME);
      for (const c of lastRounds) for (const d of c.header.payload) pending.add(hex(d));
      for (let n = 0; n < next; n++) {
        const k = hex(digest(n));
        expect(commits.has(k) || pending.has(k), `seed ${seed}: batch ${n} lost`).to.equal(true);
      }
    }
    // The cases the rule exists for happened: headers of ours that died, whose batches committed later.
    expect(requeued, "batches re-proposed").to.be.greaterThan(20);
    expect(committedAfterRequeue, "re-proposed batches committed").to.be.greaterThan(20);
    expect(committedOnce).to.be.greaterThan(120 * 10);
  });

  it("after a restart, a header at or below our last committed round is settled and not proposed again", () => {
    const own = new OwnBatches(ME, 5, 12);
    expect(own.settled(12)).to.equal(true);
    expect(own.settled(13)).to.equal(false);
    own.proposed(12, [digest(1)]);
    expect(own.size).to.equal(0);
    own.proposed(14, [digest(2)]);
    expect(own.size).to.equal(1);
    // A commit at leader round 20 (GC round 15) makes the header of round 14 dead: its batch comes back once.
    expect(own.committed(20, []).map(hex)).to.deep.equal([hex(digest(2))]);
    expect(own.committed(22, [])).to.deep.equal([]);
  });
});
