import { badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";
import { parseId } from "./schemaRegistry";

const AGENT_ORDERING = { name: "agent", columns: ["id"] } as const;
const VERSION_ORDERING = { name: "agentVersion", columns: ["version"] } as const;
const PRICE_ORDERING = { name: "agentPrice", columns: ["blockNumber", "logIndex"] } as const;
const AGENT_REVENUE_ORDERING = { name: "agentRevenue", columns: ["epoch"] } as const;
const EPOCH_REVENUE_ORDERING = { name: "epochAgentRevenue", columns: ["agentId"] } as const;
const SETTLEMENT_ORDERING = { name: "agentSettlement", columns: ["epoch"] } as const;
const SPLIT_ORDERING = { name: "agentSplit", columns: ["blockNumber", "logIndex"] } as const;
const WITHDRAWAL_ORDERING = { name: "agentWithdrawal", columns: ["blockNumber", "logIndex"] } as const;

/** "" (no token price) reads as null. */
const orNull = (value: string) => (value === "" ? null : value);

/** The price of `epoch`: the latest price set that applies by then (null: none applies yet). */
async function priceAt(ctx: ApiContext, agentId: number, epoch: number) {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw badInput(`epoch must be a non-negative integer (got ${epoch})`);
  return ctx.db
    .selectFrom("agent_prices")
    .selectAll()
    .where("agentId", "=", agentId)
    .where("fromEpoch", "<=", epoch)
    .orderBy("blockNumber", "desc")
    .orderBy("logIndex", "desc")
    .limit(1)
    .executeTakeFirst();
}

/** The agent marketplace: agents, versions, prices, settlements, owners' revenue, the split. */
export const agentsSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    "An agent on AgentMarketplace: its latest version, lease, listing and settled revenue (USDC units, 6 decimals)."
    type Agent {
      id: Int!
      name: String!
      owner: String!
      "Latest version number (a new config or bundle is a new version)."
      version: Int!
      "Content root (BLAKE3) of the latest character/config file."
      configRoot: String!
      "Content root (BLAKE3) of the latest JavaScript bundle."
      bundleRoot: String!
      "Memory the hosting lease reserves on the host node."
      memoryMiB: Int!
      "Paused by its owner: not served, its lease not charged."
      paused: Boolean!
      "Until when the hosting lease is funded (unix seconds; in the past: ended; 0: paused; null: free, never ends)."
      leaseEndsAt: Int
      "Lease balance (USDC units) at its last checkpoint, leaseUpdatedAt; it runs down until leaseEndsAt."
      leaseBalance: BigInt!
      leaseUpdatedAt: Int!
      "USDC units paid into the lease, taken back by the owner, and charged as rent (each checkpoint rounded down)."
      leaseFunded: BigInt!
      leaseWithdrawn: BigInt!
      leaseRent: BigInt!
      "The latest price set; it applies from its fromEpoch (priceAt gives any epoch's)."
      price: AgentPrice
      "The price a call served in epoch \`epoch\` is charged (null: none applies yet)."
      priceAt(epoch: Int!): AgentPrice
      "Call revenue settled, and its shares."
      revenue: BigInt!
      toNodes: BigInt!
      toOwner: BigInt!
      toProtocol: BigInt!
      registeredAt: Int!
      registeredBlock: Int!
      updatedAt: Int!
      lastBlock: Int!
      "Published versions (default: oldest first)."
      versions(first: Int, after: String, orderDirection: OrderDirection): AgentVersionConnection!
      "Every price set (default: oldest first)."
      priceHistory(first: Int, after: String, orderDirection: OrderDirection): AgentPriceConnection!
      "Revenue by epoch (default: newest first)."
      revenueByEpoch(first: Int, after: String, orderDirection: OrderDirection): AgentEpochRevenueConnection!
    }

    "A price per call (event ListingPriceSet): USDC units, and optionally wei of the owner's creator token."
    type AgentPrice {
      agentId: Int!
      price: BigInt!
      "The owner's creator token (null: no token price)."
      token: String
      tokenPrice: BigInt!
      "The first epoch it applies to."
      fromEpoch: Int!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    "One published version (event AgentVersionPublished)."
    type AgentVersion {
      agentId: Int!
      version: Int!
      configRoot: String!
      bundleRoot: String!
      publishedAt: Int!
      blockNumber: Int!
      transactionHash: String!
    }

    "An agent's call revenue in one settled epoch (all its serving nodes together)."
    type AgentEpochRevenue {
      agentId: Int!
      epoch: Int!
      "Who was credited: the agent's owner when the epoch settled."
      owner: String!
      entries: Int!
      amount: BigInt!
      toNodes: BigInt!
      toOwner: BigInt!
      toProtocol: BigInt!
      blockNumber: Int!
    }

    "A settled epoch (event EpochSettled); toProtocol went to BuybackBurner."
    type AgentSettlement {
      epoch: Int!
      entries: Int!
      amount: BigInt!
      toNodes: BigInt!
      toOwners: BigInt!
      toProtocol: BigInt!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
      "Each agent's revenue in the epoch (by agent id)."
      agents(first: Int, after: String, orderDirection: OrderDirection): AgentEpochRevenueConnection!
    }

    "The split of call revenue in basis points (event SplitSet)."
    type AgentSplit {
      nodeBps: Int!
      ownerBps: Int!
      protocolBps: Int!
      blockNumber: Int
      timestamp: Int
    }

    "An agent owner's revenue: credited by settlements, withdrawn, and what it may withdraw."
    type AgentOwner {
      owner: String!
      credited: BigInt!
      withdrawn: BigInt!
      balance: BigInt!
      "Withdrawals, newest first by default."
      withdrawals(first: Int, after: String, orderDirection: OrderDirection): AgentWithdrawalConnection!
    }

    type AgentWithdrawal {
      owner: String!
      amount: BigInt!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    "The marketplace: its parameters now and its totals (USDC units)."
    type AgentMarket {
      escrow: String!
      buyback: String!
      split: AgentSplit!
      "Hosting: USDC units per reserved GiB per agent-hour, and per 1,000 LLM tokens (CPU: computePrices.perMillionCpuMs)."
      pricePerGiBHour: BigInt!
      pricePer1kTokens: BigInt!
      agentCount: Int!
      epochsSettled: Int!
      revenue: BigInt!
      toNodes: BigInt!
      toOwners: BigInt!
      "Protocol fees deposited into BuybackBurner: the marketplace's contribution to burns."
      toProtocol: BigInt!
      withdrawn: BigInt!
      "Hosting lease rent sent to the node rewards pool."
      rentCollected: BigInt!
    }

    type AgentConnection {
      nodes: [Agent!]!
      pageInfo: PageInfo!
    }
    type AgentVersionConnection {
      nodes: [AgentVersion!]!
      pageInfo: PageInfo!
    }
    type AgentPriceConnection {
      nodes: [AgentPrice!]!
      pageInfo: PageInfo!
    }
    type AgentEpochRevenueConnection {
      nodes: [AgentEpochRevenue!]!
      pageInfo: PageInfo!
    }
    type AgentSettlementConnection {
      nodes: [AgentSettlement!]!
      pageInfo: PageInfo!
    }
    type AgentSplitConnection {
      nodes: [AgentSplit!]!
      pageInfo: PageInfo!
    }
    type AgentWithdrawalConnection {
      nodes: [AgentWithdrawal!]!
      pageInfo: PageInfo!
    }

    input AgentFilter {
      owner: String
      paused: Boolean
    }

    extend type Query {
      "An agent by id (null when none)."
      agent(id: Int!): Agent
      "Agents (default: by id, ascending)."
      agents(where: AgentFilter, first: Int, after: String, orderDirection: OrderDirection): AgentConnection!
      "The marketplace's parameters and totals (null before its deployment is indexed)."
      agentMarket: AgentMarket
      "Settled epochs, newest first by default."
      agentSettlements(first: Int, after: String, orderDirection: OrderDirection): AgentSettlementConnection!
      "A settled epoch (null when not settled)."
      agentSettlement(epoch: Int!): AgentSettlement
      "Every split set, newest first by default."
      agentSplitHistory(first: Int, after: String, orderDirection: OrderDirection): AgentSplitConnection!
      "An owner's revenue (null when it was never credited)."
      agentOwner(owner: String!): AgentOwner
    }
  `,
  resolvers: {
    Query: {
      agent: (_: unknown, args: { id: number }, ctx: ApiContext) =>
        ctx.db.selectFrom("agents").selectAll().where("id", "=", parseId(args.id, "id")).executeTakeFirst(),
      agents: (_: unknown, args: PageArgs & { where?: { owner?: string | null; paused?: boolean | null } | null }, ctx: ApiContext) => {
        let query = ctx.db.selectFrom("agents").selectAll();
        if (args.where?.owner != null) query = query.where("owner", "=", parseAddress(args.where.owner, "owner"));
        if (args.where?.paused != null) query = query.where("paused", "=", args.where.paused);
        return paginate(query, AGENT_ORDERING, args);
      },
      agentMarket: (_: unknown, __: unknown, ctx: ApiContext) => ctx.db.selectFrom("agent_market").selectAll().where("id", "=", 1).executeTakeFirst(),
      agentSettlements: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_settlements").selectAll(), SETTLEMENT_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
      agentSettlement: (_: unknown, args: { epoch: number }, ctx: ApiContext) =>
        ctx.db.selectFrom("agent_settlements").selectAll().where("epoch", "=", parseId(args.epoch, "epoch")).executeTakeFirst(),
      agentSplitHistory: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_splits").selectAll(), SPLIT_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
      agentOwner: (_: unknown, args: { owner: string }, ctx: ApiContext) =>
        ctx.db.selectFrom("agent_owners").selectAll().where("owner", "=", parseAddress(args.owner, "owner")).executeTakeFirst(),
    },
    Agent: {
      memoryMiB: (a: Row<"agents">) => a.memoryMib,
      price: (a: Row<"agents">, _: unknown, ctx: ApiContext) =>
        ctx.db
          .selectFrom("agent_prices")
          .selectAll()
          .where("agentId", "=", a.id)
          .orderBy("blockNumber", "desc")
          .orderBy("logIndex", "desc")
          .limit(1)
          .executeTakeFirst(),
      priceAt: (a: Row<"agents">, args: { epoch: number }, ctx: ApiContext) => priceAt(ctx, a.id, args.epoch),
      versions: (a: Row<"agents">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_versions").selectAll().where("agentId", "=", a.id), VERSION_ORDERING, args),
      priceHistory: (a: Row<"agents">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_prices").selectAll().where("agentId", "=", a.id), PRICE_ORDERING, args),
      revenueByEpoch: (a: Row<"agents">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_epoch_revenue").selectAll().where("agentId", "=", a.id), AGENT_REVENUE_ORDERING, {
          ...args,
          orderDirection: args.orderDirection ?? "DESC",
        }),
    },
    AgentPrice: {
      token: (p: Row<"agent_prices">) => orNull(p.token),
      transactionHash: (p: Row<"agent_prices">) => p.txHash,
    },
    AgentVersion: { transactionHash: (v: Row<"agent_versions">) => v.txHash },
    AgentSettlement: {
      transactionHash: (s: Row<"agent_settlements">) => s.txHash,
      agents: (s: Row<"agent_settlements">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_epoch_revenue").selectAll().where("epoch", "=", s.epoch), EPOCH_REVENUE_ORDERING, args),
    },
    AgentOwner: {
      withdrawals: (o: Row<"agent_owners">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("agent_withdrawals").selectAll().where("owner", "=", o.owner), WITHDRAWAL_ORDERING, {
          ...args,
          orderDirection: args.orderDirection ?? "DESC",
        }),
    },
    AgentWithdrawal: { transactionHash: (w: Row<"agent_withdrawals">) => w.txHash },
    AgentMarket: {
      pricePerGiBHour: (m: Row<"agent_market">) => m.pricePerGibHour,
      split: (m: Row<"agent_market">) => ({ nodeBps: m.nodeBps, ownerBps: m.ownerBps, protocolBps: m.protocolBps, blockNumber: null, timestamp: null }),
    },
  },
};
