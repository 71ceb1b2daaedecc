/**
 * Agents on the dashboard (docs/agents.md): AgentMarketplace's rules checked before a wallet is
 * asked to sign, and a call to an agent through a gateway (`/agents/<id>/<path>`,
 * docs/agents-runtime.md "HTTP").
 */
import { AmountError, formatUsdc, parseAmount, USDC_DECIMALS } from "./format";
import type { Parsed } from "./functions";
import { CLIENT_HEADER, countersign, isComputeReceipt, payerBinding, RECEIPT_HEADER, toHex, type CallerKey, type ReceiptJson } from "./callerKey";
import { payerAccountMessage } from "../../../protocol/payerBinding";

/** AgentMarketplace's bounds: MAX_NAME_BYTES, MAX_MEMORY_MIB, MAX_CALL_PRICE (USDC units), MAX_TOKEN_PRICE (wei). */
export const AGENT_CAPS = { nameBytes: 64, memoryMiB: 4_096, callPrice: 1_000_000_000n, tokenPrice: 10n ** 27n } as const;

/** The name rule of `register`: 1 to 64 bytes of UTF-8, any characters (the id, not the name, is in URLs). */
export function parseAgentName(text: string): Parsed<string> {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes === 0 || bytes > AGENT_CAPS.nameBytes) return { error: `A name has 1 to ${AGENT_CAPS.nameBytes} bytes (UTF-8).` };
  return { value: text };
}

/** The lease's reserved memory: a whole number of MiB, 1 to 4,096. */
export function parseMemoryMiB(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^[0-9]{1,5}$/.test(t) || Number(t) === 0 || Number(t) > AGENT_CAPS.memoryMiB)
    return { error: `Memory is a whole number of MiB from 1 to ${AGENT_CAPS.memoryMiB.toLocaleString("en-US")}.` };
  return { value: Number(t) };
}

function parseUnits(text: string, decimals: number): Parsed<bigint> {
  try {
    return { value: parseAmount(text, decimals) };
  } catch (err) {
    if (err instanceof AmountError) return { error: err.message };
    throw err;
  }
}

/** A USDC price per call: 0 (free calls) up to 1,000 USDC, at most 6 decimals. */
export function parseCallPrice(text: string): Parsed<bigint> {
  const parsed = parseUnits(text, USDC_DECIMALS);
  if (parsed.value !== undefined && parsed.value > AGENT_CAPS.callPrice) return { error: `A call costs at most ${formatUsdc(AGENT_CAPS.callPrice)}.` };
  return parsed;
}

/** USDC to pay into a hosting lease (`fundLease`): more than 0, at most 6 decimals. */
export function parseLeaseFunding(text: string): Parsed<bigint> {
  const parsed = parseUnits(text, USDC_DECIMALS);
  if (parsed.value === 0n) return { error: "The amount must be more than zero." };
  return parsed;
}

/** The refusal before the wallet when it holds less USDC than the lease funding asked. */
export function leaseFundingRefusal(amount: bigint, wallet: bigint): string | undefined {
  return amount > wallet ? `Your wallet holds ${formatUsdc(wallet)}.` : undefined;
}

/**
 * The hosting lease in words, from `leaseEndsAt` (unix seconds; 0 paused, null free, as the
 * indexer gives it). With the chain's time `now`, a lease that ran out says so: nodes answer 402
 * until it is funded again (docs/agents.md "Hosting lease"); without it, the date alone.
 */
export function leaseText(endsAt: number | null, paused: boolean, now?: number): string {
  if (paused || endsAt === 0) return "Paused: not charged";
  if (endsAt === null) return "Free hosting";
  const date = `${new Date(endsAt * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return now !== undefined && endsAt <= now ? `Ran out ${date}: calls refused until funded` : `Funded until ${date}`;
}

/** A price per call in the owner's creator token (18 decimals): empty or 0 means none, at most 10^9 tokens. */
export function parseTokenPrice(text: string): Parsed<bigint> {
  if (text.trim() === "") return { value: 0n };
  const parsed = parseUnits(text, 18);
  if (parsed.value !== undefined && parsed.value > AGENT_CAPS.tokenPrice) return { error: "A token price is at most 1,000,000,000 tokens per call." };
  return parsed;
}

/** Why `account` cannot manage an agent of `owner` (undefined: it can); `_owned` would revert with AgentMarketNotOwner. */
export function ownerRefusal(owner: string, account: string): string | undefined {
  return owner.toLowerCase() === account.toLowerCase() ? undefined : `Only the agent's owner (${owner}) can change it.`;
}

