import type { Kysely } from "kysely";
import { badInput } from "./errors";

/** One credit with 18 decimals: `creditsPerFlkMonth` is credits per FLK-month scaled by this. */
const ONE = 10n ** 18n;

/** A UTC calendar month: "2026-11" → [start, end) in unix seconds. */
export interface Month {
  label: string;
  start: number;
  end: number;
}

/** Parses "YYYY-MM" (UTC); anything else is BAD_USER_INPUT. */
export function parseMonth(label: string, argument = "month"): Month {
  const m = /^(\d{4})-(\d{2})$/.exec(label);
  const year = m ? Number(m[1]) : NaN;
  const month = m ? Number(m[2]) : NaN;
  if (!m || month < 1 || month > 12 || year < 1970) throw badInput(`${argument} must be a UTC month as YYYY-MM (got ${JSON.stringify(label)})`);
  return { label, start: Date.UTC(year, month - 1, 1) / 1000, end: Date.UTC(year, month, 1) / 1000 };
}

/** The month containing unix time `t`. */
export function monthOf(t: number): Month {
  const d = new Date(t * 1000);
  return parseMonth(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
}

/** The month after `m`. */
export function nextMonth(m: Month): Month {
  return monthOf(m.end);
}

/** A value that holds from `timestamp` on (histories are in block, log order). */
interface Step<T> {
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
  /** Whether the month is over at the latest indexed block. */
  complete: boolean;
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
export function creditsForMonth(month: Month, now: number, stakes: readonly Step<bigint>[], rates: readonly Step<bigint>[], tiers: readonly Step<bigint[]>[]): MonthCredits {
  const to = Math.min(month.end, now);
  const points = [...new Set([month.start, to, ...[...stakes, ...rates].map((s) => s.timestamp).filter((t) => t > month.start && t < to)])].sort((a, b) => a - b);
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
    credits: weighted / (BigInt(month.end - month.start) * ONE),
    averageStake,
    tier: thresholds.filter((t) => averageStake >= t).length,
    stakeAtEnd: valueAt(stakes, to, 0n),
    complete: now >= month.end,
  };
}

/** Loads the histories credits need: the account's stakes, every rate and tier schedule, in order. */
export async function loadCreditHistories(db: Kysely<any>, account: string) {
  const ordered = (table: string) => db.selectFrom(table).selectAll().orderBy("block_number").orderBy("log_index");
  const [stakes, rates, tiers] = await Promise.all([
    ordered("credit_stakes").where("account", "=", account).execute(),
    ordered("credit_rates").execute(),
    ordered("credit_tiers").execute(),
  ]);
  return {
    stakes: stakes.map((r: any) => ({ timestamp: Number(r.timestamp), value: BigInt(r.stake) })),
    rates: rates.map((r: any) => ({ timestamp: Number(r.timestamp), value: BigInt(r.rate) })),
    tiers: tiers.map((r: any) => ({ timestamp: Number(r.timestamp), value: (r.thresholds as string[]).map(BigInt) })),
  };
}
