import { badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

const TOKEN_ORDERINGS = {
  CREATED: { name: "created", columns: ["idx", "token"] },
  SUPPLY: { name: "supply", columns: ["supply", "token"] },
  VOLUME: { name: "volume", columns: ["volume", "token"] },
  HOLDERS: { name: "holders", columns: ["holders", "token"] },
} as const;

const HOLDER_ORDERINGS = {
  BALANCE: { name: "balance", columns: ["balance", "address"] },
  ADDRESS: { name: "address", columns: ["address"] },
} as const;

const TRADE_ORDERING = { name: "block", columns: ["blockNumber", "logIndex"] } as const;

interface TradeWhere {
  token?: string;
  creator?: string;
  trader?: string;
  side?: "BUY" | "SELL";
  blockNumber_gte?: number;
  blockNumber_lte?: number;
}

/** The market's row with the FLK it holds. */
type MarketRow = Row<"creator_market"> & { flkBalance: string };

/** Creator fees the market has accrued and not yet paid out (a `creator_market` row). */
function marketCreatorFeesUnclaimed(m: { creatorFeesAccrued: string; creatorFeesClaimed: string }): bigint {
  return BigInt(m.creatorFeesAccrued) - BigInt(m.creatorFeesClaimed);
}

/** Treasury fees the market holds, not yet withdrawn (a `creator_market` row). */
function marketTreasuryFeesUnwithdrawn(m: { treasuryFeesAccrued: string; treasuryFeesWithdrawn: string }): bigint {
  return BigInt(m.treasuryFeesAccrued) - BigInt(m.treasuryFeesWithdrawn);
}

/** The token of `creator` (undefined when it has none yet). */
async function tokenOfCreator(ctx: ApiContext, creator: string): Promise<string | undefined> {
  const row = await ctx.db.selectFrom("creator_tokens").select("token").where("creator", "=", parseAddress(creator, "creator")).executeTakeFirst();
  return row?.token;
}

async function tradesQuery(ctx: ApiContext, where: TradeWhere) {
  let q = ctx.db.selectFrom("creator_trades").selectAll();
  if (where.token) q = q.where("token", "=", parseAddress(where.token, "where.token"));
  // Through the token so the token index serves it; a creator without a token matches nothing.
  if (where.creator) q = q.where("token", "=", (await tokenOfCreator(ctx, where.creator)) ?? "");
  if (where.trader) q = q.where("trader", "=", parseAddress(where.trader, "where.trader"));
  if (where.side) q = q.where("side", "=", where.side);
  if (where.blockNumber_gte != null) q = q.where("blockNumber", ">=", where.blockNumber_gte);
  if (where.blockNumber_lte != null) q = q.where("blockNumber", "<=", where.blockNumber_lte);
  return q;
}

/** Creator tokens (curve, volume, fees, holders), their trades and the market's totals. */
export const creatorSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum TradeSide {
      BUY
      SELL
    }
    "SUPPLY also orders by price and reserve (both grow with the supply)."
    enum CreatorTokenOrderBy {
      CREATED
      SUPPLY
      VOLUME
      HOLDERS
    }
    enum CreatorTokenHolderOrderBy {
      BALANCE
      ADDRESS
    }

    "A creator token on the market's linear bonding curve (FLK wei, token wei)."
    type CreatorToken {
      "The token's address (CreatorMarket.tokenOf(creator))."
      address: String!
      creator: String!
      "Creation order, from 0."
      index: Int!
      name: String!
      symbol: String!
      "CreatorMarket.supplyOf(creator)"
      supply: BigInt!
      "CreatorMarket.reserveOf(creator): FLK the curve holds for this supply."
      reserve: BigInt!
      "CreatorMarket.spotPrice(creator): FLK per whole token at this supply."
      price: BigInt!
      "Curve amounts (fees excluded) of buys, of sells, and both."
      buyVolume: BigInt!
      sellVolume: BigInt!
      volume: BigInt!
      buys: Int!
      sells: Int!
      "Accounts holding a positive balance."
      holderCount: Int!
      creatorFeesAccrued: BigInt!
      creatorFeesClaimed: BigInt!
      "CreatorMarket.creatorFeesOf(creator)"
      creatorFeesUnclaimed: BigInt!
      burnFees: BigInt!
      treasuryFees: BigInt!
      createdBlock: Int!
      createdTimestamp: Int!
      transactionHash: String!
      "Trades of this token (default: newest first)."
      trades(first: Int, after: String, where: CreatorTradeWhere, orderDirection: OrderDirection): CreatorTradeConnection!
      "Accounts with a positive balance (default: largest first)."
      holders(first: Int, after: String, orderBy: CreatorTokenHolderOrderBy, orderDirection: OrderDirection): CreatorTokenHolderConnection!
    }

    type CreatorTokenHolder {
      token: String!
      address: String!
      balance: BigInt!
      firstBlock: Int!
      lastBlock: Int!
    }

    "A buy or sell on the curve."
    type CreatorTrade {
      blockNumber: Int!
      logIndex: Int!
      timestamp: Int!
      transactionHash: String!
      token: String!
      creator: String!
      trader: String!
      side: TradeSide!
      amount: BigInt!
      "Curve amount: cost into the reserve (buy) or value out of it (sell)."
      flk: BigInt!
      creatorFee: BigInt!
      burnFee: BigInt!
      treasuryFee: BigInt!
      "The three fee shares."
      fee: BigInt!
      "FLK the trader paid (buy) or received (sell)."
      traderFlk: BigInt!
      supplyAfter: BigInt!
      "Spot price after the trade."
      priceAfter: BigInt!
    }

    "The creator market's totals. Its FLK balance is the reserves plus unclaimed fees plus surplus."
    type CreatorMarket {
      address: String!
      tokenCount: Int!
      "Sum of every token's reserve (the supply breakdown's curveReserves)."
      totalReserve: BigInt!
      "FLK.balanceOf(market)"
      flkBalance: BigInt!
      creatorFeesAccrued: BigInt!
      creatorFeesClaimed: BigInt!
      creatorFeesUnclaimed: BigInt!
      treasuryFeesAccrued: BigInt!
      treasuryFeesWithdrawn: BigInt!
      "globalState().treasuryFees"
      treasuryFeesUnwithdrawn: BigInt!
      burnFees: BigInt!
      buyVolume: BigInt!
      sellVolume: BigInt!
      trades: Int!
      creatorFeeBps: Int!
      burnFeeBps: Int!
      treasuryFeeBps: Int!
      treasury: String!
      "FLK the market holds beyond reserves and unclaimed fees (sent to it outside a trade)."
      surplus: BigInt!
    }

    type CreatorTokenConnection {
      nodes: [CreatorToken!]!
      pageInfo: PageInfo!
    }

    type CreatorTokenHolderConnection {
      nodes: [CreatorTokenHolder!]!
      pageInfo: PageInfo!
    }

    type CreatorTradeConnection {
      nodes: [CreatorTrade!]!
      pageInfo: PageInfo!
    }

    input CreatorTokenWhere {
      creator: String
      "Only tokens with more supply than this (0 gives tokens in circulation)."
      supply_gt: BigInt
    }

    input CreatorTradeWhere {
      token: String
      creator: String
      trader: String
      side: TradeSide
      blockNumber_gte: Int
      blockNumber_lte: Int
    }

    extend type Query {
      "Totals of the creator market (null before its deployment is indexed)."
      creatorMarket: CreatorMarket
      "Creator tokens (default: in creation order; other orderings largest first)."
      creatorTokens(first: Int, after: String, where: CreatorTokenWhere, orderBy: CreatorTokenOrderBy, orderDirection: OrderDirection): CreatorTokenConnection!
      "One creator token by its address or by its creator (exactly one of the two)."
      creatorToken(address: String, creator: String): CreatorToken
      "Trades of every token (default: newest first)."
      creatorTrades(first: Int, after: String, where: CreatorTradeWhere, orderDirection: OrderDirection): CreatorTradeConnection!
    }
  `,
  resolvers: {
    Query: {
      creatorMarket: async (_: unknown, __: unknown, ctx: ApiContext) => {
        const m = await ctx.db.selectFrom("creator_market").selectAll().executeTakeFirst();
        if (!m) return null;
        const account = await ctx.db.selectFrom("accounts").select("balance").where("address", "=", m.address).executeTakeFirst();
        return { ...m, flkBalance: account?.balance ?? "0" };
      },
      creatorTokens: (
        _: unknown,
        args: PageArgs & { where?: { creator?: string; supply_gt?: bigint }; orderBy?: keyof typeof TOKEN_ORDERINGS },
        ctx: ApiContext,
      ) => {
        let q = ctx.db.selectFrom("creator_tokens").selectAll();
        if (args.where?.creator) q = q.where("creator", "=", parseAddress(args.where.creator, "where.creator"));
        if (args.where?.supply_gt != null) q = q.where("supply", ">", args.where.supply_gt.toString());
        const orderBy = args.orderBy ?? "CREATED";
        return paginate(q, TOKEN_ORDERINGS[orderBy], { ...args, orderDirection: args.orderDirection ?? (orderBy === "CREATED" ? "ASC" : "DESC") });
      },
      creatorToken: async (_: unknown, args: { address?: string | null; creator?: string | null }, ctx: ApiContext) => {
        if ((args.address == null) === (args.creator == null)) throw badInput("creatorToken takes exactly one of address and creator");
        const q = ctx.db.selectFrom("creator_tokens").selectAll();
        return args.address != null
          ? q.where("token", "=", parseAddress(args.address, "address")).executeTakeFirst()
          : q.where("creator", "=", parseAddress(args.creator!, "creator")).executeTakeFirst();
      },
      creatorTrades: async (_: unknown, args: PageArgs & { where?: TradeWhere }, ctx: ApiContext) =>
        paginate(await tradesQuery(ctx, args.where ?? {}), TRADE_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
    },
    CreatorMarket: {
      creatorFeesUnclaimed: (m: MarketRow) => marketCreatorFeesUnclaimed(m),
      treasuryFeesUnwithdrawn: (m: MarketRow) => marketTreasuryFeesUnwithdrawn(m),
      surplus: (m: MarketRow) => BigInt(m.flkBalance) - BigInt(m.totalReserve) - marketCreatorFeesUnclaimed(m) - marketTreasuryFeesUnwithdrawn(m),
    },
    CreatorToken: {
      address: (t: Row<"creator_tokens">) => t.token,
      index: (t: Row<"creator_tokens">) => t.idx,
      holderCount: (t: Row<"creator_tokens">) => t.holders,
      creatorFeesUnclaimed: (t: Row<"creator_tokens">) => BigInt(t.creatorFeesAccrued) - BigInt(t.creatorFeesClaimed),
      transactionHash: (t: Row<"creator_tokens">) => t.txHash,
      trades: async (t: Row<"creator_tokens">, args: PageArgs & { where?: TradeWhere }, ctx: ApiContext) =>
        paginate(await tradesQuery(ctx, { ...args.where, token: t.token }), TRADE_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
      holders: (t: Row<"creator_tokens">, args: PageArgs & { orderBy?: keyof typeof HOLDER_ORDERINGS }, ctx: ApiContext) =>
        paginate(
          ctx.db.selectFrom("creator_token_holders").selectAll().where("token", "=", t.token).where("balance", ">", "0"),
          HOLDER_ORDERINGS[args.orderBy ?? "BALANCE"],
          { ...args, orderDirection: args.orderDirection ?? (args.orderBy === "ADDRESS" ? "ASC" : "DESC") },
        ),
    },
    CreatorTrade: {
      transactionHash: (t: Row<"creator_trades">) => t.txHash,
      fee: (t: Row<"creator_trades">) => BigInt(t.creatorFee) + BigInt(t.burnFee) + BigInt(t.treasuryFee),
    },
  },
};