/**
 * Why a token price cannot be set (undefined: it can): the marketplace quotes an agent only in its
 * owner's own creator token, which must exist (AgentMarketNoCreatorToken).
 */
export function tokenPriceRefusal(tokenPrice: bigint, ownerHasToken: boolean): string | undefined {
  if (tokenPrice === 0n || ownerHasToken) return undefined;
  return "A token price needs your creator token: launch it on the Creator tokens page first.";
}

/**
 * The token price field's parse: {@link parseTokenPrice}, refused at once when the owner has no
 * creator token (`ownToken` null; undefined while it is being read, when the chain decides at the
 * submit).
 */
export function parseOwnTokenPrice(text: string, ownToken: { symbol: string } | null | undefined): Parsed<bigint> {
  const parsed = parseTokenPrice(text);
  const refusal = parsed.value !== undefined && ownToken === null ? tokenPriceRefusal(parsed.value, false) : undefined;
  return refusal ? { error: refusal } : parsed;
}

/** The label of a token price field: names the owner's token, or says it does not exist yet. */
export function tokenPriceLabel(ownToken: { symbol: string } | null | undefined): string {
  if (ownToken === null) return "Price per call in your creator token (optional; you have none yet: launch it on the Creator tokens page)";
  return `Price per call in your creator token${ownToken ? ` (${ownToken.symbol})` : ""} (optional, at most 1,000,000,000; empty or 0: none)`;
}

