import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import {
  ENDPOINTS,
  MIN_STAKE,
  ZERO32,
  keyProofs,
  nodeIdentity,
  registerNode,
  registerNodes,
  registrySuite,
  runBeacon,
  withActiveNodes,
  type RegistrySuite,
  type TestNode,
} from "../../testkit/registry";

const Status = { None: 0n, Pending: 1n, Active: 2n, Jailed: 3n, Exited: 4n };

/** Moves the registry `n` epochs on (forced changes; the committee among `nodes` runs its beacon, so it is not jailed for silence). */
async function advanceEpochs(s: RegistrySuite, n: number, nodes: readonly TestNode[] = []) {
  for (let i = 0; i < n; i++) {
    await runBeacon(s, nodes);
    const committee = await s.registry.committeeIds();
    const opens = committee.length === 0 ? await s.registry.epochEnd() : (await s.registry.reportOpensAt()) + (await s.registry.epochDuration());
    if (BigInt(await time.latest()) < opens) await time.increaseTo(opens);
    await s.registry.advanceEpoch();
  }
}

describe("NodeRegistry: registration and stake", () => {
  it("deploys with the SPEC defaults, owned by the admin", async () => {
    const s = await loadFixture(registrySuite);
    expect(await s.registry.minimumStake()).to.equal(MIN_STAKE);
    expect(await s.registry.epochDuration()).to.equal(86_400n);
    expect(await s.registry.committeeSize()).to.equal(32n);
    expect(await s.registry.slashAmount()).to.equal(MIN_STAKE);
    expect(await s.registry.MAX_LOCK_EPOCHS()).to.equal(1460n);
    expect(await s.registry.UNSTAKE_DELAY_EPOCHS()).to.equal(5n);
    expect(await s.registry.owner()).to.equal(s.admin);
    expect(await s.escrow.owner()).to.equal(s.admin);
    expect(await s.escrow.nodeShareBps()).to.equal(8_000n);
    expect(await s.escrow.buyback()).to.equal(await s.buyback.getAddress());
    expect(await s.escrow.usdc()).to.equal(await s.usdc.getAddress());
    expect(await s.registry.escrow()).to.equal(await s.escrow.getAddress());
    expect(await s.registry.rewards()).to.equal(await s.rewards.getAddress());
    expect(await s.usdc.decimals()).to.equal(6n);
  });

  it("registers a node with its keys, endpoints and stake, pending until the next epoch", async () => {
    const s = await loadFixture(registrySuite);
    const [op] = s.operators;
    const { key, signer } = nodeIdentity(0);
    const { keyProof } = await keyProofs(s, op.address, 0);
    const tx = registerNode(s, op, 0, MIN_STAKE);
    await expect(tx)
      .to.emit(s.registry, "NodeRegistered")
      .withArgs(1, op.address, key, signer.address, [ENDPOINTS.host, Object.values(ENDPOINTS.ports)], MIN_STAKE, keyProof)
      .and.to.emit(s.registry, "NodeStatusChanged")
      .withArgs(1, Status.Pending, 0);
    await expect(tx).to.changeTokenBalances(s.flk, [op, s.registry], [-MIN_STAKE, MIN_STAKE]);
    const node = await s.registry.getNode(1);
    expect(node.owner).to.equal(op.address);
    expect(node.nodeKey).to.equal(key);
    expect(node.signer).to.equal(signer.address);
    expect(node.status).to.equal(Status.Pending);
    expect(node.stake).to.equal(MIN_STAKE);
    expect(node.endpoints.host).to.equal(ENDPOINTS.host);
    expect(node.endpoints.ports.gateway).to.equal(4220n);
    expect(node.keyProof).to.deep.equal(keyProof);
    expect(await s.registry.nodeIdOfKey(key)).to.equal(1n);
    expect(await s.registry.nodeIdOfSigner(signer.address)).to.equal(1n);
    expect(await s.registry.pendingNodes()).to.deep.equal([1n]);
  });

  it("rejects bad keys, duplicate keys and signers, bad endpoints and under-stake, losing nothing", async () => {
    const s = await loadFixture(registrySuite);
    const [op, other] = s.operators;
    const a = nodeIdentity(0);
    const b = nodeIdentity(1);
    const pa = await keyProofs(s, op.address, 0);
    const r = s.registry.connect(op);
    const reg = (key: string, signer: string, endpoints: typeof ENDPOINTS, stake: bigint, p = pa) =>
      r.register(key, signer, endpoints, stake, p.signerProof, p.keyProof);
    await expect(reg(ZERO32, a.signer.address, ENDPOINTS, MIN_STAKE)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadNodeKey");
    await expect(reg(a.key, hre.ethers.ZeroAddress, ENDPOINTS, MIN_STAKE)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadSigner");
    await expect(reg(a.key, a.signer.address, ENDPOINTS, MIN_STAKE - 1n))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryUnderStaked")
      .withArgs(MIN_STAKE - 1n, MIN_STAKE);
    await expect(reg(a.key, a.signer.address, { ...ENDPOINTS, host: "" }, MIN_STAKE)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadEndpoints");
    await expect(reg(a.key, a.signer.address, { ...ENDPOINTS, host: "x".repeat(254) }, MIN_STAKE)).to.be.revertedWithCustomError(
      s.registry,
      "NodeRegistryBadEndpoints",
    );
    await expect(reg(a.key, a.signer.address, { ...ENDPOINTS, ports: { ...ENDPOINTS.ports, rpc: 0 } }, MIN_STAKE)).to.be.revertedWithCustomError(
      s.registry,
      "NodeRegistryBadEndpoints",
    );
    // Proofs of possession: a's proofs replayed for b, or b's proofs (made for op) sent by another account.
    await expect(s.registry.connect(other).register(b.key, b.signer.address, ENDPOINTS, MIN_STAKE, pa.signerProof, pa.keyProof))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryBadSignerProof")
      .withArgs(b.signer.address);
    const pbForOp = await keyProofs(s, op.address, 1);
    await expect(s.registry.connect(other).register(b.key, b.signer.address, ENDPOINTS, MIN_STAKE, pbForOp.signerProof, pbForOp.keyProof))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryBadSignerProof")
      .withArgs(b.signer.address);
    await expect(s.registry.connect(other).register(b.key, b.signer.address, ENDPOINTS, MIN_STAKE, "0x", pbForOp.keyProof)).to.be.revertedWithCustomError(
      s.registry,
      "NodeRegistryBadSignerProof",
    );
    await reg(a.key, a.signer.address, ENDPOINTS, MIN_STAKE);
    // A squatter reusing a's key with its own signer gets past the signer check, not the key's uniqueness.
    const squat = await keyProofs(s, other.address, 1);
    const { signNodeKeyProof } = await import("../../protocol/nodeKeyProof");
    const { chainId } = await hre.ethers.provider.getNetwork();
    const overKeyA = await signNodeKeyProof(chainId, await s.registry.getAddress(), other.address, a.nodeKey, b.signer);
    await expect(s.registry.connect(other).register(a.key, b.signer.address, ENDPOINTS, MIN_STAKE, overKeyA.signerProof, overKeyA.keyProof))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryDuplicateNodeKey")
      .withArgs(a.key, 1);
    // The holder of a's signer signing again for another node: duplicate.
    const overSignerA = await signNodeKeyProof(chainId, await s.registry.getAddress(), other.address, b.nodeKey, a.signer);
    await expect(s.registry.connect(other).register(b.key, a.signer.address, ENDPOINTS, MIN_STAKE, overSignerA.signerProof, overSignerA.keyProof))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryDuplicateSigner")
      .withArgs(a.signer.address, 1);
    expect(squat.nodeKey).to.equal(b.key);
    expect(await s.registry.nodeCount()).to.equal(1n);
    expect(await s.flk.balanceOf(await s.registry.getAddress())).to.equal(MIN_STAKE);
  });

  it("joins the active set at the next epoch change and lists active nodes with their endpoints", async () => {
    const s = await loadFixture(registrySuite);
    const nodes = await withActiveNodes(s, 3);
    expect(await s.registry.epoch()).to.equal(1n);
    expect(await s.registry.activeSetIds()).to.deep.equal(nodes.map((n) => BigInt(n.id)));
    for (const n of nodes) expect((await s.registry.getNode(n.id)).status).to.equal(Status.Active);
    const active = await s.registry.activeNodes();
    expect(active.map((v) => v.nodeKey)).to.deep.equal(nodes.map((n) => n.key));
    const [epoch, start, duration, members] = await s.registry.committee();
    expect(epoch).to.equal(1n);
    expect(start).to.equal(await s.registry.epochStart());
    expect(duration).to.equal(86_400n);
    expect(members.map((m) => m.signer)).to.deep.equal(nodes.map((n) => n.signer.address));
    expect(await s.registry.pendingNodes()).to.deep.equal([]);
  });

  it("adds stake (anyone), updates endpoints (owner only)", async () => {
    const s = await loadFixture(registrySuite);
    const [n] = await registerNodes(s, 1);
    const [, other] = s.operators;
    await expect(s.registry.connect(other).addStake(n.id, 5n * FLK))
      .to.emit(s.registry, "StakeAdded")
      .withArgs(n.id, 5n * FLK, MIN_STAKE + 5n * FLK);
    await expect(s.registry.connect(other).addStake(n.id, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryZeroAmount");
    await expect(s.registry.connect(other).addStake(99, FLK)).to.be.revertedWithCustomError(s.registry, "NodeRegistryUnknownNode").withArgs(99);
    const moved = { host: "10.0.0.7", ports: { ...ENDPOINTS.ports, rpc: 5000 } };
    await expect(s.registry.connect(other).updateEndpoints(n.id, moved)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotOwner");
    await expect(s.registry.connect(n.owner).updateEndpoints(n.id, moved)).to.emit(s.registry, "EndpointsUpdated");
    expect((await s.registry.getNode(n.id)).endpoints.ports.rpc).to.equal(5000n);
  });

  it("locks stake up to 1,460 epochs and forbids unstaking while locked", async () => {
    const s = await loadFixture(registrySuite);
    const [n] = await withActiveNodes(s, 1, () => 2n * MIN_STAKE);
    const r = s.registry.connect(n.owner);
    await expect(r.lockStake(n.id, 1461)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadLock").withArgs(1462, 1461);
    await expect(r.lockStake(n.id, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadLock");
    await expect(r.lockStake(n.id, 1000)).to.emit(s.registry, "StakeLocked").withArgs(n.id, 1001);
    await expect(r.lockStake(n.id, 461)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadLock");
    await expect(r.lockStake(n.id, 460)).to.emit(s.registry, "StakeLocked").withArgs(n.id, 1461);
    await expect(r.unstake(n.id, FLK)).to.be.revertedWithCustomError(s.registry, "NodeRegistryStakeLocked").withArgs(1461);
  });

  it("unstakes into a 5-epoch delay, then withdraws to the owner; below the minimum the node exits", async () => {
    const s = await loadFixture(registrySuite);
    // Committee size 1: the unstaking node is the one left off the committee.
    await s.registry.connect(s.adminSigner).setParameters(86_400, 600, 1, MIN_STAKE);
    const nodes = await withActiveNodes(s, 2, () => 2n * MIN_STAKE);
    const [member] = await s.registry.committeeIds();
    const n = nodes.find((x) => BigInt(x.id) !== member)!;
    const r = s.registry.connect(n.owner);
    await expect(r.unstake(n.id, 3n * MIN_STAKE)).to.be.revertedWithCustomError(s.registry, "NodeRegistryInsufficientStake");
    await expect(r.unstake(n.id, MIN_STAKE + 1n))
      .to.emit(s.registry, "Unstaked")
      .withArgs(n.id, MIN_STAKE + 1n, MIN_STAKE - 1n, 6);
    await expect(r.withdraw(n.id)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotWithdrawable").withArgs(6);
    await advanceEpochs(s, 1, nodes);
    expect((await s.registry.getNode(n.id)).status).to.equal(Status.Exited);
    expect(await s.registry.activeSetIds()).to.deep.equal([member]);
    await advanceEpochs(s, 3, nodes);
    await expect(r.withdraw(n.id)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotWithdrawable");
    await advanceEpochs(s, 1, nodes);
    await expect(s.registry.connect(s.operators[5]).withdraw(n.id)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotOwner");
    await expect(r.withdraw(n.id)).to.changeTokenBalances(s.flk, [n.owner, s.registry], [MIN_STAKE + 1n, -(MIN_STAKE + 1n)]);
    await expect(r.withdraw(n.id)).to.be.revertedWithCustomError(s.registry, "NodeRegistryNotWithdrawable");
    // An exited node tops up and rejoins.
    await expect(r.rejoin(n.id)).to.be.revertedWithCustomError(s.registry, "NodeRegistryUnderStaked");
    await r.addStake(n.id, 1n);
    await expect(r.rejoin(n.id)).to.emit(s.registry, "NodeStatusChanged").withArgs(n.id, Status.Pending, 6);
    await expect(r.rejoin(n.id)).to.be.revertedWithCustomError(s.registry, "NodeRegistryCannotRejoin").withArgs(Status.Pending);
    await advanceEpochs(s, 1, nodes);
    expect(await s.registry.activeSetIds()).to.deep.equal([member, BigInt(n.id)]);
  });

  it("keeps a committee member at the minimum until the epoch ends", async () => {
    const s = await loadFixture(registrySuite);
    const [n] = await withActiveNodes(s, 1, () => 2n * MIN_STAKE);
    await expect(s.registry.connect(n.owner).unstake(n.id, MIN_STAKE + 1n)).to.be.revertedWithCustomError(s.registry, "NodeRegistryCommitteeMember");
    await expect(s.registry.connect(n.owner).unstake(n.id, MIN_STAKE)).to.emit(s.registry, "Unstaked");
  });

  it("caps the join queue at 100 nodes; a full queue admits only more stake than its weakest, which exits", async () => {
    const s = await loadFixture(registrySuite);
    await registerNodes(s, 100);
    await expect(registerNode(s, s.operators[0], 100, MIN_STAKE))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryQueueFull")
      .withArgs(MIN_STAKE);
    // Of equal stakes the latest queued (id 100) is the weakest.
    await expect(registerNode(s, s.operators[0], 100, MIN_STAKE + 1n))
      .to.emit(s.registry, "NodeStatusChanged")
      .withArgs(100, Status.Exited, 0);
    const pending = (await s.registry.pendingNodes()).map(Number);
    expect(pending).to.have.length(100);
    expect(pending).to.not.include(100);
    expect(pending[99]).to.equal(101);
  });

  it("lets only the owner set parameters, within their caps", async () => {
    const s = await loadFixture(registrySuite);
    const [op] = s.operators;
    await expect(s.registry.connect(op).setMinimumStake(1n)).to.be.revertedWithCustomError(s.registry, "OwnableUnauthorizedAccount");
    await expect(s.registry.connect(op).setParameters(60, 0, 4, 0)).to.be.revertedWithCustomError(s.registry, "OwnableUnauthorizedAccount");
    const admin = s.registry.connect(s.adminSigner);
    await expect(admin.setMinimumStake(0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    await expect(admin.setMinimumStake(1_000_001n * FLK)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    await expect(admin.setParameters(0, 0, 4, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    await expect(admin.setParameters(31 * 86_400, 0, 4, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    await expect(admin.setParameters(60, 5, 51, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    await expect(admin.setParameters(60, 0, 0, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    // No reveal window: every committer would be slashed.
    await expect(admin.setParameters(60, 0, 4, 0)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadParameter");
    await expect(admin.setParameters(60, 5, 4, 7n))
      .to.emit(s.registry, "ParametersSet")
      .withArgs(60, 5, 4, 7n);
    await expect(admin.setPayments(await s.escrow.getAddress(), await s.rewards.getAddress())).to.be.revertedWithCustomError(
      s.registry,
      "NodeRegistryPaymentsSet",
    );
  });
});
