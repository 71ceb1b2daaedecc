/**
 * The trade settings of the creator market's form, parsed strictly: a typo is refused in words
 * instead of becoming NaN (and `BigInt(NaN)` throwing) or a limit nobody meant.
 */
import type { Parsed } from "./nodes";

/** The largest slippage tolerance the form accepts, in percent: more protects nothing. */
export const MAX_SLIPPAGE_PERCENT = 50;
/** The longest deadline the form accepts, in minutes (one day). */
export const MAX_DEADLINE_MINUTES = 1440;

/** A slippage tolerance in percent ("0.5", "1"), returned in basis points: 0 to 50%, at most two decimals. */
export function parseSlippage(text: string): Parsed<bigint> {
  const t = text.trim();
  if (t.includes(",")) return { error: "Use a dot for decimals, like 0.5." };
  const match = /^(\d{1,3})(?:\.(\d{0,2}))?$/.exec(t) ?? /^()\.(\d{1,2})$/.exec(t);
  if (!match) return { error: `Enter a percentage from 0 to ${MAX_SLIPPAGE_PERCENT}, like 0.5 (without %; at most two decimals).` };
  const bps = BigInt(match[1] || "0") * 100n + BigInt((match[2] ?? "").padEnd(2, "0"));
  if (bps > BigInt(MAX_SLIPPAGE_PERCENT * 100)) return { error: `The slippage tolerance is at most ${MAX_SLIPPAGE_PERCENT}%.` };
  return { value: bps };
}

/** A deadline in whole minutes from the chain's clock, returned in seconds: 1 to {@link MAX_DEADLINE_MINUTES}. */
export function parseDeadlineMinutes(text: string): Parsed<bigint> {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) return { error: "Enter a whole number of minutes, like 20." };
  const minutes = BigInt(t);
  if (minutes < 1n || minutes > BigInt(MAX_DEADLINE_MINUTES)) return { error: `The deadline is 1 to ${MAX_DEADLINE_MINUTES} minutes.` };
  return { value: minutes * 60n };
}