/** A path inside the agent: starts with '/', at most 1,024 characters, no '..' segment, no control characters. */
export function parseAgentPath(text: string): Parsed<string> {
  const t = text.trim() === "" ? "/" : text.trim();
  if (!t.startsWith("/")) return { error: "A path starts with '/'." };
  if (t.length > 1_024) return { error: "A path has at most 1,024 characters." };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(t) || t.split(/[/?#]/).includes("..")) return { error: "A path has no spaces, control characters or '..'." };
  return { value: t };
}

/** What an agent answered. */
export interface AgentAnswer {
  status: number;
  contentType: string;
  /** The answer's text, cut at {@link ANSWER_CHARS} characters. */
  body: string;
  truncated: boolean;
  /** Whether the node signed a receipt for the call (`x-fleek-receipt`): what the epoch report charges. */
  receipt: boolean;
  /** The receipt itself when it is a compute receipt (a paid node's, what the caller countersigns). */
  signedReceipt?: ReceiptJson;
}

/** Characters of an answer shown at most. */
export const ANSWER_CHARS = 65_536;

/** Largest body sent: the node's `requestBytes` default (docs/agents-runtime.md, "Limits"). */
export const REQUEST_BYTES = 1_048_576;

type Fetch = typeof fetch;
const defaultFetch: Fetch = (...a) => fetch(...a);
const trimmed = (gatewayUrl: string) => gatewayUrl.replace(/\/+$/, "");

/**
 * Calls agent `id` at `path` through the gateway at `gatewayUrl`: GET without a body, POST with
 * `body` (sent as JSON when it parses as JSON, else as text), with the payment's `payHeaders`
 * (a paying client's `x-fleek-client`, or a token voucher's).
 */
export async function callAgent(
  gatewayUrl: string,
  id: number,
  path: string,
  body: string,
  fetchImpl: Fetch = defaultFetch,
  payHeaders: Record<string, string> = {},
): Promise<AgentAnswer> {
  if (new TextEncoder().encode(body).length > REQUEST_BYTES) throw new Error(`A request body is at most ${REQUEST_BYTES.toLocaleString("en-US")} bytes.`);
  const url = `${trimmed(gatewayUrl)}/agents/${id}${path}`;
  let json = true;
  try {
    JSON.parse(body);
  } catch {
    json = false;
  }
  const headers: Record<string, string> = { ...payHeaders };
  if (body !== "") headers["content-type"] = json ? "application/json" : "text/plain;charset=utf-8";
  let res: Response;
  try {
    const sent = Object.keys(headers).length > 0 ? { headers } : {};
    res = await fetchImpl(url, body === "" ? { method: "GET", ...sent } : { method: "POST", ...sent, body });
  } catch {
    throw new Error(`The gateway at ${gatewayUrl} is unreachable from this page (down, or it does not allow this page's origin).`);
  }
  const text = await res.text();
  const receipt = res.headers.get(RECEIPT_HEADER);
  let signedReceipt: ReceiptJson | undefined;
  try {
    const parsed: unknown = receipt ? JSON.parse(receipt) : undefined;
    // An unpaid node signs an agent receipt of another shape, for no one to countersign.
    signedReceipt = isComputeReceipt(parsed) ? parsed : undefined;
  } catch {
    signedReceipt = undefined;
  }
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    body: text.slice(0, ANSWER_CHARS),
    truncated: text.length > ANSWER_CHARS,
    receipt: receipt !== null,
    ...(signedReceipt ? { signedReceipt } : {}),
  };
}

/** What a paying caller needs: its key, the wallet account that pays for it, the wallet's EIP-191 signer. */
export interface Caller {
  key: CallerKey;
  account: string;
  signMessage: (message: string) => Promise<string>;
}

/** A paid call's outcome: the answer, and whether the countersigned receipt was accepted. */
export interface PaidAnswer extends AgentAnswer {
  /** The gateway's status for `POST /acks/compute` (202: accepted); undefined without a receipt. */
  ackStatus?: number;
  /** Why the ack was refused, in the gateway's words. */
  ackError?: string;
}

async function postJson(fetchImpl: Fetch, url: string, body: unknown): Promise<Response> {
  try {
    return await fetchImpl(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch {
    throw new Error(`The gateway at ${url.replace(/\/acks\/.*$/, "")} is unreachable from this page.`);
  }
}

const errorOf = async (res: Response) => {
  const text = await res.text();
  try {
    return String((JSON.parse(text) as { error?: unknown }).error ?? text);
  } catch {
    return text;
  }
};

/** Binds the caller's key to its wallet account at the gateway (`POST /acks/payer`; the wallet signs). */
export async function bindCaller(gatewayUrl: string, caller: Caller, fetchImpl: Fetch = defaultFetch): Promise<void> {
  const signature = await caller.signMessage(payerAccountMessage(caller.key.publicKey));
  const res = await postJson(fetchImpl, `${trimmed(gatewayUrl)}/acks/payer`, payerBinding(caller.key, caller.account, signature));
  if (res.status !== 202) throw new Error(`The gateway refused to bind your call key to your escrow account (${res.status}): ${await errorOf(res)}`);
}

/**
 * A paid call (docs/agents.md "Payment of calls"): sent as the caller's key; when the node knows no
 * escrow account for the key (its first call there, or the node restarted) the key is bound to the
 * wallet's account and the call sent again, once. A node that charges nothing never asks the
 * wallet. The answer's compute receipt is countersigned and posted (`POST /acks/compute`).
 */
export async function callAgentPaid(
  gatewayUrl: string,
  id: number,
  path: string,
  body: string,
  caller: Caller,
  fetchImpl: Fetch = defaultFetch,
): Promise<PaidAnswer> {
  const client = { [CLIENT_HEADER]: toHex(caller.key.publicKey) };
  let answer = await callAgent(gatewayUrl, id, path, body, fetchImpl, client);
  if (answer.status === 402 && answer.body.includes("bind one with POST /acks/payer")) {
    await bindCaller(gatewayUrl, caller, fetchImpl);
    answer = await callAgent(gatewayUrl, id, path, body, fetchImpl, client);
  }
  if (!answer.signedReceipt) return answer;
  const ack = await postJson(fetchImpl, `${trimmed(gatewayUrl)}/acks/compute`, countersign(answer.signedReceipt, caller.key));
  return { ...answer, ackStatus: ack.status, ...(ack.status === 202 ? {} : { ackError: await errorOf(ack) }) };
}
