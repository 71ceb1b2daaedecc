/**
 * Defaults of the staking, service-credit and governor parameters (docs/staking.md). The Ignition
 * modules deploy with these; afterwards they are governance parameters, so the node and the indexer
 * read the live values from the chain. Tests and the gas bench read the defaults from here.
 */
import { DAY, FLK } from "./units";

/** Staking: seconds between unstake and withdraw (`Staking.unbondingPeriod`). */
export const UNBONDING_PERIOD = 7n * DAY;

/**
 * Service credits: credits per staked FLK held for a month (18 decimals) and the tier thresholds
 * (wei of staked FLK). The formula is fixed (protocol/credits.ts), not the numbers: one credit per
 * FLK-month and tiers at 1,000 / 10,000 / 100,000 FLK are our starting values, for governance to tune.
 */
export const CREDITS_PER_FLK_MONTH = FLK;
export const TIER_THRESHOLDS: readonly bigint[] = [1_000n * FLK, 10_000n * FLK, 100_000n * FLK];

/** Governor and timelock. The clock is the timestamp, so all durations are seconds. */
export const GOVERNANCE = {
  votingDelay: DAY,
  votingPeriod: 5n * DAY,
  proposalThreshold: 10_000n * FLK,
  quorumPercent: 4n,
  timelockDelay: 2n * DAY,
} as const;
