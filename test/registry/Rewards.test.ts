import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { cumulativeEmission } from "../../protocol/emission";
import { buildEpochReport, type ClientUsage } from "../../protocol/report";
import { buildRewardsTree, claimAmount, rewardLeaves, rewardProof, splitDebits, type NodeReward, type RewardsTree } from "../../protocol/rewards";
import { completeEpochReport } from "../../protocol/reportRoots";
import { MIN_STAKE, ZERO32, registrySuite, submitReport, withActiveNodes, type RegistrySuite, type TestNode } from "../../testkit/registry";
import { withContentCharges } from "../../testkit/reportCharges";

const USDC = 10n ** 6n;

/** Four active nodes of four operators, committee of all four; a payer with 1,000 USDC in escrow. */
async function rewarding() {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
  const nodes = await withActiveNodes(s, 4);
  const payer = (await hre.ethers.getSigners())[10];
  await s.usdc.mint(payer.address, 1_000n * USDC);
  await s.usdc.connect(payer).approve(await s.escrow.getAddress(), hre.ethers.MaxUint256);
  await s.escrow.connect(payer).deposit(payer.address, 1_000n * USDC);
  return { ...s, nodes, payer };
}

/** Node half of emission that a mint at `t` pays when `mintedBefore` was minted before (mirrors Emission.mint). */
async function nodeHalfMinted(s: RegistrySuite, t: bigint, mintedBefore: bigint): Promise<bigint> {
  const due = cumulativeEmission(t - (await s.emission.start()));
  const amount = due - mintedBefore;
  return amount - (due / 2n - mintedBefore / 2n);
}

/**
 * Reports the epoch with `rewards` (one per node, each node its own operator's) and `usage` (by
 * default the payer pays the whole revenue: revenue weights must be USDC debited), the report
 * completed by protocol/ as a committee does; returns the tree and the FLK the settlement minted in.
 */
async function reportEpoch(s: RegistrySuite & { nodes: TestNode[]; payer: { address: string } }, rewards: NodeReward[], usage?: ClientUsage[]) {
  const epoch = await s.registry.epoch();
  const revenue = rewards.reduce((sum, r) => sum + r.revenue, 0n);
  usage ??= [{ client: s.payer.address, amount: revenue }];
  const idOf = (owner: string) => s.nodes.find((n) => n.owner.address === owner)!.id;
  const { report, rewards: tree } = completeEpochReport(
    withContentCharges({
      epoch,
      nodes: rewards.map((r) => ({
        nodeId: idOf(r.owner),
        uptime: 100,
        latencyMs: 10,
        bytesServed: 0n,
        deliveryAcks: 0n,
        revenue: r.revenue,
        reputation: r.reputation,
      })),
      usage,
    }),
    new Map(rewards.map((r) => [idOf(r.owner), { owner: r.owner, lockedUntil: epoch + r.remainingLockEpochs }])),
  );
  const mintedBefore = await s.emission.minted();
  const tx = await submitReport(s, s.nodes, report);
  const t = BigInt((await hre.ethers.provider.getBlock(tx.blockNumber!))!.timestamp);
  return { tree, report, tx, flkIn: await nodeHalfMinted(s, t, mintedBefore) };
}

function claimArgs(epoch: bigint, tree: RewardsTree, account: string) {
  const { leaf, proof } = rewardProof(tree, account);
  return { epoch, account: leaf.account, flkWeight: leaf.flkWeight, usdcWeight: leaf.usdcWeight, proof };
}

