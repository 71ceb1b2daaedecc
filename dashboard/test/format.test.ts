import { describe, expect, it } from "vitest";
import {
  AmountError,
  formatAmount,
  formatBps,
  formatCompact,
  formatDate,
  formatDuration,
  formatShare,
  formatToken,
  parseAmount,
  shortAddress,
} from "../src/lib/format";

const FLK = 10n ** 18n;

describe("formatAmount", () => {
  it("groups thousands and trims trailing zeros", () => {
    expect(formatAmount(1_234_567n * FLK + FLK / 2n)).toBe("1,234,567.5");
    expect(formatAmount(20_000_000n * FLK)).toBe("20,000,000");
    expect(formatAmount(0n)).toBe("0");
  });
  it("truncates instead of rounding up, so a balance is never overstated", () => {
    expect(formatAmount(999_999_999_999_999_999n, 18, 4)).toBe("0.9999");
    expect(formatAmount(15n * 10n ** 17n, 18, 0)).toBe("1");
  });
  it("shows dust as below the smallest digit instead of zero", () => {
    expect(formatAmount(1n)).toBe("<0.0001");
    expect(formatAmount(-1n)).toBe(">-0.0001");
    expect(formatAmount(1n, 18, 2)).toBe("<0.01");
    expect(formatAmount(1n, 18, 1)).toBe("<0.1");
  });
  it("shows amounts under one whole token as below 1 when no decimals are shown", () => {
    expect(formatAmount(5n * 10n ** 17n, 18, 0)).toBe("<1");
    expect(formatAmount(-(5n * 10n ** 17n), 18, 0)).toBe(">-1");
    expect(formatToken(999_999_999_999_999_999n, "FLK", 18, 0)).toBe("<1 FLK");
    expect(formatToken(10n ** 18n, "FLK", 18, 0)).toBe("1 FLK");
  });
  it("handles other decimals and negatives", () => {
    expect(formatAmount(1_500_000n, 6, 2)).toBe("1.5");
    expect(formatAmount(-2n * FLK)).toBe("-2");
    expect(formatToken(3n * FLK, "USDC", 18)).toBe("3 USDC");
  });
});

describe("parseAmount", () => {
  it("reads what users type, commas included", () => {
    expect(parseAmount("1,000.5")).toBe(1000n * FLK + FLK / 2n);
    expect(parseAmount(".25")).toBe(FLK / 4n);
    expect(parseAmount(" 7 ")).toBe(7n * FLK);
    expect(parseAmount("1.5", 6)).toBe(1_500_000n);
  });
  it("round-trips with formatAmount at full precision", () => {
    const wei = 123_456_789_012_345_678_901n;
    expect(parseAmount(formatAmount(wei, 18, 18))).toBe(wei);
  });
  it("rejects non-numbers and excess decimals in words", () => {
    expect(() => parseAmount("")).toThrow(AmountError);
    expect(() => parseAmount("abc")).toThrow("Enter a number");
    expect(() => parseAmount("1e5")).toThrow(AmountError);
    expect(() => parseAmount("-1")).toThrow(AmountError);
    expect(() => parseAmount(".")).toThrow(AmountError);
    expect(() => parseAmount("0.1234567", 6)).toThrow("At most 6 decimals");
  });
});

describe("other formats", () => {
  it("formats durations in the two largest units", () => {
    expect(formatDuration(0)).toBe("now");
    expect(formatDuration(86_400n * 7n)).toBe("7 days");
    expect(formatDuration(86_400 + 3 * 3600 + 5)).toBe("1 day 3 h");
    expect(formatDuration(2700)).toBe("45 min");
  });
  it("formats dates in UTC, compact figures, basis points and addresses", () => {
    expect(formatDate(0n)).toBe("1970-01-01");
    expect(formatCompact(28_500_000n * FLK)).toBe("28.5M");
    expect(formatBps(250)).toBe("2.5%");
    expect(shortAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).toBe("0xf39F…2266");
  });
  it("formats shares as truncated percentages with at most two decimals", () => {
    expect(formatShare(1n, 3n)).toBe("33.33%");
    expect(formatShare(2n, 3n)).toBe("66.66%");
    expect(formatShare(1n, 8n)).toBe("12.5%");
    expect(formatShare(20_000n * FLK, 20_000n * FLK)).toBe("100%");
    expect(formatShare(1n, 200_000n)).toBe("0%");
    expect(formatShare(5n, 0n)).toBe("0%");
  });
});
