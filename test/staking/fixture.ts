import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { FLK } from "../../protocol/units";
import { accrueRewards, rewardsBetween, stakingEmission } from "../../protocol/stakingRewards";
import { deploySuite, type Suite } from "../../testkit/deploy";

/** FLK each test staker receives. */
export const STAKER_FUNDS = 1_000_000n * FLK;

/** The suite with six funded stakers (accounts 2..7) that approved the staking contract. */
export interface StakingSuite extends Suite {
  stakers: HardhatEthersSigner[];
  /** Emission start (the TGE), for the reference emission formula. */
  start: bigint;
}

/** Deploys the suite through Ignition and funds the stakers from the sale allocation. */
export async function stakingFixture(): Promise<StakingSuite> {
  const suite = await deploySuite();
  const holder = await hre.ethers.getSigner(suite.genesis.sale.beneficiaries[0]);
  await suite.vesting.release((await suite.vesting.scheduleIdsOf(holder.address))[0]);
  const stakers = (await hre.ethers.getSigners()).slice(2, 8);
  const stakingAddress = await suite.staking.getAddress();
  for (const s of stakers) {
    await suite.flk.connect(holder).transfer(s.address, STAKER_FUNDS);
    await suite.flk.connect(s).approve(stakingAddress, hre.ethers.MaxUint256);
  }
  return { ...suite, stakers, start: await suite.emission.start() };
}

// The accumulator's formulas are shared with the indexer (protocol/stakingRewards.ts).
export { stakingEmission, REWARD_SCALE as SCALE } from "../../protocol/stakingRewards";

/**
 * The staking contract's reward accounting re-done in bigint: a reward-per-token accumulator that
 * spreads emission streamed since the last update over the stake of that moment (rounding the
 * spread amount up, so it never promises more than streamed), and per-account settlement rounded
 * down. Tests drive it with the same actions at the same timestamps and compare to the wei.
 */
export class RewardModel {
  index = 0n;
  distributed = 0n;
  total = 0n;
  readonly accounts = new Map<string, { staked: bigint; paid: bigint; rewards: bigint }>();

  constructor(private readonly start: bigint) {}

  account(a: string) {
    let x = this.accounts.get(a);
    if (!x) this.accounts.set(a, (x = { staked: 0n, paid: 0n, rewards: 0n }));
    return x;
  }

  /** Accrues up to `timestamp` and settles `a`. */
  update(a: string, timestamp: bigint) {
    [this.index, this.distributed] = this.preview(timestamp);
    const x = this.account(a);
    x.rewards += rewardsBetween(x.staked, x.paid, this.index);
    x.paid = this.index;
    return x;
  }

  stake(a: string, amount: bigint, t: bigint) {
    this.update(a, t).staked += amount;
    this.total += amount;
  }

  unstake(a: string, amount: bigint, t: bigint) {
    this.update(a, t).staked -= amount;
    this.total -= amount;
  }

  /** Claims (or compounds): returns the amount. */
  claim(a: string, t: bigint, compound = false): bigint {
    const x = this.update(a, t);
    const amount = x.rewards;
    x.rewards = 0n;
    if (compound) {
      x.staked += amount;
      this.total += amount;
    }
    return amount;
  }

  /** What `rewardState()` returns at `t` (a view: nothing is written). */
  preview(t: bigint): [bigint, bigint] {
    const { index, distributed } = accrueRewards({ index: this.index, distributed: this.distributed }, this.total, stakingEmission(this.start, t));
    return [index, distributed];
  }

  /** What `earned(a)` returns at `t`. */
  earned(a: string, t: bigint): bigint {
    const x = this.account(a);
    return x.rewards + rewardsBetween(x.staked, x.paid, this.preview(t)[0]);
  }
}
