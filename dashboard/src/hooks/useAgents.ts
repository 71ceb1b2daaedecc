/** The Agents page's reads from the indexer (and the owner's creator token from the chain), reloaded after every confirmed transaction. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { creatorToken } from "../lib/contracts";

/** Agents listed at most: one indexer page. */
export const AGENTS_LISTED = 200;
/** Settled epochs shown. */
export const SETTLEMENTS_LISTED = 10;
/** Escrow debits shown. */
export const DEBITS_LISTED = 20;

/** The first {@link AGENTS_LISTED} agents by id, with their listing and figures. */
export function useAgents() {
  const { data, version } = useApp();
  return useAsync(() => data.agents(AGENTS_LISTED), [data, version]);
}

/** The marketplace's totals and latest settlements. */
export function useAgentMarket() {
  const { data, version } = useApp();
  return useAsync(() => data.agentMarket(SETTLEMENTS_LISTED), [data, version]);
}

/** `owner`'s agent revenue. */
export function useAgentEarnings(owner: string) {
  const { data, version } = useApp();
  return useAsync(() => data.agentEarnings(owner), [data, owner, version]);
}

/** `client`'s latest escrow debits. */
export function useEscrowDebits(client: string) {
  const { data, version } = useApp();
  return useAsync(() => data.escrowDebits(client, DEBITS_LISTED), [data, client, version]);
}

/**
 * `account`'s own creator token, the only one its agents can be priced in (null: not launched
 * yet). From the chain, not the indexer: a token launched a block ago must already count.
 */
export function useOwnCreatorToken(account: string) {
  const { version } = useApp();
  const suite = useSuite();
  const provider = useReadProvider();
  return useAsync(async () => {
    if (!(await suite.market.tokenExists(account))) return null;
    const token = await suite.market.tokenOf(account);
    return { token, symbol: await creatorToken(token, provider).symbol() };
  }, [suite, provider, account, version]);
}
