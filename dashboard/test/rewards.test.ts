import { describe, expect, it } from "vitest";
import { stakingRewardRateBps } from "../../protocol/stakingRewards";

const FLK = 10n ** 18n;
const YEAR = 365n * 86_400n;
const start = 1_700_000_000n;

// docs/spec.md §3: 5M, 4M, 3M, 2.5M and 2M FLK of emission in years 1 to 5, half of it to stakers.
describe("staking reward rate", () => {
  it("is the stakers' half of the next 365 days' emission over the total stake", () => {
    // Year 1: 2.5M to stakers over 25M staked.
    expect(stakingRewardRateBps(start, start, 25_000_000n * FLK)).toBe(1_000n);
    // Twice the stake, half the rate.
    expect(stakingRewardRateBps(start, start, 50_000_000n * FLK)).toBe(500n);
  });

  it("looks ahead across a year boundary, where emission falls", () => {
    // Half of year 1 (1.25M) and half of year 2 (1M) to stakers: 2.25M over 25M.
    expect(stakingRewardRateBps(start, start + YEAR / 2n, 25_000_000n * FLK)).toBe(900n);
    // Half of year 5 (0.5M), then no emission.
    expect(stakingRewardRateBps(start, start + (9n * YEAR) / 2n, 25_000_000n * FLK)).toBe(200n);
    expect(stakingRewardRateBps(start, start + 5n * YEAR, 25_000_000n * FLK)).toBe(0n);
  });

  it("has no rate while nothing is staked", () => {
    expect(stakingRewardRateBps(start, start, 0n)).toBeUndefined();
  });
});
