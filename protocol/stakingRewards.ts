/**
 * The staking contract's reward accumulator (docs/staking.md "Rewards"), in bigint, rounding as
 * `Staking._accrue`, `_preview` and `_settle` do: the staking emission streamed since the last
 * update is spread over the stake of that moment (the spread amount rounded up, so the index never
 * promises more than streamed), and each account is settled rounded down. The indexer replays it
 * from events; the staking tests drive it as their reference model.
 */
import { cumulativeEmission } from "./emission";
import { YEAR } from "./units";

/** Accumulator scale (`Staking.SCALE`). */
export const REWARD_SCALE = 10n ** 18n;

/** The stakers' half of emission due at `timestamp` (`Emission.stakingEmission`). */
export function stakingEmission(start: bigint, timestamp: bigint): bigint {
  return cumulativeEmission(timestamp - start) / 2n;
}

/** The global accumulator: reward per staked wei × {@link REWARD_SCALE}, and emission spread so far. */
export interface RewardIndex {
  index: bigint;
  distributed: bigint;
}

/** The accumulator after spreading emission streamed up to `streamed` over `totalStaked` (`_accrue`). */
export function accrueRewards(state: RewardIndex, totalStaked: bigint, streamed: bigint): RewardIndex {
  if (totalStaked === 0n) return state;
  const increment = ((streamed - state.distributed) * REWARD_SCALE) / totalStaked;
  if (increment === 0n) return state;
  return { index: state.index + increment, distributed: state.distributed + (increment * totalStaked + REWARD_SCALE - 1n) / REWARD_SCALE };
}

/** Rewards a stake earned between accumulator values `paid` and `index`, rounded down (`_settle`). */
export function rewardsBetween(staked: bigint, paid: bigint, index: bigint): bigint {
  return (staked * (index - paid)) / REWARD_SCALE;
}

/**
 * The stakers' reward rate at `now`, in basis points a year: the staking emission of the next 365
 * days spread over `totalStaked` (undefined while nothing is staked). Emission falls year by year,
 * so the rate looks ahead instead of annualising the past; more stake lowers it for everyone.
 */
export function stakingRewardRateBps(start: bigint, now: bigint, totalStaked: bigint): bigint | undefined {
  if (totalStaked === 0n) return undefined;
  return ((stakingEmission(start, now + YEAR) - stakingEmission(start, now)) * 10_000n) / totalStaked;
}
