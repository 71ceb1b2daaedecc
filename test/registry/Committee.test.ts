import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { beaconCommitment, committeeSeed, selectActiveSet, selectCommittee } from "../../protocol/committee";
import {
  MIN_STAKE,
  ZERO32,
  beaconSecret,
  committeeNodes,
  emptyReport,
  registerNodes,
  registrySuite,
  runBeacon,
  signReport,
  submitReport,
  withActiveNodes,
  type RegistrySuite,
} from "../../testkit/registry";
import { quorum } from "../../protocol/report";

const secretOf = beaconSecret;
const Status = { Pending: 1n, Active: 2n, Jailed: 3n, Exited: 4n };

/** Recomputes the committee that the epoch change in `blockNumber` selected, from the registry's events only. */
async function recomputeFromEvents(s: RegistrySuite, blockNumber: number) {
  const reg = s.registry;
  const [activeEv] = await reg.queryFilter(reg.filters.ActiveSetSelected(), blockNumber, blockNumber);
  const [committeeEv] = await reg.queryFilter(reg.filters.CommitteeSelected(), blockNumber, blockNumber);
  const epoch = committeeEv.args.epoch;
  // The pool: the ending epoch's active set and weights (the first committee: the first active set).
  const [poolEv] = await reg.queryFilter(reg.filters.ActiveSetSelected(epoch - 1n), 0, blockNumber - 1);
  const bootstrap = !poolEv || poolEv.args.nodeIds.length === 0;
  const pool = bootstrap ? activeEv : poolEv;
  const commits = await reg.queryFilter(reg.filters.BeaconCommitted(epoch - 1n));
  const reveals = await reg.queryFilter(reg.filters.BeaconRevealed(epoch - 1n));
  const complete = reveals.length === commits.length;
  const [paramsEv] = (await reg.queryFilter(reg.filters.ParametersSet(), 0, blockNumber)).slice(-1);
  const active = activeEv.args.nodeIds.map(Number);
  const seed = committeeSeed(
    epoch - 1n,
    reveals.map((r) => r.args.secret),
  );
  const ids = pool.args.nodeIds.map(Number);
  // A withheld reveal: no draw, the ending committee stays (less the jailed).
  const [endingEv] = complete ? [] : await reg.queryFilter(reg.filters.CommitteeSelected(epoch - 1n), 0, blockNumber - 1);
  const kept = endingEv?.args.nodeIds.map(Number);
  const expected = selectCommittee(ids, [...pool.args.weights], Number(paramsEv.args.committeeSize), seed, (id) => active.includes(id), kept);
  const drew = complete && ids.length > Number(paramsEv.args.committeeSize);
  return { expected, actual: committeeEv.args.nodeIds.map(Number), seed: drew ? seed : ZERO32, eventSeed: committeeEv.args.seed, active };
}

