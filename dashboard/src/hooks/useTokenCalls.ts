/** The reads of an agent's calls paid in its owner's creator token, from the chain, again after every confirmed transaction. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { creatorToken, type Suite } from "../lib/contracts";
import type { JsonRpcProvider } from "ethers";

/**
 * `account`'s deposit in TokenCallEscrow of the token of agent `agentId`'s `owner` for node
 * `nodeId` (deposits are per serving node), its withdrawal request, its wallet balance, the agent's
 * token price for the current epoch (0: none, or in another token: the node takes only this one),
 * and the latest block's time (a withdrawal is ready when it reaches `readyAt`). Undefined when the
 * owner has no token yet.
 */
export async function readTokenCalls(suite: Suite, provider: JsonRpcProvider, account: string, agentId: number, owner: string, nodeId: number) {
  const epoch = await suite.registry.epoch();
  const [[, priced, tokenPrice], token, exists] = await Promise.all([
    suite.agentMarketplace.priceAt(agentId, epoch),
    suite.market.tokenOf(owner),
    suite.market.tokenExists(owner),
  ]);
  if (!exists) return undefined;
  const erc20 = creatorToken(token, provider);
  const [deposit, wallet, symbol, block] = await Promise.all([
    suite.tokenCallEscrow.deposits(account, token, nodeId),
    erc20.balanceOf(account),
    erc20.symbol(),
    provider.getBlock("latest"),
  ]);
  return {
    epoch: Number(epoch),
    token,
    symbol,
    price: priced.toLowerCase() === token.toLowerCase() ? tokenPrice : 0n,
    balance: deposit.balance,
    pending: deposit.pending,
    readyAt: deposit.readyAt,
    wallet,
    now: BigInt(block?.timestamp ?? 0),
  };
}

export type TokenCallsData = NonNullable<Awaited<ReturnType<typeof readTokenCalls>>>;

/** {@link readTokenCalls}, read again after every confirmed transaction. */
export function useTokenCalls(account: string, agentId: number, owner: string, nodeId: number) {
  const suite = useSuite();
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(() => readTokenCalls(suite, provider, account, agentId, owner, nodeId), [suite, provider, account, agentId, owner, nodeId, version]);
}