describe("EpochRewards and ServiceEscrow", () => {
  it("pays each epoch's FLK pool by weight, claimed for several epochs at once, exact to the wei", async () => {
    const s = await loadFixture(rewarding);
    const [n1, n2, n3, n4] = s.nodes;
    const r = (n: TestNode, revenue: bigint, lock: bigint, reputation: number): NodeReward => ({
      owner: n.owner.address,
      revenue,
      remainingLockEpochs: lock,
      reputation,
    });
    const e1 = await reportEpoch(s, [r(n1, 100n, 0n, 80), r(n2, 300n, 1460n, 50), r(n3, 0n, 0n, 90), r(n4, 50n, 730n, 100)]);
    const pool1 = (await s.rewards.pools(1)).flkPool;
    expect(pool1).to.equal(e1.flkIn);
    await time.increase(3_600);
    const e2 = await reportEpoch(s, [r(n1, 10n, 0n, 70), r(n2, 10n, 0n, 70)]);
    const pool2 = (await s.rewards.pools(2)).flkPool;
    expect(pool2).to.equal(e2.flkIn);
    expect(await s.rewards.flkOwed()).to.equal(pool1 + pool2);

    const a = n1.owner.address;
    const before = await s.flk.balanceOf(a);
    const claims = [claimArgs(1n, e1.tree, a), claimArgs(2n, e2.tree, a)];
    const expected = claimAmount(pool1, claims[0].flkWeight, e1.tree.totalFlkWeight) + claimAmount(pool2, claims[1].flkWeight, e2.tree.totalFlkWeight);
    await expect(s.rewards.claimMany(claims))
      .to.emit(s.rewards, "Claimed")
      .withArgs(1, a, claimAmount(pool1, claims[0].flkWeight, e1.tree.totalFlkWeight), 80n);
    expect((await s.flk.balanceOf(a)) - before).to.equal(expected);
    // USDC: the payer's 450 units debited, 360 to the pool, 100/450 of it to n1.
    expect((await s.rewards.pools(1)).usdcPool).to.equal(360n);
    // FLK weight = revenue × boost (1.0 unlocked) × reputation / 100.
    expect(claims[0].flkWeight).to.equal((100n * 1_000_000n * 80n) / 100n);
    await expect(s.rewards.claimMany(claims)).to.be.revertedWithCustomError(s.rewards, "RewardsAlreadyClaimed").withArgs(1, a);
    const b = claimArgs(1n, e1.tree, n2.owner.address);
    await expect(s.rewards.claim(1, b.account, b.flkWeight + 1n, b.usdcWeight, b.proof)).to.be.revertedWithCustomError(s.rewards, "RewardsInvalidProof");
    await expect(s.rewards.claim(2, b.account, b.flkWeight, b.usdcWeight, b.proof)).to.be.revertedWithCustomError(s.rewards, "RewardsInvalidProof");
    // Anyone may submit; the tokens go to the leaf's account.
    await expect(s.rewards.connect(s.clients[0]).claim(1, b.account, b.flkWeight, b.usdcWeight, b.proof)).to.changeTokenBalance(
      s.flk,
      n2.owner,
      claimAmount(pool1, b.flkWeight, e1.tree.totalFlkWeight),
    );
    const d = claimArgs(1n, e1.tree, n4.owner.address);
    await s.rewards.claim(1, d.account, d.flkWeight, d.usdcWeight, d.proof);
    // Everything of epoch 1 is claimed but the rounding dust: paid ≤ pool.
    const p1 = await s.rewards.pools(1);
    expect(p1.flkPaid <= p1.flkPool && p1.flkPool - p1.flkPaid < 3n).to.equal(true);
  });

  it("rolls a weightless epoch's pool over to the next", async () => {
    const s = await loadFixture(rewarding);
    const e1 = await reportEpoch(s, []);
    expect((await s.rewards.pools(1)).flkPool).to.equal(0n);
    expect(await s.flk.balanceOf(await s.rewards.getAddress())).to.equal(e1.flkIn);
    const e2 = await reportEpoch(s, [{ owner: s.nodes[0].owner.address, revenue: 1n, remainingLockEpochs: 0n, reputation: 1 }]);
    expect((await s.rewards.pools(2)).flkPool).to.equal(e1.flkIn + e2.flkIn);
    const c = claimArgs(2n, e2.tree, s.nodes[0].owner.address);
    await expect(s.rewards.claim(c.epoch, c.account, c.flkWeight, c.usdcWeight, c.proof)).to.changeTokenBalance(s.flk, s.nodes[0].owner, e1.flkIn + e2.flkIn);
  });

  it("keeps the pools unfixed when a report weighs rewards but names no root", async () => {
    const s = await loadFixture(rewarding);
    const report = buildEpochReport({
      epoch: 1n,
      nodes: [],
      usage: [],
      charges: [],
      reputationRoot: ZERO32,
      rewardsRoot: ZERO32,
      totalFlkWeight: 5n,
      totalUsdcWeight: 0n,
    });
    const tx = await submitReport(s, s.nodes, report);
    await expect(tx).to.emit(s.rewards, "EpochSettled").withArgs(1, ZERO32, 0, 0, 0, 0);
    expect(await s.rewards.flkOwed()).to.equal(0n);
  });

  it("stops a report whose leaves outweigh its totals at the epoch's pool", async () => {
    const s = await loadFixture(rewarding);
    const rewards = s.nodes.slice(0, 2).map((n) => ({ owner: n.owner.address, revenue: 10n, remainingLockEpochs: 0n, reputation: 100 }));
    const tree = buildRewardsTree(rewardLeaves(rewards));
    const report = buildEpochReport({
      epoch: 1n,
      nodes: [],
      usage: [],
      charges: [],
      reputationRoot: tree.root,
      rewardsRoot: tree.root,
      totalFlkWeight: tree.totalFlkWeight / 2n,
      totalUsdcWeight: 0n,
    });
    await submitReport(s, s.nodes, report);
    const pool = (await s.rewards.pools(1)).flkPool;
    const [c1, c2] = rewards.map((r) => claimArgs(1n, tree, r.owner));
    await expect(s.rewards.claim(1, c1.account, c1.flkWeight, c1.usdcWeight, c1.proof)).to.changeTokenBalance(s.flk, s.nodes[0].owner, pool);
    await expect(s.rewards.claim(1, c2.account, c2.flkWeight, c2.usdcWeight, c2.proof))
      .to.be.revertedWithCustomError(s.rewards, "RewardsPoolExceeded")
      .withArgs(1);
  });

  it("debits the clients' usage from escrow: 80% to the node pool, 20% to buyback, USDC claimed by revenue served", async () => {
    const s = await loadFixture(rewarding);
    const [c1, c2] = s.clients;
    await s.escrow.connect(c1).deposit(c1.address, 100n * USDC);
    await s.escrow.connect(c2).deposit(c2.address, 5n * USDC);
    // c2 used 8 USDC but holds 5: the committee charges it 5 (protocol/usage.ts caps at the debitable amount).
    const usage = [
      { client: c1.address, amount: 30n * USDC + 1n },
      { client: c2.address, amount: 5n * USDC },
    ];
    const [n1, n2] = s.nodes;
    const rewards = [
      { owner: n1.owner.address, revenue: 30n * USDC + 1n, remainingLockEpochs: 0n, reputation: 60 },
      { owner: n2.owner.address, revenue: 5n * USDC, remainingLockEpochs: 0n, reputation: 60 },
    ];
    const buyback = await s.escrow.buyback();
    const buybackBefore = await s.usdc.balanceOf(buyback);
    const { tx, tree } = await reportEpoch(s, rewards, usage);
    const debited = 35n * USDC + 1n;
    const { toNodes, toBuyback } = splitDebits(debited, 8_000n);
    await expect(tx)
      .to.emit(s.escrow, "Debited")
      .withArgs(1, c2.address, 5n * USDC, 0);
    await expect(tx).to.emit(s.escrow, "EpochDebited").withArgs(1, debited, toNodes, toBuyback, 0);
    expect((await s.escrow.accounts(c1.address)).balance).to.equal(70n * USDC - 1n);
    expect((await s.escrow.accounts(c2.address)).balance).to.equal(0n);
    expect((await s.usdc.balanceOf(buyback)) - buybackBefore).to.equal(toBuyback);
    expect((await s.rewards.pools(1)).usdcPool).to.equal(toNodes);
    for (const r of rewards) {
      const c = claimArgs(1n, tree, r.owner);
      await expect(s.rewards.claim(1, c.account, c.flkWeight, c.usdcWeight, c.proof)).to.changeTokenBalance(
        s.usdc,
        r.owner,
        claimAmount(toNodes, r.revenue, tree.totalUsdcWeight),
      );
    }
    const p = await s.rewards.pools(1);
    expect(p.usdcPaid <= toNodes).to.equal(true);
    expect(await s.usdc.balanceOf(await s.rewards.getAddress())).to.equal(toNodes - p.usdcPaid);
  });

  it("returns unspent USDC after the notice period, net of usage reported meanwhile", async () => {
    const s = await loadFixture(rewarding);
    const [c1] = s.clients;
    const notice = await s.escrow.noticePeriod();
    await s.escrow.connect(c1).deposit(c1.address, 10n * USDC);
    await expect(s.escrow.connect(c1).requestWithdrawal(11n * USDC)).to.be.revertedWithCustomError(s.escrow, "EscrowBadAmount");
    await expect(s.escrow.connect(c1).withdraw()).to.be.revertedWithCustomError(s.escrow, "EscrowNotWithdrawable");
    await s.escrow.connect(c1).requestWithdrawal(10n * USDC);
    const at = BigInt(await time.latest()) + notice;
    await expect(s.escrow.connect(c1).withdraw()).to.be.revertedWithCustomError(s.escrow, "EscrowNotWithdrawable").withArgs(at);
    await reportEpoch(
      s,
      [{ owner: s.nodes[0].owner.address, revenue: 4n * USDC, remainingLockEpochs: 0n, reputation: 0 }],
      [{ client: c1.address, amount: 4n * USDC }],
    );
    await time.increaseTo(at);
    // Epoch 2 reserves what its report may still debit (min(balance, limit) = 6 USDC): the limit
    // goes to zero from epoch 3 and the rest is paid then.
    await expect(s.escrow.connect(c1).withdraw()).to.changeTokenBalance(s.usdc, c1, 0n);
    await s.escrow.connect(c1).setSpendingLimit(0);
    await reportEpoch(s, []);
    await expect(s.escrow.connect(c1).withdraw()).to.changeTokenBalance(s.usdc, c1, 6n * USDC);
    expect((await s.escrow.accounts(c1.address)).balance).to.equal(0n);
    expect(await s.usdc.balanceOf(await s.rewards.getAddress())).to.equal(splitDebits(4n * USDC, 8_000n).toNodes);
  });

  it("keeps debits and parameters to the registry and the admin", async () => {
    const s = await loadFixture(rewarding);
    await expect(s.escrow.debit(1, [], [])).to.be.revertedWithCustomError(s.escrow, "EscrowUnauthorized");
    await expect(s.escrow.setMarketplace(s.agentMarketplace)).to.be.revertedWithCustomError(s.escrow, "OwnableUnauthorizedAccount");
    await expect(s.rewards.settle(1, hre.ethers.ZeroHash, 0, 0)).to.be.revertedWithCustomError(s.rewards, "RewardsUnauthorized");
    await expect(s.escrow.setParameters(s.admin, 8_000, 0)).to.be.revertedWithCustomError(s.escrow, "OwnableUnauthorizedAccount");
    const admin = s.escrow.connect(s.adminSigner);
    await expect(admin.setParameters(hre.ethers.ZeroAddress, 8_000, 0)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    await expect(admin.setParameters(s.admin, 4_999, 0)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    await expect(admin.setParameters(s.admin, 10_001, 0)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    await expect(admin.setParameters(s.admin, 8_000, 31 * 86_400)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    await expect(admin.setParameters(s.admin, 9_000, 3_600))
      .to.emit(s.escrow, "ParametersSet")
      .withArgs(s.admin, 9_000, 3_600);
    await expect(s.escrow.deposit(s.admin, 0)).to.be.revertedWithCustomError(s.escrow, "EscrowBadAmount");
    const plain = await hre.ethers.deployContract("PlainERC20", [s.admin, 1n]);
    const Escrow = await hre.ethers.getContractFactory("ServiceEscrow");
    await expect(Escrow.deploy(await plain.getAddress(), s.admin, s.admin, s.admin, s.admin, 0)).to.be.revertedWithCustomError(Escrow, "EscrowBadParameter");
  });
});
