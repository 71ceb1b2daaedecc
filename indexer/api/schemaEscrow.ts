import { sql } from "kysely";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";
import { parseId } from "./schemaRegistry";
import { debitableAmount, pendingSpendingLimit, spendingLimitAt, withdrawPayout, type SpendingLimitState } from "../../protocol/escrow";

const ACCOUNT_ORDERINGS = {
  CLIENT: { name: "client", columns: ["client"] },
  BALANCE: { name: "balance", columns: ["balance", "client"] },
} as const;
const EPOCH_ORDERING = { name: "escrowEpoch", columns: ["epoch"] } as const;
// A client's debits by epoch; an epoch's debits by client (block and log index: unique tiebreakers).
const CLIENT_DEBIT_ORDERING = { name: "clientDebit", columns: ["epoch", "blockNumber", "logIndex"] } as const;
const EPOCH_DEBIT_ORDERING = { name: "epochDebit", columns: ["client", "blockNumber", "logIndex"] } as const;
const NODE_REVENUE_ORDERING = { name: "nodeRevenue", columns: ["nodeId"] } as const;

/** The registry's epoch at the latest indexed block: the epoch limits and reserves are answered for. */
async function currentEpoch(ctx: ApiContext): Promise<number> {
  const row = await ctx.db.selectFrom("registry_state").select("epoch").where("id", "=", 1).executeTakeFirst();
  return row ? Number(row.epoch) : 0;
}

/** A stored account row with what the escrow's views would answer in `epoch`. */
function withViews(row: Row<"escrow_accounts">, epoch: number) {
  const limits: SpendingLimitState = { limit: BigInt(row.spendingLimit), nextLimit: BigInt(row.nextSpendingLimit), nextLimitFrom: Number(row.nextLimitFrom) };
  const balance = BigInt(row.balance);
  const pending = pendingSpendingLimit(limits, epoch);
  return {
    ...row,
    epoch,
    spendingLimit: spendingLimitAt(limits, epoch),
    pendingSpendingLimit: pending?.limit ?? null,
    pendingLimitFromEpoch: pending?.fromEpoch ?? null,
    limitSet: limits.nextLimitFrom !== 0,
    debitable: debitableAmount(balance, limits, epoch),
    withdrawPayout: withdrawPayout(balance, BigInt(row.withdrawalAmount), limits, epoch),
  };
}

