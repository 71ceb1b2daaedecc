import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { CIRCULATING_AT_TGE, GENESIS_ALLOCATIONS } from "../../protocol/genesis";
import { FLK } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";

describe("Deployment (Ignition Fleek module)", () => {
  it("mints exactly 100M FLK at genesis, all of it into vesting, and leaves the deployer nothing", async () => {
    const { flk, vesting, emission } = await loadFixture(deploySuite);
    const [deployer] = await hre.ethers.getSigners();
    expect(await emission.minted()).to.equal(0n);
    expect(await flk.totalSupply()).to.equal(100_000_000n * FLK);
    expect(await flk.totalMinted()).to.equal(100_000_000n * FLK);
    expect(await flk.balanceOf(await vesting.getAddress())).to.equal(100_000_000n * FLK);
    expect(await vesting.totalAllocated()).to.equal(100_000_000n * FLK);
    expect(await flk.balanceOf(deployer.address)).to.equal(0n);
    expect(await flk.minter()).to.equal(await emission.getAddress());
  });

  it("hands Emission to the admin (the timelock), streams the staking half to staking and the node half to the node rewards", async () => {
    const { emission, admin, staking, rewards } = await loadFixture(deploySuite);
    expect(await emission.owner()).to.equal(admin);
    expect(await emission.stakingRecipient()).to.equal(await staking.getAddress());
    expect(await emission.nodeRecipient()).to.equal(await rewards.getAddress());
  });

  it("creates the six allocations of docs/spec.md §2 with their shapes and totals", async () => {
    const { vesting } = await loadFixture(deploySuite);
    expect(await vesting.allocationCount()).to.equal(BigInt(GENESIS_ALLOCATIONS.length));
    for (const [i, a] of GENESIS_ALLOCATIONS.entries()) {
      const onChain = await vesting.allocation(i);
      expect(onChain.total).to.equal(a.total, a.name);
      expect(onChain.tgeBps).to.equal(BigInt(a.tgeBps), a.name);
      expect(onChain.cliff).to.equal(a.cliff, a.name);
      expect(onChain.duration).to.equal(a.duration, a.name);
    }
  });

  it("starts vesting at the token generation event (the emission start)", async () => {
    const { vesting, emission } = await loadFixture(deploySuite);
    expect(await vesting.start()).to.equal(await emission.start());
  });

  it("has 28,000,000 FLK circulating at TGE, and releasing every schedule at TGE pays out exactly that", async () => {
    const { flk, vesting } = await loadFixture(deploySuite);
    const start = await vesting.start();
    // Circulating = supply - still locked in vesting; at the TGE instant nothing has been emitted.
    expect((await flk.GENESIS_SUPPLY()) - (await vesting.lockedAt(start))).to.equal(CIRCULATING_AT_TGE);

    let releasedAtTge = 0n;
    const n = await vesting.scheduleCount();
    for (let id = 0n; id < n; id++) releasedAtTge += await vesting.releasableAt(id, start);
    expect(releasedAtTge).to.equal(CIRCULATING_AT_TGE);
  });
});