describe("NodeRegistry: epochs and committee", () => {
  it("puts the whole active set on the committee when it fits", async () => {
    const s = await loadFixture(registrySuite);
    const nodes = await registerNodes(s, 5);
    await time.increaseTo(await s.registry.epochEnd());
    const tx = await s.registry.advanceEpoch();
    const ids = nodes.map((n) => BigInt(n.id));
    await expect(tx).to.emit(s.registry, "CommitteeSelected").withArgs(1, ids, ZERO32);
    await expect(tx)
      .to.emit(s.registry, "EpochStarted")
      .withArgs(1, await time.latest(), 86_400);
    expect(await s.registry.committeeIds()).to.deep.equal(ids);
    const r = await recomputeFromEvents(s, tx.blockNumber!);
    expect(r.actual).to.deep.equal(r.expected);
  });

  it("shuffles a larger active set with the beacon, reproducibly from events, over several epochs", async () => {
    const s = await loadFixture(registrySuite);
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
    const nodes = await registerNodes(s, 10);
    await time.increaseTo(await s.registry.epochEnd());
    let tx = await s.registry.advanceEpoch();
    let r = await recomputeFromEvents(s, tx.blockNumber!);
    expect(r.actual).to.have.length(4);
    expect(r.actual).to.deep.equal(r.expected);
    expect(r.eventSeed).to.equal(r.seed);
    const seen = new Set<number>(r.actual);
    for (let i = 0; i < 3; i++) {
      await runBeacon(s, nodes);
      tx = await submitReport(s, nodes, await emptyReport(s));
      r = await recomputeFromEvents(s, tx.blockNumber!);
      expect(r.actual).to.deep.equal(r.expected);
      expect(r.active).to.deep.equal(nodes.map((n) => n.id));
      r.actual.forEach((id) => seen.add(id));
    }
    // Different seeds pick different committees.
    expect(seen.size).to.be.greaterThan(4);
  });

  it("slashes a member that commits and does not reveal, and jails it below the minimum", async () => {
    const s = await loadFixture(registrySuite);
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
    const nodes = await withActiveNodes(s, 8);
    const [silent] = (await s.registry.committeeIds()).map(Number);
    const epoch = await s.registry.epoch();
    await runBeacon(s, nodes, new Set([silent]));
    const tx = await submitReport(s, nodes, await emptyReport(s));
    await expect(tx).to.emit(s.registry, "Slashed").withArgs(silent, epoch, MIN_STAKE);
    await expect(tx)
      .to.emit(s.registry, "NodeStatusChanged")
      .withArgs(silent, Status.Jailed, epoch + 1n);
    // Burned: supply is genesis + emission minted − the slash.
    expect(await s.flk.totalSupply()).to.equal(100_000_000n * FLK + (await s.emission.minted()) - MIN_STAKE);
    expect((await s.registry.getNode(silent)).stake).to.equal(0n);
    expect((await s.registry.activeSetIds()).map(Number)).to.not.include(silent);
    const r = await recomputeFromEvents(s, tx.blockNumber!);
    expect(r.actual).to.deep.equal(r.expected);
    expect(r.actual).to.not.include(silent);
    // The other members revealed: nobody else was slashed.
    const slashes = await s.registry.queryFilter(s.registry.filters.Slashed(), tx.blockNumber!, tx.blockNumber!);
    expect(slashes).to.have.length(1);
  });

  it("enforces the beacon's phases and members", async () => {
    const s = await loadFixture(registrySuite);
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 2, MIN_STAKE);
    const nodes = await withActiveNodes(s, 4);
    const members = (await s.registry.committeeIds()).map(Number);
    const outsider = nodes.find((n) => !members.includes(n.id))!;
    const m = nodes.find((n) => n.id === members[0])!;
    const epoch = await s.registry.epoch();
    const c = beaconCommitment(epoch, m.id, secretOf(epoch, m.id));
    await expect(s.registry.connect(outsider.owner).commitBeacon(outsider.id, c)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotCommitteeMember");
    await expect(s.registry.connect(outsider.owner).commitBeacon(m.id, c)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotNodeOperator");
    await expect(s.registry.connect(m.owner).revealBeacon(m.id, secretOf(epoch, m.id))).to.be.revertedWithCustomError(s.registry, "NodeRegistryBeaconPhase");
    // The signer key may act for the node too.
    await hre.network.provider.send("hardhat_setBalance", [m.signer.address, "0xDE0B6B3A7640000"]);
    await expect(s.registry.connect(m.signer.connect(hre.ethers.provider)).commitBeacon(m.id, c))
      .to.emit(s.registry, "BeaconCommitted")
      .withArgs(epoch, m.id, c);
    await expect(s.registry.connect(m.owner).commitBeacon(m.id, c)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadBeacon");
    await time.increaseTo(await s.registry.epochEnd());
    const other = nodes.find((n) => n.id === members[1])!;
    await expect(s.registry.connect(other.owner).commitBeacon(other.id, c)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBeaconPhase");
    await expect(s.registry.connect(other.owner).revealBeacon(other.id, secretOf(epoch, other.id))).to.be.revertedWithCustomError(
      s.registry,
      "NodeRegistryBadBeacon",
    );
    await expect(s.registry.connect(m.owner).revealBeacon(m.id, secretOf(epoch, 999))).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadBeacon");
    await s.registry.connect(m.owner).revealBeacon(m.id, secretOf(epoch, m.id));
    await expect(s.registry.connect(m.owner).revealBeacon(m.id, secretOf(epoch, m.id))).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadBeacon");
    expect(await s.registry.beaconMix(epoch)).to.equal(secretOf(epoch, m.id));
    expect(await s.registry.beaconCommitters(epoch)).to.deep.equal([BigInt(m.id)]);
  });

  it("forces an epoch change only without a committee, or a whole epoch after a stalled report", async () => {
    const s = await loadFixture(registrySuite);
    await expect(s.registry.advanceEpoch()).to.be.revertedWithCustomError(s.registry, "NodeRegistryTooEarly");
    await withActiveNodes(s, 3);
    const opens = await s.registry.reportOpensAt();
    await time.increaseTo(opens + 86_400n - 2n);
    await expect(s.registry.advanceEpoch())
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryTooEarly")
      .withArgs(opens + 86_400n);
    await expect(s.registry.advanceEpoch()).to.emit(s.registry, "EpochSkipped").withArgs(1);
    expect(await s.registry.epoch()).to.equal(2n);
  });

  it("keeps the top 100 by stake when more nodes compete, as the off-chain rule says", async () => {
    const s = await loadFixture(registrySuite);
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
    const stakeOf = (i: number) => MIN_STAKE + BigInt(i % 7) * FLK;
    const first = await withActiveNodes(s, 100, stakeOf);
    const late = await registerNodes(s, 5, (i) => MIN_STAKE + BigInt(i) * FLK, 100);
    const candidates = [...(await s.registry.activeSetIds()).map(Number), ...late.map((n) => n.id)];
    const stakes = new Map<number, bigint>();
    for (const n of [...first, ...late]) stakes.set(n.id, (await s.registry.getNode(n.id)).stake);
    await runBeacon(s, first);
    await time.increaseTo((await s.registry.reportOpensAt()) + 3_600n);
    const tx = await s.registry.advanceEpoch();
    // The next committee's members rank first (drawn from the previous set), then stake.
    const members = new Set((await s.registry.committeeIds()).map(Number));
    const expected = selectActiveSet(
      candidates.map((id) => ({ id, stake: stakes.get(id)!, member: members.has(id) })),
      MIN_STAKE,
    );
    const active = (await s.registry.activeSetIds()).map(Number);
    expect(active).to.deep.equal(expected);
    expect(active).to.have.length(100);
    const out = candidates.filter((id) => !active.includes(id));
    expect(out).to.have.length(5);
    for (const id of out) {
      await expect(tx).to.emit(s.registry, "NodeStatusChanged").withArgs(id, Status.Exited, 2);
      expect(stakes.get(id)).to.equal(MIN_STAKE); // the lowest stakes lost their places
    }
    for (const n of late) expect((await s.registry.getNode(n.id)).status).to.equal(Status.Active);
    const r = await recomputeFromEvents(s, tx.blockNumber!);
    expect(r.actual).to.deep.equal(r.expected);
  });

  it("tracks committee members past node id 255 (a second bitmap word) and counts their signatures", async () => {
    const s = await loadFixture(registrySuite);
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 50, MIN_STAKE);
    const forced = async () => {
      await runBeacon(s, nodes);
      const committee = await s.registry.committeeIds();
      const opens = committee.length === 0 ? await s.registry.epochEnd() : (await s.registry.reportOpensAt()) + 3_600n;
      if (BigInt(await time.latest()) < opens) await time.increaseTo(opens);
      await s.registry.advanceEpoch();
    };
    const nodes = await registerNodes(s, 100);
    await forced();
    nodes.push(...(await registerNodes(s, 100, () => MIN_STAKE, 100)));
    await forced();
    // Ids 201-260 outbid the 50 places outside the committee, then weigh twice as much in the next draw.
    nodes.push(...(await registerNodes(s, 60, (i) => 2n * MIN_STAKE + BigInt(i) * FLK, 200)));
    await forced();
    await forced();
    const committee = (await s.registry.committeeIds()).map(Number);
    expect(committee).to.have.length(50);
    expect(committee.filter((id) => id >= 256).length).to.be.greaterThan(0);
    for (const id of [1, 255, 256, 257, 258, 259, 260]) expect(await s.registry.isCommitteeMember(id)).to.equal(committee.includes(id));
    // A quorum that includes the members past 255 is accepted.
    const members = (await committeeNodes(s, nodes)).sort((a, b) => b.id - a.id);
    const report = await emptyReport(s);
    const sigs = await signReport(s, report, members.slice(0, quorum(50)));
    await time.increaseTo(await s.registry.reportOpensAt());
    await expect(s.registry.submitEpochReport(report, sigs)).to.emit(s.registry, "EpochReported");
  });
});
