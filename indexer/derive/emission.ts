import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import { recordSupply } from "./supply";

/** Every emission mint with its two halves. */
export const emissionMints = defineTable<{
  block_number: number;
  log_index: number;
  timestamp: number;
  tx_hash: string;
  staking_recipient: string;
  staking_amount: bigint;
  node_recipient: string;
  node_amount: bigint;
  total_minted: bigint;
}>({
  name: "emission_mints",
  columns: {
    block_number: "int8",
    log_index: "int4",
    timestamp: "int8",
    tx_hash: "text",
    staking_recipient: "text",
    staking_amount: "numeric",
    node_recipient: "text",
    node_amount: "numeric",
    total_minted: "numeric",
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** Emission's start (the TGE) and what it has minted (a single row, id 1). */
export const emissionState = defineTable<{ id: number; start: number; minted: bigint; mints: number }>({
  name: "emission_state",
  columns: { id: "int4", start: "int8", minted: "numeric", mints: "int8" },
  primaryKey: ["id"],
  rollback: "journal",
});

async function onEmissionMinted(
  args: { stakingRecipient: string; stakingAmount: bigint; nodeRecipient: string; nodeAmount: bigint; totalMinted: bigint },
  ctx: HandlerContext,
) {
  let state = await ctx.store.get(emissionState, { id: 1 });
  if (!state) {
    const [start] = await ctx.readContract("Emission", "start() view returns (uint256)");
    state = { id: 1, start: Number(start), minted: 0n, mints: 0 };
  }
  await ctx.store.set(emissionState, { ...state, minted: args.totalMinted, mints: state.mints + 1 });
  await recordSupply(ctx, "emitted", args.totalMinted);
  await ctx.store.set(emissionMints, {
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
    staking_recipient: args.stakingRecipient,
    staking_amount: args.stakingAmount,
    node_recipient: args.nodeRecipient,
    node_amount: args.nodeAmount,
    total_minted: args.totalMinted,
  });
}

/** Emission mints and the emitted supply component. */
export const emissionModule: IndexerModule = {
  name: "emission",
  events: {
    Emission: [
      "EmissionMinted(address indexed stakingRecipient, uint256 stakingAmount, address indexed nodeRecipient, uint256 nodeAmount, uint256 totalMinted)",
    ],
  },
  tables: [emissionMints, emissionState],
  handlers: { "Emission:EmissionMinted": (a, ctx) => onEmissionMinted(a as never, ctx) },
  migrations: {
    "120-emission": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("emission_mints")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addColumn("staking_recipient", "text", (c) => c.notNull())
          .addColumn("staking_amount", WEI, (c) => c.notNull())
          .addColumn("node_recipient", "text", (c) => c.notNull())
          .addColumn("node_amount", WEI, (c) => c.notNull())
          .addColumn("total_minted", WEI, (c) => c.notNull())
          .addPrimaryKeyConstraint("emission_mints_pk", ["block_number", "log_index"])
          .execute();
        await db.schema
          .createTable("emission_state")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("start", "int8", (c) => c.notNull())
          .addColumn("minted", WEI, (c) => c.notNull())
          .addColumn("mints", "int8", (c) => c.notNull())
          .execute();
      },
    },
  },
};
