import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256, toUtf8Bytes } from "ethers";
import { beaconCommitment, beaconMix, committeeSeed, selectActiveSet, selectCommittee, drawCommittee } from "../../protocol/committee";
import { computeReputation, defaultScore, filteredWeightedMean, reputationRoot, type PeerMeasurement } from "../../protocol/reputation";
import {
  BOOST_SCALE,
  buildRewardsTree,
  claimAmount,
  flkWeight,
  lockBoost,
  rewardLeaves,
  rewardProof,
  splitAgentRevenue,
  splitDebits,
  splitEpochRevenue,
  DEFAULT_AGENT_SPLIT,
  REWARD_LEAF_TYPES,
} from "../../protocol/rewards";
import { agentService, NO_SERVICE, ServiceKind } from "../../protocol/usage";
import { orderSignatures, quorum } from "../../protocol/report";
import { checkEpochReport, completeEpochReport } from "../../protocol/reportRoots";

const A = "0x00000000000000000000000000000000000000aA";
const B = "0x00000000000000000000000000000000000000bB";

describe("protocol: rewards", () => {
  it("boosts by min(4, 1 + 3 × remaining / 1460)", () => {
    expect(lockBoost(0n)).to.equal(BOOST_SCALE);
    expect(lockBoost(-5n)).to.equal(BOOST_SCALE);
    expect(lockBoost(1n)).to.equal(1_002_054n);
    expect(lockBoost(730n)).to.equal(2_500_000n);
    expect(lockBoost(1460n)).to.equal(4_000_000n);
    expect(lockBoost(5000n)).to.equal(4_000_000n);
  });

  it("weighs revenue × boost × reputation / 100 and sums each owner's nodes into one leaf", () => {
    expect(flkWeight({ revenue: 200n, remainingLockEpochs: 730n, reputation: 50 })).to.equal(250_000_000n);
    const leaves = rewardLeaves([
      { owner: B, revenue: 10n, remainingLockEpochs: 0n, reputation: 100 },
      { owner: A, revenue: 200n, remainingLockEpochs: 730n, reputation: 50 },
      { owner: B.toLowerCase(), revenue: 5n, remainingLockEpochs: 1460n, reputation: 10 },
      { owner: "0x00000000000000000000000000000000000000cc", revenue: 0n, remainingLockEpochs: 1460n, reputation: 100 },
    ]);
    expect(leaves).to.deep.equal([
      { account: A, flkWeight: 250_000_000n, usdcWeight: 200n },
      { account: B, flkWeight: 10_000_000n + 2_000_000n, usdcWeight: 15n },
    ]);
  });

  it("builds an OpenZeppelin StandardMerkleTree whose proofs verify", () => {
    const tree = buildRewardsTree([
      { account: A, flkWeight: 3n, usdcWeight: 4n },
      { account: B, flkWeight: 5n, usdcWeight: 0n },
    ]);
    expect(tree.totalFlkWeight).to.equal(8n);
    expect(tree.totalUsdcWeight).to.equal(4n);
    const { leaf, proof } = rewardProof(tree, B);
    expect(StandardMerkleTree.verify(tree.root, [...REWARD_LEAF_TYPES], [leaf.account, leaf.flkWeight, leaf.usdcWeight], proof)).to.equal(true);
    expect(buildRewardsTree([]).root).to.equal(`0x${"00".repeat(32)}`);
  });

  it("pays pool × weight / total, rounded down, never more than the pool", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 30n }), { minLength: 1, maxLength: 20 }),
        fc.bigInt({ min: 0n, max: 10n ** 27n }),
        (weights, pool) => {
          const total = weights.reduce((s, w) => s + w, 0n);
          const paid = weights.reduce((s, w) => s + claimAmount(pool, w, total), 0n);
          return paid <= pool && (total === 0n || pool - paid < BigInt(weights.length));
        },
      ),
    );
    expect(splitDebits(101n, 8_000n)).to.deep.equal({ toNodes: 80n, toBuyback: 21n });
  });

  it("splits agent revenue 20/70/10 by default, the nodes keeping the rounding", () => {
    expect(splitAgentRevenue(1_000_000n, DEFAULT_AGENT_SPLIT)).to.deep.equal({ toNodes: 200_000n, toOwner: 700_000n, toProtocol: 100_000n });
    expect(splitAgentRevenue(333n, DEFAULT_AGENT_SPLIT)).to.deep.equal({ toNodes: 67n, toOwner: 233n, toProtocol: 33n });
    expect(agentService(258)).to.equal(`0x${"00".repeat(30)}0102`);
  });

  it("splits an epoch: agents summed across nodes, unknown agents and the rest by the node share", () => {
    const charges = [
      { kind: ServiceKind.Content, service: NO_SERVICE, amount: 500n },
      { kind: ServiceKind.Agent, service: agentService(1), amount: 600n },
      { kind: ServiceKind.Agent, service: agentService(3), amount: 100n },
      { kind: ServiceKind.Agent, service: agentService(1), amount: 400n },
    ];
    // Agent 3 is unknown (2 registered): 600 of other revenue at 80%, agent 1's 1,000 at 20/70/10.
    const split = splitEpochRevenue(1_600n, charges, 8_000n, DEFAULT_AGENT_SPLIT, 2n);
    expect(split).to.deep.equal({
      toNodes: 480n + 200n,
      toBuyback: 120n,
      toMarketplace: 800n,
      agents: [{ agentId: 1n, amount: 1_000n, toNodes: 200n, toOwner: 700n, toProtocol: 100n }],
    });
    // With room for one agent only, agent 2 (second in report order) is plain revenue: 600 at 20/70/10, 100 at 80/20.
    const bounded = splitEpochRevenue(
      700n,
      [charges[1], { kind: ServiceKind.Agent, service: agentService(2), amount: 100n }],
      8_000n,
      DEFAULT_AGENT_SPLIT,
      2n,
      1,
    );
    expect([bounded.toNodes, bounded.toBuyback, bounded.toMarketplace, bounded.agents.length]).to.deep.equal([120n + 80n, 20n, 480n, 1]);
  });
});

