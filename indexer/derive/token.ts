import { ZeroAddress } from "ethers";
import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import { recordSupply, supplyComponents } from "./supply";
import type { RawDb } from "../store/database";

/** An FLK holder (or former holder). */
export const accounts = defineTable({
  name: "accounts",
  columns: {
    address: col.text(),
    balance: col.wei(),
    transfer_count: col.int8(),
    first_block: col.int8(),
    last_block: col.int8(),
  },
  primaryKey: ["address"],
  indexes: {
    // Holders ordered by balance (keyset: balance then address).
    accounts_balance: ["balance", "address"],
  },
  rollback: "journal",
});

/** Every FLK transfer; mints come from the zero address and burns go to it. */
export const transfers = defineTable({
  name: "transfers",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
    from: col.text(),
    to: col.text(),
    value: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    // Transfers of an account, newest first; burns are transfers to the zero address.
    transfers_from: ["from", "block_number", "log_index"],
    transfers_to: ["to", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/** Running token totals (a single row, id 1). */
export const tokenTotals = defineTable({
  name: "token_totals",
  columns: {
    id: col.int4(),
    total_supply: col.wei(),
    total_minted: col.wei(),
    burned: col.wei(),
    holders: col.int8(),
    transfers: col.int8(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

async function credit(ctx: HandlerContext, address: string, delta: bigint): Promise<number> {
  const a = (await ctx.store.get(accounts, { address })) ?? { address, balance: 0n, transfer_count: 0, first_block: ctx.block.number, last_block: 0 };
  const balance = a.balance + delta;
  if (balance < 0n) throw new Error(`balance of ${address} below zero at block ${ctx.block.number}: events missing or out of order`);
  await ctx.store.set(accounts, { ...a, balance, transfer_count: a.transfer_count + 1, last_block: ctx.block.number });
  // Change in holder count: +1 when a balance becomes positive, -1 when it drops to zero.
  return Number(balance > 0n) - Number(a.balance > 0n);
}

async function onTransfer(args: { from: string; to: string; value: bigint }, ctx: HandlerContext): Promise<void> {
  const { from, to, value } = args;
  const totals = (await ctx.store.get(tokenTotals, { id: 1 })) ?? { id: 1, total_supply: 0n, total_minted: 0n, burned: 0n, holders: 0, transfers: 0 };
  let holders = totals.holders;
  if (from !== ZeroAddress) holders += await credit(ctx, from, -value);
  if (to !== ZeroAddress) holders += await credit(ctx, to, value);
  const next = { ...totals, holders, transfers: totals.transfers + 1 };
  if (from === ZeroAddress) {
    next.total_supply += value;
    next.total_minted += value;
    await recordSupply(ctx, "minted", next.total_minted);
  }
  if (to === ZeroAddress) {
    next.total_supply -= value;
    next.burned += value;
    await recordSupply(ctx, "burned", next.burned);
  }
  if (next.total_supply !== totals.total_supply) await recordSupply(ctx, "total", next.total_supply);
  await ctx.store.set(tokenTotals, next);
  await ctx.store.set(transfers, {
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
    from,
    to,
    value,
  });
}

/** FLK balances, holders, transfers, burns and the token's supply components. */
export const tokenModule: IndexerModule = {
  name: "token",
  events: { FLK: ["Transfer"] },
  tables: [accounts, transfers, tokenTotals, supplyComponents],
  handlers: { "FLK:Transfer": onTransfer },
  prefetch: {
    "FLK:Transfer": (args) => [
      { table: accounts, key: { address: args.from } },
      { table: accounts, key: { address: args.to } },
    ],
  },
  migrations: {
    "100-token": {
      async up(db: RawDb) {
        await createTables(db, [accounts, transfers, tokenTotals, supplyComponents]);
      },
    },
  },
};
