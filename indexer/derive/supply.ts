import { col, defineTable } from "../store/tables";
import type { HandlerContext } from "../module";

/**
 * Supply components over time: one row per component and block where it changed. Each area
 * writes its own components (`total`, `minted`, `burned` from the token; `emitted` from emission;
 * later `staked`, `curveReserves`), and `tokenSupply(at)` reads the latest row of each at or
 * before a time. Locked-in-vesting is not stored: it moves every second, so the API computes it
 * exactly from the schedules.
 */
export const supplyComponents = defineTable({
  name: "supply_components",
  columns: {
    component: col.text(),
    block_number: col.int8(),
    timestamp: col.int8(),
    amount: col.wei(),
  },
  primaryKey: ["component", "block_number"],
  indexes: {
    // tokenSupply(at): latest row per component at or before a time.
    supply_components_time: ["component", "timestamp"],
  },
  rollback: "byBlock",
});

/** Records the value of a supply component as of the handler's block. */
export async function recordSupply(ctx: HandlerContext, component: string, amount: bigint): Promise<void> {
  await ctx.store.set(supplyComponents, { component, block_number: ctx.block.number, timestamp: ctx.block.timestamp, amount });
}
