/**
 * The one list still read from the chain: creator tokens. The indexer's creator-token area is being
 * built (issue 9's creator part); until it serves `creatorTokens`, this scans `CreatorTokenCreated`
 * from block 0, which is fine on a devnet and too slow on Base.
 */
import { connectSuite, readProvider, type Deployment } from "../lib/contracts";
import type { CreatorTokenInfo } from "./source";

/** Every creator token with its curve state, in launch order. */
export async function chainCreatorTokens(deployment: Deployment): Promise<CreatorTokenInfo[]> {
  const { market } = connectSuite(deployment, readProvider(deployment));
  const events = await market.queryFilter(market.filters.CreatorTokenCreated());
  return Promise.all(
    events.map(async (e) => {
      const { creator, token, index } = e.args;
      const [supply, spotPrice, reserve] = await Promise.all([market.supplyOf(creator), market.spotPrice(creator), market.reserveOf(creator)]);
      return { creator, token, index: Number(index), supply, spotPrice, reserve };
    }),
  );
}
