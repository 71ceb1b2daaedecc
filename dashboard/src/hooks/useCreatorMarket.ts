/** The creator market's reads: the indexer's token list, and from the chain one curve, a holding, a quote and the creator's fees. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { creatorToken } from "../lib/contracts";

/** Every creator token with its curve state (indexer). */
export function useCreatorTokens() {
  const { data, version } = useApp();
  return useAsync(() => data.creatorTokens(), [data, version]);
}

/** The latest trades and largest holders of `creator`'s token (indexer). */
export function useCreatorActivity(creator: string, trades = 50, holders = 10) {
  const { data, version } = useApp();
  return useAsync(() => data.creatorActivity(creator, trades, holders), [data, version, creator, trades, holders]);
}

/** One creator's curve from the chain: supply, spot price, reserve and the token's address. */
export function useCreatorCurve(creator: string) {
  const suite = useSuite();
  const { version } = useApp();
  return useAsync(async () => {
    const { market } = suite;
    const [supply, price, reserve, token] = await Promise.all([
      market.supplyOf(creator),
      market.spotPrice(creator),
      market.reserveOf(creator),
      market.tokenOf(creator),
    ]);
    return { supply, price, reserve, token };
  }, [suite, creator, version]);
}

/**
 * What `account` holds of a creator token, and the token's symbol. Before the first buy the token
 * is not deployed (its address is only predicted): nothing is held and it has no symbol yet.
 */
export function useCreatorHolding(token: string, account: string, supply: bigint) {
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(async () => {
    if (supply === 0n) return { balance: 0n, symbol: "tokens" };
    const contract = creatorToken(token, provider);
    const [balance, symbol] = await Promise.all([contract.balanceOf(account), contract.symbol()]);
    return { balance, symbol };
  }, [token, account, supply, version]);
}

/** The market's quote for buying (total cost with fees) or selling (proceeds after fees) `amount` tokens. */
export function useTradeQuote(side: "buy" | "sell", creator: string, amount: bigint | undefined, supply: bigint) {
  const suite = useSuite();
  const { version } = useApp();
  return useAsync(async () => {
    if (!amount) return undefined;
    if (side === "buy") return (await suite.market.buyCost(creator, amount)).total;
    return (await suite.market.sellReturn(creator, amount)).proceeds;
  }, [suite, side, creator, amount, supply, version]);
}

/** The creator fees `account` can claim. */
export function useCreatorFees(account: string) {
  const suite = useSuite();
  const { version } = useApp();
  return useAsync(() => suite.market.creatorFeesOf(account), [suite, account, version]);
}
