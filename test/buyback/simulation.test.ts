/**
 * Issue #14, attack 4: buybacks at the floor. Thirty daily epochs of lumpy revenue (one to three
 * plain transfers a day of 1,000-20,000 USDC, as the escrow pays its share) against buyers who
 * know the market price p and buy the moment the auction is at or below it (checking every
 * second, syncing new revenue first as any buyer can). With the old whole-pot price that decayed
 * to a 10-FLK floor within a day, five 20,000-USDC pots each sold for 10 FLK; now FLK burned must
 * be at least 95% of all the USDC deposited / p. Deterministic: the lumps come from a fixed-seed generator.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { auctionPrice, potPrice } from "../../protocol/buyback";
import { deploySuite } from "../../testkit/deploy";
import { fundWithFlk } from "../../testkit/flk";

const USDC = 10n ** 6n;
const DAY = 86_400n;

/** The market: 2 FLK per USDC. */
const P = 2n * FLK;

async function market() {
  const suite = await deploySuite();
  const [, , escrow, buyer] = await hre.ethers.getSigners();
  await fundWithFlk(suite, [buyer.address], 5_000_000n * FLK);
  await suite.flk.connect(buyer).approve(await suite.buyback.getAddress(), hre.ethers.MaxUint256);
  await suite.usdc.mint(escrow.address, 10_000_000n * USDC);
  return { ...suite, escrow, buyer };
}

/** A small deterministic generator (mulberry32). */
function generator(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}

describe("BuybackBurner: a market simulation with lumpy revenue", () => {
  it("burns at least 95% of USDC / p over 30 epochs, and never sells a lump at a price that decayed with nothing to buy", async function () {
    this.timeout(600_000);
    const s = await loadFixture(market);
    const burner = await s.buyback.getAddress();
    const [, , floor] = await s.buyback.params();
    const random = generator(14);
    let usdcSold = 0n;
    let usdcIn = 0n;
    let flkBurned = 0n;
    let buys = 0;
    let restarts = 0;
    let deposits = 0;

    /** The buyer, until `until`: sync new revenue, then buy at the first second the price is ≤ p. */
    const buyerActs = async (until: bigint) => {
      for (;;) {
        if ((await s.buyback.pot()) > (await s.buyback.accountedPot())) {
          const tx = await s.buyback.connect(s.buyer).sync();
          if ((await tx.wait())!.logs.length > 0) restarts++;
        }
        const pot = await s.buyback.accountedPot();
        if (pot === 0n) return;
        const { id, start, period, startPrice } = await s.buyback.auction();
        const now = BigInt(await time.latest()) + 1n;
        // Earliest second at which the price per USDC is at most p (binary search on the decay).
        let lo = now - start;
        let hi = period;
        if (auctionPrice(startPrice, floor, period, hi) > P) return;
        while (lo < hi) {
          const mid = (lo + hi) / 2n;
          if (auctionPrice(startPrice, floor, period, mid) <= P) hi = mid;
          else lo = mid + 1n;
        }
        const at = start + lo;
        if (at >= until) return;
        await time.setNextBlockTimestamp(at);
        const rate = auctionPrice(startPrice, floor, period, at - start);
        expect(rate <= P).to.equal(true);
        const paid = potPrice(rate, pot);
        await expect(s.buyback.connect(s.buyer).buy(id, paid, at, s.buyer.address))
          .to.emit(s.buyback, "AuctionBought")
          .withArgs(id, s.buyer.address, s.buyer.address, pot, paid, rate * 2n);
        usdcSold += pot;
        flkBurned += paid;
        buys++;
      }
    };

    const t0 = BigInt(await time.latest());
    for (let epoch = 0n; epoch < 30n; epoch++) {
      const dayStart = t0 + epoch * DAY;
      const lumps = 1 + random(3);
      const times = Array.from({ length: lumps }, () => dayStart + 1n + BigInt(random(Number(DAY) - 1))).sort((a, b) => (a < b ? -1 : 1));
      for (const at of times) {
        await buyerActs(at);
        if (BigInt(await time.latest()) >= at) continue;
        await time.setNextBlockTimestamp(at);
        const lump = BigInt(1_000 + random(19_001)) * USDC;
        await s.usdc.connect(s.escrow).transfer(burner, lump);
        usdcIn += lump;
        deposits++;
      }
    }
    await buyerActs(t0 + 31n * DAY);

    // Every kind of action happened, more than once.
    expect([deposits > 30, buys > 10, restarts > 10]).to.deep.equal([true, true, true]);
    // Every lump was sold (the last within a day of arriving), and FLK burned ≥ 95% of what all the
    // USDC deposited is worth at p (the measure: unsold USDC counts as burned nothing).
    expect(usdcSold).to.equal(usdcIn);
    const worth = (usdcIn * P) / USDC;
    expect(flkBurned * 100n >= worth * 95n, `burned ${flkBurned} of ${worth}`).to.equal(true);
    expect(await s.buyback.totalBurned()).to.equal(flkBurned);
  });

  it("restarts the decay when a lump arrives after the price reached the floor: the lump is not sold at the floor", async () => {
    const s = await loadFixture(market);
    const [, , floor] = await s.buyback.params();
    const { id, startPrice } = await s.buyback.auction();
    await time.increase(2n * DAY);
    expect(await s.buyback.currentPrice()).to.equal(floor);
    // The escrow pays 20,000 USDC by plain transfer; an attacker's buy at the floor only restarts the auction.
    await s.usdc.connect(s.escrow).transfer(await s.buyback.getAddress(), 20_000n * USDC);
    await expect(s.buyback.connect(s.buyer).buy(id, potPrice(floor, 20_000n * USDC), (await time.latest()) + 60, s.buyer.address))
      .to.emit(s.buyback, "AuctionRestarted")
      .withArgs(id, startPrice, DAY, 20_000n * USDC)
      .and.not.to.emit(s.buyback, "AuctionBought");
    expect(await s.usdc.balanceOf(s.buyer.address)).to.equal(0n);
    expect(await s.buyback.currentPrice()).to.equal(startPrice);
    // Revenue smaller than the pot adds to it without a restart.
    const { start } = await s.buyback.auction();
    await s.usdc.connect(s.escrow).transfer(await s.buyback.getAddress(), 19_999n * USDC);
    expect(await s.buyback.sync.staticCall()).to.equal(false);
    await s.buyback.sync();
    expect((await s.buyback.auction()).start).to.equal(start);
    expect(await s.buyback.accountedPot()).to.equal(39_999n * USDC);
  });
});
