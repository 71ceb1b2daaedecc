import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

const PAYMENT_ORDERING = { name: "block", columns: ["blockNumber", "logIndex"] } as const;

/** An account's staking rewards paid out (derive/stakingRewardPayments.ts). */
export const stakingRewardPaymentsSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum RewardPaymentKind {
      "Paid to the wallet (Staking.claim)."
      CLAIMED
      "Added to the stake (Staking.compound)."
      COMPOUNDED
    }

    type StakingRewardPayment {
      account: String!
      kind: RewardPaymentKind!
      amount: BigInt!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    type StakingRewardPaymentConnection {
      nodes: [StakingRewardPayment!]!
      pageInfo: PageInfo!
    }

    extend type Query {
      "Staking rewards \`account\` claimed or compounded (default: oldest first)."
      stakingRewardPayments(account: String!, first: Int, after: String, orderDirection: OrderDirection): StakingRewardPaymentConnection!
    }
  `,
  resolvers: {
    Query: {
      stakingRewardPayments: (_: unknown, args: PageArgs & { account: string }, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("staking_reward_payments").selectAll().where("account", "=", parseAddress(args.account, "account")), PAYMENT_ORDERING, args),
    },
    StakingRewardPayment: {
      kind: (p: Row<"staking_reward_payments">) => p.kind.toUpperCase(),
      transactionHash: (p: Row<"staking_reward_payments">) => p.txHash,
    },
  },
};
