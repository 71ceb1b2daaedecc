import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import type { Suite } from "../../testkit/deploy";

/**
 * Scripted token activity over the first two years: releases of every kind of schedule, transfers
 * among holders, burns, emission mints. Deterministic given the suite.
 */
export async function scriptedActivity(suite: Suite): Promise<void> {
  const signers = await hre.ethers.getSigners();
  const { flk, vesting, emission } = suite;
  const count = Number(await vesting.scheduleCount());
  // TGE releases (sale, ecosystem, foundation, incentives have a TGE share).
  for (let id = 0; id < count; id++) if ((await vesting.releasable(id)) > 0n) await vesting.release(id);
  await time.increase(100 * 24 * 3600);
  await emission.mint();
  const sale = signers[16];
  for (let i = 0; i < 5; i++) await flk.connect(sale).transfer(signers[2 + i].address, BigInt(i + 1) * 1_000n * FLK);
  await flk.connect(signers[2]).burn(123n * FLK + 456n);
  await flk.connect(signers[3]).transfer(signers[4].address, 2_000n * FLK); // empties a holder
  await time.increase(300 * 24 * 3600); // past the team cliff
  for (let id = 0; id < count; id++) if ((await vesting.releasable(id)) > 0n) await vesting.release(id);
  await emission.mint();
  await flk.connect(signers[10]).burn(1n);
  await time.increase(200 * 24 * 3600);
  await vesting.release(0);
  await emission.mint();
}
