/**
 * Agent calls paid in the owner's creator token from the page (docs/agents.md "Calls paid in the
 * creator token"): the page keeps, per channel (caller, agent, node, token), the cumulative it has
 * vouched, signs the next voucher with the wallet (protocol/tokenVoucher.ts) and sends it with the
 * call. The node admits a voucher only if it raises the channel by the call's price over both its
 * last accepted voucher and what the channel redeemed on chain, so the page starts from the larger
 * of what it stored and `redeemed(channelId)`.
 */
import type { Signer, TypedDataDomain } from "ethers";
import { signTokenVoucher, tokenChannelId, type TokenVoucher } from "../../../protocol/tokenVoucher";
import { callAgent, type AgentAnswer } from "./agents";
import { paymentRefusal } from "./callerKey";

/** The headers of a token-paid call (node/gateway/agentTokenRoutes.ts). */
export const PAY_HEADER = "x-fleek-pay";
export const VOUCHER_HEADER = "x-fleek-voucher";

/**
 * The storage slot of what this page vouched on `channel` of the escrow of `domain`. The channel id
 * names neither the chain nor the escrow: without them a devnet restarted at the same addresses
 * would start from the old chain's figure, and the caller would sign (and pay) that much more.
 */
export const channelSlot = (domain: TypedDataDomain, channel: string) =>
  `fleek.agents.tokenChannel.${String(domain.chainId)}.${String(domain.verifyingContract).toLowerCase()}.${channel.toLowerCase()}`;

/** What this page vouched on the channel of `slot` (0: nothing, or a value that is not a uint256 in decimal). */
export function storedCumulative(storage: Pick<Storage, "getItem">, slot: string): bigint {
  const stored = storage.getItem(slot);
  return stored && /^[0-9]{1,78}$/.test(stored) ? BigInt(stored) : 0n;
}

/** Records that the node accepted `cumulative` on the channel of `slot`; a lower figure (an older tab) never lowers it. */
export function recordVouched(storage: Pick<Storage, "getItem" | "setItem">, slot: string, cumulative: bigint): void {
  if (cumulative > storedCumulative(storage, slot)) storage.setItem(slot, cumulative.toString());
}

/** The next voucher's cumulative: the larger of the channel's redemptions and what the page vouched, plus one call's price. */
export function nextCumulative(redeemed: bigint, vouched: bigint, price: bigint): bigint {
  return (redeemed > vouched ? redeemed : vouched) + price;
}

/**
 * The registry node that admits creator-token calls at the gateway `gatewayUrl` (the `tokenNodeId`
 * of its `/health`): a deposit backs only the vouchers of the node it names, so the page deposits
 * for, and vouches to, the node it calls through. Null: the gateway takes no token-paid calls.
 */
export async function gatewayTokenNode(gatewayUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): Promise<number | null> {
  const url = `${gatewayUrl.replace(/\/+$/, "")}/health`;
  let res: Response;
  try {
    res = await fetchImpl(url);
  } catch {
    throw new Error(`The gateway at ${gatewayUrl} is unreachable from this page (down, or it does not allow this page's origin).`);
  }
  if (!res.ok) throw new Error(`The gateway at ${gatewayUrl} answered ${res.status} to GET /health.`);
  const id = ((await res.json().catch(() => ({}))) as { tokenNodeId?: unknown }).tokenNodeId;
  return typeof id === "number" && Number.isInteger(id) && id > 0 && id < 2 ** 32 ? id : null;
}

/** The channel a token-paid call goes through, and what it needs to sign the next voucher. */
export interface TokenPayer {
  signer: Signer;
  storage: Pick<Storage, "getItem" | "setItem">;
  domain: TypedDataDomain;
  channel: Omit<TokenVoucher, "cumulative">;
  /** Reads `TokenCallEscrow.redeemed(channelId)` (just before signing: a node may have redeemed meanwhile). */
  redeemed: () => Promise<bigint>;
  /** The agent's token price for the current epoch. */
  price: bigint;
}

/** A token-paid call's answer and the voucher sent with it. */
export interface TokenAnswer extends AgentAnswer {
  cumulative: bigint;
}

/**
 * Calls agent `id` paid in its token: signs the voucher for the next cumulative, sends it with
 * `x-fleek-pay: token`, and records the cumulative unless the node refused it (402: the node
 * records a voucher only when it admits the call, so a refused one must not raise the channel).
 */
export async function callAgentWithToken(
  gatewayUrl: string,
  id: number,
  path: string,
  body: string,
  payer: TokenPayer,
  fetchImpl?: typeof fetch,
): Promise<TokenAnswer> {
  const slot = channelSlot(payer.domain, tokenChannelId(payer.channel));
  const cumulative = nextCumulative(await payer.redeemed(), storedCumulative(payer.storage, slot), payer.price);
  const voucher = { ...payer.channel, cumulative };
  const signature = await signTokenVoucher(payer.signer, payer.domain, voucher);
  const header = JSON.stringify({ caller: voucher.caller, token: voucher.token, cumulative: cumulative.toString(), signature });
  const answer = await callAgent(gatewayUrl, id, path, body, fetchImpl, { [PAY_HEADER]: "token", [VOUCHER_HEADER]: header });
  if (answer.status !== 402) recordVouched(payer.storage, slot, cumulative);
  return { ...answer, cumulative };
}

/**
 * A token-paid call's 402 in words: a deposit too small for what the channel would owe, with its
 * figures in tokens and where to deposit; other refusals in the gateway's words.
 */
export function tokenRefusal(message: string, format: (wei: bigint) => string): string {
  const short = /for node (\d+) covers (\d+) \(less a requested withdrawal\), (\d+) would be vouched/.exec(message);
  if (short)
    return (
      `Your deposit for node #${short[1]} covers ${format(BigInt(short[2]))} (less a requested withdrawal), and with this call you would owe it ` +
      `${format(BigInt(short[3]))} over all its agents: deposit more of the creator token above.`
    );
  return paymentRefusal(message, format);
}
