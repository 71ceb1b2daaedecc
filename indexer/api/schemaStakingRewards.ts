import type { Kysely } from "kysely";
import type { Database } from "../derive";
import { accrueRewards, rewardsBetween, stakingEmission } from "../../protocol/stakingRewards";
import type { ApiContext, Row, SchemaPart } from "./schemaCore";

/** `Staking.earned(account)` at unix time `now` (the latest indexed block's), from the replayed accumulator. */
export async function earnedAt(db: Kysely<Database>, account: string, now: number): Promise<bigint> {
  const [state, a] = await Promise.all([
    db.selectFrom("staking_reward_index").selectAll().where("id", "=", 1).executeTakeFirst(),
    db.selectFrom("staking_account_rewards").selectAll().where("address", "=", account).executeTakeFirst(),
  ]);
  if (!state || !a) return 0n;
  const { index } = accrueRewards(
    { index: BigInt(state.index), distributed: BigInt(state.distributed) },
    BigInt(state.totalStaked),
    stakingEmission(BigInt(state.emissionStart), BigInt(now)),
  );
  return BigInt(a.rewards) + rewardsBetween(BigInt(a.staked), BigInt(a.paidIndex), index);
}

/** Rewards earned and not yet paid, on the staking area's `Staker`. */
export const stakingRewardsSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    extend type Staker {
      "Rewards earned and not yet claimed or compounded, at the latest indexed block: Staking.earned(address)."
      rewardsEarned: BigInt!
    }
  `,
  resolvers: {
    Staker: {
      rewardsEarned: async (s: Row<"stakers">, _: unknown, ctx: ApiContext) => earnedAt(ctx.db, s.address, await ctx.now()),
    },
  },
};
