/** The Account page's reads: the connected account's balances, stake, vesting and credits from the chain, its credit months from the indexer. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { stakingRewardRateBps } from "../../../protocol/stakingRewards";
import type { Suite } from "../lib/contracts";
import type { Provider } from "ethers";

/** Everything the page shows about one account, read in one batch. */
export async function readAccount(suite: Suite, provider: Provider, account: string) {
  const { flk, staking, vesting, credits } = suite;
  const [balance, staked, earned, votes, delegatee, withdrawable, unbonding, unbondingPeriod, scheduleIds, thresholds, rate, block] = await Promise.all([
    flk.balanceOf(account),
    staking.stakeOf(account),
    staking.earned(account),
    staking.getVotes(account),
    staking.delegates(account),
    staking.withdrawable(account),
    staking.unbondingRequests(account),
    staking.unbondingPeriod(),
    vesting.scheduleIdsOf(account),
    credits.tierThresholds(),
    credits.creditsPerFlkMonth(),
    provider.getBlock("latest"),
  ]);
  const tge = await vesting.start();
  const [tier, schedules] = await Promise.all([
    credits.tierOf(staked),
    Promise.all(scheduleIds.map(async (id) => ({ id, schedule: await vesting.schedule(id), releasable: await vesting.releasable(id) }))),
  ]);
  // Plain arrays: an ethers Result throws on an index past its end (the next tier of the top tier).
  return {
    balance,
    staked,
    earned,
    votes,
    delegatee,
    withdrawable,
    unbonding: [...unbonding.requests],
    unbondingPeriod,
    tge,
    schedules,
    tier,
    thresholds: [...thresholds],
    rate,
    /** The latest block's time (unix seconds): the clock unlocks and unbonding run on, which a devnet may have moved away from the browser's. */
    chainNow: BigInt(block?.timestamp ?? 0),
  };
}

export type AccountData = Awaited<ReturnType<typeof readAccount>>;

/** {@link readAccount}, read again after every confirmed transaction. */
export function useAccountData(account: string) {
  const suite = useSuite();
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(() => readAccount(suite, provider, account), [suite, provider, account, version]);
}

/** `account`'s service credits per month (indexer). */
export function useCreditMonths(account: string) {
  const { data, version } = useApp();
  return useAsync(() => data.creditMonths(account), [data, version, account]);
}

/** `account`'s latest staking rewards claimed or compounded (indexer). */
export function useRewardPayments(account: string, limit: number) {
  const { data, version } = useApp();
  return useAsync(() => data.rewardPayments(account, limit), [data, version, account, limit]);
}

/** The stakers' reward rate now, in basis points a year, from the chain's emission start, total stake and clock (undefined while nothing is staked). */
export function useRewardRate() {
  const suite = useSuite();
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(async () => {
    const [start, totalStaked, block] = await Promise.all([suite.emission.start(), suite.staking.totalStaked(), provider.getBlock("latest")]);
    return { rateBps: stakingRewardRateBps(start, BigInt(block?.timestamp ?? 0), totalStaked), totalStaked };
  }, [suite, provider, version]);
}
