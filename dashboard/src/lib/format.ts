/**
 * Amount, time and address formatting. Amounts stay bigint end to end: floats would round the
 * 18-decimal wei values users compare against their wallets.
 */

/**
 * Formats `value` wei of a token with `decimals` as a grouped decimal string, truncated (never
 * rounded up, so a balance is never overstated) to `maxFraction` fraction digits.
 */
export function formatAmount(value: bigint, decimals = 18, maxFraction = 4): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  let fraction = (abs % base).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  // A tiny non-zero amount would otherwise print as 0 and look like nothing.
  // With no fraction digits shown the smallest step is 1, not 0.1.
  if (whole === 0n && fraction === "" && abs !== 0n) return `${negative ? ">-" : "<"}${maxFraction > 0 ? `0.${"0".repeat(maxFraction - 1)}1` : "1"}`;
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  if (fraction !== "") fraction = `.${fraction}`;
  return `${negative ? "-" : ""}${grouped}${fraction}`;
}

/** USDC has 6 decimals. */
export const USDC_DECIMALS = 6;

/** {@link formatAmount} followed by the symbol, e.g. `1,234.5 FLK`. */
export function formatToken(value: bigint, symbol = "FLK", decimals = 18, maxFraction = 4): string {
  return `${formatAmount(value, decimals, maxFraction)} ${symbol}`;
}

/** USDC units as `1,234.5 USDC` (cents: two fraction digits at most). */
export function formatUsdc(value: bigint): string {
  return formatToken(value, "USDC", USDC_DECIMALS, 2);
}

/**
 * Compact form for chart axes and cards: `28.5M`, `1.2K`. Precision is for the eye only, so the
 * conversion to a float happens after scaling down to whole tokens.
 */
export function formatCompact(value: bigint, decimals = 18): string {
  const whole = Number(value / 10n ** BigInt(decimals));
  return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(whole);
}

/** Why {@link parseAmount} rejected an input, in words for the form. */
export class AmountError extends Error {}

/**
 * Parses what a user typed ("1,000.5") into wei. Rejects more fraction digits than the token has
 * instead of silently truncating, so the amount sent is exactly the amount shown.
 */
export function parseAmount(input: string, decimals = 18): bigint {
  const text = input.trim().replace(/,/g, "");
  if (text === "") throw new AmountError("Enter an amount.");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[1] === "" && (match[2] ?? "") === "")) throw new AmountError("Enter a number, like 100 or 0.5.");
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) throw new AmountError(`At most ${decimals} decimals.`);
  return BigInt(match[1] || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

/** `0x1234…abcd`: enough to recognise an address, short enough for a table cell. */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** A unix timestamp (seconds) as a UTC calendar date, e.g. `2027-03-01`. */
export function formatDate(seconds: bigint | number): string {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 10);
}

/** A unix timestamp (seconds) as UTC date and minute, e.g. `2027-03-01 14:05 UTC`. */
export function formatDateTime(seconds: bigint | number): string {
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A duration in seconds in the largest whole units, e.g. `2 days 3 h`, `45 min`, `now`. */
export function formatDuration(seconds: bigint | number): string {
  let s = Math.max(0, Math.floor(Number(seconds)));
  if (s === 0) return "now";
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  const parts: string[] = [];
  for (const [size, name] of units) {
    const n = Math.floor(s / size);
    if (n === 0) continue;
    parts.push(name === "day" ? `${n} day${n === 1 ? "" : "s"}` : `${n} ${name}`);
    s -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** Basis points as a percentage, e.g. 250 → `2.5%`. */
export function formatBps(bps: bigint | number): string {
  return `${Number(bps) / 100}%`;
}

/** `part` as a percentage of `whole` with two decimals, truncated, e.g. `12.34%` (`0%` of nothing). */
export function formatShare(part: bigint, whole: bigint): string {
  if (whole === 0n) return "0%";
  const hundredths = (part * 10_000n) / whole;
  return `${hundredths / 100n}${hundredths % 100n === 0n ? "" : `.${(hundredths % 100n).toString().padStart(2, "0").replace(/0$/, "")}`}%`;
}
