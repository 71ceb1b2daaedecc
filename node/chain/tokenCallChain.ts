/**
 * TokenCallDesk's reads from the chain (node/acks/tokenCallDesk.ts): the agent's token price for
 * an epoch at the epoch's first block (as the committee reads the USDC price), and the caller's
 * deposit for the node and the channel's redemptions at the block the desk names (the latest it
 * knows, not before its last redemption: what a redemption now would find).
 */
import { Contract, type Provider } from "ethers";
import { tokenChannelId, type TokenVoucher } from "../../protocol/tokenVoucher";
import type { TokenCallChain } from "../acks/tokenCallDesk";
import { AGENT_MARKETPLACE_ABI, TOKEN_CALL_ESCROW_ABI } from "./registryAbi";

/** Where the desk reads: the escrow and the marketplace, and the current epoch's first block. */
export interface TokenCallChainOptions {
  provider: Provider;
  escrow: string;
  marketplace: string;
  /** The block that started `epoch` (the node's RegistryReporting.currentEpochStart). */
  epochStartBlock: (epoch: number) => Promise<number>;
}

/** A {@link TokenCallChain} over JSON-RPC. */
export function tokenCallChain(o: TokenCallChainOptions): TokenCallChain {
  const escrow = new Contract(o.escrow, TOKEN_CALL_ESCROW_ABI, o.provider);
  const market = new Contract(o.marketplace, AGENT_MARKETPLACE_ABI, o.provider);
  return {
    async tokenPriceOf(marketId, epoch) {
      const blockTag = await o.epochStartBlock(epoch);
      if (marketId === 0n || marketId > ((await market.agentCount({ blockTag })) as bigint)) return undefined;
      const [, token, tokenPrice] = (await market.priceAt(marketId, epoch, { blockTag })) as [bigint, string, bigint];
      return { token, tokenPrice };
    },
    blockNumber: () => o.provider.getBlockNumber(),
    async depositOf(caller, token, nodeId, blockTag) {
      const [balance, pending] = (await escrow.deposits(caller, token, nodeId, { blockTag })) as [bigint, bigint, bigint];
      return { balance, pending };
    },
    async redeemedOf(v: TokenVoucher, blockTag?: number) {
      return (await escrow.redeemed(tokenChannelId(v), { blockTag })) as bigint;
    },
  };
}
