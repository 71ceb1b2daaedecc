import { ZeroAddress } from "ethers";
import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import { tokenTotals } from "./token";
import type { RawDb } from "../store/database";

/** Who burned FLK, as the burns list reports it. */
export type BurnSource = "BUYBACK" | "CREATOR_MARKET" | "OTHER";

/**
 * One Dutch auction of the buyback burner. Its price per USDC is `auctionPrice` of
 * protocol/buyback.ts over `start_time`, `period`, `start_price` and the floor in force at each
 * instant (the floor applies at once when changed, so the API reads it from `buyback_params`).
 * A restart (new revenue that at least doubled the pot) moves `start_time` and `period`.
 */
export const buybackAuctions = defineTable({
  name: "buyback_auctions",
  columns: {
    id: col.int8(),
    start_time: col.int8(),
    start_block: col.int8(),
    period: col.int8(),
    start_price: col.wei(),
    /** "OPEN" or "SOLD". */
    status: col.text(),
    /** USDC deposited through `deposit` while it ran (plain transfers to the burner are not events). */
    deposited: col.wei(),
    buyer: col.text().orNull(),
    recipient: col.text().orNull(),
    /** The lot: the whole USDC pot sold. */
    usdc_amount: col.wei().orNull(),
    /** FLK burned by the buyer: the price at the sale. */
    flk_paid: col.wei().orNull(),
    next_start_price: col.wei().orNull(),
    sold_block: col.int8().orNull(),
    sold_timestamp: col.int8().orNull(),
    tx_hash: col.text().orNull(),
  },
  primaryKey: ["id"],
  indexes: {
    // `auctions(where: {status})` newest first; `auctions(where: {buyer})`.
    buyback_auctions_status: ["status", "id"],
    buyback_auctions_buyer: ["buyer", "id"],
  },
  rollback: "journal",
});

/** Every `ParamsSet` (the constructor's first): the floor in force at a time is the latest before it. */
export const buybackParams = defineTable({
  name: "buyback_params",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    period: col.int8(),
    multiplier: col.wei(),
    floor: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    // The floor in force at a time.
    buyback_params_time: ["timestamp", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/** Buyback totals (a single row, id 1): `total_burned` equals `BuybackBurner.totalBurned()`. */
export const buybackTotals = defineTable({
  name: "buyback_totals",
  columns: {
    id: col.int4(),
    current_auction: col.int8(),
    total_burned: col.wei(),
    usdc_sold: col.wei(),
    deposited: col.wei(),
    auctions_sold: col.int8(),
    period: col.int8(),
    multiplier: col.wei(),
    floor: col.wei(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/**
 * Every FLK burn (a Transfer to the zero address), with the burned total after it (the token
 * area's running `burned`, so the last row equals `totalMinted − totalSupply`) and its source:
 * the creator market's burn share, a buyback auction's payment, or anyone's own `burn`.
 */
export const flkBurns = defineTable({
  name: "flk_burns",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
    from: col.text(),
    value: col.wei(),
    cumulative_burned: col.wei(),
    source: col.text(),
    auction_id: col.int8().orNull(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    // `burns(where: {from})` and `burns(where: {source})`, in order.
    flk_burns_from: ["from", "block_number", "log_index"],
    flk_burns_source: ["source", "block_number", "log_index"],
  },
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
  await ctx.store.set(buybackParams, {
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    period,
    multiplier: a.multiplier,
    floor: a.floor,
  });
  const t = await ctx.store.get(buybackTotals, { id: 1 });
  if (t) return ctx.store.set(buybackTotals, { ...t, period, multiplier: a.multiplier, floor: a.floor });
  // The first start price is a constructor argument the burner keeps only in auction 0.
  const [id, , , startPrice] = await ctx.readContract("BuybackBurner", "auction");
  if (id !== 0n) throw new Error(`start with the BuybackBurner's deployment block: auction ${id} already runs at block ${ctx.block.number}`);
  await ctx.store.set(buybackAuctions, openAuction(0, ctx, period, startPrice as bigint));
  await ctx.store.set(buybackTotals, {
    id: 1,
    current_auction: 0,
    total_burned: 0n,
    usdc_sold: 0n,
    deposited: 0n,
    auctions_sold: 0,
    period,
    multiplier: a.multiplier,
    floor: a.floor,
  });
}

async function onRevenueDeposited(a: { amount: bigint }, ctx: HandlerContext) {
  const t = await totals(ctx);
  const current = await auction(ctx, t.current_auction);
  await ctx.store.set(buybackAuctions, { ...current, deposited: current.deposited + a.amount });
  await ctx.store.set(buybackTotals, { ...t, deposited: t.deposited + a.amount });
}

/** New revenue restarted the running auction's decay: its price path starts again now. */
async function onAuctionRestarted(a: { auctionId: bigint; period: bigint }, ctx: HandlerContext) {
  const current = await auction(ctx, Number(a.auctionId));
  await ctx.store.set(buybackAuctions, { ...current, start_time: ctx.block.timestamp, start_block: ctx.block.number, period: Number(a.period) });
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
    BuybackBurner: ["RevenueDeposited", "AuctionBought", "ParamsSet", "AuctionRestarted"],
    FLK: ["Transfer"],
  },
  tables: [buybackAuctions, buybackParams, buybackTotals, flkBurns],
  handlers: {
    "BuybackBurner:ParamsSet": onParamsSet,
    "BuybackBurner:RevenueDeposited": onRevenueDeposited,
    "BuybackBurner:AuctionBought": onAuctionBought,
    "BuybackBurner:AuctionRestarted": onAuctionRestarted,
    "FLK:Transfer": onFlkTransfer,
  },
  migrations: {
    "170-buyback": {
      async up(db: RawDb) {
        await createTables(db, [buybackAuctions, buybackParams, buybackTotals, flkBurns]);
      },
    },
  },
};
