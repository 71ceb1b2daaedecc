import { getAddress, ZeroAddress } from "ethers";
import type { Kysely } from "kysely";
import { creatorTokenAddress, reserveAt, spotPrice } from "../../ignition/creator";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import { recordSupply } from "./supply";

/**
 * A creator token and its curve. Supply, creator fees and volumes come from the market's events;
 * reserve and price are the contract's own formulas (`reserveAt`, `spotPrice` of
 * ignition/creator.ts) at that supply, stored so lists can be ordered by them.
 */
export const creatorTokens = defineTable<{
  token: string;
  creator: string;
  /** Creation order (`CreatorTokenCreated.index`). */
  idx: number;
  name: string;
  symbol: string;
  supply: bigint;
  /** `CreatorMarket.reserveOf(creator)`. */
  reserve: bigint;
  /** `CreatorMarket.spotPrice(creator)`. */
  price: bigint;
  /** FLK the curve took on buys and paid on sells (fees excluded), and their sum. */
  buy_volume: bigint;
  sell_volume: bigint;
  volume: bigint;
  buys: number;
  sells: number;
  /** Accounts with a positive balance. */
  holders: number;
  creator_fees_accrued: bigint;
  creator_fees_claimed: bigint;
  burn_fees: bigint;
  treasury_fees: bigint;
  created_block: number;
  created_timestamp: number;
  tx_hash: string;
  last_trade_block: number;
}>({
  name: "creator_tokens",
  columns: {
    token: "text",
    creator: "text",
    idx: "int8",
    name: "text",
    symbol: "text",
    supply: "numeric",
    reserve: "numeric",
    price: "numeric",
    buy_volume: "numeric",
    sell_volume: "numeric",
    volume: "numeric",
    buys: "int8",
    sells: "int8",
    holders: "int8",
    creator_fees_accrued: "numeric",
    creator_fees_claimed: "numeric",
    burn_fees: "numeric",
    treasury_fees: "numeric",
    created_block: "int8",
    created_timestamp: "int8",
    tx_hash: "text",
    last_trade_block: "int8",
  },
  primaryKey: ["token"],
  rollback: "journal",
});

/** A balance of a creator token (from the token's Transfer events: mints, burns, transfers). */
export const creatorTokenHolders = defineTable<{ token: string; address: string; balance: bigint; first_block: number; last_block: number }>({
  name: "creator_token_holders",
  columns: { token: "text", address: "text", balance: "numeric", first_block: "int8", last_block: "int8" },
  primaryKey: ["token", "address"],
  rollback: "journal",
});

