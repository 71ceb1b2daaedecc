import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/** A genesis allocation with its vesting shape (times in seconds; `start` is the TGE). */
export const vestingAllocations = defineTable({
  name: "vesting_allocations",
  columns: {
    id: col.int4(),
    name: col.text(),
    total: col.wei(),
    tge_bps: col.int4(),
    cliff: col.int8(),
    duration: col.int8(),
    start: col.int8(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** One beneficiary's schedule and what it has released so far. */
export const vestingSchedules = defineTable({
  name: "vesting_schedules",
  columns: {
    id: col.int8(),
    allocation_id: col.int4(),
    beneficiary: col.text(),
    amount: col.wei(),
    released: col.wei(),
    created_block: col.int8(),
  },
  primaryKey: ["id"],
  indexes: {
    vesting_schedules_beneficiary: ["beneficiary", "id"],
    vesting_schedules_allocation: ["allocation_id", "id"],
  },
  rollback: "journal",
});

/** Every release of vested tokens. */
export const vestingReleases = defineTable({
  name: "vesting_releases",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
    schedule_id: col.int8(),
    beneficiary: col.text(),
    amount: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    vesting_releases_schedule: ["schedule_id", "block_number"],
  },
  rollback: "byBlock",
});

async function onAllocationCreated(
  args: { allocationId: bigint; name: string; total: bigint; tgeBps: bigint; cliff: bigint; duration: bigint },
  ctx: HandlerContext,
) {
  // The TGE is an immutable of the contract, not in any event: read it at this block.
  const [start] = await ctx.readContract("Vesting", "start");
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
    Vesting: ["AllocationCreated", "ScheduleCreated", "Released"],
  },
  tables: [vestingAllocations, vestingSchedules, vestingReleases],
  handlers: {
    "Vesting:AllocationCreated": onAllocationCreated,
    "Vesting:ScheduleCreated": onScheduleCreated,
    "Vesting:Released": onReleased,
  },
  migrations: {
    "110-vesting": {
      async up(db: RawDb) {
        await createTables(db, [vestingAllocations, vestingSchedules, vestingReleases]);
      },
    },
  },
};
