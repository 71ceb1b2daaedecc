import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";
import { fundWithFlk } from "../../testkit/flk";
import { executionGas, type GasRow } from "./table";

const ANCHOR = "FLK-priced friend.tech curve, docs/gas-anchors.md (friend.tech)";

/**
 * Gas of the creator-token market: buys of one whole token (creating the token; by a new holder of
 * an existing token; by a holder), a sell, the creator's claim. Buyers approve a finite allowance,
 * so every buy pays for the allowance update, and hold FLK before and after.
 */
export async function measureCreator(): Promise<GasRow[]> {
  const suite = await deploySuite();
  const { creatorMarket: market, flk } = suite;
  const [, , alice, bob, creator, other] = await hre.ethers.getSigners();
  await fundWithFlk(suite, [alice.address, bob.address], 100_000n * FLK);
  for (const s of [alice, bob]) await flk.connect(s).approve(await market.getAddress(), 100_000n * FLK);
  const deadline = (await time.latest()) + 3600;
  const max = 100_000n * FLK;
  const rows: GasRow[] = [];
  // Steady state: the market already holds FLK (another creator's reserve), so the measured first
  // buy does not also pay for the market's first FLK balance.
  await market.connect(bob).buy(other.address, FLK, max, deadline);

  rows.push({
    call: "CreatorMarket.buy (first, creates the token)",
    gas: await executionGas(await market.connect(alice).buy(creator.address, FLK, max, deadline)),
    anchor: 136_016n,
    anchorSource: `first-time buyer, ${ANCHOR}`,
  });
  rows.push({
    call: "CreatorMarket.buy (new holder)",
    gas: await executionGas(await market.connect(bob).buy(creator.address, FLK, max, deadline)),
    anchor: 136_016n,
    anchorSource: `first-time buyer, ${ANCHOR}`,
  });
  rows.push({
    call: "CreatorMarket.buy (repeat)",
    gas: await executionGas(await market.connect(alice).buy(creator.address, FLK, max, deadline)),
    anchor: 67_616n,
    anchorSource: `repeat buy, ${ANCHOR}`,
  });
  rows.push({
    call: "CreatorMarket.sell",
    gas: await executionGas(await market.connect(alice).sell(creator.address, FLK, 0n, deadline)),
    anchor: 64_316n,
    anchorSource: `sell, ${ANCHOR}`,
  });
  rows.push({ call: "CreatorMarket.claimCreatorFees", gas: await executionGas(await market.connect(creator).claimCreatorFees()) });
  rows.push({ call: "CreatorMarket.withdrawTreasuryFees", gas: await executionGas(await market.withdrawTreasuryFees()) });
  return rows;
}
