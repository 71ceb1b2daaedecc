/**
 * SPEC §4 defaults of staking, service credits and governance. The Ignition modules take them as
 * parameter defaults; tests and the gas bench read them from here.
 */
import { FLK } from "./genesis";

const DAY = 24n * 3600n;

/** Staking: seconds between unstake and withdraw (a governance parameter). */
export const UNBONDING_PERIOD = 7n * DAY;

/**
 * Service credits: credits per staked FLK held for a month (18 decimals) and the tier thresholds
 * (wei of staked FLK). SPEC §4 fixes the formula, not the numbers: one credit per FLK-month and
 * tiers at 1,000 / 10,000 / 100,000 FLK are our starting values, for governance to tune.
 */
export const CREDITS_PER_FLK_MONTH = FLK;
export const TIER_THRESHOLDS: readonly bigint[] = [1_000n * FLK, 10_000n * FLK, 100_000n * FLK];

/** Governor and timelock (SPEC §4). The clock is the timestamp, so all durations are seconds. */
export const GOVERNANCE = {
  votingDelay: DAY,
  votingPeriod: 5n * DAY,
  proposalThreshold: 10_000n * FLK,
  quorumPercent: 4n,
  timelockDelay: 2n * DAY,
} as const;
