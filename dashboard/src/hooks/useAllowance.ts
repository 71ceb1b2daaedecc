/** What a wallet has approved a contract to take, read again after every confirmed transaction. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useSuite } from "../lib/useChain";

/** `owner`'s allowance of the suite's `token` (FLK or USDC) to `spender` (a suite contract by name). */
export function useAllowance(token: "flk" | "usdc", owner: string, spender: "staking" | "registry" | "market" | "escrow") {
  const suite = useSuite();
  const { version } = useApp();
  return useAsync(async () => suite[token].allowance(owner, await suite[spender].getAddress()), [suite, token, owner, spender, version]);
}
