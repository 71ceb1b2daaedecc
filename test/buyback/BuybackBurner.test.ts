import { expect } from "chai";
import { timelockSigner } from "../../testkit/deploy";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { DEFAULT_AUCTION } from "../../ignition/buyback";
import { auctionPrice, nextStartPrice, potPrice } from "../../protocol/buyback";
import { FLK } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";
import { fundWithFlk } from "../../testkit/flk";

const USDC = 10n ** 6n;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
const { period: PERIOD, floor: FLOOR, multiplier: MULTIPLIER, firstStartPrice: FIRST } = DEFAULT_AUCTION;

/** The suite with a revenue payer holding USDC and two buyers holding FLK and approving the burner. */
async function withBuyers() {
  const suite = await deploySuite();
  const [, , payer, alice, bob, recipient] = await hre.ethers.getSigners();
  await fundWithFlk(suite, [alice.address, bob.address], 1_000_000n * FLK);
  const burner = await suite.buyback.getAddress();
  for (const s of [alice, bob]) await suite.flk.connect(s).approve(burner, hre.ethers.MaxUint256);
  await suite.usdc.mint(payer.address, 1_000_000n * USDC);
  await suite.usdc.connect(payer).approve(burner, hre.ethers.MaxUint256);
  return { ...suite, payer, alice, bob, recipient };
}

