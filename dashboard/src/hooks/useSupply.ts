/** The Overview's reads: the indexer's supply, history, allocations, burns, holders and transfers, and the chain's clock when the indexer is down. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";

export function useSupply() {
  const { data, version } = useApp();
  return useAsync(() => data.supply(), [data, version]);
}

/** `points` samples of the supply from `from` to `to` (unix seconds). */
export function useSupplyHistory(from: bigint, to: bigint, points: number) {
  const { data, version } = useApp();
  return useAsync(() => data.supplyHistory(from, to, points), [data, version, from, to, points]);
}

export function useAllocations() {
  const { data, version } = useApp();
  return useAsync(() => data.allocations(), [data, version]);
}

export function useBurns(limit: number) {
  const { data, version } = useApp();
  return useAsync(() => data.burns(limit), [data, version, limit]);
}

/**
 * The TGE (the Vesting contract's start) and the latest block's time, from the chain: what the
 * formula-only projection needs when the indexer is down. The contract bindings load only then,
 * so they stay off the first page's bundle.
 */
export function useTgeAndChainTime(enabled: boolean) {
  const { deployment, version } = useApp();
  return useAsync(async () => {
    if (!enabled) return undefined;
    const { connectSuite, readProvider } = await import("../lib/contracts");
    const provider = readProvider(deployment);
    const [tge, block] = await Promise.all([connectSuite(deployment, provider).vesting.start(), provider.getBlock("latest")]);
    return { tge, now: BigInt(block?.timestamp ?? 0) };
  }, [deployment, version, enabled]);
}

export function useTokenStats() {
  const { data, version } = useApp();
  return useAsync(() => data.tokenStats(), [data, version]);
}

export function useHolders(limit: number) {
  const { data, version } = useApp();
  return useAsync(() => data.holders(limit), [data, version, limit]);
}

export function useTransfers(limit: number) {
  const { data, version } = useApp();
  return useAsync(() => data.transfers(limit), [data, version, limit]);
}
