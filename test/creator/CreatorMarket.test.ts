import { expect } from "chai";
import { timelockSigner } from "../../testkit/deploy";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import {
  creatorTokenAddress,
  DEFAULT_FEES,
  MAX_SUPPLY,
  quoteBuy,
  quoteSell,
  reserveAt,
  spotPrice,
  START_PRICE,
  type FeeShares,
} from "../../protocol/creatorMarket";
import type { CreatorToken } from "../../typechain-types";
import { withTraders } from "./fixtures";

const deadline = async () => (await time.latest()) + 3600;

/** Supplies and amounts of many magnitudes: single wei, odd wei, whole tokens, millions of tokens. */
const SIZES = [
  1n,
  2n,
  3n,
  7n,
  999n,
  10n ** 9n + 7n,
  10n ** 15n,
  10n ** 18n - 1n,
  10n ** 18n,
  10n ** 18n + 1n,
  3n * 10n ** 18n + 12345n,
  10n ** 20n,
  123_456_789_012_345_678_901n,
  10n ** 22n,
  10n ** 24n,
  7n * 10n ** 25n + 3n,
];

describe("CreatorMarket", () => {
  async function tokenOf(market: { tokenOf(a: string): Promise<string> }, creator: string): Promise<CreatorToken> {
    return hre.ethers.getContractAt("CreatorToken", await market.tokenOf(creator));
  }

  describe("deployment", () => {
    it("is owned by the admin, pays the treasury share to the admin, with the default fees", async () => {
      const { creatorMarket: market, admin, flk } = await loadFixture(withTraders);
      expect(await market.owner()).to.equal(admin);
      expect(await market.treasury()).to.equal(admin);
      expect(await market.flk()).to.equal(await flk.getAddress());
      const g = await market.globalState();
      expect([g.creatorFeeBps, g.burnFeeBps, g.treasuryFeeBps]).to.deep.equal([DEFAULT_FEES.creatorBps, DEFAULT_FEES.burnBps, DEFAULT_FEES.treasuryBps]);
      expect(g.tokenCount).to.equal(0n);
    });
  });

  describe("dust trades", () => {
    it("a dust buy pays at least 1 wei of every fee share; a sell worth less than its fees is refused", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [buyer, creator] = traders;
      // 1 wei of token at zero supply costs 1 wei of FLK on the curve (reserveAt(1) = 1, rounded up):
      // 3%, 1% and 1% of it rounded down were nothing; rounded up, 1 wei each.
      await expect(market.connect(buyer).buy(creator.address, 1n, 4n, await deadline()))
        .to.emit(market, "Buy")
        .withArgs(creator.address, buyer.address, 1n, 1n, 1n, 1n, 1n, 1n);
      expect(await market.sellReturn(creator.address, 1n)).to.deep.equal([0n, 1n]);
      await expect(market.connect(buyer).sell(creator.address, 1n, 0n, await deadline()))
        .to.be.revertedWithCustomError(market, "CreatorMarketDustTrade")
        .withArgs(1n);
      // 10^6 wei of FLK of curve value: 30,000 + 10,000 + 10,000 wei exactly (no rounding needed).
      const q = quoteBuy(1n, 100_000_000n, DEFAULT_FEES);
      expect(q.cost).to.equal(1_000_000n);
      expect([q.fees.creator, q.fees.burn, q.fees.treasury]).to.deep.equal([30_000n, 10_000n, 10_000n]);
    });
  });

  describe("curve math against the TypeScript reference", () => {
    it("reserveAt equals the bigint integral, rounded up, at supplies of every magnitude", async () => {
      const { creatorMarket: market } = await loadFixture(withTraders);
      for (const s of [0n, ...SIZES, MAX_SUPPLY - 1n, MAX_SUPPLY]) expect(await market.reserveAt(s)).to.equal(reserveAt(s));
      // Spot checks of the formula itself: 1 token at zero supply costs 0.01 + 0.0005 FLK.
      expect(reserveAt(FLK)).to.equal(START_PRICE + 5n * 10n ** 14n);
      expect(reserveAt(1n)).to.equal(1n); // rounded up from 0.0100000000000000005 wei
    });

    it("buy costs, sell returns and spot prices match the reference over many sizes, and trades pay exactly that", async () => {
      const { creatorMarket: market, flk, traders } = await loadFixture(withTraders);
      const [buyer, creator] = traders;
      const marketAddress = await market.getAddress();
      let supply = 0n;
      const bought: bigint[] = [];
      for (const amount of SIZES.slice(0, 14)) {
        const q = quoteBuy(supply, amount, DEFAULT_FEES);
        const [total, cost] = await market.buyCost(creator.address, amount);
        expect([total, cost]).to.deep.equal([q.total, q.cost]);
        // A buy whose curve cost rounds to nothing would carry no fee: refused.
        if (q.dust) {
          await expect(market.connect(buyer).buy(creator.address, amount, q.total, await deadline())).to.be.revertedWithCustomError(
            market,
            "CreatorMarketDustTrade",
          );
          continue;
        }
        bought.push(amount);
        const supplyBefore = await flk.totalSupply();
        const balanceBefore = await flk.balanceOf(buyer.address);
        const marketBefore = await flk.balanceOf(marketAddress);
        await market.connect(buyer).buy(creator.address, amount, q.total, await deadline());
        expect(await flk.balanceOf(buyer.address)).to.equal(balanceBefore - q.total);
        expect(await flk.balanceOf(marketAddress)).to.equal(marketBefore + q.cost + q.fees.creator + q.fees.treasury);
        expect(await flk.totalSupply()).to.equal(supplyBefore - q.fees.burn);
        supply += amount;
        expect(await market.supplyOf(creator.address)).to.equal(supply);
        expect(await market.reserveOf(creator.address)).to.equal(reserveAt(supply));
        expect(await market.spotPrice(creator.address)).to.equal(spotPrice(supply));
      }
      let unsold = 0n;
      for (const amount of bought.reverse()) {
        const q = quoteSell(supply, amount, DEFAULT_FEES);
        expect(await market.sellReturn(creator.address, amount)).to.deep.equal([q.dust ? 0n : q.proceeds, q.value]);
        // A sell worth less than its fees is refused; the dust stays with the holder.
        if (q.dust) {
          await expect(market.connect(buyer).sell(creator.address, amount, 0n, await deadline())).to.be.revertedWithCustomError(
            market,
            "CreatorMarketDustTrade",
          );
          unsold += amount;
          continue;
        }
        const balanceBefore = await flk.balanceOf(buyer.address);
        const supplyBefore = await flk.totalSupply();
        await market.connect(buyer).sell(creator.address, amount, q.proceeds, await deadline());
        expect(await flk.balanceOf(buyer.address)).to.equal(balanceBefore + q.proceeds);
        expect(await flk.totalSupply()).to.equal(supplyBefore - q.fees.burn);
        supply -= amount;
      }
      expect(supply).to.equal(unsold);
      expect(unsold < 10n ** 3n).to.equal(true);
      expect(await market.reserveOf(creator.address)).to.equal(reserveAt(unsold));
      // All that is left in the market is fees and the dust's reserve: the reserve paid everything else back.
      const g = await market.globalState();
      expect(await flk.balanceOf(marketAddress)).to.equal((await market.creatorFeesOf(creator.address)) + g.treasuryFees + reserveAt(unsold));
    });

    it("a buy split in many pieces costs exactly what one buy of the sum costs (path independence)", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [a, b, creatorA, creatorB] = traders;
      // Pieces whose curve cost is not zero (a zero-cost piece is refused as dust).
      const pieces = [1n, 10n ** 17n + 3n, 500n, 10n ** 18n, 333_333_333_333_333_333n];
      const sum = pieces.reduce((x, y) => x + y, 0n);
      let paid = 0n;
      for (const p of pieces) {
        const [, cost] = await market.buyCost(creatorA.address, p);
        paid += cost;
        await market.connect(a).buy(creatorA.address, p, hre.ethers.MaxUint256, await deadline());
      }
      const [, whole] = await market.buyCost(creatorB.address, sum);
      await market.connect(b).buy(creatorB.address, sum, hre.ethers.MaxUint256, await deadline());
      expect(paid).to.equal(whole);
      expect(whole).to.equal(reserveAt(sum));
    });
  });

  describe("token creation", () => {
    it("creates the token on the first buy at the address computed before it existed, and lists it", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [buyer, creator, creator2] = traders;
      const predicted = await market.tokenOf(creator.address);
      expect(predicted).to.equal(creatorTokenAddress(await market.getAddress(), await market.tokenImplementation(), creator.address));
      expect(await hre.ethers.provider.getCode(predicted)).to.equal("0x");
      expect(await market.tokenExists(creator.address)).to.equal(false);

      await expect(market.connect(buyer).buy(creator.address, FLK, hre.ethers.MaxUint256, await deadline()))
        .to.emit(market, "CreatorTokenCreated")
        .withArgs(creator.address, predicted, 0n);
      expect(await market.tokenExists(creator.address)).to.equal(true);
      expect(await hre.ethers.provider.getCode(predicted)).to.not.equal("0x");
      // A second buy does not create again.
      await expect(market.connect(buyer).buy(creator.address, FLK, hre.ethers.MaxUint256, await deadline())).to.not.emit(market, "CreatorTokenCreated");
      await expect(market.connect(buyer).buy(creator2.address, FLK, hre.ethers.MaxUint256, await deadline()))
        .to.emit(market, "CreatorTokenCreated")
        .withArgs(creator2.address, await market.tokenOf(creator2.address), 1n);
      expect((await market.globalState()).tokenCount).to.equal(2n);

      const token = await tokenOf(market, creator.address);
      expect(await token.name()).to.equal("Fleek Creator Token");
      expect(await token.symbol()).to.equal("FCT");
      expect(await token.decimals()).to.equal(18n);
      expect(await token.market()).to.equal(await market.getAddress());
      expect(await token.totalSupply()).to.equal(2n * FLK);
      expect(await token.balanceOf(buyer.address)).to.equal(2n * FLK);
    });

    it("a token exists even after its whole supply is sold, and buying again does not re-create it", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [buyer, creator] = traders;
      await market.connect(buyer).buy(creator.address, FLK, hre.ethers.MaxUint256, await deadline());
      await market.connect(buyer).sell(creator.address, FLK, 0n, await deadline());
      expect(await market.supplyOf(creator.address)).to.equal(0n);
      expect(await market.tokenExists(creator.address)).to.equal(true);
      await expect(market.connect(buyer).buy(creator.address, FLK, hre.ethers.MaxUint256, await deadline())).to.not.emit(market, "CreatorTokenCreated");
    });
  });

  describe("trades", () => {
    it("emits Buy and Sell with the curve amount, each fee and the new supply", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [buyer, creator] = traders;
      const b = quoteBuy(0n, 5n * FLK, DEFAULT_FEES);
      await expect(market.connect(buyer).buy(creator.address, 5n * FLK, b.total, await deadline()))
        .to.emit(market, "Buy")
        .withArgs(creator.address, buyer.address, 5n * FLK, b.cost, b.fees.creator, b.fees.burn, b.fees.treasury, 5n * FLK);
      const s = quoteSell(5n * FLK, 2n * FLK, DEFAULT_FEES);
      await expect(market.connect(buyer).sell(creator.address, 2n * FLK, s.proceeds, await deadline()))
        .to.emit(market, "Sell")
        .withArgs(creator.address, buyer.address, 2n * FLK, s.value, s.fees.creator, s.fees.burn, s.fees.treasury, 3n * FLK);
    });

    it("reverts beyond the buyer's max cost or the seller's min return, by one wei", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [buyer, creator] = traders;
      const b = quoteBuy(0n, 5n * FLK, DEFAULT_FEES);
      await expect(market.connect(buyer).buy(creator.address, 5n * FLK, b.total - 1n, await deadline()))
        .to.be.revertedWithCustomError(market, "CreatorMarketMaxCost")
        .withArgs(b.total, b.total - 1n);
      await market.connect(buyer).buy(creator.address, 5n * FLK, b.total, await deadline());
      const s = quoteSell(5n * FLK, 5n * FLK, DEFAULT_FEES);
      await expect(market.connect(buyer).sell(creator.address, 5n * FLK, s.proceeds + 1n, await deadline()))
        .to.be.revertedWithCustomError(market, "CreatorMarketMinReturn")
        .withArgs(s.proceeds, s.proceeds + 1n);
      await market.connect(buyer).sell(creator.address, 5n * FLK, s.proceeds, await deadline());
    });

    it("reverts after the deadline, on zero amounts and the zero creator, past the supply cap and on selling more than exists or is held", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [buyer, creator, other] = traders;
      const past = (await time.latest()) - 1;
      await expect(market.connect(buyer).buy(creator.address, FLK, hre.ethers.MaxUint256, past))
        .to.be.revertedWithCustomError(market, "CreatorMarketExpired")
        .withArgs(past);
      await expect(market.connect(buyer).sell(creator.address, FLK, 0n, past))
        .to.be.revertedWithCustomError(market, "CreatorMarketExpired")
        .withArgs(past);
      // The deadline itself is still valid.
      const now = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(now);
      await market.connect(buyer).buy(creator.address, 2n * FLK, hre.ethers.MaxUint256, now);

      await expect(market.connect(buyer).buy(creator.address, 0n, hre.ethers.MaxUint256, await deadline())).to.be.revertedWithCustomError(
        market,
        "CreatorMarketZeroAmount",
      );
      await expect(market.connect(buyer).sell(creator.address, 0n, 0n, await deadline())).to.be.revertedWithCustomError(market, "CreatorMarketZeroAmount");
      await expect(market.connect(buyer).buy(hre.ethers.ZeroAddress, FLK, hre.ethers.MaxUint256, await deadline())).to.be.revertedWithCustomError(
        market,
        "CreatorMarketZeroAddress",
      );
      const room = MAX_SUPPLY - 2n * FLK;
      await expect(market.connect(buyer).buy(creator.address, room + 1n, hre.ethers.MaxUint256, await deadline()))
        .to.be.revertedWithCustomError(market, "CreatorMarketSupplyCap")
        .withArgs(room + 1n, room);
      await expect(market.connect(buyer).buy(creator.address, hre.ethers.MaxUint256, hre.ethers.MaxUint256, await deadline())).to.be.revertedWithCustomError(
        market,
        "CreatorMarketSupplyCap",
      );
      await expect(market.connect(buyer).sell(creator.address, 2n * FLK + 1n, 0n, await deadline()))
        .to.be.revertedWithCustomError(market, "CreatorMarketExceedsSupply")
        .withArgs(2n * FLK + 1n, 2n * FLK);
      const token = await tokenOf(market, creator.address);
      await expect(market.connect(other).sell(creator.address, FLK, 0n, await deadline()))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(other.address, 0n, FLK);
    });

    it("reverts a buy the buyer cannot pay, leaving no token and no state behind", async () => {
      const { creatorMarket: market, flk } = await loadFixture(withTraders);
      const [poor, creator] = (await hre.ethers.getSigners()).slice(11, 13);
      await flk.connect(poor).approve(await market.getAddress(), hre.ethers.MaxUint256);
      await expect(market.connect(poor).buy(creator.address, FLK, hre.ethers.MaxUint256, await deadline())).to.be.revertedWithCustomError(
        flk,
        "ERC20InsufficientBalance",
      );
      expect(await market.tokenExists(creator.address)).to.equal(false);
      expect(await hre.ethers.provider.getCode(await market.tokenOf(creator.address))).to.equal("0x");
    });
  });

  describe("fees", () => {
    it("accrue to the creator (claimed, once), burn at once and accrue to the treasury until withdrawn", async () => {
      const { creatorMarket: market, flk, traders, admin } = await loadFixture(withTraders);
      const [a, b, creator] = traders;
      const buys = [quoteBuy(0n, 3n * FLK, DEFAULT_FEES), quoteBuy(3n * FLK, 7n * FLK + 1n, DEFAULT_FEES)];
      const sell = quoteSell(10n * FLK + 1n, 4n * FLK, DEFAULT_FEES);
      await market.connect(a).buy(creator.address, 3n * FLK, hre.ethers.MaxUint256, await deadline());
      await market.connect(b).buy(creator.address, 7n * FLK + 1n, hre.ethers.MaxUint256, await deadline());
      await market.connect(b).sell(creator.address, 4n * FLK, 0n, await deadline());
      const creatorFees = buys[0].fees.creator + buys[1].fees.creator + sell.fees.creator;
      const treasuryFees = buys[0].fees.treasury + buys[1].fees.treasury + sell.fees.treasury;
      expect(await market.creatorFeesOf(creator.address)).to.equal(creatorFees);
      expect((await market.globalState()).treasuryFees).to.equal(treasuryFees);

      // Nobody but the creator can take the creator's fees: a claim pays the caller's own.
      await expect(market.connect(a).claimCreatorFees()).to.be.revertedWithCustomError(market, "CreatorMarketNothingToClaim");
      const claim = market.connect(creator).claimCreatorFees();
      await expect(claim).to.emit(market, "CreatorFeesClaimed").withArgs(creator.address, creatorFees);
      await expect(claim).to.changeTokenBalances(flk, [creator, market], [creatorFees, -creatorFees]);
      expect(await market.creatorFeesOf(creator.address)).to.equal(0n);
      await expect(market.connect(creator).claimCreatorFees()).to.be.revertedWithCustomError(market, "CreatorMarketNothingToClaim");

      // Anyone sends the treasury share to the treasury.
      const withdrawal = market.connect(a).withdrawTreasuryFees();
      await expect(withdrawal).to.emit(market, "TreasuryFeesWithdrawn").withArgs(admin, treasuryFees);
      await expect(withdrawal).to.changeTokenBalances(flk, [admin, market], [treasuryFees, -treasuryFees]);
      await expect(market.withdrawTreasuryFees()).to.be.revertedWithCustomError(market, "CreatorMarketNothingToClaim");
      // What remains is exactly the reserve.
      expect(await flk.balanceOf(await market.getAddress())).to.equal(reserveAt(6n * FLK + 1n));
    });

    it("only the owner sets fees and the treasury, within the hard caps", async () => {
      const { creatorMarket: market, traders, admin } = await loadFixture(withTraders);
      const owner = await timelockSigner({ admin });
      const [stranger, newTreasury] = traders;
      await expect(market.connect(stranger).setFees(0, 0, 0))
        .to.be.revertedWithCustomError(market, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(market.connect(stranger).setTreasury(stranger.address)).to.be.revertedWithCustomError(market, "OwnableUnauthorizedAccount");
      for (const bad of [
        [501, 0, 0],
        [0, 501, 0],
        [0, 0, 501],
        [500, 500, 1],
        [400, 400, 201],
      ]) {
        await expect(market.connect(owner).setFees(bad[0], bad[1], bad[2])).to.be.revertedWithCustomError(market, "CreatorMarketFeeTooHigh");
      }
      await expect(market.connect(owner).setFees(500, 0, 500))
        .to.emit(market, "FeesSet")
        .withArgs(500, 0, 500);
      await expect(market.connect(owner).setTreasury(hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(market, "CreatorMarketZeroAddress");
      await expect(market.connect(owner).setTreasury(newTreasury.address)).to.emit(market, "TreasurySet").withArgs(newTreasury.address);

      // The new shares apply to the next trade.
      const shares: FeeShares = { creatorBps: 500n, burnBps: 0n, treasuryBps: 500n };
      const q = quoteBuy(0n, FLK, shares);
      await expect(market.connect(stranger).buy(newTreasury.address, FLK, q.total, await deadline()))
        .to.emit(market, "Buy")
        .withArgs(newTreasury.address, stranger.address, FLK, q.cost, q.fees.creator, 0n, q.fees.treasury, FLK);
    });

    it("with zero fees a round trip returns exactly what was paid", async () => {
      const { creatorMarket: market, flk, traders, admin } = await loadFixture(withTraders);
      await market.connect(await timelockSigner({ admin })).setFees(0, 0, 0);
      const [buyer, creator] = traders;
      const before = await flk.balanceOf(buyer.address);
      await market.connect(buyer).buy(creator.address, 12_345_678_901_234_567n, hre.ethers.MaxUint256, await deadline());
      await market.connect(buyer).sell(creator.address, 12_345_678_901_234_567n, 0n, await deadline());
      expect(await flk.balanceOf(buyer.address)).to.equal(before);
    });
  });

  describe("creator token", () => {
    it("transfers and spends allowances like an ERC-20, and only the market mints and burns", async () => {
      const { creatorMarket: market, traders } = await loadFixture(withTraders);
      const [a, b, c, creator] = traders;
      await market.connect(a).buy(creator.address, 10n * FLK, hre.ethers.MaxUint256, await deadline());
      const token = await tokenOf(market, creator.address);
      await expect(token.connect(a).transfer(b.address, 3n * FLK)).to.changeTokenBalances(token, [a, b], [-3n * FLK, 3n * FLK]);
      await expect(token.connect(a).transfer(hre.ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(token, "ERC20InvalidReceiver");
      await expect(token.connect(a).transfer(b.address, 7n * FLK + 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(a.address, 7n * FLK, 7n * FLK + 1n);
      await expect(token.connect(a).approve(hre.ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(token, "ERC20InvalidSpender");
      await expect(token.connect(a).approve(c.address, 2n * FLK))
        .to.emit(token, "Approval")
        .withArgs(a.address, c.address, 2n * FLK);
      await expect(token.connect(c).transferFrom(a.address, c.address, 2n * FLK + 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(c.address, 2n * FLK, 2n * FLK + 1n);
      await token.connect(c).transferFrom(a.address, c.address, 2n * FLK);
      expect(await token.allowance(a.address, c.address)).to.equal(0n);
      await token.connect(a).approve(c.address, hre.ethers.MaxUint256);
      await token.connect(c).transferFrom(a.address, c.address, FLK);
      expect(await token.allowance(a.address, c.address)).to.equal(hre.ethers.MaxUint256);
      // A transfer to oneself changes nothing.
      await expect(token.connect(a).transfer(a.address, FLK)).to.changeTokenBalance(token, a, 0n);
      expect(await token.totalSupply()).to.equal(10n * FLK);

      await expect(token.connect(a).mint(a.address, 1n)).to.be.revertedWithCustomError(token, "CreatorTokenUnauthorized").withArgs(a.address);
      await expect(token.connect(a).burn(b.address, 1n)).to.be.revertedWithCustomError(token, "CreatorTokenUnauthorized").withArgs(a.address);
      // Whoever holds the tokens sells them.
      await market.connect(b).sell(creator.address, 3n * FLK, 0n, await deadline());
      expect(await token.totalSupply()).to.equal(7n * FLK);
    });
  });
});
