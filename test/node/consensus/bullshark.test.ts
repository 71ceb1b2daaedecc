import { expect } from "chai";
import { Bullshark, CommittedSubDag } from "../../../node/consensus/bullshark/bullshark";
import { Certificate } from "../../../node/consensus/types/messages";
import { DagBuilder, testCommittee } from "./dagFixtures";

/** Feeds certificates in order and collects every committed sub-DAG. */
function run(bullshark: Bullshark, certs: Certificate[]): CommittedSubDag[] {
  return certs.flatMap((c) => bullshark.processCertificate(c));
}

const rounds = (s: CommittedSubDag) => s.certificates.map((c) => c.header.round);

describe("Bullshark on hand-built DAGs", () => {
  const { committee, keys } = testCommittee(4);
  const all = [0, 1, 2, 3];
  // Round-robin leaders: round 2 → 1, round 4 → 2, round 6 → 3, round 8 → 0.

  it("commits one leader once f+1 round-3 certificates reference it", () => {
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 2, all);
    const b = new Bullshark(committee, 50);
    expect(run(b, dag.all())).to.deep.equal([]);
    expect(b.processCertificate(dag.add(3, 0))).to.deep.equal([], "one vote is below f+1 = 2");
    const out = b.processCertificate(dag.add(3, 2));
    expect(out).to.have.length(1);
    expect(out[0].index).to.equal(1);
    expect(out[0].leader).to.equal(dag.get(2, committee.leader(2)));
    expect(rounds(out[0])).to.deep.equal([1, 1, 1, 1, 2]);
    expect(out[0].certificates.at(-1)).to.equal(out[0].leader);
    expect(b.lastCommittedRound).to.equal(2);
    // Further support for an already committed leader changes nothing.
    expect(b.processCertificate(dag.add(3, 3))).to.deep.equal([]);
  });

  it("skips a missing leader and commits the next one with the whole history", () => {
    const dag = new DagBuilder(committee, keys);
    const leader2 = committee.leader(2);
    dag.fullRounds(1, 1, all);
    dag.fullRounds(
      2,
      2,
      all.filter((a) => a !== leader2),
    );
    dag.fullRounds(3, 4, all);
    const b = new Bullshark(committee, 50);
    expect(run(b, dag.all())).to.deep.equal([]);
    const out = run(b, [dag.add(5, 0), dag.add(5, 1)]);
    expect(out).to.have.length(1);
    expect(out[0].leader).to.equal(dag.get(4, committee.leader(4)));
    expect(rounds(out[0])).to.deep.equal([1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4]);
  });

  it("does not commit a leader with a single vote, then orders it first when a later leader links to it", () => {
    const dag = new DagBuilder(committee, keys);
    const leader2 = committee.leader(2);
    const others = all.filter((a) => a !== leader2);
    dag.fullRounds(1, 2, all);
    dag.add(3, 0, all); // the only round-3 certificate that references leader 2
    for (const a of [1, 2, 3]) dag.add(3, a, others);
    const b = new Bullshark(committee, 50);
    expect(run(b, dag.all())).to.deep.equal([], "leader 2 has 1 vote < f+1");
    dag.fullRounds(4, 4, all);
    const out = run(b, [...dag.rounds[4].values(), dag.add(5, 0), dag.add(5, 1)]);
    expect(out.map((s) => s.leader)).to.deep.equal([dag.get(2, leader2), dag.get(4, committee.leader(4))]);
    expect(out.map((s) => s.index)).to.deep.equal([1, 2]);
    expect(rounds(out[0])).to.deep.equal([1, 1, 1, 1, 2]);
    expect(rounds(out[1])).to.deep.equal([2, 2, 2, 3, 3, 3, 3, 4]);
  });

  it("never commits a leader that no later leader can reach", () => {
    const dag = new DagBuilder(committee, keys);
    const leader2 = committee.leader(2);
    const others = all.filter((a) => a !== leader2);
    dag.fullRounds(1, 2, all);
    for (const a of all) dag.add(3, a, others);
    dag.fullRounds(4, 4, all);
    dag.add(5, 0);
    dag.add(5, 1);
    const out = run(new Bullshark(committee, 50), dag.all());
    expect(out.map((s) => s.leader.header.round)).to.deep.equal([4]);
    const committed = out.flatMap((s) => s.certificates);
    expect(committed).to.not.include(dag.get(2, leader2));
  });

  it("keeps committing with a dead node (its turn as leader is skipped)", () => {
    const dag = new DagBuilder(committee, keys);
    const dead = committee.leader(6);
    const alive = all.filter((a) => a !== dead);
    dag.fullRounds(1, 9, alive);
    const out = run(new Bullshark(committee, 50), dag.all());
    expect(out.map((s) => s.leader.header.round)).to.deep.equal([2, 4, 8]);
    const committed = out.flatMap((s) => s.certificates);
    expect(committed.every((c) => c.header.author !== dead)).to.equal(true);
    // Everything up to round 8 is committed exactly once.
    expect(committed).to.have.length(new Set(committed).size);
    expect(committed.filter((c) => c.header.round <= 7)).to.have.length(7 * 3);
  });

  it("resumes from a persisted state without re-committing", () => {
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 5, all);
    const first = new Bullshark(committee, 50);
    const before = run(first, dag.all());
    expect(before.map((s) => s.leader.header.round)).to.deep.equal([2, 4]);
    dag.fullRounds(6, 7, all);
    // A restarted node replays its stored certificates into a Bullshark built from the saved state.
    const restarted = new Bullshark(committee, 50, first.state());
    const after = run(restarted, dag.all());
    expect(after.map((s) => [s.index, s.leader.header.round])).to.deep.equal([[3, 6]]);
    // The round-4 non-leaders were not in leader 4's history, so leader 6 commits them.
    expect(rounds(after[0])).to.deep.equal([4, 4, 4, 5, 5, 5, 5, 6]);
    // Exactly what the node would have committed had it never stopped.
    const continued = run(first, [...dag.rounds[6].values(), ...dag.rounds[7].values()]);
    expect(continued.map((s) => s.certificates.map((c) => c.digest))).to.deep.equal(after.map((s) => s.certificates.map((c) => c.digest)));
  });

  it("reports an equivocating certificate and keeps the first", () => {
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 1, all);
    const b = new Bullshark(committee, 50);
    const rejected: string[] = [];
    b.onReject = (_c, why) => rejected.push(why);
    run(b, dag.all());
    const twin = dag.add(1, 0, [0, 1, 2]); // a second round-1 certificate from author 0
    expect(b.processCertificate(twin)).to.deep.equal([]);
    expect(rejected).to.deep.equal(["equivocation"]);
  });
});
