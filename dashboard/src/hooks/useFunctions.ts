/** The Functions page's reads: functions and compute prices from the indexer, reloaded after every confirmed transaction. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";

/** Functions listed at most: one indexer page. */
export const FUNCTIONS_LISTED = 200;

/** The first {@link FUNCTIONS_LISTED} functions by id, with their latest version. */
export function useEdgeFunctions() {
  const { data, version } = useApp();
  return useAsync(() => data.edgeFunctions(FUNCTIONS_LISTED), [data, version]);
}

/** Versions listed per function: the latest ones. */
export const VERSIONS_LISTED = 50;

/** The latest {@link VERSIONS_LISTED} versions of function `id`, newest first. */
export function useFunctionVersions(id: number) {
  const { data, version } = useApp();
  return useAsync(() => data.functionVersions(id, VERSIONS_LISTED), [data, id, version]);
}

/** ServiceEscrow's latest compute prices. */
export function useComputePrices() {
  const { data, version } = useApp();
  return useAsync(() => data.computePrices(), [data, version]);
}
