import { sql } from "kysely";
import { auctionPrice } from "../../protocol/buyback";
import { badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

const AUCTION_ORDERING = { name: "id", columns: ["id"] } as const;
const BURN_ORDERING = { name: "block", columns: ["blockNumber", "logIndex"] } as const;

/** The burner's floor in force at `timestamp` (it applies at once when the owner changes it). */
async function floorAt(ctx: ApiContext, timestamp: number): Promise<bigint> {
  const { rows } = await sql<{ floor: string }>`
    SELECT floor FROM buyback_params WHERE timestamp <= ${timestamp}
    ORDER BY timestamp DESC, block_number DESC, log_index DESC LIMIT 1`.execute(ctx.db);
  return BigInt(rows[0].floor);
}

/**
 * The price per USDC of auction `a` at `timestamp` (since its latest start or restart), as
 * `BuybackBurner.currentPrice` at a block of that time: protocol/buyback.ts with the floor then in force.
 */
async function priceAt(ctx: ApiContext, a: Row<"buyback_auctions">, timestamp: number): Promise<bigint> {
  return auctionPrice(BigInt(a.startPrice), await floorAt(ctx, timestamp), BigInt(a.period), BigInt(timestamp - a.startTime));
}

/** Buyback auctions (price path, sale, lot), the burner's totals and every FLK burn with its source. */
export const buybackSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum AuctionStatus {
      OPEN
      SOLD
    }
    "Who burned: a buyback auction's payment, the creator market's burn share, or a holder's own burn."
    enum BurnSource {
      BUYBACK
      CREATOR_MARKET
      OTHER
    }

    "A Dutch auction of the buyback burner's USDC pot, priced in FLK wei per USDC (a buy pays price × pot / 10^6 for the whole pot)."
    type Auction {
      id: Int!
      status: AuctionStatus!
      startTime: Int!
      startBlock: Int!
      "Seconds for the price to fall from startPrice to the floor (from startTime: the latest start or restart)."
      period: Int!
      "When the price reaches the floor (startTime + period)."
      endTime: Int!
      startPrice: BigInt!
      "BuybackBurner.currentPrice() at the latest indexed block (null once sold)."
      currentPrice: BigInt
      "The price per USDC at \`timestamp\`, between startTime and the sale (or now)."
      priceAt(timestamp: Int!): BigInt!
      "USDC deposited through deposit() while it ran (plain transfers add to the pot unseen)."
      deposited: BigInt!
      buyer: String
      recipient: String
      "The lot: USDC sold (the whole pot)."
      usdcAmount: BigInt
      "FLK burned by the buyer for the whole pot."
      pricePaid: BigInt
      nextStartPrice: BigInt
      soldBlock: Int
      soldTimestamp: Int
      transactionHash: String
    }

    type AuctionConnection {
      nodes: [Auction!]!
      pageInfo: PageInfo!
    }

    input AuctionWhere {
      status: AuctionStatus
      buyer: String
    }

    type BuybackParams {
      period: Int!
      "Next start price per price paid (1e18 = 1x)."
      multiplier: BigInt!
      floor: BigInt!
    }

    type Buyback {
      currentAuction: Auction!
      "BuybackBurner.totalBurned()"
      totalBurned: BigInt!
      usdcSold: BigInt!
      deposited: BigInt!
      auctionsSold: Int!
      params: BuybackParams!
    }

    "A burn of FLK (a transfer to the zero address)."
    type Burn {
      blockNumber: Int!
      logIndex: Int!
      timestamp: Int!
      transactionHash: String!
      from: String!
      value: BigInt!
      "FLK burned so far, this burn included (the supply breakdown's burned)."
      cumulativeBurned: BigInt!
      source: BurnSource!
      "The auction a BUYBACK burn paid for."
      auctionId: Int
    }

    type BurnConnection {
      nodes: [Burn!]!
      pageInfo: PageInfo!
    }

    input BurnWhere {
      from: String
      source: BurnSource
    }

    extend type Query {
      "The buyback burner's state (null before its deployment is indexed)."
      buyback: Buyback
      auction(id: Int!): Auction
      "Auctions (default: newest first)."
      auctions(first: Int, after: String, where: AuctionWhere, orderDirection: OrderDirection): AuctionConnection!
      "FLK burns in order."
      burns(first: Int, after: String, where: BurnWhere, orderDirection: OrderDirection): BurnConnection!
    }
  `,
  resolvers: {
    Query: {
      buyback: (_: unknown, __: unknown, ctx: ApiContext) => ctx.db.selectFrom("buyback_totals").selectAll().executeTakeFirst(),
      auction: (_: unknown, args: { id: number }, ctx: ApiContext) =>
        ctx.db.selectFrom("buyback_auctions").selectAll().where("id", "=", args.id).executeTakeFirst(),
      auctions: (_: unknown, args: PageArgs & { where?: { status?: string; buyer?: string } }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("buyback_auctions").selectAll();
        if (args.where?.status) q = q.where("status", "=", args.where.status);
        if (args.where?.buyer) q = q.where("buyer", "=", parseAddress(args.where.buyer, "where.buyer"));
        return paginate(q, AUCTION_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" });
      },
      burns: (_: unknown, args: PageArgs & { where?: { from?: string; source?: string } }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("flk_burns").selectAll();
        if (args.where?.from) q = q.where("from", "=", parseAddress(args.where.from, "where.from"));
        if (args.where?.source) q = q.where("source", "=", args.where.source);
        return paginate(q, BURN_ORDERING, args);
      },
    },
    Buyback: {
      currentAuction: (t: Row<"buyback_totals">, _: unknown, ctx: ApiContext) =>
        ctx.db.selectFrom("buyback_auctions").selectAll().where("id", "=", t.currentAuction).executeTakeFirstOrThrow(),
      params: (t: Row<"buyback_totals">) => t,
    },
    Auction: {
      endTime: (a: Row<"buyback_auctions">) => a.startTime + a.period,
      currentPrice: async (a: Row<"buyback_auctions">, _: unknown, ctx: ApiContext) => (a.status === "OPEN" ? priceAt(ctx, a, await ctx.now()) : null),
      priceAt: async (a: Row<"buyback_auctions">, args: { timestamp: number }, ctx: ApiContext) => {
        const end = a.soldTimestamp ?? (await ctx.now());
        if (args.timestamp < a.startTime || args.timestamp > end) throw badInput(`timestamp must be within the auction: ${a.startTime}..${end}`);
        return priceAt(ctx, a, args.timestamp);
      },
      pricePaid: (a: Row<"buyback_auctions">) => a.flkPaid,
      transactionHash: (a: Row<"buyback_auctions">) => a.txHash,
    },
    Burn: {
      transactionHash: (b: Row<"flk_burns">) => b.txHash,
    },
  },
};
