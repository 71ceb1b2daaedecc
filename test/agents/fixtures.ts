import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import type { AgentMarketplace, MockEpochClock } from "../../typechain-types";

/** One USDC in units. */
export const USDC = 10n ** 6n;
/** `b3sum` of an empty input and of "hello": real content roots. */
export const ROOT_A = "0xaf1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
export const ROOT_B = "0xea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f";

/** A marketplace of its own over the suite's USDC, creator market and buyback. */
export interface MarketFixture extends Suite {
  market: AgentMarketplace;
  clock: MockEpochClock;
  gov: HardhatEthersSigner;
  /** Settles in place of the escrow until the escrow's debit calls {settle} (docs/agents.md). */
  settler: HardhatEthersSigner;
  owners: HardhatEthersSigner[];
}

/**
 * The suite, and a marketplace owned by `gov` whose epoch clock the test moves (the registry's
 * epoch only moves with signed reports) and whose settler is an account holding 1M USDC and
 * approving the marketplace. Starts at epoch 5.
 */
export async function marketFixture(): Promise<MarketFixture> {
  const suite = await deploySuite();
  const [, gov, settler, ...rest] = await hre.ethers.getSigners();
  const clock = await (await hre.ethers.getContractFactory("MockEpochClock")).deploy();
  await clock.setEpoch(5);
  const market = await (
    await hre.ethers.getContractFactory("AgentMarketplace")
  ).deploy(suite.usdc, clock, suite.creatorMarket, gov.address, suite.escrow, suite.buyback);
  await market.connect(gov).setSettlement(settler.address, suite.buyback);
  await suite.usdc.mint(settler.address, 1_000_000n * USDC);
  await suite.usdc.connect(settler).approve(await market.getAddress(), hre.ethers.MaxUint256);
  return { ...suite, market, clock, gov, settler, owners: rest.slice(0, 4) };
}
