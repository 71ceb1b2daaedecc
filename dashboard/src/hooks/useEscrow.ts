/** The Account page's escrow reads: the connected client's account, the epoch and its USDC wallet, from the chain. */
import { useApp } from "../AppContext";
import { useAsync } from "../lib/useAsync";
import { useReadProvider, useSuite } from "../lib/useChain";
import { escrowView } from "../lib/escrow";
import type { Suite } from "../lib/contracts";
import type { JsonRpcProvider } from "ethers";

/** The client's escrow in the current epoch, its USDC balance and allowance to the escrow, and the withdrawal notice. */
export async function readEscrow(suite: Suite, provider: JsonRpcProvider, client: string) {
  const { escrow, registry, usdc } = suite;
  const escrowAddress = await escrow.getAddress();
  const [account, epoch, noticePeriod, wallet, allowance, latest] = await Promise.all([
    escrow.accounts(client),
    registry.epoch(),
    escrow.noticePeriod(),
    usdc.balanceOf(client),
    usdc.allowance(client, escrowAddress),
    provider.getBlock("latest"),
  ]);
  return { ...escrowView(account, Number(epoch), BigInt(latest?.timestamp ?? 0)), noticePeriod, wallet, allowance };
}

export type EscrowData = Awaited<ReturnType<typeof readEscrow>>;

/** {@link readEscrow}, read again after every confirmed transaction. */
export function useEscrow(client: string) {
  const suite = useSuite();
  const provider = useReadProvider();
  const { version } = useApp();
  return useAsync(() => readEscrow(suite, provider, client), [suite, provider, client, version]);
}