describe("protocol: reputation", () => {
  it("drops values beyond 3σ without renormalising the weights", () => {
    const values = [...Array(10).fill(10), 1000];
    const weights = values.map(() => 1 / 11);
    expect(filteredWeightedMean(values, weights)).to.be.closeTo(100 / 11, 1e-12);
    expect(filteredWeightedMean([7], [1])).to.equal(7);
    expect(filteredWeightedMean([1, 3], [0.25, 0.75])).to.equal(2.5);
  });

  it("defaults a missing score to the 15th percentile of the known ones, or 15", () => {
    expect(defaultScore([])).to.equal(15);
    expect(defaultScore([90, 10, 50, 70, 30, 20, 40])).to.equal(20);
  });

  it("scores min-max normalised metrics 0-100, smoothed 0.7 old + 0.3 new; unscored nodes decay", () => {
    const reporters = [4, 5, 6, 7];
    const rows: Array<[number, number, number, number]> = [
      [1, 10, 100, 1000],
      [2, 20, 50, 500],
      [3, 30, 0, 0],
    ];
    const ms: PeerMeasurement[] = [];
    for (const [peer, latency, uptime, bytesSent] of rows) for (const reporter of reporters) ms.push({ reporter, peer, latency, uptime, bytesSent });
    for (const reporter of [4, 5, 6]) ms.push({ reporter, peer: 8, latency: 5, uptime: 100, bytesSent: 10 });
    ms.push({ reporter: 1, peer: 1, latency: 0, uptime: 100, bytesSent: 1e9 }); // self-reports are ignored
    const previous = new Map([1, 2, 3, 4, 5, 6, 7, 8].map((id) => [id, 50]));
    const scores = computeReputation([1, 2, 3, 8, 9], ms, previous);
    expect([...scores.entries()]).to.deep.equal([
      [1, 65],
      [2, 50],
      [3, 35],
      [8, 35],
      [9, 35],
    ]);
  });

  it("weighs reports by the reporters' reputation (inverted for latency)", () => {
    const ms: PeerMeasurement[] = [];
    const peers = [1, 2];
    // Reporter 10 (reputation 90) sees peer 1 up, reporters 11-13 (reputation 10) see it down.
    for (const peer of peers) {
      ms.push({ reporter: 10, peer, uptime: peer === 1 ? 100 : 0, bytesSent: peer, interactions: peer });
      for (const reporter of [11, 12, 13]) ms.push({ reporter, peer, uptime: peer === 1 ? 0 : 100, bytesSent: peer, interactions: peer });
    }
    const previous = new Map([
      [10, 90],
      [11, 10],
      [12, 10],
      [13, 10],
      [1, 0],
      [2, 0],
    ]);
    const scores = computeReputation(peers, ms, previous);
    // Peer 1: uptime 100 × 90/120 = 75 → 0.75; bytes and interactions normalise to 0: (0.75 + 0 + 0) / 3 → 25 → 0.3 × 25.
    expect(scores.get(1)).to.equal(7);
    // Peer 2: uptime 0.25, the others 1: (0.25 + 1 + 1) / 3 = 75 → 0.3 × 75 = 22.5.
    expect(scores.get(2)).to.equal(22);
  });

  it("always yields integers 0-100 for every node asked, whatever the reports", () => {
    const metric = fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined });
    const m = fc.record({
      reporter: fc.integer({ min: 1, max: 8 }),
      peer: fc.integer({ min: 1, max: 8 }),
      latency: metric,
      uptime: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      bytesSent: metric,
      interactions: metric,
    });
    fc.assert(
      fc.property(fc.array(m, { maxLength: 80 }), fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 8, maxLength: 8 }), (ms, prev) => {
        const previous = new Map(prev.map((p, i) => [i + 1, p]));
        const nodes = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        const scores = computeReputation(nodes, ms, previous, { minReports: 2, ewmaWeight: 0.7, minMetrics: 3 });
        expect([...scores.keys()]).to.deep.equal(nodes);
        for (const v of scores.values()) expect(Number.isInteger(v) && v >= 0 && v <= 100).to.equal(true);
        expect(computeReputation(nodes, ms, previous, { minReports: 2, ewmaWeight: 0.7, minMetrics: 3 })).to.deep.equal(scores);
      }),
      { numRuns: 200 },
    );
  });

  it("roots the scores in a Merkle tree of (nodeId, score)", () => {
    const root = reputationRoot(
      new Map([
        [2, 40],
        [1, 99],
      ]),
    );
    expect(root).to.equal(
      StandardMerkleTree.of(
        [
          [1, 99],
          [2, 40],
        ],
        ["uint32", "uint8"],
      ).root,
    );
  });
});

