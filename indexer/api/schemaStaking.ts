import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

const STAKER_ORDERINGS = {
  STAKE: { name: "staked", columns: ["staked", "address"] },
  VOTES: { name: "votes", columns: ["votes", "address"] },
} as const;

/** Staking positions, unbonding requests, delegation, votes and staking totals. */
export const stakingSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    "An account's staking position; a pure delegatee has stake 0 and votes."
    type Staker {
      address: String!
      staked: BigInt!
      "Unstaked and not yet withdrawn (matured or not)."
      unbonding: BigInt!
      withdrawn: BigInt!
      "Whom this account's stake votes for (itself until it delegates)."
      delegate: String!
      "Votes delegated to this account (Staking.getVotes)."
      votes: BigInt!
      "Rewards paid by claim (earned and not yet paid: rewardsEarned)."
      rewardsClaimed: BigInt!
      "Rewards turned into stake by compound."
      rewardsCompounded: BigInt!
      firstBlock: Int!
      lastBlock: Int!
      "Unbonding requests not yet withdrawn, oldest first."
      unbondingRequests: [UnbondingRequest!]!
    }

    type UnbondingRequest {
      requestId: Int!
      amount: BigInt!
      "Unix seconds from which it can be withdrawn."
      releaseTime: Int!
      withdrawn: Boolean!
    }

    type StakerConnection {
      nodes: [Staker!]!
      pageInfo: PageInfo!
    }

    type StakingTotals {
      "Staking.totalStaked()"
      totalStaked: BigInt!
      "Staking.totalUnbonding()"
      totalUnbonding: BigInt!
      "Accounts with a positive stake."
      stakers: Int!
    }

    enum StakerOrderBy {
      STAKE
      VOTES
    }

    extend type Query {
      stakingTotals: StakingTotals!
      "The staking position of \`address\` (null if it never staked nor received a delegation)."
      staker(address: String!): Staker
      "Accounts with a positive stake (default: largest stake first)."
      stakers(first: Int, after: String, orderBy: StakerOrderBy, orderDirection: OrderDirection): StakerConnection!
      "Accounts holding votes, pure delegatees included (default: most votes first): a delegate leaderboard."
      delegates(first: Int, after: String, orderDirection: OrderDirection): StakerConnection!
    }
  `,
  resolvers: {
    Query: {
      stakingTotals: async (_: unknown, __: unknown, ctx: ApiContext) =>
        (await ctx.db.selectFrom("staking_totals").selectAll().executeTakeFirst()) ?? { totalStaked: "0", totalUnbonding: "0", stakers: 0 },
      staker: (_: unknown, args: { address: string }, ctx: ApiContext) =>
        ctx.db.selectFrom("stakers").selectAll().where("address", "=", parseAddress(args.address, "address")).executeTakeFirst(),
      stakers: (_: unknown, args: PageArgs & { orderBy?: keyof typeof STAKER_ORDERINGS }, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("stakers").selectAll().where("staked", ">", "0"), STAKER_ORDERINGS[args.orderBy ?? "STAKE"], {
          ...args,
          orderDirection: args.orderDirection ?? "DESC",
        }),
      delegates: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("stakers").selectAll().where("votes", ">", "0"), STAKER_ORDERINGS.VOTES, {
          ...args,
          orderDirection: args.orderDirection ?? "DESC",
        }),
    },
    Staker: {
      unbondingRequests: (s: Row<"stakers">, _: unknown, ctx: ApiContext) =>
        ctx.db.selectFrom("unbonding_requests").selectAll().where("account", "=", s.address).where("withdrawn", "=", false).orderBy("requestId").execute(),
    },
  },
};
