import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import { FLK } from "../../protocol/units";
import { deploySuite, timelockSigner, type Suite } from "../../testkit/deploy";

/** A trade as the contract quoted it just before, and what it did to the trader's FLK. */
export interface QuotedTrade {
  block: number;
  trader: string;
  creator: string;
  side: "BUY" | "SELL";
  amount: bigint;
  /** Second value of `buyCost` / `sellReturn`: the curve amount. */
  curve: bigint;
  /** The trader's FLK balance change (paid on a buy, received on a sell). */
  traderFlk: bigint;
}

/** The suite after scripted creator-market and buyback activity, with what the script knows. */
export interface CreatorSuite extends Suite {
  traders: HardhatEthersSigner[];
  /** Creators whose tokens exist, in creation order. */
  creators: string[];
  trades: QuotedTrade[];
  /** FLK sent to the market outside any trade (not reserve), and the block it arrived in. */
  stray: { block: number; amount: bigint };
}

const USDC = 10n ** 6n;
const NO_DEADLINE = 2n ** 64n;
/** FLK each trader receives. */
const FUNDS = 100_000n * FLK;

/** Funded traders (accounts 2..7) that approved the market and the burner, and a USDC payer. */
export async function fundedTraders(suite: Suite): Promise<HardhatEthersSigner[]> {
  const signers = await hre.ethers.getSigners();
  const sale = signers[16];
  await suite.vesting.release((await suite.vesting.scheduleIdsOf(sale.address))[0]);
  const traders = signers.slice(2, 8);
  const [market, burner] = await Promise.all([suite.creatorMarket.getAddress(), suite.buyback.getAddress()]);
  for (const t of traders) {
    await suite.flk.connect(sale).transfer(t.address, FUNDS);
    await suite.flk.connect(t).approve(market, hre.ethers.MaxUint256);
    await suite.flk.connect(t).approve(burner, hre.ethers.MaxUint256);
    await suite.usdc.mint(t.address, 100_000n * USDC);
    await suite.usdc.connect(t).approve(burner, hre.ethers.MaxUint256);
  }
  return traders;
}

/** Buys `amount` of `creator`'s token for `trader`, recording the quote and the FLK paid. */
export async function buy(suite: Suite, trades: QuotedTrade[], trader: HardhatEthersSigner, creator: string, amount: bigint) {
  const [, curve] = await suite.creatorMarket.buyCost(creator, amount);
  await recordTrade(suite, trades, trader, creator, "BUY", amount, curve, () =>
    suite.creatorMarket.connect(trader).buy(creator, amount, hre.ethers.MaxUint256, NO_DEADLINE),
  );
}

/** Sells `amount` of `creator`'s token for `trader`, recording the quote and the FLK received. */
export async function sell(suite: Suite, trades: QuotedTrade[], trader: HardhatEthersSigner, creator: string, amount: bigint) {
  const [, curve] = await suite.creatorMarket.sellReturn(creator, amount);
  await recordTrade(suite, trades, trader, creator, "SELL", amount, curve, () => suite.creatorMarket.connect(trader).sell(creator, amount, 0n, NO_DEADLINE));
}

async function recordTrade(
  suite: Suite,
  trades: QuotedTrade[],
  trader: HardhatEthersSigner,
  creator: string,
  side: "BUY" | "SELL",
  amount: bigint,
  curve: bigint,
  send: () => Promise<ContractTransactionResponse>,
) {
  const before = await suite.flk.balanceOf(trader.address);
  const receipt = (await (await send()).wait())!;
  const after = await suite.flk.balanceOf(trader.address);
  trades.push({
    block: receipt.blockNumber,
    trader: trader.address,
    creator,
    side,
    amount,
    curve,
    traderFlk: side === "BUY" ? before - after : after - before,
  });
}

/**
 * Two creator tokens traded by several accounts (first buys, buys and sells around a fee change,
 * a token transfer between holders, a holder emptied, one token sold back to zero supply and
 * bought again), creator and treasury fees paid out, FLK sent to the market outside a trade, a
 * holder's own burn, and three buyback auctions (two sold, one at the floor after a floor
 * change, one open with a deposit). Deterministic given the suite.
 */
export async function creatorActivity(): Promise<CreatorSuite> {
  const suite = await deploySuite();
  const signers = await hre.ethers.getSigners();
  const traders = await fundedTraders(suite);
  const [a, b, c, d, e, f] = traders;
  const x = e; // a creator who also trades
  const y = signers[9];
  const trades: QuotedTrade[] = [];
  const { creatorMarket: market, buyback, flk, usdc } = suite;
  const owner = await timelockSigner(suite);

  await buy(suite, trades, a, x.address, 10n * FLK);
  await buy(suite, trades, b, x.address, 5n * FLK + FLK / 2n);
  await buy(suite, trades, c, y.address, 1n);
  const tokenX = await hre.ethers.getContractAt("CreatorToken", await market.tokenOf(x.address));
  await tokenX.connect(a).transfer(d.address, 3n * FLK);
  await sell(suite, trades, d, x.address, FLK);
  await sell(suite, trades, b, x.address, 5n * FLK + FLK / 2n);
  await market.connect(owner).setFees(200, 0, 300);
  await buy(suite, trades, f, x.address, 2n * FLK + 7n);
  const strayAmount = 7n * FLK + 3n;
  const strayTx = await (await flk.connect(a).transfer(await market.getAddress(), strayAmount)).wait();
  await market.connect(x).claimCreatorFees();
  await market.connect(a).withdrawTreasuryFees();
  await buy(suite, trades, c, y.address, 100n * FLK);
  await sell(suite, trades, c, y.address, 100n * FLK + 1n);
  await buy(suite, trades, a, y.address, 2n * FLK);
  await market.connect(owner).setFees(300, 100, 100);
  await buy(suite, trades, d, x.address, 1n * FLK);
  await flk.connect(f).burn(5n * FLK);

  // Buyback: auction 0 sold early (10 USDC at ~958 FLK per USDC), auction 1 (restarted by the 500
  // USDC deposit; the 250 USDC transfer is too small to restart it) waits past a floor change into
  // the floor, auction 2 restarted by the last deposit.
  await buyback.connect(a).deposit(10n * USDC);
  await time.increase(3_600);
  await buyback.connect(b).buy(0, hre.ethers.MaxUint256, NO_DEADLINE, c.address);
  await buyback.connect(a).deposit(500n * USDC);
  await usdc.connect(a).transfer(await buyback.getAddress(), 250n * USDC);
  await time.increase(6 * 3_600);
  await buyback.connect(owner).setParams(2 * 86_400, 15n * 10n ** 17n, 20n * FLK);
  await time.increase(6 * 3_600);
  await time.increase(86_400);
  await buyback.connect(d).buy(1, hre.ethers.MaxUint256, NO_DEADLINE, d.address);
  await buyback.connect(a).deposit(100n * USDC);
  await time.increase(3_600);

  return { ...suite, traders, creators: [x.address, y.address], trades, stray: { block: strayTx!.blockNumber, amount: strayAmount } };
}
