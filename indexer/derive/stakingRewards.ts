import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import { accrueRewards, rewardsBetween, stakingEmission } from "../../protocol/stakingRewards";
import type { RawDb } from "../store/database";

/**
 * Rewards earned and not yet paid. No event carries the staking contract's accumulator, so this
 * module replays it: every call that settles an account (stake, unstake, claim, compound) accrues
 * the emission streamed since the last one over the stake before the call, exactly as
 * `Staking._accrue` / `_settle` do (protocol/stakingRewards.ts). The API adds the accrual from the
 * last event to the indexed block, as `Staking.earned` does.
 */

/** The accumulator (a single row, id 1), the stake it spreads over, and Emission's start. */
export const rewardIndex = defineTable({
  name: "staking_reward_index",
  columns: {
    id: col.int4(),
    index: col.wei(),
    distributed: col.wei(),
    total_staked: col.wei(),
    emission_start: col.int8(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** An account's settled rewards and the accumulator value they were settled at. */
export const accountRewards = defineTable({
  name: "staking_account_rewards",
  columns: {
    address: col.text(),
    staked: col.wei(),
    paid_index: col.wei(),
    rewards: col.wei(),
  },
  primaryKey: ["address"],
  rollback: "journal",
});

/**
 * Accrues to this block and settles `account` (`_settle(account, _accrue(totalStaked))`), then
 * applies the call's change: `stakeDelta` to its stake and the total, `paid` out of its rewards.
 */
async function settle(ctx: HandlerContext, account: string, stakeDelta: bigint, paid: bigint): Promise<void> {
  let state = await ctx.store.get(rewardIndex, { id: 1 });
  if (!state) {
    const [start] = await ctx.readContract("Emission", "start");
    state = { id: 1, index: 0n, distributed: 0n, total_staked: 0n, emission_start: Number(start) };
  }
  const accrued = accrueRewards(state, state.total_staked, stakingEmission(BigInt(state.emission_start), BigInt(ctx.block.timestamp)));
  const a = (await ctx.store.get(accountRewards, { address: account })) ?? { address: account, staked: 0n, paid_index: 0n, rewards: 0n };
  const rewards = a.rewards + rewardsBetween(a.staked, a.paid_index, accrued.index);
  if (paid > rewards) throw new Error(`${account} was paid ${paid} rewards with ${rewards} earned at block ${ctx.block.number}: events missing`);
  await ctx.store.set(accountRewards, { address: account, staked: a.staked + stakeDelta, paid_index: accrued.index, rewards: rewards - paid });
  await ctx.store.set(rewardIndex, { ...state, ...accrued, total_staked: state.total_staked + stakeDelta });
}

/** The staking reward accumulator replayed from stake, unstake, claim and compound events. */
export const stakingRewardsModule: IndexerModule = {
  name: "staking-rewards",
  events: {
    Staking: ["Staked", "Unstaked", "RewardClaimed", "RewardCompounded"],
  },
  tables: [rewardIndex, accountRewards],
  handlers: {
    "Staking:Staked": (a, ctx) => settle(ctx, a.account, a.amount, 0n),
    "Staking:Unstaked": (a, ctx) => settle(ctx, a.account, -(a.amount as bigint), 0n),
    "Staking:RewardClaimed": (a, ctx) => settle(ctx, a.account, 0n, a.amount),
    "Staking:RewardCompounded": (a, ctx) => settle(ctx, a.account, a.amount, a.amount),
  },
  migrations: {
    "153-staking-rewards": {
      async up(db: RawDb) {
        await createTables(db, [rewardIndex, accountRewards]);
      },
    },
  },
};
