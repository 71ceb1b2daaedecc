import hre from "hardhat";
import type { Suite } from "./deploy";

/**
 * Releases the token-sale allocation (20M FLK, all unlocked at TGE) and hands `amount` FLK to each
 * of `accounts`: FLK for tests and benches that trade with it.
 */
export async function fundWithFlk(suite: Suite, accounts: string[], amount: bigint): Promise<void> {
  const holder = await hre.ethers.getSigner(suite.genesis.sale.beneficiaries[0]);
  const [schedule] = await suite.vesting.scheduleIdsOf(holder.address);
  if ((await suite.vesting.releasable(schedule)) > 0n) await suite.vesting.release(schedule);
  for (const account of accounts) await suite.flk.connect(holder).transfer(account, amount);
}
