/**
 * Re-proposing own batches (docs/consensus.md "Re-proposing own batches"): an honest node never
 * gets one batch into two committed certificates, and loses none. Random DAGs are built round by
 * round through a real Bullshark; node 0 is slow (others often leave its certificate out) and
 * sometimes fails to certify its header, and each of its headers carries a new batch plus what
 * {@link OwnBatches} hands back, as the primary does. Some runs also kill node 0 between the
 * broadcast of its certificate and the write of it, and restart it from its headers that may
 * still commit (primary.log keeps them).
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

/** What one random DAG did to node 0's batches. */
interface Run {
  /** Times each batch of node 0 was committed, by hex digest. */
  commits: Map<string, number>;
  /** Batches created. */
  created: number;
  /** Batches still waiting in node 0's last headers or queue when the run ended. */
  waiting: Set<string>;
  requeued: number;
  committedAfterRequeue: number;
  crashes: number;
  /** Crashes where the header left without a stored certificate was committed after all. */
  uncertainCommitted: number;
  /** Crashes where that header died and its batches were committed through a later header. */
  uncertainRequeued: number;
}

describe("OwnBatches: re-proposal of own batches through Bullshark", function () {
  this.timeout(60_000);
  const { committee, keys } = testCommittee(4);
  const quorum = committee.quorumThreshold;

  /**
   * 40 random rounds then `calm` rounds where every certificate references all of the round
   * below (so what is pending gets committed). With `crashRate`, node 0 may be killed right after
   * proposing (and maybe certifying and broadcasting) its header of a random round and before
   * storing its certificate: it restarts as the primary does, from Bullshark's state and its
   * headers above its last committed round and the GC round (those primary.log keeps), with no
   * certificate of the last one.
   */
  function drive(seed: number, crashRate: number, calm: number): Run {
    const rand = prng(seed);
    const gcDepth = 3 + Math.floor(rand() * 6);
    const builder = new DagBuilder(committee, keys);
    const bullshark = new Bullshark(committee, gcDepth);
    let own = new OwnBatches(ME, gcDepth);
    const run: Run = {
      commits: new Map(),
      created: 0,
      waiting: new Set(),
      requeued: 0,
      committedAfterRequeue: 0,
      crashes: 0,
      uncertainCommitted: 0,
      uncertainRequeued: 0,
    };
    const wasRequeued = new Set<string>();
    const payloads = new Map<number, Buffer[]>();
    let queue: Buffer[] = [];
    let uncertain: { round: number; batches: Set<string> } | undefined;
    const rounds = 40;
    for (let r = 1; r <= rounds + calm; r++) {
      const random = r <= rounds;
      const prev = [...builder.rounds[r - 1].keys()];
      const payload = [...(r > 1 ? own.superseded(r - 1) : []), ...queue, digest(run.created++)];
      queue = [];
      own.proposed(r, payload);
      payloads.set(r, payload);
      const certifiedOurs = !random || rand() < 0.8 || !prev.includes(ME);
      if (certifiedOurs) own.certified(r);
      if (random && crashRate > 0 && rand() < crashRate) {
        // Killed now: what only memory held is gone. The header of round r is in primary.log
        // (written before its broadcast); its certificate, if formed, reached the peers only.
        // So are the older headers that may still commit, certified or not.
        run.crashes++;
        const committed = bullshark.state().lastCommitted[ME];
        const live = [...payloads].filter(([round]) => round > Math.max(committed, bullshark.gcRound)).map(([round, p]) => ({ round, payload: p }));
        own = new OwnBatches(ME, gcDepth, committed);
        own.restored(live);
        uncertain = { round: r, batches: new Set(payload.map(hex)) };
      }
      const authors = [...Array(committee.size).keys()].filter((a) => a !== ME || certifiedOurs);
      const certs: Certificate[] = [];
      for (const a of authors) {
        const parents = new Set<number>(prev.includes(a) ? [a] : []);
        for (const p of [...prev].sort(() => rand() - 0.5)) {
          if (!random) parents.add(p);
          else if (p === ME && a !== ME && rand() < 0.7 && prev.length - 1 >= quorum)
            continue; // we are slow
          else if (parents.size < quorum || rand() < 0.3) parents.add(p);
        }
        for (const p of prev) if (parents.size < quorum) parents.add(p);
        certs.push(builder.add(r, a, [...parents], a === ME ? payload : [digest(1e6 + r * 10 + a)]));
      }
      for (const c of certs.sort(() => rand() - 0.5)) {
        for (const sub of bullshark.processCertificate(c)) {
          for (const cc of sub.certificates) {
            if (cc.header.author !== ME) continue;
            if (cc.header.round === uncertain?.round) run.uncertainCommitted++;
            for (const d of cc.header.payload) {
              const k = hex(d);
              run.commits.set(k, (run.commits.get(k) ?? 0) + 1);
              if (wasRequeued.has(k)) run.committedAfterRequeue++;
              if (cc.header.round !== uncertain?.round && uncertain?.batches.delete(k) && uncertain.batches.size === 0) run.uncertainRequeued++;
            }
          }
          const again = own.committed(sub.leader.header.round, sub.certificates);
          for (const d of again) wasRequeued.add(hex(d));
          run.requeued += again.length;
          queue.push(...again);
        }
      }
    }
    // Not committed yet: carried by a header of ours that can still commit, or queued.
    const alive = Math.max(bullshark.state().lastCommitted[ME], bullshark.gcRound);
    for (const [round, p] of payloads) if (round > alive) for (const d of p) run.waiting.add(hex(d));
    for (const d of queue) run.waiting.add(hex(d));
    return run;
  }

  /** Each batch committed at most once; one not committed is waiting. */
  function checkBatches(seed: number, run: Run): void {
    for (const [k, n] of run.commits) expect(n, `seed ${seed}: batch ${k.slice(0, 8)} committed ${n} times`).to.equal(1);
    for (let n = 0; n < run.created; n++) {
      const k = hex(digest(n));
      expect(run.commits.has(k) || run.waiting.has(k), `seed ${seed}: batch ${n} lost`).to.equal(true);
    }
  }

  it("a batch of ours is committed at most once and every one is committed or still pending (120 random DAGs)", () => {
    let requeued = 0;
    let committedAfterRequeue = 0;
    let committedOnce = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const run = drive(seed, 0, 0);
      checkBatches(seed, run);
      requeued += run.requeued;
      committedAfterRequeue += run.committedAfterRequeue;
      committedOnce += run.commits.size;
    }
    // The cases the rule exists for happened: headers of ours that died, whose batches committed later.
    expect(requeued, "batches re-proposed").to.be.greaterThan(20);
    expect(committedAfterRequeue, "re-proposed batches committed").to.be.greaterThan(20);
    expect(committedOnce).to.be.greaterThan(120 * 10);
  });

  it("killed between broadcasting its certificate and storing it, node 0 commits each batch of that header exactly once (120 random DAGs)", () => {
    let crashes = 0;
    let uncertainCommitted = 0;
    let uncertainRequeued = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const run = drive(1000 + seed, 0.1, 20);
      checkBatches(seed, run);
      // After the calm rounds nothing but the last headers' batches is left waiting.
      expect(run.waiting.size, `seed ${seed}: batches still waiting`).to.be.lessThan(10);
      crashes += run.crashes;
      uncertainCommitted += run.uncertainCommitted;
      uncertainRequeued += run.uncertainRequeued;
    }
    expect(crashes, "crashes").to.be.greaterThan(100);
    // Both fates of the header left without a stored certificate happened: committed as it was
    // (then the next header must not carry its batches), or dead (then they must come back).
    expect(uncertainCommitted, "uncertain headers committed").to.be.greaterThan(10);
    expect(uncertainRequeued, "uncertain headers re-proposed and committed").to.be.greaterThan(10);
  });

  it("after a restart, a header at or below our last committed round is settled and not proposed again", () => {
    const own = new OwnBatches(ME, 5, 12);
    expect(own.settled(12)).to.equal(true);
    expect(own.settled(13)).to.equal(false);
    own.restored([{ round: 12, payload: [digest(1)] }]);
    expect(own.size).to.equal(0);
    own.restored([{ round: 14, payload: [digest(2)] }]);
    expect(own.size).to.equal(1);
    // A commit at leader round 20 (GC round 15) makes the header of round 14 dead: its batch comes back once.
    expect(own.committed(20, []).map(hex)).to.deep.equal([hex(digest(2))]);
    expect(own.committed(22, [])).to.deep.equal([]);
  });

  it("after a restart, the last header is not taken over by the next one: it may have been certified", () => {
    const own = new OwnBatches(ME, 5, 0);
    own.restored([{ round: 7, payload: [digest(1)] }]);
    expect(own.superseded(7)).to.deep.equal([]);
    own.proposed(8, [digest(2)]);
    // A header of this process never certified is taken over by the next one...
    expect(own.superseded(8).map(hex)).to.deep.equal([hex(digest(2))]);
    own.proposed(9, [digest(2)]);
    own.certified(9);
    expect(own.superseded(9)).to.deep.equal([]);
    // ... the restored one waits for its fate: a commit of our round-9 certificate makes it dead.
    const builder = new DagBuilder(committee, keys);
    for (let r = 1; r <= 9; r++) builder.add(r, ME, [...builder.rounds[r - 1].keys()]);
    expect(own.committed(10, [builder.get(9, ME)]).map(hex)).to.deep.equal([hex(digest(1))]);
    expect(own.size).to.equal(0);
  });

  it("after a restart, a batch carried by several restored headers stays with the latest: an older one dying again does not bring it back", () => {
    // Round 5 was superseded before it was certified: its batch 1 moved into round 6.
    const own = new OwnBatches(ME, 5, 4);
    own.restored([
      { round: 6, payload: [digest(1), digest(2)] },
      { round: 5, payload: [digest(1), digest(3)] },
    ]);
    expect(own.size).to.equal(2);
    const builder = new DagBuilder(committee, keys);
    for (let r = 1; r <= 6; r++) builder.add(r, ME, [...builder.rounds[r - 1].keys()]);
    // Our round-6 certificate commits: round 5 is dead, and only what no later header carries comes back.
    expect(own.committed(6, [builder.get(6, ME)]).map(hex)).to.deep.equal([hex(digest(3))]);
    expect(own.size).to.equal(0);
  });
});
