import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import { accrueRewards, rewardsBetween, stakingEmission } from "../../protocol/stakingRewards";

/**
 * Rewards earned and not yet paid. No event carries the staking contract's accumulator, so this
 * module replays it: every call that settles an account (stake, unstake, claim, compound) accrues
 * the emission streamed since the last one over the stake before the call, exactly as
 * `Staking._accrue` / `_settle` do (protocol/stakingRewards.ts). The API adds the accrual from the
 * last event to the indexed block, as `Staking.earned` does.
 */

/** The accumulator (a single row, id 1), the stake it spreads over, and Emission's start. */
export const rewardIndex = defineTable<{ id: number; index: bigint; distributed: bigint; total_staked: bigint; emission_start: number }>({
  name: "staking_reward_index",
  columns: { id: "int4", index: "numeric", distributed: "numeric", total_staked: "numeric", emission_start: "int8" },
  primaryKey: ["id"],
  rollback: "journal",
});

/** An account's settled rewards and the accumulator value they were settled at. */
export const accountRewards = defineTable<{ address: string; staked: bigint; paid_index: bigint; rewards: bigint }>({
  name: "staking_account_rewards",
  columns: { address: "text", staked: "numeric", paid_index: "numeric", rewards: "numeric" },
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
    const [start] = await ctx.readContract("Emission", "start() view returns (uint256)");
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
    Staking: [
      "Staked(address indexed account, uint256 amount, uint256 newStake)",
      "Unstaked(address indexed account, uint256 indexed requestId, uint256 amount, uint64 releaseTime, uint256 newStake)",
      "RewardClaimed(address indexed account, uint256 amount)",
      "RewardCompounded(address indexed account, uint256 amount, uint256 newStake)",
    ],
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
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("staking_reward_index")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("index", WEI, (c) => c.notNull())
          .addColumn("distributed", WEI, (c) => c.notNull())
          .addColumn("total_staked", WEI, (c) => c.notNull())
          .addColumn("emission_start", "int8", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("staking_account_rewards")
          .addColumn("address", "text", (c) => c.primaryKey())
          .addColumn("staked", WEI, (c) => c.notNull())
          // A uint160 on chain: well within 78 digits.
          .addColumn("paid_index", WEI, (c) => c.notNull())
          .addColumn("rewards", WEI, (c) => c.notNull())
          .execute();
      },
    },
  },
};
