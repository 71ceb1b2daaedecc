import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";
import { parseId } from "./schemaRegistry";

const BY_TOKEN = { name: "tokenCallByToken", columns: ["token"] } as const;
const EARNINGS_ORDERING = { name: "tokenCallEarning", columns: ["token"] } as const;
const BURN_ORDERING = { name: "tokenCallBurn", columns: ["blockNumber", "logIndex"] } as const;

/** "" (not yet known) reads as null. */
const orNull = (value: string) => (value === "" ? null : value);

/** Agent calls paid in creator tokens: revenue per agent, node and creator, earnings, deposits, FLK burned. */
export const tokenCallsSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    "An agent's call revenue paid in one creator token (TokenCallEscrow redemptions, wei of the token) and its shares."
    type TokenCallAgentRevenue {
      agentId: Int!
      token: String!
      redemptions: Int!
      amount: BigInt!
      toNodes: BigInt!
      toOwner: BigInt!
      toProtocol: BigInt!
      lastBlock: Int!
    }

    "A node's call revenue paid in one creator token; toNode went to its operator."
    type TokenCallNodeRevenue {
      nodeId: Int!
      token: String!
      "The operator credited by the latest redemption."
      operator: String!
      redemptions: Int!
      amount: BigInt!
      toNode: BigInt!
      lastBlock: Int!
    }

    "A creator token in TokenCallEscrow: deposits, calls redeemed and their shares, fees sold and the FLK burned."
    type TokenCallToken {
      token: String!
      "Its creator, paid the owner share (toOwner) of every call in it (null before a deposit)."
      creator: String
      deposited: BigInt!
      withdrawn: BigInt!
      redemptions: Int!
      redeemed: BigInt!
      toNodes: BigInt!
      toOwner: BigInt!
      toProtocol: BigInt!
      claimed: BigInt!
      "Protocol fees sold on the creator's curve, and the FLK burned with what they returned."
      feesBurned: BigInt!
      flkBurned: BigInt!
      lastBlock: Int!
    }

    "What an account (node operator or creator) was credited in a token, claimed, and may claim."
    type TokenCallEarning {
      account: String!
      token: String!
      credited: BigInt!
      claimed: BigInt!
      balance: BigInt!
    }

    "A caller's deposit of a token for one serving node (only that node's vouchers are paid from it); pending (0: none) may be withdrawn from readyAt."
    type TokenCallDeposit {
      caller: String!
      token: String!
      nodeId: Int!
      deposited: BigInt!
      redeemed: BigInt!
      withdrawn: BigInt!
      balance: BigInt!
      pending: BigInt!
      readyAt: Int!
    }

    "One sale of protocol fees (event FeesBurned)."
    type TokenCallBurn {
      token: String!
      amount: BigInt!
      flkBurned: BigInt!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    "TokenCallEscrow's totals: the FLK its protocol fees burned is the token calls' contribution to burns."
    type TokenCallTotals {
      redemptions: Int!
      burns: Int!
      flkBurned: BigInt!
    }

    type TokenCallAgentRevenueConnection {
      nodes: [TokenCallAgentRevenue!]!
      pageInfo: PageInfo!
    }
    type TokenCallNodeRevenueConnection {
      nodes: [TokenCallNodeRevenue!]!
      pageInfo: PageInfo!
    }
    type TokenCallTokenConnection {
      nodes: [TokenCallToken!]!
      pageInfo: PageInfo!
    }
    type TokenCallEarningConnection {
      nodes: [TokenCallEarning!]!
      pageInfo: PageInfo!
    }
    type TokenCallBurnConnection {
      nodes: [TokenCallBurn!]!
      pageInfo: PageInfo!
    }

    extend type Agent {
      "Call revenue paid in creator tokens, one entry per token (by token address)."
      tokenRevenue(first: Int, after: String): TokenCallAgentRevenueConnection!
    }

    extend type Query {
      "A node's call revenue paid in creator tokens, one entry per token (by token address)."
      tokenCallNodeRevenue(nodeId: Int!, first: Int, after: String): TokenCallNodeRevenueConnection!
      "Creator tokens used to pay calls (by token address); creator: only the token of that creator (an agent owner)."
      tokenCallTokens(creator: String, first: Int, after: String): TokenCallTokenConnection!
      "An account's token-call earnings, one entry per token."
      tokenCallEarnings(account: String!, first: Int, after: String): TokenCallEarningConnection!
      "A caller's deposit of a token for node nodeId (null when none)."
      tokenCallDeposit(caller: String!, token: String!, nodeId: Int!): TokenCallDeposit
      "Sales of protocol fees, newest first by default."
      tokenCallBurns(first: Int, after: String, orderDirection: OrderDirection): TokenCallBurnConnection!
      "Totals (null before the first redemption or burn is indexed)."
      tokenCallTotals: TokenCallTotals
    }
  `,
  resolvers: {
    Query: {
      tokenCallNodeRevenue: (_: unknown, args: PageArgs & { nodeId: number }, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("token_call_node_revenue").selectAll().where("nodeId", "=", parseId(args.nodeId, "nodeId")), BY_TOKEN, args),
      tokenCallTokens: (_: unknown, args: PageArgs & { creator?: string | null }, ctx: ApiContext) => {
        let query = ctx.db.selectFrom("token_call_tokens").selectAll();
        if (args.creator != null) query = query.where("creator", "=", parseAddress(args.creator, "creator"));
        return paginate(query, BY_TOKEN, args);
      },
      tokenCallEarnings: (_: unknown, args: PageArgs & { account: string }, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("token_call_earnings").selectAll().where("account", "=", parseAddress(args.account, "account")), EARNINGS_ORDERING, args),
      tokenCallDeposit: (_: unknown, args: { caller: string; token: string; nodeId: number }, ctx: ApiContext) =>
        ctx.db
          .selectFrom("token_call_deposits")
          .selectAll()
          .where("caller", "=", parseAddress(args.caller, "caller"))
          .where("token", "=", parseAddress(args.token, "token"))
          .where("nodeId", "=", parseId(args.nodeId, "nodeId"))
          .executeTakeFirst(),
      tokenCallBurns: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("token_call_burns").selectAll(), BURN_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
      tokenCallTotals: (_: unknown, __: unknown, ctx: ApiContext) => ctx.db.selectFrom("token_call_totals").selectAll().where("id", "=", 1).executeTakeFirst(),
    },
    Agent: {
      tokenRevenue: (a: Row<"agents">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("token_call_agent_revenue").selectAll().where("agentId", "=", a.id), BY_TOKEN, args),
    },
    TokenCallToken: { creator: (t: Row<"token_call_tokens">) => orNull(t.creator) },
    TokenCallBurn: { transactionHash: (b: Row<"token_call_burns">) => b.txHash },
  },
};
