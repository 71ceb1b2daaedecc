/**
 * Four node processes over loopback sockets: they commit one identical sequence, survive a crash
 * and restart of one node, and keep going across an epoch change that swaps a member.
 */
import { expect } from "chai";
import { SubmitStatus } from "../../../node/client/protocol";
import { writeCommittee } from "../../../node/clusterConfigs";
import { Cluster, expectMemberSwap, payloads, waitFor } from "./cluster";

/** Asserts every sequence is a prefix of the longest, and returns the longest. */
function assertSamePrefix(sequences: string[][]): string[] {
  const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a));
  for (const s of sequences) expect(s).to.deep.equal(longest.slice(0, s.length));
  expect(new Set(longest).size).to.equal(longest.length, "a transaction was committed twice");
  return longest;
}

describe("consensus cluster (4 processes over loopback)", function () {
  this.timeout(120_000);
  let cluster: Cluster | undefined;
  afterEach(async () => {
    if (this.ctx.currentTest?.state === "failed") {
      for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-3000));
    }
    await cluster?.stop();
  });

  it("commits the same sequence on every node, with every transaction exactly once", async () => {
    cluster = await Cluster.create(4);
    await cluster.start();
    const all: string[] = [];
    for (let wave = 0; wave < 3; wave++) {
      await Promise.all(
        cluster.nodes.map((n, i) => {
          const p = payloads(`w${wave}n${i}`, 40);
          all.push(...p.map((x) => `1/${x}`));
          return n.submitAll(p);
        }),
      );
    }
    // Admission: a forged signature and an oversized transaction are refused, nothing else changes.
    const forged = await cluster.nodes[0].client!.submit([Buffer.alloc(200, 1)]);
    expect([forged.status, forged.reason]).to.deep.equal([SubmitStatus.Invalid, "transaction 0: bad transaction signature"]);
    const huge = await cluster.nodes[1].submit(["x".repeat(70_000)]);
    expect(huge.status).to.equal(SubmitStatus.Invalid);
    expect(huge.reason).to.match(/above 65536/);
    await waitFor(
      "all transactions committed everywhere",
      () => cluster!.nodes.every((n) => n.committed.length >= all.length),
      30_000,
      () => cluster!.nodes.map((n) => n.committed.length),
    );
    const sequence = assertSamePrefix(cluster.nodes.map((n) => n.committed));
    expect([...sequence].sort()).to.deep.equal([...all].sort());
  });

  it("keeps committing with a node killed, and the restarted node catches up and proposes again", async () => {
    cluster = await Cluster.create(4);
    await cluster.start();
    const [a, b, c, d] = cluster.nodes;
    await d.submitAll(payloads("before", 20));
    await waitFor("first transactions", () => a.committed.length >= 20);
    await d.stop("SIGKILL");
    await Promise.all([a, b, c].map((n, i) => n.submitAll(payloads(`down${i}`, 30))));
    await waitFor("progress without node 3", () => a.committed.length >= 110 && c.committed.length >= 110);
    await new Promise((r) => setTimeout(r, 1500)); // let the others move well ahead

    await d.start();
    await d.subscribe();
    await d.submitAll(payloads("after", 25));
    const after = () => [a, d].map((n) => n.committed.filter((x) => x.startsWith("1/after")).length);
    await waitFor("restarted node's new transactions committed", () => after().every((k) => k === 25), 30_000, after);
    await waitFor(
      "restarted node replayed everything",
      () => d.committed.length >= 135,
      30_000,
      () => d.committed.length,
    );
    assertSamePrefix(cluster.nodes.map((n) => n.committed));
    expect(d.committed.slice(0, 20)).to.deep.equal(a.committed.slice(0, 20));
  });

  it("follows an epoch change that swaps a member: the leaver stops, the joiner starts from genesis", async () => {
    cluster = await Cluster.create(5, { members: 4 });
    await cluster.start();
    const [a, , , leaver, joiner] = cluster.nodes;
    expect((await joiner.submit(["early"])).status).to.equal(SubmitStatus.Unavailable);
    await a.submitAll(payloads("epoch1", 10));
    await waitFor("epoch 1 commits", () => joiner.committed.length === 0 && a.committed.length >= 10);

    const members = cluster.configs.nodes.map((x) => x.member);
    writeCommittee(cluster.configs.committeeFile, 2, [members[0], members[1], members[2], members[4]]);
    await expectMemberSwap(a, leaver, joiner);
  });
});
