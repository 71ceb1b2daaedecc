/** What a wallet has approved a contract to take, read again after every confirmed transaction. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { creatorToken } from "../lib/contracts";

/** `owner`'s allowance of `token` ("flk", "usdc": the suite's; otherwise a creator token's address) to `spender` (a suite contract by name). */
export function useAllowance(token: string, owner: string, spender: "staking" | "registry" | "market" | "escrow" | "tokenCallEscrow") {
  const suite = useSuite();
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(async () => {
    const erc20 = token === "flk" || token === "usdc" ? suite[token] : creatorToken(token, provider);
    return erc20.allowance(owner, await suite[spender].getAddress());
  }, [suite, provider, token, owner, spender, version]);
}