describe("protocol: committee and report helpers", () => {
  it("draws exactly as the registry's Selection.draw, each id at most once", async () => {
    // A linked library's pure functions answer plain calls: the deployed library is its own harness.
    const selection = await hre.ethers.deployContract("Selection");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 1n, max: 1_000_000n }), { minLength: 2, maxLength: 60 }),
        fc.integer({ min: 1, max: 59 }),
        fc.string(),
        async (weights, k, s) => {
          const size = Math.min(k, weights.length - 1);
          const ids = weights.map((_, i) => i * 3 + 1);
          const seed = keccak256(toUtf8Bytes(s));
          const local = drawCommittee(ids, weights, size, seed);
          expect(local).to.deep.equal((await selection.draw(ids, weights, size, seed)).map(Number));
          expect(new Set(local).size).to.equal(size);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("seeds from the XOR of reveals, whatever their order", () => {
    const s1 = keccak256(toUtf8Bytes("a"));
    const s2 = keccak256(toUtf8Bytes("b"));
    expect(committeeSeed(3n, [s1, s2])).to.equal(committeeSeed(3n, [s2, s1]));
    expect(beaconMix([s1, s1])).to.equal(`0x${"00".repeat(32)}`);
    expect(beaconCommitment(1n, 2, s1)).to.not.equal(beaconCommitment(1n, 3, s1)); // bound to the node (no copied commits)
    expect(selectCommittee([5, 6, 7], [1n, 1n, 1n], 3, s1)).to.deep.equal([5, 6, 7]);
  });

  it("keeps the top stakes, earlier candidates winning ties, and drops under-staked ones", () => {
    const c = [
      { id: 1, stake: 5n },
      { id: 2, stake: 9n },
      { id: 3, stake: 5n },
      { id: 4, stake: 1n },
      { id: 5, stake: 7n },
    ];
    expect(selectActiveSet(c, 2n, 3)).to.deep.equal([2, 5, 1]);
    expect(selectActiveSet(c, 2n, 10)).to.deep.equal([1, 2, 3, 5]);
  });

  it("orders signatures by signer, once each, and needs more than 2/3", () => {
    expect(
      orderSignatures([
        { signer: B, signature: "0x02" },
        { signer: A, signature: "0x01" },
        { signer: B, signature: "0x02" },
      ]),
    ).to.deep.equal(["0x01", "0x02"]);
    expect([1, 3, 4, 7, 32, 100].map(quorum)).to.deep.equal([1, 3, 3, 5, 22, 67]);
  });
});

