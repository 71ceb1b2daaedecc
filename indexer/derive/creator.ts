import { getAddress, ZeroAddress } from "ethers";
import { creatorTokenAddress, reserveAt, spotPrice } from "../../protocol/creatorMarket";
import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import { recordSupply } from "./supply";
import type { RawDb } from "../store/database";

/**
 * A creator token and its curve. Supply, creator fees and volumes come from the market's events;
 * reserve and price are the contract's own formulas (`reserveAt`, `spotPrice` of
 * protocol/creatorMarket.ts) at that supply, stored so lists can be ordered by them.
 */
export const creatorTokens = defineTable({
  name: "creator_tokens",
  columns: {
    token: col.text(),
    creator: col.text(),
    /** Creation order (`CreatorTokenCreated.index`). */
    idx: col.int8(),
    name: col.text(),
    symbol: col.text(),
    supply: col.wei(),
    /** `CreatorMarket.reserveOf(creator)`. */
    reserve: col.wei(),
    /** `CreatorMarket.spotPrice(creator)`. */
    price: col.wei(),
    /** FLK the curve took on buys and paid on sells (fees excluded), and their sum. */
    buy_volume: col.wei(),
    sell_volume: col.wei(),
    volume: col.wei(),
    buys: col.int8(),
    sells: col.int8(),
    /** Accounts with a positive balance. */
    holders: col.int8(),
    creator_fees_accrued: col.wei(),
    creator_fees_claimed: col.wei(),
    burn_fees: col.wei(),
    treasury_fees: col.wei(),
    created_block: col.int8(),
    created_timestamp: col.int8(),
    tx_hash: col.text(),
    last_trade_block: col.int8(),
  },
  primaryKey: ["token"],
  indexes: {
    // `creatorTokens` orderings (keyset: value then token) and the creator filter.
    creator_tokens_idx: ["idx", "token"],
    creator_tokens_creator: ["creator"],
    creator_tokens_supply: ["supply", "token"],
    creator_tokens_volume: ["volume", "token"],
    creator_tokens_holders: ["holders", "token"],
  },
  rollback: "journal",
});

/** A balance of a creator token (from the token's Transfer events: mints, burns, transfers). */
export const creatorTokenHolders = defineTable({
  name: "creator_token_holders",
  columns: {
    token: col.text(),
    address: col.text(),
    balance: col.wei(),
    first_block: col.int8(),
    last_block: col.int8(),
  },
  primaryKey: ["token", "address"],
  indexes: {
    // A token's holders by balance (by address: the primary key).
    creator_token_holders_balance: ["token", "balance", "address"],
  },
  rollback: "journal",
});

/** One buy or sell on the curve. */
export const creatorTrades = defineTable({
  name: "creator_trades",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
    token: col.text(),
    creator: col.text(),
    trader: col.text(),
    /** "BUY" or "SELL". */
    side: col.text(),
    amount: col.wei(),
    /** Curve amount: cost into the reserve (buy) or value out of it (sell). */
    flk: col.wei(),
    creator_fee: col.wei(),
    burn_fee: col.wei(),
    treasury_fee: col.wei(),
    /** FLK the trader paid (buy: curve cost plus fees) or received (sell: value minus fees). */
    trader_flk: col.wei(),
    supply_after: col.wei(),
    price_after: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    // Trades of a token and of a trader, in order.
    creator_trades_token: ["token", "block_number", "log_index"],
    creator_trades_trader: ["trader", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/**
 * Market totals (a single row, id 1). The market's FLK is exactly `total_reserve` plus the unclaimed
 * creator fees plus `treasury_fees_accrued − treasury_fees_withdrawn`, plus whatever was sent to it
 * outside a trade (the API reports that difference from the market's FLK balance).
 */
export const creatorMarket = defineTable({
  name: "creator_market",
  columns: {
    id: col.int4(),
    /** The market's own address (its FLK balance is in `accounts`). */
    address: col.text(),
    /** `CreatorMarket.tokenImplementation()`: with the market's address it gives every token address. */
    implementation: col.text(),
    token_count: col.int8(),
    total_reserve: col.wei(),
    creator_fees_accrued: col.wei(),
    creator_fees_claimed: col.wei(),
    treasury_fees_accrued: col.wei(),
    treasury_fees_withdrawn: col.wei(),
    burn_fees: col.wei(),
    buy_volume: col.wei(),
    sell_volume: col.wei(),
    trades: col.int8(),
    creator_fee_bps: col.int4(),
    burn_fee_bps: col.int4(),
    treasury_fee_bps: col.int4(),
    treasury: col.text(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** The market row; created at the market's first event (its constructor's `TreasurySet`). */
async function market(ctx: HandlerContext) {
  const m = await ctx.store.get(creatorMarket, { id: 1 });
  if (m) return m;
  const [implementation] = await ctx.readContract("CreatorMarket", "tokenImplementation");
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
  const [[name], [symbol]] = await Promise.all([
    ctx.readContract("CreatorToken", "name", [], a.token),
    ctx.readContract("CreatorToken", "symbol", [], a.token),
  ]);
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
  await ctx.store.set(creatorMarket, {
    ...m,
    creator_fee_bps: Number(a.creatorFeeBps),
    burn_fee_bps: Number(a.burnFeeBps),
    treasury_fee_bps: Number(a.treasuryFeeBps),
  });
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
    CreatorMarket: ["CreatorTokenCreated", "Buy", "Sell", "CreatorFeesClaimed", "TreasuryFeesWithdrawn", "FeesSet", "TreasurySet"],
  },
  children: {
    CreatorToken: {
      createdBy: "CreatorMarket:CreatorTokenCreated",
      address: "token",
      events: ["Transfer"],
    },
  },
  tables: [creatorTokens, creatorTokenHolders, creatorTrades, creatorMarket],
  handlers: {
    "CreatorMarket:CreatorTokenCreated": onCreated,
    "CreatorMarket:Buy": (a, ctx) => onTrade("BUY", a, a.cost, ctx),
    "CreatorMarket:Sell": (a, ctx) => onTrade("SELL", a, a.value, ctx),
    "CreatorMarket:CreatorFeesClaimed": onCreatorFeesClaimed,
    "CreatorMarket:TreasuryFeesWithdrawn": onTreasuryFeesWithdrawn,
    "CreatorMarket:FeesSet": onFeesSet,
    "CreatorMarket:TreasurySet": onTreasurySet,
    "CreatorToken:Transfer": onTokenTransfer,
  },
  migrations: {
    "161-creator": {
      async up(db: RawDb) {
        await createTables(db, [creatorTokens, creatorTokenHolders, creatorTrades, creatorMarket]);
      },
    },
  },
};
