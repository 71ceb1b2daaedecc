import { ZeroAddress } from "ethers";
import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import { tokenTotals } from "./token";

/** Who burned FLK, as the burns list reports it. */
export type BurnSource = "BUYBACK" | "CREATOR_MARKET" | "OTHER";

/**
 * One Dutch auction of the buyback burner. Its price path is `auctionPrice` of ignition/buyback.ts
 * over `start_time`, `period`, `start_price` and the floor in force at each instant (the floor
 * applies at once when changed, so the API reads it from `buyback_params`).
 */
export const buybackAuctions = defineTable<{
  id: number;
  start_time: number;
  start_block: number;
  period: number;
  start_price: bigint;
  /** "OPEN" or "SOLD". */
  status: string;
  /** USDC deposited through `deposit` while it ran (plain transfers to the burner are not events). */
  deposited: bigint;
  buyer: string | null;
  recipient: string | null;
  /** The lot: the whole USDC pot sold. */
  usdc_amount: bigint | null;
  /** FLK burned by the buyer: the price at the sale. */
  flk_paid: bigint | null;
  next_start_price: bigint | null;
  sold_block: number | null;
  sold_timestamp: number | null;
  tx_hash: string | null;
}>({
  name: "buyback_auctions",
  columns: {
    id: "int8",
    start_time: "int8",
    start_block: "int8",
    period: "int8",
    start_price: "numeric",
    status: "text",
    deposited: "numeric",
    buyer: "text",
    recipient: "text",
    usdc_amount: "numeric",
    flk_paid: "numeric",
    next_start_price: "numeric",
    sold_block: "int8",
    sold_timestamp: "int8",
    tx_hash: "text",
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** Every `ParamsSet` (the constructor's first): the floor in force at a time is the latest before it. */
export const buybackParams = defineTable<{ block_number: number; log_index: number; timestamp: number; period: number; multiplier: bigint; floor: bigint }>({
  name: "buyback_params",
  columns: { block_number: "int8", log_index: "int4", timestamp: "int8", period: "int8", multiplier: "numeric", floor: "numeric" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** Buyback totals (a single row, id 1): `total_burned` equals `BuybackBurner.totalBurned()`. */
export const buybackTotals = defineTable<{
  id: number;
  current_auction: number;
  total_burned: bigint;
  usdc_sold: bigint;
  deposited: bigint;
  auctions_sold: number;
  period: number;
  multiplier: bigint;
  floor: bigint;
}>({
  name: "buyback_totals",
  columns: { id: "int4", current_auction: "int8", total_burned: "numeric", usdc_sold: "numeric", deposited: "numeric", auctions_sold: "int8", period: "int8", multiplier: "numeric", floor: "numeric" },
  primaryKey: ["id"],
  rollback: "journal",
});

/**
 * Every FLK burn (a Transfer to the zero address), with the burned total after it (the token
 * area's running `burned`, so the last row equals `totalMinted − totalSupply`) and its source:
 * the creator market's burn share, a buyback auction's payment, or anyone's own `burn`.
 */
export const flkBurns = defineTable<{
  block_number: number;
  log_index: number;
  timestamp: number;
  tx_hash: string;
  from: string;
  value: bigint;
  cumulative_burned: bigint;
  source: string;
  auction_id: number | null;
}>({
  name: "flk_burns",
  columns: {
    block_number: "int8",
    log_index: "int4",
    timestamp: "int8",
    tx_hash: "text",
    from: "text",
    value: "numeric",
    cumulative_burned: "numeric",
    source: "text",
    auction_id: "int8",
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

async function totals(ctx: HandlerContext) {
  const t = await ctx.store.get(buybackTotals, { id: 1 });
  if (!t) throw new Error(`buyback event before the burner's constructor at block ${ctx.block.number}: events missing`);
  return t;
}

async function auction(ctx: HandlerContext, id: number) {
  const a = await ctx.store.get(buybackAuctions, { id });
  if (!a) throw new Error(`buyback auction ${id} unknown at block ${ctx.block.number}: events missing`);
  return a;
}

function openAuction(id: number, ctx: HandlerContext, period: number, startPrice: bigint) {
  return {
    id,
    start_time: ctx.block.timestamp,
    start_block: ctx.block.number,
    period,
    start_price: startPrice,
    status: "OPEN",
    deposited: 0n,
    buyer: null,
    recipient: null,
    usdc_amount: null,
    flk_paid: null,
    next_start_price: null,
    sold_block: null,
    sold_timestamp: null,
    tx_hash: null,
  };
}

/** The constructor's `ParamsSet` also opens auction 0 (no event of its own). */
async function onParamsSet(a: { period: bigint; multiplier: bigint; floor: bigint }, ctx: HandlerContext) {
  const period = Number(a.period);
  await ctx.store.set(buybackParams, { block_number: ctx.block.number, log_index: ctx.log.logIndex, timestamp: ctx.block.timestamp, period, multiplier: a.multiplier, floor: a.floor });
  const t = await ctx.store.get(buybackTotals, { id: 1 });
  if (t) return ctx.store.set(buybackTotals, { ...t, period, multiplier: a.multiplier, floor: a.floor });
  // The first start price is a constructor argument the burner keeps only in auction 0.
  const [id, , , startPrice] = await ctx.readContract("BuybackBurner", "auction() view returns (uint256 id, uint256 start, uint256 period, uint256 startPrice)");
  if (id !== 0n) throw new Error(`start with the BuybackBurner's deployment block: auction ${id} already runs at block ${ctx.block.number}`);
  await ctx.store.set(buybackAuctions, openAuction(0, ctx, period, startPrice as bigint));
  await ctx.store.set(buybackTotals, { id: 1, current_auction: 0, total_burned: 0n, usdc_sold: 0n, deposited: 0n, auctions_sold: 0, period, multiplier: a.multiplier, floor: a.floor });
}

async function onRevenueDeposited(a: { amount: bigint }, ctx: HandlerContext) {
  const t = await totals(ctx);
  const current = await auction(ctx, t.current_auction);
  await ctx.store.set(buybackAuctions, { ...current, deposited: current.deposited + a.amount });
  await ctx.store.set(buybackTotals, { ...t, deposited: t.deposited + a.amount });
}

interface AuctionBoughtArgs {
  auctionId: bigint;
  buyer: string;
  recipient: string;
  usdcAmount: bigint;
  flkBurned: bigint;
  nextStartPrice: bigint;
}

/** Closes the auction, opens the next one and marks the buyer's burn (earlier in the same transaction) as its payment. */
async function onAuctionBought(a: AuctionBoughtArgs, ctx: HandlerContext) {
  const t = await totals(ctx);
  const id = Number(a.auctionId);
  const sold = await auction(ctx, id);
  await ctx.store.set(buybackAuctions, {
    ...sold,
    status: "SOLD",
    buyer: a.buyer,
    recipient: a.recipient,
    usdc_amount: a.usdcAmount,
    flk_paid: a.flkBurned,
    next_start_price: a.nextStartPrice,
    sold_block: ctx.block.number,
    sold_timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
  await ctx.store.set(buybackAuctions, openAuction(id + 1, ctx, t.period, a.nextStartPrice));
  await ctx.store.set(buybackTotals, {
    ...t,
    current_auction: id + 1,
    total_burned: t.total_burned + a.flkBurned,
    usdc_sold: t.usdc_sold + a.usdcAmount,
    auctions_sold: t.auctions_sold + 1,
  });
  for (let i = ctx.log.logIndex - 1; i >= 0; i--) {
    const burn = await ctx.store.get(flkBurns, { block_number: ctx.block.number, log_index: i });
    if (burn && burn.tx_hash === ctx.log.transactionHash && burn.from === a.buyer && burn.value === a.flkBurned) {
      return ctx.store.set(flkBurns, { ...burn, source: "BUYBACK", auction_id: id });
    }
  }
  throw new Error(`auction ${id} sold at block ${ctx.block.number} without its FLK burn: events missing`);
}

async function onFlkTransfer(a: { from: string; to: string; value: bigint }, ctx: HandlerContext) {
  if (a.to !== ZeroAddress) return;
  // The token area's handler ran first: its `burned` already counts this burn.
  const token = await ctx.store.get(tokenTotals, { id: 1 });
  await ctx.store.set(flkBurns, {
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
    from: a.from,
    value: a.value,
    cumulative_burned: token!.burned,
    source: a.from === ctx.contracts.CreatorMarket ? "CREATOR_MARKET" : "OTHER",
    auction_id: null,
  });
}

/** Buyback auctions, their sales and parameters, and every FLK burn with its source. */
export const buybackModule: IndexerModule = {
  name: "buyback",
  events: {
    BuybackBurner: [
      "RevenueDeposited(address indexed from, uint256 amount)",
      "AuctionBought(uint256 indexed auctionId, address indexed buyer, address recipient, uint256 usdcAmount, uint256 flkBurned, uint256 nextStartPrice)",
      "ParamsSet(uint256 period, uint256 multiplier, uint256 floor)",
    ],
    FLK: ["Transfer(address indexed from, address indexed to, uint256 value)"],
  },
  tables: [buybackAuctions, buybackParams, buybackTotals, flkBurns],
  handlers: {
    "BuybackBurner:ParamsSet": (a, ctx) => onParamsSet(a as never, ctx),
    "BuybackBurner:RevenueDeposited": (a, ctx) => onRevenueDeposited(a as never, ctx),
    "BuybackBurner:AuctionBought": (a, ctx) => onAuctionBought(a as never, ctx),
    "FLK:Transfer": (a, ctx) => onFlkTransfer(a as never, ctx),
  },
  migrations: {
    "170-buyback": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("buyback_auctions")
          .addColumn("id", "int8", (c) => c.primaryKey())
          .addColumn("start_time", "int8", (c) => c.notNull())
          .addColumn("start_block", "int8", (c) => c.notNull())
          .addColumn("period", "int8", (c) => c.notNull())
          .addColumn("start_price", WEI, (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("deposited", WEI, (c) => c.notNull())
          .addColumn("buyer", "text")
          .addColumn("recipient", "text")
          .addColumn("usdc_amount", WEI)
          .addColumn("flk_paid", WEI)
          .addColumn("next_start_price", WEI)
          .addColumn("sold_block", "int8")
          .addColumn("sold_timestamp", "int8")
          .addColumn("tx_hash", "text")
          .execute();
        // `auctions(where: {status})` newest first; `auctions(where: {buyer})`.
        await db.schema.createIndex("buyback_auctions_status").on("buyback_auctions").columns(["status", "id"]).execute();
        await db.schema.createIndex("buyback_auctions_buyer").on("buyback_auctions").columns(["buyer", "id"]).execute();
        await db.schema
          .createTable("buyback_params")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("period", "int8", (c) => c.notNull())
          .addColumn("multiplier", WEI, (c) => c.notNull())
          .addColumn("floor", WEI, (c) => c.notNull())
          .addPrimaryKeyConstraint("buyback_params_pk", ["block_number", "log_index"])
          .execute();
        // The floor in force at a time.
        await db.schema.createIndex("buyback_params_time").on("buyback_params").columns(["timestamp", "block_number", "log_index"]).execute();
        await db.schema
          .createTable("buyback_totals")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("current_auction", "int8", (c) => c.notNull())
          .addColumn("total_burned", WEI, (c) => c.notNull())
          .addColumn("usdc_sold", WEI, (c) => c.notNull())
          .addColumn("deposited", WEI, (c) => c.notNull())
          .addColumn("auctions_sold", "int8", (c) => c.notNull())
          .addColumn("period", "int8", (c) => c.notNull())
          .addColumn("multiplier", WEI, (c) => c.notNull())
          .addColumn("floor", WEI, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("flk_burns")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addColumn("from", "text", (c) => c.notNull())
          .addColumn("value", WEI, (c) => c.notNull())
          .addColumn("cumulative_burned", WEI, (c) => c.notNull())
          .addColumn("source", "text", (c) => c.notNull())
          .addColumn("auction_id", "int8")
          .addPrimaryKeyConstraint("flk_burns_pk", ["block_number", "log_index"])
          .execute();
        // `burns(where: {from})` and `burns(where: {source})`, in order.
        await db.schema.createIndex("flk_burns_from").on("flk_burns").columns(["from", "block_number", "log_index"]).execute();
        await db.schema.createIndex("flk_burns_source").on("flk_burns").columns(["source", "block_number", "log_index"]).execute();
      },
    },
  },
};
