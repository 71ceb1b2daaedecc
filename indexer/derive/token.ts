import { ZeroAddress } from "ethers";
import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import { recordSupply, supplyComponents } from "./supply";

/** An FLK holder (or former holder). */
export const accounts = defineTable<{ address: string; balance: bigint; transfer_count: number; first_block: number; last_block: number }>({
  name: "accounts",
  columns: { address: "text", balance: "numeric", transfer_count: "int8", first_block: "int8", last_block: "int8" },
  primaryKey: ["address"],
  rollback: "journal",
});

/** Every FLK transfer; mints come from the zero address and burns go to it. */
export const transfers = defineTable<{
  block_number: number;
  log_index: number;
  timestamp: number;
  tx_hash: string;
  from: string;
  to: string;
  value: bigint;
}>({
  name: "transfers",
  columns: { block_number: "int8", log_index: "int4", timestamp: "int8", tx_hash: "text", from: "text", to: "text", value: "numeric" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** Running token totals (a single row, id 1). */
export const tokenTotals = defineTable<{ id: number; total_supply: bigint; total_minted: bigint; burned: bigint; holders: number; transfers: number }>({
  name: "token_totals",
  columns: { id: "int4", total_supply: "numeric", total_minted: "numeric", burned: "numeric", holders: "int8", transfers: "int8" },
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
  events: { FLK: ["Transfer(address indexed from, address indexed to, uint256 value)"] },
  tables: [accounts, transfers, tokenTotals, supplyComponents],
  handlers: { "FLK:Transfer": (args, ctx) => onTransfer(args as unknown as { from: string; to: string; value: bigint }, ctx) },
  prefetch: {
    "FLK:Transfer": (args) => [
      { table: accounts, key: { address: args.from } },
      { table: accounts, key: { address: args.to } },
    ],
  },
  migrations: {
    "100-token": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("accounts")
          .addColumn("address", "text", (c) => c.primaryKey())
          .addColumn("balance", WEI, (c) => c.notNull())
          .addColumn("transfer_count", "int8", (c) => c.notNull())
          .addColumn("first_block", "int8", (c) => c.notNull())
          .addColumn("last_block", "int8", (c) => c.notNull())
          .execute();
        // Holders ordered by balance (keyset: balance then address).
        await db.schema.createIndex("accounts_balance").on("accounts").columns(["balance", "address"]).execute();
        await db.schema
          .createTable("transfers")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addColumn("from", "text", (c) => c.notNull())
          .addColumn("to", "text", (c) => c.notNull())
          .addColumn("value", WEI, (c) => c.notNull())
          .addPrimaryKeyConstraint("transfers_pk", ["block_number", "log_index"])
          .execute();
        // Transfers of an account, newest first; burns are transfers to the zero address.
        await db.schema.createIndex("transfers_from").on("transfers").columns(["from", "block_number", "log_index"]).execute();
        await db.schema.createIndex("transfers_to").on("transfers").columns(["to", "block_number", "log_index"]).execute();
        await db.schema
          .createTable("token_totals")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("total_supply", WEI, (c) => c.notNull())
          .addColumn("total_minted", WEI, (c) => c.notNull())
          .addColumn("burned", WEI, (c) => c.notNull())
          .addColumn("holders", "int8", (c) => c.notNull())
          .addColumn("transfers", "int8", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("supply_components")
          .addColumn("component", "text", (c) => c.notNull())
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("amount", WEI, (c) => c.notNull())
          .addPrimaryKeyConstraint("supply_components_pk", ["component", "block_number"])
          .execute();
        // tokenSupply(at): latest row per component at or before a time.
        await db.schema.createIndex("supply_components_time").on("supply_components").columns(["component", "timestamp"]).execute();
      },
    },
  },
};