describe("protocol: report roots", () => {
  const standing = new Map([
    [1, { owner: A, lockedUntil: 0n }],
    [2, { owner: B, lockedUntil: 740n }],
    [3, { owner: A, lockedUntil: 20n }],
  ]);
  const m = (nodeId: number, revenue: bigint, reputation: number) => ({
    nodeId,
    uptime: 90,
    latencyMs: 30,
    bytesServed: 1n,
    deliveryAcks: 1n,
    revenue,
    reputation,
  });
  const facts = { epoch: 10n, nodes: [m(3, 50n, 80), m(1, 100n, 60), m(2, 0n, 90)], usage: [{ client: B, amount: 150n }], charges: [] };

  it("completes a report from its per-node fields and the nodes' owners and locks", () => {
    const { report, rewards } = completeEpochReport(facts, standing);
    expect(report.nodes.map((n) => n.nodeId)).to.deep.equal([1, 2, 3]);
    expect(report.reputationRoot).to.equal(
      reputationRoot(
        new Map([
          [1, 60],
          [2, 90],
          [3, 80],
        ]),
      ),
    );
    // A owns nodes 1 (no lock) and 3 (10 epochs left); B's node earned nothing, so B has no leaf.
    const expected = buildRewardsTree(
      rewardLeaves([
        { owner: A, revenue: 100n, remainingLockEpochs: -10n, reputation: 60 },
        { owner: A, revenue: 50n, remainingLockEpochs: 10n, reputation: 80 },
      ]),
    );
    expect(report.rewardsRoot).to.equal(expected.root);
    expect(rewards.tree!.length).to.equal(1);
    expect(report.totalFlkWeight).to.equal((100n * BOOST_SCALE * 60n) / 100n + (50n * lockBoost(10n) * 80n) / 100n);
    expect(report.totalUsdcWeight).to.equal(150n);
    expect(checkEpochReport(report, standing)).to.deep.equal({ reputationRoot: true, rewardsRoot: true, totals: true, ok: true });
  });

  it("flags each commitment that does not follow from the report's fields", () => {
    const { report } = completeEpochReport(facts, standing);
    const other = completeEpochReport({ ...facts, nodes: [m(1, 100n, 61), m(2, 0n, 90), m(3, 50n, 80)] }, standing).report;
    expect(checkEpochReport({ ...report, reputationRoot: other.reputationRoot }, standing)).to.include({ reputationRoot: false, rewardsRoot: true, ok: false });
    expect(checkEpochReport({ ...report, rewardsRoot: other.rewardsRoot }, standing)).to.include({ reputationRoot: true, rewardsRoot: false, ok: false });
    expect(checkEpochReport({ ...report, totalFlkWeight: report.totalFlkWeight + 1n }, standing)).to.include({ totals: false, ok: false });
    // Another lock changes the boost, so the same report no longer matches.
    expect(checkEpochReport(report, new Map([...standing, [3, { owner: A, lockedUntil: 11n }]])).ok).to.equal(false);
    expect(() => checkEpochReport(report, new Map([[1, standing.get(1)!]]))).to.throw("no owner and lock known for node 2");
  });
});
