import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";

/** A genesis allocation with its vesting shape (times in seconds; `start` is the TGE). */
export const vestingAllocations = defineTable<{
  id: number;
  name: string;
  total: bigint;
  tge_bps: number;
  cliff: number;
  duration: number;
  start: number;
}>({
  name: "vesting_allocations",
  columns: { id: "int4", name: "text", total: "numeric", tge_bps: "int4", cliff: "int8", duration: "int8", start: "int8" },
  primaryKey: ["id"],
  rollback: "journal",
});

/** One beneficiary's schedule and what it has released so far. */
export const vestingSchedules = defineTable<{ id: number; allocation_id: number; beneficiary: string; amount: bigint; released: bigint; created_block: number }>({
  name: "vesting_schedules",
  columns: { id: "int8", allocation_id: "int4", beneficiary: "text", amount: "numeric", released: "numeric", created_block: "int8" },
  primaryKey: ["id"],
  rollback: "journal",
});

/** Every release of vested tokens. */
export const vestingReleases = defineTable<{
  block_number: number;
  log_index: number;
  timestamp: number;
  tx_hash: string;
  schedule_id: number;
  beneficiary: string;
  amount: bigint;
}>({
  name: "vesting_releases",
  columns: { block_number: "int8", log_index: "int4", timestamp: "int8", tx_hash: "text", schedule_id: "int8", beneficiary: "text", amount: "numeric" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

async function onAllocationCreated(args: { allocationId: bigint; name: string; total: bigint; tgeBps: bigint; cliff: bigint; duration: bigint }, ctx: HandlerContext) {
  // The TGE is an immutable of the contract, not in any event: read it at this block.
  const [start] = await ctx.readContract("Vesting", "start() view returns (uint64)");
  await ctx.store.set(vestingAllocations, {
    id: Number(args.allocationId),
    name: args.name,
    total: args.total,
    tge_bps: Number(args.tgeBps),
    cliff: Number(args.cliff),
    duration: Number(args.duration),
    start: Number(start),
  });
}

async function onScheduleCreated(args: { scheduleId: bigint; allocationId: bigint; beneficiary: string; amount: bigint }, ctx: HandlerContext) {
  await ctx.store.set(vestingSchedules, {
    id: Number(args.scheduleId),
    allocation_id: Number(args.allocationId),
    beneficiary: args.beneficiary,
    amount: args.amount,
    released: 0n,
    created_block: ctx.block.number,
  });
}

async function onReleased(args: { scheduleId: bigint; beneficiary: string; amount: bigint }, ctx: HandlerContext) {
  const id = Number(args.scheduleId);
  const schedule = await ctx.store.get(vestingSchedules, { id });
  if (!schedule) throw new Error(`Released for unknown schedule ${id} at block ${ctx.block.number}`);
  await ctx.store.set(vestingSchedules, { ...schedule, released: schedule.released + args.amount });
  await ctx.store.set(vestingReleases, {
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
    schedule_id: id,
    beneficiary: args.beneficiary,
    amount: args.amount,
  });
}

/** Genesis allocations, beneficiaries' schedules and releases (the unlock calendar is computed by the API). */
export const vestingModule: IndexerModule = {
  name: "vesting",
  events: {
    Vesting: [
      "AllocationCreated(uint256 indexed allocationId, string name, uint256 total, uint16 tgeBps, uint32 cliff, uint32 duration)",
      "ScheduleCreated(uint256 indexed scheduleId, uint256 indexed allocationId, address indexed beneficiary, uint256 amount)",
      "Released(uint256 indexed scheduleId, address indexed beneficiary, uint256 amount)",
    ],
  },
  tables: [vestingAllocations, vestingSchedules, vestingReleases],
  handlers: {
    "Vesting:AllocationCreated": (a, ctx) => onAllocationCreated(a as never, ctx),
    "Vesting:ScheduleCreated": (a, ctx) => onScheduleCreated(a as never, ctx),
    "Vesting:Released": (a, ctx) => onReleased(a as never, ctx),
  },
  migrations: {
    "110-vesting": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("vesting_allocations")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("total", WEI, (c) => c.notNull())
          .addColumn("tge_bps", "int4", (c) => c.notNull())
          .addColumn("cliff", "int8", (c) => c.notNull())
          .addColumn("duration", "int8", (c) => c.notNull())
          .addColumn("start", "int8", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("vesting_schedules")
          .addColumn("id", "int8", (c) => c.primaryKey())
          .addColumn("allocation_id", "int4", (c) => c.notNull())
          .addColumn("beneficiary", "text", (c) => c.notNull())
          .addColumn("amount", WEI, (c) => c.notNull())
          .addColumn("released", WEI, (c) => c.notNull())
          .addColumn("created_block", "int8", (c) => c.notNull())
          .execute();
        await db.schema.createIndex("vesting_schedules_beneficiary").on("vesting_schedules").columns(["beneficiary", "id"]).execute();
        await db.schema.createIndex("vesting_schedules_allocation").on("vesting_schedules").columns(["allocation_id", "id"]).execute();
        await db.schema
          .createTable("vesting_releases")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addColumn("schedule_id", "int8", (c) => c.notNull())
          .addColumn("beneficiary", "text", (c) => c.notNull())
          .addColumn("amount", WEI, (c) => c.notNull())
          .addPrimaryKeyConstraint("vesting_releases_pk", ["block_number", "log_index"])
          .execute();
        await db.schema.createIndex("vesting_releases_schedule").on("vesting_releases").columns(["schedule_id", "block_number"]).execute();
      },
    },
  },
};
