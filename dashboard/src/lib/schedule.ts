/**
 * Unlock calendar and emission schedule computed with the genesis formulas the contracts mirror
 * (protocol/genesis.ts, protocol/emission.ts), so the dashboard and the chain cannot disagree
 * about a date or amount.
 */
import { YEARLY_EMISSION, cumulativeEmission } from "../../../protocol/emission";
import { GENESIS_ALLOCATIONS, vestedAmount, type GenesisAllocation } from "../../../protocol/genesis";
import { MONTH, YEAR } from "../../../protocol/units";

export { GENESIS_ALLOCATIONS, MONTH, YEAR, YEARLY_EMISSION };

/** An allocation's vesting shape: a genesis allocation, or one as the indexer read it from the Vesting contract. */
export type AllocationShape = Pick<GenesisAllocation, "key" | "name" | "total" | "tgeBps" | "cliff" | "duration">;

/** One allocation's calendar: what unlocks at the TGE, at the cliff, per month after, and when it ends. */
export interface UnlockRow {
  allocation: AllocationShape;
  atTge: bigint;
  /** Unix seconds of the cliff (equal to the TGE when there is none). */
  cliffAt: bigint;
  /** Unlocked at the cliff in one step, beyond the TGE share. */
  atCliff: bigint;
  /** Unlocked per month between the cliff and the end (linear). */
  monthly: bigint;
  /** Unix seconds when all of it is unlocked. */
  endAt: bigint;
}

/** The unlock calendar of every allocation (by default the genesis ones) for a TGE at `tge` (unix seconds). */
export function unlockCalendar(tge: bigint, allocations: readonly AllocationShape[] = GENESIS_ALLOCATIONS): UnlockRow[] {
  return allocations.map((a) => {
    const atTge = vestedAmount(a, a.total, 0n);
    const atCliff = a.cliff > 0n ? vestedAmount(a, a.total, a.cliff) - atTge : 0n;
    const monthly = a.duration > 0n ? ((a.total - atTge) * MONTH) / a.duration : 0n;
    return { allocation: a, atTge, cliffAt: tge + a.cliff, atCliff, monthly, endAt: tge + a.duration };
  });
}

/** Unlocked genesis supply and cumulative emission at one time. */
export interface SupplyPoint {
  time: bigint;
  unlocked: bigint;
  emitted: bigint;
}

/** Month-by-month projection over `months` from the TGE: the supply-over-time chart. */
export function supplyProjection(tge: bigint, months = 60): SupplyPoint[] {
  const points: SupplyPoint[] = [];
  for (let m = 0n; m <= BigInt(months); m++) {
    const elapsed = m * MONTH;
    const unlocked = GENESIS_ALLOCATIONS.reduce((sum, a) => sum + vestedAmount(a, a.total, elapsed), 0n);
    points.push({ time: tge + elapsed, unlocked, emitted: cumulativeEmission(elapsed) });
  }
  return points;
}

/** One emission year: its dates, amount, and the running total at its end. */
export interface EmissionYear {
  year: number;
  from: bigint;
  to: bigint;
  amount: bigint;
  cumulative: bigint;
}

/** The emission schedule (docs/spec.md §3) with dates for a TGE at `tge`. */
export function emissionSchedule(tge: bigint): EmissionYear[] {
  return YEARLY_EMISSION.map((amount, i) => ({
    year: i + 1,
    from: tge + BigInt(i) * YEAR,
    to: tge + BigInt(i + 1) * YEAR,
    amount,
    cumulative: cumulativeEmission(BigInt(i + 1) * YEAR),
  }));
}
