import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { deploySuite } from "../../testkit/deploy";
import { fundWithFlk } from "../../testkit/flk";
import { executionGas, type GasRow } from "./table";

/** Gas of buyback-and-burn: a revenue deposit and an auction buy (burning FLK, taking the pot). */
export async function measureBuyback(): Promise<GasRow[]> {
  const suite = await deploySuite();
  const { buyback, usdc, flk } = suite;
  const [, , payer, buyer] = await hre.ethers.getSigners();
  await fundWithFlk(suite, [buyer.address], 1_000_000n * FLK);
  await flk.connect(buyer).approve(await buyback.getAddress(), 1_000_000n * FLK);
  await usdc.mint(payer.address, 1_000_000n * 10n ** 6n);
  await usdc.connect(payer).approve(await buyback.getAddress(), 1_000_000n * 10n ** 6n);
  const rows: GasRow[] = [];

  // Into an empty pot: the deposit restarts the auction's decay.
  rows.push({ call: "BuybackBurner.deposit (restarts the auction)", gas: await executionGas(await buyback.connect(payer).deposit(50n * 10n ** 6n)) });
  await time.increase(12 * 3600);
  const [id] = await buyback.auction();
  const deadline = (await time.latest()) + 3600;
  rows.push({
    call: "BuybackBurner.buy (first USDC for the buyer)",
    gas: await executionGas(await buyback.connect(buyer).buy(id, 1_000_000n * FLK, deadline, buyer.address)),
  });
  await buyback.connect(payer).deposit(20n * 10n ** 6n);
  rows.push({ call: "BuybackBurner.deposit (adds to the pot)", gas: await executionGas(await buyback.connect(payer).deposit(10n * 10n ** 6n)) });
  await time.increase(12 * 3600);
  rows.push({
    call: "BuybackBurner.buy (repeat buyer)",
    gas: await executionGas(await buyback.connect(buyer).buy(id + 1n, 1_000_000n * FLK, deadline + 86_400, buyer.address)),
  });
  return rows;
}
