/**
 * The node's side of agent calls paid in the owner's creator token (docs/agents.md "Calls paid in
 * the creator token", contracts/agents/TokenCallEscrow.sol). With each call the client sends a
 * voucher raising its channel (caller, agent, this node, token) by at least the agent's token price
 * for the epoch; the desk admits the call only if the voucher is the caller's, in the agent's token,
 * and the caller's deposit (less a requested withdrawal) covers everything it vouched to this node
 * in that token and this node has not redeemed: otherwise the call is refused (402) before it runs.
 * The desk keeps the latest voucher of each channel and redeems them on chain ({@link redeemDue}).
 */
import type { TypedDataDomain } from "ethers";
import { isTokenVoucherSigned, type TokenVoucher } from "../../protocol/tokenVoucher";

/** What the desk reads from the chain. */
export interface TokenCallChain {
  /** Agent `marketId`'s token and token price for `epoch` (`priceAt` at the epoch's first block); undefined: unknown agent. */
  tokenPriceOf(marketId: bigint, epoch: number): Promise<{ token: string; tokenPrice: bigint } | undefined>;
  /** The caller's deposit of `token` now: its balance and the withdrawal it asked for (TokenCallEscrow.deposits). */
  depositOf(caller: string, token: string): Promise<{ balance: bigint; pending: bigint }>;
  /** What the channel of `v` redeemed on chain (TokenCallEscrow.redeemed(channelId)). */
  redeemedOf(v: TokenVoucher): Promise<bigint>;
}

/** A voucher and its caller's signature. */
export interface SignedTokenVoucher {
  voucher: TokenVoucher;
  signature: string;
}

/** One channel as the node knows it: the latest voucher it accepted and what it knows is redeemed. */
interface Channel extends SignedTokenVoucher {
  redeemed: bigint;
}

/** Options of {@link TokenCallDesk}. */
export interface TokenCallDeskOptions {
  /** This node's id in the registry (vouchers name it). */
  nodeId: number;
  /** TokenCallEscrow's EIP-712 domain. */
  domain: TypedDataDomain;
  chain: TokenCallChain;
  /** Most channels held with unredeemed vouchers (default 100,000): a new caller beyond it is refused until a redemption frees room. */
  maxChannels?: number;
}

/** Admits token-paid agent calls and keeps their vouchers until redeemed. */
export class TokenCallDesk {
  private readonly channels = new Map<string, Channel>();
  private readonly maxChannels: number;

  constructor(private readonly o: TokenCallDeskOptions) {
    this.maxChannels = o.maxChannels ?? 100_000;
  }

  /**
   * Admits one call of agent `marketId` in `epoch` paid by `v` (the call's price is the agent's
   * token price for that epoch), keeping it as the channel's latest voucher; or says why not (the
   * 402's message). The chain is read first, then the checks and the update run without a pause,
   * so two calls racing with the same voucher cannot both pass.
   */
  async admit(marketId: bigint, epoch: number, v: SignedTokenVoucher): Promise<string | undefined> {
    const { voucher } = v;
    if (voucher.nodeId !== this.o.nodeId || voucher.agentId !== marketId)
      return `the voucher is for agent ${voucher.agentId} on node ${voucher.nodeId}, not agent ${marketId} on node ${this.o.nodeId}`;
    const terms = await this.o.chain.tokenPriceOf(marketId, epoch);
    if (!terms || terms.tokenPrice === 0n) return `agent ${marketId} has no price in a creator token in epoch ${epoch}: pay in USDC`;
    if (voucher.token.toLowerCase() !== terms.token.toLowerCase())
      return `agent ${marketId} is priced in token ${terms.token} in epoch ${epoch}, the voucher is in ${voucher.token}`;
    if (!isTokenVoucherSigned(this.o.domain, voucher, v.signature)) return `the voucher is not signed by its caller ${voucher.caller}`;
    const key = channelKey(voucher);
    const known = this.channels.get(key);
    if (!known && this.channels.size >= this.maxChannels) return "this node holds too many unredeemed channels: try again later";
    const [onChain, deposit] = await Promise.all([this.o.chain.redeemedOf(voucher), this.o.chain.depositOf(voucher.caller, voucher.token)]);

    // No await from here: check and record at once.
    const current = this.channels.get(key);
    const redeemed = current && current.redeemed > onChain ? current.redeemed : onChain;
    const accepted = current && current.voucher.cumulative > redeemed ? current.voucher.cumulative : redeemed;
    const least = accepted + terms.tokenPrice;
    if (voucher.cumulative < least)
      return `the voucher must raise the cumulative to at least ${least} (a call costs ${terms.tokenPrice} of ${terms.token} in epoch ${epoch})`;
    const available = deposit.balance > deposit.pending ? deposit.balance - deposit.pending : 0n;
    const vouched = this.outstanding(voucher, key) + voucher.cumulative - redeemed;
    if (vouched > available)
      return `the deposit of ${voucher.caller} in ${voucher.token} covers ${available} (less a requested withdrawal), ${vouched} would be vouched to this node: deposit more in TokenCallEscrow`;
    this.channels.set(key, { ...v, redeemed });
    return undefined;
  }

  /** The latest voucher of every channel that pays more than it redeemed. */
  due(): SignedTokenVoucher[] {
    return [...this.channels.values()].filter((c) => c.voucher.cumulative > c.redeemed).map(({ voucher, signature }) => ({ voucher, signature }));
  }

  /**
   * Redeems every due voucher with `send` (TokenCallEscrow.redeem from the node's wallet; anyone
   * may send it, the node's share goes to its operator) and forgets the channels it settled. A
   * failed redemption keeps its channel for the next round. Returns how many were redeemed.
   */
  async redeemDue(send: (v: SignedTokenVoucher) => Promise<void>): Promise<number> {
    let count = 0;
    for (const v of this.due()) {
      try {
        await send(v);
      } catch {
        continue;
      }
      count++;
      const key = channelKey(v.voucher);
      const c = this.channels.get(key);
      // A call admitted meanwhile raised the channel: keep it, with what is now redeemed.
      if (c && c.voucher.cumulative > v.voucher.cumulative) c.redeemed = v.voucher.cumulative;
      else this.channels.delete(key);
    }
    return count;
  }

  /** What `caller` vouched to this node in `token` on its other channels and the node has not redeemed. */
  private outstanding(v: TokenVoucher, except: string): bigint {
    let sum = 0n;
    for (const [key, c] of this.channels) {
      if (key === except || c.voucher.caller.toLowerCase() !== v.caller.toLowerCase() || c.voucher.token.toLowerCase() !== v.token.toLowerCase()) continue;
      sum += c.voucher.cumulative - c.redeemed;
    }
    return sum;
  }
}

function channelKey(v: TokenVoucher): string {
  return `${v.caller.toLowerCase()}:${v.agentId}:${v.nodeId}:${v.token.toLowerCase()}`;
}
