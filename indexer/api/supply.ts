import { sql } from "kysely";
import { apiDatabase, type Handle } from "./apiDatabase";
import { vestedAmount } from "../../protocol/genesis";
import { MONTH } from "../../protocol/units";

/** The FLK supply breakdown at one instant (wei). */
export interface SupplyBreakdown {
  timestamp: number;
  /** Supply in existence: minted minus burned. */
  total: bigint;
  /** Everything ever minted (genesis plus emission). */
  minted: bigint;
  burned: bigint;
  /** Minted by the emission schedule. */
  emitted: bigint;
  /** Allocated in vesting and not yet vested (`Vesting.lockedAt`). */
  lockedInVesting: bigint;
  /** Total minus locked in vesting. Staked and curve reserves are part of it. */
  circulating: bigint;
  /** Filled by the staking module when it lands. */
  staked: bigint;
  /** FLK the creator market's curves hold: the sum of `reserveOf` over every creator token. */
  curveReserves: bigint;
}

interface ScheduleShape {
  id: number;
  allocationId: number;
  beneficiary: string;
  amount: bigint;
  start: number;
  tgeBps: number;
  cliff: number;
  duration: number;
}

/** Schedules with their allocation's shape, optionally narrowed. */
export async function loadScheduleShapes(handle: Handle, filter: { beneficiary?: string; allocationId?: number } = {}): Promise<ScheduleShape[]> {
  let q = apiDatabase(handle)
    .selectFrom("vesting_schedules as s")
    .innerJoin("vesting_allocations as a", "a.id", "s.allocationId")
    .select(["s.id", "s.allocationId", "s.beneficiary", "s.amount", "a.start", "a.tgeBps", "a.cliff", "a.duration"])
    .orderBy("s.id");
  if (filter.beneficiary) q = q.where("s.beneficiary", "=", filter.beneficiary);
  if (filter.allocationId !== undefined) q = q.where("s.allocationId", "=", filter.allocationId);
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, amount: BigInt(r.amount) }));
}

/** Tokens of a schedule vested at `timestamp`, by the same formula as `Vesting.vestedAmount`. */
export function vestedAt(s: ScheduleShape, timestamp: number): bigint {
  return vestedAmount({ tgeBps: s.tgeBps, cliff: BigInt(s.cliff), duration: BigInt(s.duration) }, s.amount, BigInt(timestamp - s.start));
}

/** Tokens still locked in vesting at `timestamp`: equals `Vesting.lockedAt(timestamp)`. */
export function lockedAt(schedules: readonly ScheduleShape[], timestamp: number): bigint {
  return schedules.reduce((sum, s) => sum + s.amount - vestedAt(s, timestamp), 0n);
}

/** The supply breakdown at `timestamp`: each component's latest value at or before it. */
export async function supplyAt(handle: Handle, timestamp: number): Promise<SupplyBreakdown> {
  const db = apiDatabase(handle);
  // Both at once: one round trip of latency instead of two.
  const [{ rows }, schedules] = await Promise.all([
    sql<{ component: string; amount: string }>`
      SELECT DISTINCT ON (component) component, amount FROM supply_components
      WHERE timestamp <= ${timestamp} ORDER BY component, timestamp DESC, block_number DESC`.execute(db),
    loadScheduleShapes(db),
  ]);
  const c = new Map(rows.map((r) => [r.component, BigInt(r.amount)]));
  const total = c.get("total") ?? 0n;
  const lockedInVesting = lockedAt(schedules, timestamp);
  return {
    timestamp,
    total,
    minted: c.get("minted") ?? 0n,
    burned: c.get("burned") ?? 0n,
    emitted: c.get("emitted") ?? 0n,
    lockedInVesting,
    circulating: total - lockedInVesting,
    staked: c.get("staked") ?? 0n,
    curveReserves: c.get("curveReserves") ?? 0n,
  };
}

/** Tokens unlocking in one period of the calendar. */
export interface UnlockPeriod {
  start: number;
  end: number;
  amount: bigint;
}

/**
 * The unlock calendar: for `periods` consecutive months (twelfths of a 365-day year, the vesting
 * contract's own unit) from `from`, the tokens that vest within each half-open period
 * [start, end): an unlock at exactly `start` (the TGE share, a cliff) counts in that period.
 */
export function unlockCalendar(schedules: readonly ScheduleShape[], from: number, periods: number): UnlockPeriod[] {
  const month = Number(MONTH);
  const out: UnlockPeriod[] = [];
  for (let i = 0; i < periods; i++) {
    const start = from + i * month;
    const end = start + month;
    const amount = schedules.reduce((sum, s) => sum + vestedAt(s, end - 1) - vestedAt(s, start - 1), 0n);
    out.push({ start, end, amount });
  }
  return out;
}
