import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { keccak256, toUtf8Bytes } from "ethers";
import { FLK } from "../../ignition/genesis";
import { beaconCommitment, committeeSeed, selectActiveSet, selectCommittee } from "../../protocol/committee";
import { MIN_STAKE, ZERO32, committeeNodes, emptyReport, registerNodes, registrySuite, signReport, submitReport, withActiveNodes, type RegistrySuite, type TestNode } from "./fixtures";
import { quorum } from "../../protocol/report";

const Status = { Pending: 1n, Active: 2n, Jailed: 3n, Exited: 4n };

/** Recomputes the committee that `receipt`'s epoch change selected, from the registry's events only. */
async function recomputeFromEvents(s: RegistrySuite, blockNumber: number) {
  const reg = s.registry;
  const [activeEv] = await reg.queryFilter(reg.filters.ActiveSetSelected(), blockNumber, blockNumber);
  const [committeeEv] = await reg.queryFilter(reg.filters.CommitteeSelected(), blockNumber, blockNumber);
  const epoch = committeeEv.args.epoch;
  const reveals = await reg.queryFilter(reg.filters.BeaconRevealed(epoch - 1n));
  const [paramsEv] = (await reg.queryFilter(reg.filters.ParametersSet(), 0, blockNumber)).slice(-1);
  const active = activeEv.args.nodeIds.map(Number);
  const seed = committeeSeed(epoch - 1n, reveals.map((r) => r.args.secret));
  const expected = selectCommittee(active, Number(paramsEv.args.committeeSize), seed);
  return { expected, actual: committeeEv.args.nodeIds.map(Number), seed, eventSeed: committeeEv.args.seed, active };
}

const secretOf = (epoch: bigint, id: number) => keccak256(toUtf8Bytes(`secret-${epoch}-${id}`));

/** Committee members commit, then (after the epoch's end) reveal, except those in `silent`. */
async function runBeacon(s: RegistrySuite, nodes: readonly TestNode[], silent: ReadonlySet<number> = new Set()) {
  const epoch = await s.registry.epoch();
  const members = (await s.registry.committeeIds()).map(Number);
  const byId = (id: number) => nodes.find((n) => n.id === id)!;
  for (const id of members) await s.registry.connect(byId(id).owner).commitBeacon(id, beaconCommitment(epoch, id, secretOf(epoch, id)));
  await time.increaseTo(await s.registry.epochEnd());
  for (const id of members) if (!silent.has(id)) await s.registry.connect(byId(id).owner).revealBeacon(id, secretOf(epoch, id));
}

describe("NodeRegistry: epochs and committee", () => {
  it("puts the whole active set on the committee when it fits", async () => {
    const s = await loadFixture(registrySuite);
    const nodes = await registerNodes(s, 5);
    await time.increaseTo(await s.registry.epochEnd());
    const tx = await s.registry.advanceEpoch();
    const ids = nodes.map((n) => BigInt(n.id));
    await expect(tx).to.emit(s.registry, "CommitteeSelected").withArgs(1, ids, ZERO32);
    await expect(tx).to.emit(s.registry, "EpochStarted").withArgs(1, await time.latest(), 86_400);
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
    await expect(tx).to.emit(s.registry, "NodeStatusChanged").withArgs(silent, Status.Jailed, epoch + 1n);
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
    await expect(s.registry.connect(m.signer.connect(hre.ethers.provider)).commitBeacon(m.id, c)).to.emit(s.registry, "BeaconCommitted").withArgs(epoch, m.id, c);
    await expect(s.registry.connect(m.owner).commitBeacon(m.id, c)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadBeacon");
    await time.increaseTo(await s.registry.epochEnd());
    const other = nodes.find((n) => n.id === members[1])!;
    await expect(s.registry.connect(other.owner).commitBeacon(other.id, c)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBeaconPhase");
    await expect(s.registry.connect(other.owner).revealBeacon(other.id, secretOf(epoch, other.id))).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadBeacon");
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
    await expect(s.registry.advanceEpoch()).to.be.revertedWithCustomError(s.registry, "NodeRegistryTooEarly").withArgs(opens + 86_400n);
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
    const expected = selectActiveSet(candidates.map((id) => ({ id, stake: stakes.get(id)! })), MIN_STAKE);
    await time.increaseTo((await s.registry.reportOpensAt()) + 3_600n);
    const tx = await s.registry.advanceEpoch();
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
    await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 100, MIN_STAKE);
    const forced = async () => {
      const committee = await s.registry.committeeIds();
      await time.increaseTo(committee.length === 0 ? await s.registry.epochEnd() : (await s.registry.reportOpensAt()) + 3_600n);
      await s.registry.advanceEpoch();
    };
    const nodes = await registerNodes(s, 100);
    await forced();
    nodes.push(...(await registerNodes(s, 100, () => MIN_STAKE, 100)));
    await forced();
    // Ids 201-260 outbid everyone: the active set and the committee hold ids on both sides of 256.
    nodes.push(...(await registerNodes(s, 60, () => 2n * MIN_STAKE, 200)));
    await forced();
    const committee = (await s.registry.committeeIds()).map(Number);
    expect(committee).to.have.length(100);
    expect(committee.filter((id) => id >= 256)).to.have.length(5);
    for (const id of [1, 255, 256, 260]) {
      const inCommittee = committee.includes(id);
      expect(await s.registry.isCommitteeMember(id)).to.equal(inCommittee);
    }
    expect(await s.registry.isCommitteeMember(256)).to.equal(true);
    // A quorum that includes the members past 255 is accepted.
    const members = (await committeeNodes(s, nodes)).sort((a, b) => b.id - a.id);
    const report = await emptyReport(s);
    const sigs = await signReport(s, report, members.slice(0, quorum(100)));
    await time.increaseTo(await s.registry.reportOpensAt());
    await expect(s.registry.submitEpochReport(report, sigs)).to.emit(s.registry, "EpochReported");
  });
});
