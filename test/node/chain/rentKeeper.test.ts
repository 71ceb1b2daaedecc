/**
 * Issue 20, the rent keeper (node/chain/rentKeeper.ts) against the real AgentMarketplace (Hardhat):
 * rent reaches the rewards pool only through `collectRent`; the keeper calls it for the leases that
 * owe rent, leaves out a paused one and a lease with nothing due, sends no transaction when nothing
 * is due, and examines a bounded batch per tick from a cursor that wraps.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { Wallet } from "ethers";
import { RentKeeper } from "../../../node/chain/rentKeeper";
import { deploySuite } from "../../../testkit/deploy";

const ROOT = `0x${"11".repeat(32)}`;

async function threeLeases() {
  const suite = await deploySuite();
  const [, alice] = await hre.ethers.getSigners();
  const m = suite.agentMarketplace.connect(alice);
  await suite.usdc.mint(alice.address, 1_000_000n);
  await suite.usdc.connect(alice).approve(await m.getAddress(), hre.ethers.MaxUint256);
  for (const name of ["a", "b", "c"]) await m.register(name, ROOT, ROOT, 256, 0);
  // 256 MiB at the default 7,000 per GiB-hour: 1,750 units an hour. Agent 3 stays unfunded.
  await m.fundLease(1, 3_500);
  await m.fundLease(2, 3_500);
  await m.setPaused(2, true);
  const keeper = new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider);
  await alice.sendTransaction({ to: keeper.address, value: 10n ** 18n });
  return { suite, m, keeper };
}

describe("rent keeper: collectRent for the leases that owe rent (issue 20)", function () {
  this.timeout(120_000);

  it("collects an hour's rent of the running lease into the rewards pool, and sends nothing when nothing is due", async () => {
    const { suite, keeper } = await loadFixture(threeLeases);
    const rewards = await suite.rewards.getAddress();
    const market = await suite.agentMarketplace.getAddress();
    const k = new RentKeeper(hre.ethers.provider, market, keeper, { scanPerTick: 256 });
    await time.increase(3_600);
    // Only agent 1 runs: 2 is paused, 3 has no credit.
    expect(await k.dueIds()).to.deep.equal([1n]);
    const before = await suite.usdc.balanceOf(rewards);
    const nonce = await hre.ethers.provider.getTransactionCount(keeper.address);
    const sent = await k.tick();
    // 3,600 s of 1,750 units an hour, plus the second or two the fixture's own blocks add, at 1,750/3,600 a second.
    expect(sent).to.be.within(1_750n, 1_752n);
    expect((await suite.usdc.balanceOf(rewards)) - before).to.equal(sent);
    expect(await hre.ethers.provider.getTransactionCount(keeper.address)).to.equal(nonce + 1);
    // Right after: less than a unit owed, so no transaction.
    expect(await k.tick()).to.equal(0n);
    expect(await hre.ethers.provider.getTransactionCount(keeper.address)).to.equal(nonce + 1);
  });

  it("examines a bounded batch per tick, from a cursor that wraps around the agents", async () => {
    const { m, keeper, suite } = await loadFixture(threeLeases);
    await m.setPaused(2, false);
    await time.increase(3_600);
    const k = new RentKeeper(hre.ethers.provider, await suite.agentMarketplace.getAddress(), keeper, { scanPerTick: 2 });
    expect(await k.dueIds()).to.deep.equal([1n, 2n]);
    expect(await k.dueIds()).to.deep.equal([1n]); // ids 3 (unfunded) and 1 (wrapped)
    expect(() => new RentKeeper(hre.ethers.provider, Wallet.createRandom().address, keeper, { scanPerTick: 257 })).to.throw(
      "rent keeper: scanPerTick must be 1-256",
    );
  });
});
