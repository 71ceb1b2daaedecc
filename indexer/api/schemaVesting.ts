import { loadScheduleShapes, unlockCalendar, vestedAt } from "./supply";
import { paginate, type PageArgs } from "./pagination";
import { badInput } from "./errors";
import { parseAddress, type ApiContext, type SchemaPart } from "./schemaCore";

/** Longest unlock calendar one query may ask for, in months. */
export const MAX_CALENDAR_MONTHS = 120;

function calendarArgs(args: { from?: number | null; months?: number | null }, now: number) {
  const months = args.months ?? 12;
  if (!Number.isInteger(months) || months < 1 || months > MAX_CALENDAR_MONTHS) throw badInput(`months must be between 1 and ${MAX_CALENDAR_MONTHS}`);
  return { from: args.from ?? now, months };
}

type ScheduleRow = {
  id: number;
  allocationId: number;
  beneficiary: string;
  amount: string;
  released: string;
  start: number;
  tgeBps: number;
  cliff: number;
  duration: number;
};

function shape(s: ScheduleRow) {
  return { ...s, amount: BigInt(s.amount) };
}

async function at(args: { at?: number | null }, ctx: ApiContext) {
  return args.at ?? (await ctx.now());
}

/** Genesis allocations, schedules per beneficiary and the unlock calendar. */
export const vestingSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    type VestingAllocation {
      id: Int!
      name: String!
      total: BigInt!
      "Share unlocked at the TGE, in basis points."
      tgeBps: Int!
      "Seconds after the TGE before more unlocks."
      cliff: Int!
      "Seconds after the TGE when everything is unlocked."
      duration: Int!
      "The TGE (unix seconds)."
      start: Int!
    }

    type VestingSchedule {
      id: Int!
      allocationId: Int!
      allocationName: String!
      beneficiary: String!
      amount: BigInt!
      released: BigInt!
      "Vested at \`at\` (default: the latest indexed block), released or not."
      vested(at: Int): BigInt!
      "Vested and not yet released at \`at\`."
      releasable(at: Int): BigInt!
      "Not yet vested at \`at\`."
      locked(at: Int): BigInt!
      "Tokens unlocking per month from \`from\` (default: now)."
      unlockCalendar(from: Int, months: Int): [UnlockPeriod!]!
    }

    "Tokens that vest within [start, end)."
    type UnlockPeriod {
      start: Int!
      end: Int!
      amount: BigInt!
    }

    type VestingScheduleConnection {
      nodes: [VestingSchedule!]!
      pageInfo: PageInfo!
    }

    input VestingScheduleWhere {
      beneficiary: String
      allocationId: Int
    }

    extend type Query {
      vestingAllocations: [VestingAllocation!]!
      vestingSchedules(first: Int, after: String, where: VestingScheduleWhere, orderDirection: OrderDirection): VestingScheduleConnection!
      "Future unlocks per month, over every schedule or those matching \`beneficiary\` / \`allocationId\`."
      vestingUnlockCalendar(from: Int, months: Int, beneficiary: String, allocationId: Int): [UnlockPeriod!]!
    }
  `,
  resolvers: {
    Query: {
      vestingAllocations: (_: unknown, __: unknown, ctx: ApiContext) => ctx.db.selectFrom("vesting_allocations").selectAll().orderBy("id").execute(),
      vestingSchedules: (_: unknown, args: PageArgs & { where?: { beneficiary?: string; allocationId?: number } }, ctx: ApiContext) => {
        let q = ctx.db
          .selectFrom("vesting_schedules as s")
          .innerJoin("vesting_allocations as a", "a.id", "s.allocationId")
          .select([
            "s.id",
            "s.allocationId",
            "s.beneficiary",
            "s.amount",
            "s.released",
            "a.name as allocationName",
            "a.start",
            "a.tgeBps",
            "a.cliff",
            "a.duration",
          ]);
        if (args.where?.beneficiary) q = q.where("s.beneficiary", "=", parseAddress(args.where.beneficiary, "where.beneficiary"));
        if (args.where?.allocationId != null) q = q.where("s.allocationId", "=", args.where.allocationId);
        return paginate(q, { name: "id", columns: ["s.id"] }, args);
      },
      vestingUnlockCalendar: async (_: unknown, args: { from?: number; months?: number; beneficiary?: string; allocationId?: number }, ctx: ApiContext) => {
        const { from, months } = calendarArgs(args, await ctx.now());
        const beneficiary = args.beneficiary ? parseAddress(args.beneficiary, "beneficiary") : undefined;
        return unlockCalendar(await loadScheduleShapes(ctx.db, { beneficiary, allocationId: args.allocationId ?? undefined }), from, months);
      },
    },
    VestingSchedule: {
      vested: async (s: ScheduleRow, args: { at?: number }, ctx: ApiContext) => vestedAt(shape(s), await at(args, ctx)),
      releasable: async (s: ScheduleRow, args: { at?: number }, ctx: ApiContext) => {
        const vested = vestedAt(shape(s), await at(args, ctx));
        const released = BigInt(s.released);
        return vested > released ? vested - released : 0n;
      },
      locked: async (s: ScheduleRow, args: { at?: number }, ctx: ApiContext) => BigInt(s.amount) - vestedAt(shape(s), await at(args, ctx)),
      unlockCalendar: async (s: ScheduleRow, args: { from?: number; months?: number }, ctx: ApiContext) => {
        const { from, months } = calendarArgs(args, await ctx.now());
        return unlockCalendar([shape(s)], from, months);
      },
    },
  },
};
