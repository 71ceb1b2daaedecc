import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import { recordSupply } from "./supply";
import type { RawDb } from "../store/database";

/** Every emission mint with its two halves. */
export const emissionMints = defineTable({
  name: "emission_mints",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
    staking_recipient: col.text(),
    staking_amount: col.wei(),
    node_recipient: col.text(),
    node_amount: col.wei(),
    total_minted: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** Emission's start (the TGE) and what it has minted (a single row, id 1). */
export const emissionState = defineTable({
  name: "emission_state",
  columns: {
    id: col.int4(),
    start: col.int8(),
    minted: col.wei(),
    mints: col.int8(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

async function onEmissionMinted(
  args: { stakingRecipient: string; stakingAmount: bigint; nodeRecipient: string; nodeAmount: bigint; totalMinted: bigint },
  ctx: HandlerContext,
) {
  let state = await ctx.store.get(emissionState, { id: 1 });
  if (!state) {
    const [start] = await ctx.readContract("Emission", "start");
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
    Emission: ["EmissionMinted"],
  },
  tables: [emissionMints, emissionState],
  handlers: { "Emission:EmissionMinted": onEmissionMinted },
  migrations: {
    "120-emission": {
      async up(db: RawDb) {
        await createTables(db, [emissionMints, emissionState]);
      },
    },
  },
};
