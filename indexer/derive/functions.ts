import type { HandlerContext, IndexerModule } from "../module";
import type { EventArgsOf } from "../abi";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/**
 * Edge functions (docs/functions.md, "Registry" and "Views"): FunctionRegistry's functions with
 * their latest version, every published version, and ServiceEscrow's compute prices. All of it
 * follows from events: `FunctionRegistered` then `VersionPublished` (version 1) in the same
 * transaction, `VersionPublished` for each new root, `FunctionOwnerChanged`, `OwnerPaysSet`, `ComputePricesSet`
 * (also emitted by the escrow's constructor, so the defaults are indexed too). Invocations and
 * revenue per function come from the epoch reports' charges (./serviceCharges.ts).
 */

/** A function and its latest version (`FunctionRegistry.functions(id)` and `resolve(name)`). */
export const functions = defineTable({
  name: "functions",
  columns: {
    id: col.int8(),
    name: col.text(),
    owner: col.text(),
    /** Latest version number (`versionCount`); 0 only between the two events of `register`. */
    version: col.int4(),
    /** Latest version's content root, 0x + 64 hex. */
    root: col.text(),
    memory_mib: col.int4(),
    cpu_ms: col.int4(),
    wall_ms: col.int4(),
    bundle_bytes: col.int4(),
    /** USDC units per epoch its owner's escrow pays for its callers (`OwnerPaysSet`; 0: callers pay). */
    owner_pays_cap: col.wei(),
    registered_block: col.int8(),
    registered_at: col.int8(),
    /** When the latest version was published (unix seconds). */
    updated_at: col.int8(),
    last_block: col.int8(),
  },
  primaryKey: ["id"],
  indexes: {
    functions_name: ["name"],
    // `functions(where: {owner})` in id order.
    functions_owner: ["owner", "id"],
  },
  rollback: "journal",
});

/** One published version (event `VersionPublished`): versions never change, so a row per event. */
export const functionVersions = defineTable({
  name: "function_versions",
  columns: {
    function_id: col.int8(),
    version: col.int4(),
    root: col.text(),
    memory_mib: col.int4(),
    cpu_ms: col.int4(),
    wall_ms: col.int4(),
    bundle_bytes: col.int4(),
    published_at: col.int8(),
    block_number: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["function_id", "version"],
  indexes: {
    // `functionVersionByRoot`: which function and version a content root is.
    function_versions_root: ["root", "function_id"],
  },
  rollback: "byBlock",
});

/** Each `ComputePricesSet`: the price history; the latest row is the price in force for the next epoch. */
export const computePrices = defineTable({
  name: "compute_prices",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    per_million_requests: col.wei(),
    per_million_cpu_ms: col.wei(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

async function onRegistered(a: EventArgsOf<"FunctionRegistry:FunctionRegistered">, ctx: HandlerContext) {
  await ctx.store.set(functions, {
    id: Number(a.id),
    name: a.name,
    owner: a.owner,
    version: 0,
    root: "",
    memory_mib: 0,
    cpu_ms: 0,
    wall_ms: 0,
    bundle_bytes: 0,
    owner_pays_cap: 0n,
    registered_block: ctx.block.number,
    registered_at: ctx.block.timestamp,
    updated_at: ctx.block.timestamp,
    last_block: ctx.block.number,
  });
}

/** Versions only grow (the registry numbers them), so the event's version is the latest. */
async function onVersionPublished(a: EventArgsOf<"FunctionRegistry:VersionPublished">, ctx: HandlerContext) {
  const id = Number(a.id);
  const limits = {
    memory_mib: Number(a.limits.memoryMiB),
    cpu_ms: Number(a.limits.cpuMs),
    wall_ms: Number(a.limits.wallMs),
    bundle_bytes: Number(a.limits.bundleBytes),
  };
  const row = await ctx.store.get(functions, { id });
  if (!row) throw new Error(`VersionPublished for function ${id}, which was never registered`);
  await ctx.store.set(functions, {
    ...row,
    version: Number(a.version),
    root: a.root,
    ...limits,
    updated_at: ctx.block.timestamp,
    last_block: ctx.block.number,
  });
  await ctx.store.set(functionVersions, {
    function_id: id,
    version: Number(a.version),
    root: a.root,
    ...limits,
    published_at: ctx.block.timestamp,
    block_number: ctx.block.number,
    tx_hash: ctx.log.transactionHash,
  });
}

async function onOwnerChanged(a: EventArgsOf<"FunctionRegistry:FunctionOwnerChanged">, ctx: HandlerContext) {
  const id = Number(a.id);
  const row = await ctx.store.get(functions, { id });
  if (!row) throw new Error(`FunctionOwnerChanged for function ${id}, which was never registered`);
  await ctx.store.set(functions, { ...row, owner: a.newOwner, last_block: ctx.block.number });
}

/** A transfer emits it with 0 when a cap was set: the new owner pays nothing it did not agree to. */
async function onOwnerPaysSet(a: EventArgsOf<"FunctionRegistry:OwnerPaysSet">, ctx: HandlerContext) {
  const id = Number(a.id);
  const row = await ctx.store.get(functions, { id });
  if (!row) throw new Error(`OwnerPaysSet for function ${id}, which was never registered`);
  await ctx.store.set(functions, { ...row, owner_pays_cap: a.capPerEpoch, last_block: ctx.block.number });
}

/** Functions, versions and compute prices. */
export const functionsModule: IndexerModule = {
  name: "functions",
  events: {
    FunctionRegistry: ["FunctionRegistered", "VersionPublished", "FunctionOwnerChanged", "OwnerPaysSet"],
    ServiceEscrow: ["ComputePricesSet"],
  },
  tables: [functions, functionVersions, computePrices],
  handlers: {
    "FunctionRegistry:FunctionRegistered": onRegistered,
    "FunctionRegistry:VersionPublished": onVersionPublished,
    "FunctionRegistry:FunctionOwnerChanged": onOwnerChanged,
    "FunctionRegistry:OwnerPaysSet": onOwnerPaysSet,
    "ServiceEscrow:ComputePricesSet": (a, ctx) =>
      ctx.store.set(computePrices, {
        block_number: ctx.block.number,
        log_index: ctx.log.logIndex,
        per_million_requests: a.pricePerMillionRequests,
        per_million_cpu_ms: a.pricePerMillionCpuMs,
        timestamp: ctx.block.timestamp,
        tx_hash: ctx.log.transactionHash,
      }),
  },
  prefetch: {
    "FunctionRegistry:VersionPublished": (a) => [{ table: functions, key: { id: Number(a.id) } }],
    "FunctionRegistry:FunctionOwnerChanged": (a) => [{ table: functions, key: { id: Number(a.id) } }],
    "FunctionRegistry:OwnerPaysSet": (a) => [{ table: functions, key: { id: Number(a.id) } }],
  },
  migrations: {
    "156-functions": {
      async up(db: RawDb) {
        await createTables(db, [functions, functionVersions, computePrices]);
      },
    },
  },
};