/** One buy or sell on the curve. */
export const creatorTrades = defineTable<{
  block_number: number;
  log_index: number;
  timestamp: number;
  tx_hash: string;
  token: string;
  creator: string;
  trader: string;
  /** "BUY" or "SELL". */
  side: string;
  amount: bigint;
  /** Curve amount: cost into the reserve (buy) or value out of it (sell). */
  flk: bigint;
  creator_fee: bigint;
  burn_fee: bigint;
  treasury_fee: bigint;
  /** FLK the trader paid (buy: curve cost plus fees) or received (sell: value minus fees). */
  trader_flk: bigint;
  supply_after: bigint;
  price_after: bigint;
}>({
  name: "creator_trades",
  columns: {
    block_number: "int8",
    log_index: "int4",
    timestamp: "int8",
    tx_hash: "text",
    token: "text",
    creator: "text",
    trader: "text",
    side: "text",
    amount: "numeric",
    flk: "numeric",
    creator_fee: "numeric",
    burn_fee: "numeric",
    treasury_fee: "numeric",
    trader_flk: "numeric",
    supply_after: "numeric",
    price_after: "numeric",
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/**
 * Market totals (a single row, id 1). The market's FLK is exactly `total_reserve` plus the unclaimed
 * creator fees plus `treasury_fees_accrued − treasury_fees_withdrawn`, plus whatever was sent to it
 * outside a trade (the API reports that difference from the market's FLK balance).
 */
export const creatorMarket = defineTable<{
  id: number;
  /** The market's own address (its FLK balance is in `accounts`). */
  address: string;
  /** `CreatorMarket.tokenImplementation()`: with the market's address it gives every token address. */
  implementation: string;
  token_count: number;
  total_reserve: bigint;
  creator_fees_accrued: bigint;
  creator_fees_claimed: bigint;
  treasury_fees_accrued: bigint;
  treasury_fees_withdrawn: bigint;
  burn_fees: bigint;
  buy_volume: bigint;
  sell_volume: bigint;
  trades: number;
  creator_fee_bps: number;
  burn_fee_bps: number;
  treasury_fee_bps: number;
  treasury: string;
}>({
  name: "creator_market",
  columns: {
    id: "int4",
    address: "text",
    implementation: "text",
    token_count: "int8",
    total_reserve: "numeric",
    creator_fees_accrued: "numeric",
    creator_fees_claimed: "numeric",
    treasury_fees_accrued: "numeric",
    treasury_fees_withdrawn: "numeric",
    burn_fees: "numeric",
    buy_volume: "numeric",
    sell_volume: "numeric",
    trades: "int8",
    creator_fee_bps: "int4",
    burn_fee_bps: "int4",
    treasury_fee_bps: "int4",
    treasury: "text",
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** The market row; created at the market's first event (its constructor's `TreasurySet`). */
async function market(ctx: HandlerContext) {
  const m = await ctx.store.get(creatorMarket, { id: 1 });
  if (m) return m;
  const [implementation] = await ctx.readContract("CreatorMarket", "tokenImplementation() view returns (address)");
  return {
    id: 1,
    address: ctx.contracts.CreatorMarket,
    implementation: implementation as string,
    token_count: 0,
    total_reserve: 0n,
    creator_fees_accrued: 0n,
    creator_fees_claimed: 0n,
    treasury_fees_accrued: 0n,
    treasury_fees_withdrawn: 0n,
    burn_fees: 0n,
    buy_volume: 0n,
    sell_volume: 0n,
    trades: 0,
    creator_fee_bps: 0,
    burn_fee_bps: 0,
    treasury_fee_bps: 0,
    treasury: ZeroAddress,
  };
}

async function tokenOf(ctx: HandlerContext, creator: string) {
  const m = await market(ctx);
  const token = creatorTokenAddress(ctx.contracts.CreatorMarket, m.implementation, creator);
  const t = await ctx.store.get(creatorTokens, { token });
  if (!t) throw new Error(`creator token of ${creator} unknown at block ${ctx.block.number}: events missing`);
  return t;
}

async function onCreated(a: { creator: string; token: string; index: bigint }, ctx: HandlerContext) {
  const m = await market(ctx);
  // Name and symbol are the same for every clone today; read them so the index follows the code.
  const [[name], [symbol]] = await Promise.all([ctx.readContract(a.token, "name() view returns (string)"), ctx.readContract(a.token, "symbol() view returns (string)")]);
  await ctx.store.set(creatorTokens, {
    token: a.token,
    creator: a.creator,
    idx: Number(a.index),
    name,
    symbol,
    supply: 0n,
    reserve: 0n,
    price: spotPrice(0n),
    buy_volume: 0n,
    sell_volume: 0n,
    volume: 0n,
    buys: 0,
    sells: 0,
    holders: 0,
    creator_fees_accrued: 0n,
    creator_fees_claimed: 0n,
    burn_fees: 0n,
    treasury_fees: 0n,
    created_block: ctx.block.number,
    created_timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
    last_trade_block: ctx.block.number,
  });
  await ctx.store.set(creatorMarket, { ...m, token_count: m.token_count + 1 });
}

interface TradeArgs {
  creator: string;
  trader: string;
  amount: bigint;
  creatorFee: bigint;
  burnFee: bigint;
  treasuryFee: bigint;
  newSupply: bigint;
}

/** A buy (`flk` = cost) or a sell (`flk` = value): the token's curve, the market totals, the trade row. */
async function onTrade(side: "BUY" | "SELL", a: TradeArgs, flk: bigint, ctx: HandlerContext) {
  const t = await tokenOf(ctx, a.creator);
  const m = await market(ctx);
  const buy = side === "BUY";
  const reserve = reserveAt(a.newSupply);
  const price = spotPrice(a.newSupply);
  const fees = a.creatorFee + a.burnFee + a.treasuryFee;
  await ctx.store.set(creatorTokens, {
    ...t,
    supply: a.newSupply,
    reserve,
    price,
    buy_volume: t.buy_volume + (buy ? flk : 0n),
    sell_volume: t.sell_volume + (buy ? 0n : flk),
    volume: t.volume + flk,
    buys: t.buys + Number(buy),
    sells: t.sells + Number(!buy),
    creator_fees_accrued: t.creator_fees_accrued + a.creatorFee,
    burn_fees: t.burn_fees + a.burnFee,
    treasury_fees: t.treasury_fees + a.treasuryFee,
    last_trade_block: ctx.block.number,
  });
  const totalReserve = m.total_reserve - t.reserve + reserve;
  await ctx.store.set(creatorMarket, {
    ...m,
    total_reserve: totalReserve,
    creator_fees_accrued: m.creator_fees_accrued + a.creatorFee,
    treasury_fees_accrued: m.treasury_fees_accrued + a.treasuryFee,
    burn_fees: m.burn_fees + a.burnFee,
    buy_volume: m.buy_volume + (buy ? flk : 0n),
    sell_volume: m.sell_volume + (buy ? 0n : flk),
    trades: m.trades + 1,
  });
  await recordSupply(ctx, "curveReserves", totalReserve);
  await ctx.store.set(creatorTrades, {
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
    token: t.token,
    creator: a.creator,
    trader: a.trader,
    side,
    amount: a.amount,
    flk,
    creator_fee: a.creatorFee,
    burn_fee: a.burnFee,
    treasury_fee: a.treasuryFee,
    trader_flk: buy ? flk + fees : flk - fees,
    supply_after: a.newSupply,
    price_after: price,
  });
}

async function onCreatorFeesClaimed(a: { creator: string; amount: bigint }, ctx: HandlerContext) {
  const t = await tokenOf(ctx, a.creator);
  const m = await market(ctx);
  await ctx.store.set(creatorTokens, { ...t, creator_fees_claimed: t.creator_fees_claimed + a.amount });
  await ctx.store.set(creatorMarket, { ...m, creator_fees_claimed: m.creator_fees_claimed + a.amount });
}

async function onTreasuryFeesWithdrawn(a: { amount: bigint }, ctx: HandlerContext) {
  const m = await market(ctx);
  await ctx.store.set(creatorMarket, { ...m, treasury_fees_withdrawn: m.treasury_fees_withdrawn + a.amount });
}

async function onFeesSet(a: { creatorFeeBps: bigint; burnFeeBps: bigint; treasuryFeeBps: bigint }, ctx: HandlerContext) {
  const m = await market(ctx);
  await ctx.store.set(creatorMarket, { ...m, creator_fee_bps: Number(a.creatorFeeBps), burn_fee_bps: Number(a.burnFeeBps), treasury_fee_bps: Number(a.treasuryFeeBps) });
}

async function onTreasurySet(a: { treasury: string }, ctx: HandlerContext) {
  await ctx.store.set(creatorMarket, { ...(await market(ctx)), treasury: a.treasury });
}

async function credit(ctx: HandlerContext, token: string, address: string, delta: bigint): Promise<number> {
  const h = (await ctx.store.get(creatorTokenHolders, { token, address })) ?? { token, address, balance: 0n, first_block: ctx.block.number, last_block: 0 };
  const balance = h.balance + delta;
  if (balance < 0n) throw new Error(`creator-token balance of ${address} in ${token} below zero at block ${ctx.block.number}: events missing`);
  await ctx.store.set(creatorTokenHolders, { ...h, balance, last_block: ctx.block.number });
  return Number(balance > 0n) - Number(h.balance > 0n);
}

/** A creator token's Transfer (mint on buy, burn on sell, or between holders). */
async function onTokenTransfer(a: { from: string; to: string; value: bigint }, ctx: HandlerContext) {
  // Nodes return log addresses in lower case; tokens are keyed checksummed, as events decode them.
  const token = getAddress(ctx.log.address);
  let delta = 0;
  if (a.from !== ZeroAddress) delta += await credit(ctx, token, a.from, -a.value);
  if (a.to !== ZeroAddress) delta += await credit(ctx, token, a.to, a.value);
  if (delta === 0) return;
  const t = await ctx.store.get(creatorTokens, { token });
  if (!t) throw new Error(`transfer of unknown creator token ${token} at block ${ctx.block.number}`);
  await ctx.store.set(creatorTokens, { ...t, holders: t.holders + delta });
}

/** Creator tokens (curve, volume, fees, holders), their trades, the market, and the curve-reserves supply component. */
export const creatorModule: IndexerModule = {
  name: "creator",
  events: {
    CreatorMarket: [
      "CreatorTokenCreated(address indexed creator, address indexed token, uint256 index)",
      "Buy(address indexed creator, address indexed trader, uint256 amount, uint256 cost, uint256 creatorFee, uint256 burnFee, uint256 treasuryFee, uint256 newSupply)",
      "Sell(address indexed creator, address indexed trader, uint256 amount, uint256 value, uint256 creatorFee, uint256 burnFee, uint256 treasuryFee, uint256 newSupply)",
      "CreatorFeesClaimed(address indexed creator, uint256 amount)",
      "TreasuryFeesWithdrawn(address indexed treasury, uint256 amount)",
      "FeesSet(uint16 creatorFeeBps, uint16 burnFeeBps, uint16 treasuryFeeBps)",
      "TreasurySet(address treasury)",
    ],
  },
  children: {
    CreatorToken: {
      createdBy: "CreatorMarket:CreatorTokenCreated",
      address: "token",
      events: ["Transfer(address indexed from, address indexed to, uint256 value)"],
    },
  },
  tables: [creatorTokens, creatorTokenHolders, creatorTrades, creatorMarket],
  handlers: {
    "CreatorMarket:CreatorTokenCreated": (a, ctx) => onCreated(a as never, ctx),
    "CreatorMarket:Buy": (a, ctx) => onTrade("BUY", a as never, a.cost, ctx),
    "CreatorMarket:Sell": (a, ctx) => onTrade("SELL", a as never, a.value, ctx),
    "CreatorMarket:CreatorFeesClaimed": (a, ctx) => onCreatorFeesClaimed(a as never, ctx),
    "CreatorMarket:TreasuryFeesWithdrawn": (a, ctx) => onTreasuryFeesWithdrawn(a as never, ctx),
    "CreatorMarket:FeesSet": (a, ctx) => onFeesSet(a as never, ctx),
    "CreatorMarket:TreasurySet": (a, ctx) => onTreasurySet(a as never, ctx),
    "CreatorToken:Transfer": (a, ctx) => onTokenTransfer(a as never, ctx),
  },
  migrations: {
    "161-creator": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("creator_tokens")
          .addColumn("token", "text", (c) => c.primaryKey())
          .addColumn("creator", "text", (c) => c.notNull())
          .addColumn("idx", "int8", (c) => c.notNull())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("symbol", "text", (c) => c.notNull())
          .addColumn("supply", WEI, (c) => c.notNull())
          .addColumn("reserve", WEI, (c) => c.notNull())
          .addColumn("price", WEI, (c) => c.notNull())
          .addColumn("buy_volume", WEI, (c) => c.notNull())
          .addColumn("sell_volume", WEI, (c) => c.notNull())
          .addColumn("volume", WEI, (c) => c.notNull())
          .addColumn("buys", "int8", (c) => c.notNull())
          .addColumn("sells", "int8", (c) => c.notNull())
          .addColumn("holders", "int8", (c) => c.notNull())
          .addColumn("creator_fees_accrued", WEI, (c) => c.notNull())
          .addColumn("creator_fees_claimed", WEI, (c) => c.notNull())
          .addColumn("burn_fees", WEI, (c) => c.notNull())
          .addColumn("treasury_fees", WEI, (c) => c.notNull())
          .addColumn("created_block", "int8", (c) => c.notNull())
          .addColumn("created_timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addColumn("last_trade_block", "int8", (c) => c.notNull())
          .execute();
        // `creatorTokens` orderings (keyset: value then token) and the creator filter.
        await db.schema.createIndex("creator_tokens_idx").on("creator_tokens").columns(["idx", "token"]).execute();
        await db.schema.createIndex("creator_tokens_creator").on("creator_tokens").columns(["creator"]).execute();
        await db.schema.createIndex("creator_tokens_supply").on("creator_tokens").columns(["supply", "token"]).execute();
        await db.schema.createIndex("creator_tokens_volume").on("creator_tokens").columns(["volume", "token"]).execute();
        await db.schema.createIndex("creator_tokens_holders").on("creator_tokens").columns(["holders", "token"]).execute();
        await db.schema
          .createTable("creator_token_holders")
          .addColumn("token", "text", (c) => c.notNull())
          .addColumn("address", "text", (c) => c.notNull())
          .addColumn("balance", WEI, (c) => c.notNull())
          .addColumn("first_block", "int8", (c) => c.notNull())
          .addColumn("last_block", "int8", (c) => c.notNull())
          .addPrimaryKeyConstraint("creator_token_holders_pk", ["token", "address"])
          .execute();
        // A token's holders by balance (by address: the primary key).
        await db.schema.createIndex("creator_token_holders_balance").on("creator_token_holders").columns(["token", "balance", "address"]).execute();
        await db.schema
          .createTable("creator_trades")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addColumn("token", "text", (c) => c.notNull())
          .addColumn("creator", "text", (c) => c.notNull())
          .addColumn("trader", "text", (c) => c.notNull())
          .addColumn("side", "text", (c) => c.notNull())
          .addColumn("amount", WEI, (c) => c.notNull())
          .addColumn("flk", WEI, (c) => c.notNull())
          .addColumn("creator_fee", WEI, (c) => c.notNull())
          .addColumn("burn_fee", WEI, (c) => c.notNull())
          .addColumn("treasury_fee", WEI, (c) => c.notNull())
          .addColumn("trader_flk", WEI, (c) => c.notNull())
          .addColumn("supply_after", WEI, (c) => c.notNull())
          .addColumn("price_after", WEI, (c) => c.notNull())
          .addPrimaryKeyConstraint("creator_trades_pk", ["block_number", "log_index"])
          .execute();
        // Trades of a token and of a trader, in order.
        await db.schema.createIndex("creator_trades_token").on("creator_trades").columns(["token", "block_number", "log_index"]).execute();
        await db.schema.createIndex("creator_trades_trader").on("creator_trades").columns(["trader", "block_number", "log_index"]).execute();
        await db.schema
          .createTable("creator_market")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("address", "text", (c) => c.notNull())
          .addColumn("implementation", "text", (c) => c.notNull())
          .addColumn("token_count", "int8", (c) => c.notNull())
          .addColumn("total_reserve", WEI, (c) => c.notNull())
          .addColumn("creator_fees_accrued", WEI, (c) => c.notNull())
          .addColumn("creator_fees_claimed", WEI, (c) => c.notNull())
          .addColumn("treasury_fees_accrued", WEI, (c) => c.notNull())
          .addColumn("treasury_fees_withdrawn", WEI, (c) => c.notNull())
          .addColumn("burn_fees", WEI, (c) => c.notNull())
          .addColumn("buy_volume", WEI, (c) => c.notNull())
          .addColumn("sell_volume", WEI, (c) => c.notNull())
          .addColumn("trades", "int8", (c) => c.notNull())
          .addColumn("creator_fee_bps", "int4", (c) => c.notNull())
          .addColumn("burn_fee_bps", "int4", (c) => c.notNull())
          .addColumn("treasury_fee_bps", "int4", (c) => c.notNull())
          .addColumn("treasury", "text", (c) => c.notNull())
          .execute();
      },
    },
  },
};
