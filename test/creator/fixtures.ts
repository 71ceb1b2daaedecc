import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { FLK } from "../../protocol/units";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { fundWithFlk } from "../../testkit/flk";

/** FLK each trader starts with. */
export const TRADER_FLK = 1_000_000n * FLK;

/** The suite with eight traders (Hardhat accounts 2-9) holding FLK and approving the market. */
export async function withTraders(): Promise<Suite & { traders: HardhatEthersSigner[] }> {
  const suite = await deploySuite();
  const traders = (await hre.ethers.getSigners()).slice(2, 10);
  await fundWithFlk(
    suite,
    traders.map((t) => t.address),
    TRADER_FLK,
  );
  const market = await suite.creatorMarket.getAddress();
  for (const t of traders) await suite.flk.connect(t).approve(market, hre.ethers.MaxUint256);
  return { ...suite, traders };
}