describe("BuybackBurner", () => {
  it("is deployed by Ignition with MockUSDC (6 decimals) on the local chain, owned by the admin, with the default parameters", async () => {
    const { buyback, usdc, flk, admin } = await loadFixture(withBuyers);
    expect(await buyback.owner()).to.equal(admin);
    expect(await buyback.flk()).to.equal(await flk.getAddress());
    expect(await buyback.usdc()).to.equal(await usdc.getAddress());
    expect(await usdc.decimals()).to.equal(6n);
    // The decided defaults (docs/buyback.md), as literals: 1 day, 2×, 0.01 FLK and 1,000 FLK per USDC.
    expect(await buyback.params()).to.deep.equal([86_400n, 2n * 10n ** 18n, 10n ** 16n]);
    const a = await buyback.auction();
    expect([a.id, a.period, a.startPrice]).to.deep.equal([0n, 86_400n, 1_000n * 10n ** 18n]);
    expect(await buyback.totalBurned()).to.equal(0n);
  });

  it("accumulates revenue from deposits (with an event) and from plain transfers", async () => {
    const { buyback, usdc, payer } = await loadFixture(withBuyers);
    await expect(buyback.connect(payer).deposit(300n * USDC))
      .to.emit(buyback, "RevenueDeposited")
      .withArgs(payer.address, 300n * USDC);
    await usdc.connect(payer).transfer(await buyback.getAddress(), 200n * USDC);
    expect(await buyback.pot()).to.equal(500n * USDC);
    await expect(buyback.connect(payer).deposit(0n)).to.be.revertedWithCustomError(buyback, "BuybackZeroInput");
  });

  it("prices the pot linearly from the start price down to the floor over the period, then holds the floor", async () => {
    const { buyback } = await loadFixture(withBuyers);
    const start = (await buyback.auction()).start;
    for (const elapsed of [0n, 1n, 1234n, PERIOD / 2n, PERIOD - 1n, PERIOD, PERIOD + 1n, 10n * PERIOD]) {
      if (BigInt(await time.latest()) < start + elapsed) await time.increaseTo(start + elapsed);
      const now = BigInt(await time.latest());
      expect(await buyback.currentPrice()).to.equal(auctionPrice(FIRST, FLOOR, PERIOD, now - start));
    }
    expect(auctionPrice(FIRST, FLOOR, PERIOD, PERIOD / 2n)).to.equal((FIRST + FLOOR) / 2n);
    expect(auctionPrice(FIRST, FLOOR, PERIOD, PERIOD)).to.equal(FLOOR);
  });

  it("a buy burns the price from the buyer (total supply falls), sends the whole pot and starts the next auction at the multiple", async () => {
    const { buyback, usdc, flk, payer, alice, recipient } = await loadFixture(withBuyers);
    await buyback.connect(payer).deposit(1_000n * USDC);
    const { start } = await buyback.auction();
    const at = start + PERIOD / 4n;
    const rate = auctionPrice(FIRST, FLOOR, PERIOD, PERIOD / 4n);
    const price = potPrice(rate, 1_000n * USDC);
    expect(price).to.equal(rate * 1_000n);
    const supplyBefore = await flk.totalSupply();
    const aliceBefore = await flk.balanceOf(alice.address);
    await time.setNextBlockTimestamp(at);
    const next = nextStartPrice(rate, MULTIPLIER, FLOOR);
    await expect(buyback.connect(alice).buy(0n, price, at, recipient.address))
      .to.emit(buyback, "AuctionBought")
      .withArgs(0n, alice.address, recipient.address, 1_000n * USDC, price, next);
    expect(await flk.totalSupply()).to.equal(supplyBefore - price);
    expect(await flk.balanceOf(alice.address)).to.equal(aliceBefore - price);
    expect(await flk.balanceOf(await buyback.getAddress())).to.equal(0n);
    expect(await buyback.totalBurned()).to.equal(price);
    expect(await usdc.balanceOf(recipient.address)).to.equal(1_000n * USDC);
    expect(await buyback.pot()).to.equal(0n);
    const a = await buyback.auction();
    expect([a.id, a.start, a.startPrice]).to.deep.equal([1n, at, next]);
    expect(next).to.equal(rate * 2n);
  });

  it("reverts a stale auction id, a price above the maximum, a passed deadline, an empty pot and a zero recipient", async () => {
    const { buyback, payer, alice, bob } = await loadFixture(withBuyers);
    await expect(buyback.connect(alice).buy(0n, hre.ethers.MaxUint256, (await time.latest()) + 60, alice.address)).to.be.revertedWithCustomError(
      buyback,
      "BuybackEmptyPot",
    );
    await buyback.connect(payer).deposit(10n * USDC);
    // Both buyers read auction 0; Alice's buy lands first, Bob's names a finished auction.
    await buyback.connect(alice).buy(0n, hre.ethers.MaxUint256, (await time.latest()) + 60, alice.address);
    await buyback.connect(payer).deposit(10n * USDC);
    await expect(buyback.connect(bob).buy(0n, hre.ethers.MaxUint256, (await time.latest()) + 60, bob.address))
      .to.be.revertedWithCustomError(buyback, "BuybackWrongAuction")
      .withArgs(0n, 1n);
    await expect(buyback.connect(bob).buy(2n, hre.ethers.MaxUint256, (await time.latest()) + 60, bob.address))
      .to.be.revertedWithCustomError(buyback, "BuybackWrongAuction")
      .withArgs(2n, 1n);

    const { start, startPrice } = await buyback.auction();
    const at = start + 100n;
    const price = potPrice(auctionPrice(startPrice, FLOOR, PERIOD, 100n), 10n * USDC);
    await time.setNextBlockTimestamp(at);
    await expect(buyback.connect(bob).buy(1n, price - 1n, at, bob.address))
      .to.be.revertedWithCustomError(buyback, "BuybackMaxPayment")
      .withArgs(price, price - 1n);
    await expect(buyback.connect(bob).buy(1n, price, BigInt(await time.latest()), bob.address)).to.be.revertedWithCustomError(buyback, "BuybackExpired");
    await expect(buyback.connect(bob).buy(1n, price, at + 1000n, hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(buyback, "BuybackZeroInput");
  });

  it("a buyer without enough FLK approved or held loses nothing", async () => {
    const { buyback, usdc, flk, payer } = await loadFixture(withBuyers);
    const [poor] = (await hre.ethers.getSigners()).slice(12, 13);
    await buyback.connect(payer).deposit(10n * USDC);
    await expect(buyback.connect(poor).buy(0n, hre.ethers.MaxUint256, (await time.latest()) + 60, poor.address)).to.be.revertedWithCustomError(
      flk,
      "ERC20InsufficientAllowance",
    );
    expect(await usdc.balanceOf(poor.address)).to.equal(0n);
    expect(await buyback.pot()).to.equal(10n * USDC);
  });

  it("only the owner sets the parameters, within the hard bounds; a new period applies from the next auction", async () => {
    const { buyback, admin, alice, payer } = await loadFixture(withBuyers);
    const owner = await timelockSigner({ admin });
    await expect(buyback.connect(alice).setParams(PERIOD, MULTIPLIER, FLOOR)).to.be.revertedWithCustomError(buyback, "OwnableUnauthorizedAccount");
    const bad: Array<[bigint, bigint, bigint]> = [
      [3599n, MULTIPLIER, FLOOR],
      [30n * 86_400n + 1n, MULTIPLIER, FLOOR],
      [PERIOD, 11n * 10n ** 17n - 1n, FLOOR],
      [PERIOD, 3n * 10n ** 18n + 1n, FLOOR],
      [PERIOD, MULTIPLIER, 10n ** 12n - 1n],
      [PERIOD, MULTIPLIER, 1_000_000n * FLK + 1n],
    ];
    for (const [p, m, f] of bad) await expect(buyback.connect(owner).setParams(p, m, f)).to.be.revertedWithCustomError(buyback, "BuybackInvalidParams");
    await expect(buyback.connect(owner).setParams(3600n, 3n * 10n ** 18n, 10n ** 12n))
      .to.emit(buyback, "ParamsSet")
      .withArgs(3600n, 3n * 10n ** 18n, 10n ** 12n);
    // The running auction keeps its period until it restarts; the new floor applies at once.
    expect((await buyback.auction()).period).to.equal(PERIOD);
    await buyback.connect(owner).setParams(PERIOD, 3n * 10n ** 18n, 10n ** 12n);
    await buyback.connect(payer).deposit(USDC);
    const { start } = await buyback.auction();
    await time.increaseTo(start + 7200n);
    const price = auctionPrice(FIRST, 10n ** 12n, PERIOD, 7200n);
    expect(await buyback.currentPrice()).to.equal(price);
    expect(await buyback.currentPotPrice()).to.equal(potPrice(price, USDC));
    await time.setNextBlockTimestamp(start + 7201n);
    await buyback.connect(alice).buy(0n, price, start + 7201n, alice.address); // the price has fallen since
    const paid = auctionPrice(FIRST, 10n ** 12n, PERIOD, 7201n);
    await buyback.connect(owner).setParams(3600n, 3n * 10n ** 18n, 10n ** 12n);
    const a = await buyback.auction();
    expect([a.period, a.startPrice]).to.deep.equal([PERIOD, paid * 3n]);
    // The next revenue restarts the auction with the new period.
    await buyback.connect(payer).deposit(USDC);
    expect((await buyback.auction()).period).to.equal(3600n);
    // A floor raised above the running auction's start price prices the pot at the floor.
    await buyback.connect(owner).setParams(3600n, 3n * 10n ** 18n, paid * 4n);
    expect(await buyback.currentPrice()).to.equal(paid * 4n);
  });

  it("over any sequence of deposits and buys, the burned total equals the FLK supply lost and every price follows the reference", async () => {
    const { buyback, flk, usdc, payer, alice, bob } = await loadFixture(withBuyers);
    // Deposits up to 1 USDC: start prices can double at each early buy, and the buyers hold 1M FLK.
    // A zero deposit one step in three, so that buys often meet an empty pot.
    const step = fc.record({
      deposit: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: USDC }), fc.bigInt({ min: 1n, max: USDC })),
      wait: fc.bigInt({ min: 0n, max: 2n * PERIOD }),
      buyer: fc.boolean(),
    });
    const done = { buy: 0, emptyPot: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const snapshot = await takeSnapshot();
        try {
          const supplyBefore = await flk.totalSupply();
          let burned = 0n;
          let { id, start, startPrice } = await buyback.auction();
          for (const s of steps) {
            if (s.deposit > 0n) await buyback.connect(payer).deposit(s.deposit);
            const pot = await buyback.pot();
            const at = BigInt(await time.latest()) + 1n + s.wait;
            await time.setNextBlockTimestamp(at);
            const buyer = s.buyer ? alice : bob;
            if (pot === 0n) {
              await expect(buyback.connect(buyer).buy(id, hre.ethers.MaxUint256, at, buyer.address)).to.be.revertedWithCustomError(buyback, "BuybackEmptyPot");
              done.emptyPot++;
              continue;
            }
            ({ start } = await buyback.auction()); // a deposit into an empty or small pot restarted it
            const rate = auctionPrice(startPrice, FLOOR, PERIOD, at - start);
            const price = potPrice(rate, pot);
            const usdcBefore = await usdc.balanceOf(buyer.address);
            await buyback.connect(buyer).buy(id, price, at, buyer.address);
            expect(await usdc.balanceOf(buyer.address)).to.equal(usdcBefore + pot);
            burned += price;
            done.buy++;
            expect(await buyback.auction()).to.deep.equal([id + 1n, at, PERIOD, nextStartPrice(rate, MULTIPLIER, FLOOR)]);
            ({ id, start, startPrice } = await buyback.auction());
          }
          expect(await buyback.totalBurned()).to.equal(burned);
          expect(await flk.totalSupply()).to.equal(supplyBefore - burned);
        } finally {
          await snapshot.restore();
        }
      }),
      { numRuns: RUNS },
    );
    expect(done.buy, "buys").to.be.greaterThan(0);
    expect(done.emptyPot, "empty-pot refusals").to.be.greaterThan(0);
  });
});
