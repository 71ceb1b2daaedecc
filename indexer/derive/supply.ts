import { defineTable } from "../store/tables";
import type { HandlerContext } from "../module";

/**
 * Supply components over time: one row per component and block where it changed. Each area
 * writes its own components (`total`, `minted`, `burned` from the token; `emitted` from emission;
 * later `staked`, `curveReserves`), and `tokenSupply(at)` reads the latest row of each at or
 * before a time. Locked-in-vesting is not stored: it moves every second, so the API computes it
 * exactly from the schedules.
 */
export const supplyComponents = defineTable<{ component: string; block_number: number; timestamp: number; amount: bigint }>({
  name: "supply_components",
  columns: { component: "text", block_number: "int8", timestamp: "int8", amount: "numeric" },
  primaryKey: ["component", "block_number"],
  rollback: "byBlock",
});

/** Records the value of a supply component as of the handler's block. */
export async function recordSupply(ctx: HandlerContext, component: string, amount: bigint): Promise<void> {
  await ctx.store.set(supplyComponents, { component, block_number: ctx.block.number, timestamp: ctx.block.timestamp, amount });
}
