/**
 * Service credits (docs/staking.md "Service credits"; contracts/staking/ServiceCredits.sol holds
 * only the parameters): credits for a UTC calendar month = time-weighted average stake over the
 * month × `creditsPerFlkMonth` / 1e18, and the tier is how many thresholds that average reaches.
 * The indexer computes them from the stake, rate and tier histories; the dashboard quotes a month
 * at a constant stake with {@link monthlyCredits}.
 */

/** One credit with 18 decimals: `creditsPerFlkMonth` is credits per FLK-month scaled by this. */
export const CREDIT = 10n ** 18n;

/** A UTC calendar month: "2026-11" → [start, end) in unix seconds. */
export interface Month {
  label: string;
  start: number;
  end: number;
}

/** The UTC month "YYYY-MM" (from 1970 on), or undefined when `label` is anything else. */
export function utcMonth(label: string): Month | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(label);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12 || year < 1970) return undefined;
  return { label, start: Date.UTC(year, month - 1, 1) / 1000, end: Date.UTC(year, month, 1) / 1000 };
}

/** The month containing unix time `t`. */
export function monthOf(t: number): Month {
  const d = new Date(t * 1000);
  return utcMonth(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`)!;
}

/** The month after `m`. */
export function nextMonth(m: Month): Month {
  return monthOf(m.end);
}

/** A value that holds from `timestamp` on (histories are in block, log order). */
export interface Step<T> {
  timestamp: number;
  value: T;
}

/** An account's credits for one month. */
export interface MonthCredits {
  month: string;
  /** Σ stake × rate × seconds / (seconds in the month × 1e18), rounded down once: credits × 1e18. */
  credits: bigint;
  /** Time-weighted average stake over the month (so far, for the running month), rounded down. */
  averageStake: bigint;
  /** How many tier thresholds (as set at the month's end, or now) the average stake reaches. */
  tier: number;
  /** Stake at the month's end (or now). */
  stakeAtEnd: bigint;
  /** Whether the month is over at `now`. */
  complete: boolean;
}

/** Credits (× 1e18) a whole month at a constant `stake` earns at `rate` (`creditsPerFlkMonth`), rounded down. */
export function monthlyCredits(stake: bigint, rate: bigint): bigint {
  return (stake * rate) / CREDIT;
}

/** The value of a history at `t` (the last step at or before it), or `fallback`. */
function valueAt<T>(steps: readonly Step<T>[], t: number, fallback: T): T {
  let v = fallback;
  for (const s of steps) {
    if (s.timestamp > t) break;
    v = s.value;
  }
  return v;
}

/**
 * Credits of one month from an account's stake history and the rate and tier histories: the stake
 * and the rate are piecewise constant between events, each change applying from its block's time,
 * so the integral is exact. The running month is integrated up to `now` and divided by the whole
 * month's length (credits accrue as the month passes); its average stake is over the elapsed part.
 */
export function creditsForMonth(
  month: Month,
  now: number,
  stakes: readonly Step<bigint>[],
  rates: readonly Step<bigint>[],
  tiers: readonly Step<bigint[]>[],
): MonthCredits {
  const to = Math.min(month.end, now);
  const points = [...new Set([month.start, to, ...[...stakes, ...rates].map((s) => s.timestamp).filter((t) => t > month.start && t < to)])].sort(
    (a, b) => a - b,
  );
  let stakeSeconds = 0n;
  let weighted = 0n;
  for (let i = 0; i + 1 < points.length; i++) {
    const dt = BigInt(points[i + 1] - points[i]);
    const stake = valueAt(stakes, points[i], 0n);
    stakeSeconds += stake * dt;
    weighted += stake * valueAt(rates, points[i], 0n) * dt;
  }
  const elapsed = to - month.start;
  const averageStake = elapsed > 0 ? stakeSeconds / BigInt(elapsed) : valueAt(stakes, month.start, 0n);
  const thresholds = valueAt(tiers, to, [] as bigint[]);
  return {
    month: month.label,
    credits: weighted / (BigInt(month.end - month.start) * CREDIT),
    averageStake,
    tier: thresholds.filter((t) => averageStake >= t).length,
    stakeAtEnd: valueAt(stakes, to, 0n),
    complete: now >= month.end,
  };
}