/** ServiceEscrow: client accounts with their spending limits, debits per epoch, client and node. */
export const escrowSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    """
    A client's ServiceEscrow account (docs/payments.md), answered for \`epoch\`, the registry's
    epoch at the latest indexed block. USDC amounts have 6 decimals.
    """
    type EscrowAccount {
      client: String!
      "The epoch the limit, reserve and payout fields are for (the current one)."
      epoch: Int!
      "ServiceEscrow.accounts(client).balance"
      balance: BigInt!
      "The spending limit per epoch in force this epoch: ServiceEscrow.spendingLimit(client, epoch)."
      spendingLimit: BigInt!
      "A limit set this epoch, in force from pendingLimitFromEpoch (null when none is pending)."
      pendingSpendingLimit: BigInt
      pendingLimitFromEpoch: Int
      "Whether the client ever set a limit (if not, DEFAULT_SPENDING_LIMIT, 1,000 USDC, applies)."
      limitSet: Boolean!
      "min(balance, spendingLimit): the most this epoch's report may debit, and the reserve withdraw keeps (ServiceEscrow.debitable)."
      debitable: BigInt!
      "Announced withdrawal not yet paid (0: none)."
      withdrawalAmount: BigInt!
      "Unix seconds from which the announced withdrawal can be made (0: none announced)."
      withdrawableAt: Int!
      "What withdraw() pays this epoch once the notice has passed: the announced amount, at most balance − debitable."
      withdrawPayout: BigInt!
      "USDC deposited, withdrawn and debited, in all."
      deposited: BigInt!
      withdrawn: BigInt!
      debited: BigInt!
      lastBlock: Int!
      "The client's debits (default: oldest epoch first)."
      debits(first: Int, after: String, orderDirection: OrderDirection): EscrowDebitConnection!
    }

    "One client's debit by one epoch's report (event Debited)."
    type EscrowDebit {
      epoch: Int!
      client: String!
      amount: BigInt!
      "The client's balance after the debit."
      balance: BigInt!
      blockNumber: Int!
      transactionHash: String!
    }

    type EscrowDebitConnection {
      nodes: [EscrowDebit!]!
      pageInfo: PageInfo!
    }

    "A node's revenue in a reported epoch: USDC actually debited for the usage it served (its USDC weight)."
    type EscrowNodeRevenue {
      nodeId: Int!
      "The node's owner at the report (the account that claims)."
      owner: String!
      revenue: BigInt!
    }

    type EscrowNodeRevenueConnection {
      nodes: [EscrowNodeRevenue!]!
      pageInfo: PageInfo!
    }

    "What an epoch's report debited in all and how it was split (event EpochDebited)."
    type EscrowEpoch {
      epoch: Int!
      total: BigInt!
      "Sent to EpochRewards (the epoch's USDC pool): nodeShareBps of non-agent revenue plus the agents' node share."
      toNodes: BigInt!
      "Sent to BuybackBurner directly: the rest of non-agent revenue."
      toBuyback: BigInt!
      "Pulled by AgentMarketplace: agent owners' shares and protocol fees (total = toNodes + toBuyback + toMarketplace)."
      toMarketplace: BigInt!
      "Whether the report's node revenues add up to total (revenue weight = USDC actually debited)."
      revenueMatchesDebits: Boolean!
      "Debits per client (default: by client address)."
      debits(first: Int, after: String, orderDirection: OrderDirection): EscrowDebitConnection!
      "Nodes with revenue in the epoch (default: by node id)."
      nodes(first: Int, after: String, orderDirection: OrderDirection): EscrowNodeRevenueConnection!
      blockNumber: Int!
      transactionHash: String!
    }

    type EscrowEpochConnection {
      nodes: [EscrowEpoch!]!
      pageInfo: PageInfo!
    }

    type EscrowAccountConnection {
      nodes: [EscrowAccount!]!
      pageInfo: PageInfo!
    }

    enum EscrowAccountOrderBy {
      CLIENT
      BALANCE
    }

    extend type Query {
      "The escrow account of \`client\` (null if the escrow never saw it: no deposit, no limit set)."
      escrowAccount(client: String!): EscrowAccount
      "Escrow accounts (default: by client address, ascending; BALANCE: largest first)."
      escrowAccounts(first: Int, after: String, orderBy: EscrowAccountOrderBy, orderDirection: OrderDirection): EscrowAccountConnection!
      "What \`epoch\`'s report debited (null when it debited nothing)."
      escrowEpoch(epoch: Int!): EscrowEpoch
      "Epochs whose report debited something, newest first by default."
      escrowEpochs(first: Int, after: String, orderDirection: OrderDirection): EscrowEpochConnection!
    }
  `,
  resolvers: {
    Query: {
      escrowAccount: async (_: unknown, args: { client: string }, ctx: ApiContext) => {
        const row = await ctx.db.selectFrom("escrow_accounts").selectAll().where("client", "=", parseAddress(args.client, "client")).executeTakeFirst();
        return row ? withViews(row, await currentEpoch(ctx)) : null;
      },
      escrowAccounts: async (_: unknown, args: PageArgs & { orderBy?: keyof typeof ACCOUNT_ORDERINGS }, ctx: ApiContext) => {
        const orderBy = args.orderBy ?? "CLIENT";
        const page = await paginate(ctx.db.selectFrom("escrow_accounts").selectAll(), ACCOUNT_ORDERINGS[orderBy], {
          ...args,
          orderDirection: args.orderDirection ?? (orderBy === "BALANCE" ? "DESC" : "ASC"),
        });
        const epoch = await currentEpoch(ctx);
        return { ...page, nodes: page.nodes.map((r) => withViews(r, epoch)) };
      },
      escrowEpoch: (_: unknown, args: { epoch: number }, ctx: ApiContext) =>
        ctx.db.selectFrom("escrow_epochs").selectAll().where("epoch", "=", parseId(args.epoch, "epoch")).executeTakeFirst(),
      escrowEpochs: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("escrow_epochs").selectAll(), EPOCH_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
    },
    EscrowAccount: {
      debits: (a: Row<"escrow_accounts">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("escrow_debits").selectAll().where("client", "=", a.client), CLIENT_DEBIT_ORDERING, args),
    },
    EscrowDebit: {
      transactionHash: (d: Row<"escrow_debits">) => d.txHash,
    },
    EscrowEpoch: {
      transactionHash: (e: Row<"escrow_epochs">) => e.txHash,
      revenueMatchesDebits: async (e: Row<"escrow_epochs">, _: unknown, ctx: ApiContext) => {
        const { revenue } = await ctx.db
          .selectFrom("node_epochs")
          .select(sql<string | null>`sum(revenue)`.as("revenue"))
          .where("epoch", "=", e.epoch)
          .executeTakeFirstOrThrow();
        return BigInt(revenue ?? 0) === BigInt(e.total);
      },
      debits: (e: Row<"escrow_epochs">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("escrow_debits").selectAll().where("epoch", "=", e.epoch), EPOCH_DEBIT_ORDERING, args),
      nodes: (e: Row<"escrow_epochs">, args: PageArgs, ctx: ApiContext) =>
        paginate(
          ctx.db.selectFrom("node_epochs").select(["nodeId", "owner", "revenue"]).where("epoch", "=", e.epoch).where("revenue", ">", "0"),
          NODE_REVENUE_ORDERING,
          args,
        ),
    },
  },
};
