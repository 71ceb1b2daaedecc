import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { GENESIS_ALLOCATIONS, vestedAmount } from "../../protocol/genesis";
import { FLK } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";
import type { Vesting } from "../../typechain-types";

/** Every schedule of the test deployment with its allocation's shape. */
async function schedules(suite: Awaited<ReturnType<typeof deploySuite>>) {
  const out = [];
  for (const a of GENESIS_ALLOCATIONS) {
    const { beneficiaries, amounts } = suite.genesis[a.key];
    for (let i = 0; i < beneficiaries.length; i++) {
      const ids = await suite.vesting.scheduleIdsOf(beneficiaries[i]);
      out.push({ allocation: a, beneficiary: beneficiaries[i], amount: amounts[i], id: ids[0] });
    }
  }
  return out;
}

describe("Vesting", () => {
  it("pays every schedule to the wei at TGE, at the cliff, mid-way and at the end", async () => {
    const suite = await loadFixture(deploySuite);
    const { vesting, flk } = suite;
    const start = await vesting.start();
    const all = await schedules(suite);

    // At the TGE instant (a view: the deployment block is already past it).
    for (const s of all) {
      expect(await vesting.vestedAmount(s.id, start)).to.equal(vestedAmount(s.allocation, s.amount, 0n), `${s.allocation.name} at TGE`);
    }
    // Then release at each milestone of each allocation, in time order, checking balances.
    const justAfterTge = BigInt(await time.latest()) - start + 1n;
    const milestones = new Set<bigint>();
    for (const a of GENESIS_ALLOCATIONS) for (const m of [justAfterTge, a.cliff, a.duration / 2n, a.duration]) milestones.add(m);
    const ordered = [...milestones].filter((m) => m > 0n).sort((x, y) => (x < y ? -1 : 1));
    for (const elapsed of ordered) {
      for (const [k, s] of all.entries()) {
        expect(await vesting.vestedAmount(s.id, start + elapsed)).to.equal(vestedAmount(s.allocation, s.amount, elapsed));
        // One block per release: schedule k is released k seconds after the milestone.
        const at = elapsed + BigInt(k);
        const expected = vestedAmount(s.allocation, s.amount, at);
        const already = await vesting.released(s.id);
        await time.setNextBlockTimestamp(start + at);
        if (expected > already) {
          await expect(vesting.release(s.id))
            .to.emit(vesting, "Released")
            .withArgs(s.id, s.beneficiary, expected - already);
        } else {
          await expect(vesting.release(s.id)).to.be.revertedWithCustomError(vesting, "VestingNothingToRelease").withArgs(s.id);
        }
        expect(await flk.balanceOf(s.beneficiary)).to.equal(expected, `${s.allocation.name} after ${at}s`);
      }
    }
    // After the longest schedule everything is out.
    expect(await flk.balanceOf(await vesting.getAddress())).to.equal(0n);
    expect(await vesting.lockedAt(await time.latest())).to.equal(0n);
  });

  it("unlocks one third of a team schedule at the one-year cliff and nothing a second before", async () => {
    const suite = await loadFixture(deploySuite);
    const [team] = (await schedules(suite)).filter((s) => s.allocation.key === "team");
    const start = await suite.vesting.start();
    const cliff = GENESIS_ALLOCATIONS[0].cliff;
    expect(await suite.vesting.vestedAmount(team.id, start + cliff - 1n)).to.equal(0n);
    expect(await suite.vesting.vestedAmount(team.id, start + cliff)).to.equal(team.amount / 3n);
  });

  it("lets anyone release, always to the beneficiary", async () => {
    const suite = await loadFixture(deploySuite);
    const [, , , stranger] = await hre.ethers.getSigners();
    const [sale] = (await schedules(suite)).filter((s) => s.allocation.key === "sale");
    await expect(suite.vesting.connect(stranger).release(sale.id)).to.changeTokenBalances(suite.flk, [sale.beneficiary, stranger.address], [sale.amount, 0n]);
  });

  it("reports unknown schedules and empty releases with custom errors", async () => {
    const { vesting } = await loadFixture(deploySuite);
    const n = await vesting.scheduleCount();
    await expect(vesting.release(n)).to.be.revertedWithCustomError(vesting, "VestingUnknownSchedule").withArgs(n);
    await expect(vesting.vestedAmount(n, 0)).to.be.revertedWithCustomError(vesting, "VestingUnknownSchedule").withArgs(n);
    await expect(vesting.release(0)).to.be.revertedWithCustomError(vesting, "VestingNothingToRelease").withArgs(0);
  });

  it("lists each beneficiary's schedules and views releasable amounts", async () => {
    const suite = await loadFixture(deploySuite);
    const [eco] = (await schedules(suite)).filter((s) => s.allocation.key === "ecosystem");
    const schedule = await suite.vesting.schedule(eco.id);
    expect(schedule.beneficiary).to.equal(eco.beneficiary);
    expect(schedule.amount).to.equal(eco.amount);
    expect(schedule.allocation).to.equal(2n);
    const start = await suite.vesting.start();
    const at = start + 1000n;
    expect(await suite.vesting.releasableAt(eco.id, at)).to.equal(vestedAmount(eco.allocation, eco.amount, 1000n));
    expect(await suite.vesting.releasable(eco.id)).to.equal(vestedAmount(eco.allocation, eco.amount, BigInt(await time.latest()) - start));
  });

  describe("construction rejects bad allocations", () => {
    const base = { name: "x", total: 10n * FLK, tgeBps: 0, cliff: 10, duration: 100 };
    async function deploy(allocations: Vesting.AllocationInitStruct[]) {
      const [a] = await hre.ethers.getSigners();
      const factory = await hre.ethers.getContractFactory("Vesting");
      return { factory, tx: factory.deploy(a.address, 0, allocations), a };
    }

    it("lists of different lengths", async () => {
      const [a] = await hre.ethers.getSigners();
      const { factory, tx } = await deploy([{ ...base, beneficiaries: [a.address], amounts: [] }]);
      await expect(tx).to.be.revertedWithCustomError(factory, "VestingLengthMismatch").withArgs(0);
    });
    it("schedules that do not sum to the declared total", async () => {
      const [a] = await hre.ethers.getSigners();
      const { factory, tx } = await deploy([{ ...base, beneficiaries: [a.address], amounts: [9n * FLK] }]);
      await expect(tx)
        .to.be.revertedWithCustomError(factory, "VestingTotalMismatch")
        .withArgs(0, 10n * FLK, 9n * FLK);
    });
    it("a TGE share over 100% or a cliff after the end", async () => {
      const [a] = await hre.ethers.getSigners();
      const ok = { beneficiaries: [a.address], amounts: [10n * FLK] };
      const bad1 = await deploy([{ ...base, ...ok, tgeBps: 10_001 }]);
      await expect(bad1.tx).to.be.revertedWithCustomError(bad1.factory, "VestingInvalidShape").withArgs(0);
      const bad2 = await deploy([
        { ...base, ...ok },
        { ...base, ...ok, cliff: 101 },
      ]);
      await expect(bad2.tx).to.be.revertedWithCustomError(bad2.factory, "VestingInvalidShape").withArgs(1);
    });
    it("a zero beneficiary or a zero amount", async () => {
      const [a] = await hre.ethers.getSigners();
      const zero = await deploy([{ ...base, beneficiaries: [a.address, hre.ethers.ZeroAddress], amounts: [5n * FLK, 5n * FLK] }]);
      await expect(zero.tx).to.be.revertedWithCustomError(zero.factory, "VestingInvalidSchedule").withArgs(0, 1);
      const empty = await deploy([{ ...base, beneficiaries: [a.address, a.address], amounts: [10n * FLK, 0n] }]);
      await expect(empty.tx).to.be.revertedWithCustomError(empty.factory, "VestingInvalidSchedule").withArgs(0, 1);
    });
  });
});
