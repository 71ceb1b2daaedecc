/**
 * The page's paying client key for agent calls (docs/agents.md "Payment of calls", "Dashboard"):
 * an Ed25519 key kept in the page's storage per wallet account, sent as `x-fleek-client`, bound
 * to the account's escrow with `POST /acks/payer` when a node does not know it (the account signs
 * in the wallet, the key signs too), and the node's receipt countersigned for `POST /acks/compute`.
 *
 * The byte layouts are the node's (node/acks/payerBinding.ts, node/acks/computeReceipt.ts),
 * written again here without node:crypto or Buffer so the page can run them; test/dashboard/
 * callerKey.test.ts checks them against the node's verifiers. @noble/curves signs: WebCrypto's
 * Ed25519 is missing from some Chromium versions.
 */
import { ed25519 } from "@noble/curves/ed25519";
import { getAddress } from "ethers";

/** The header a paying client names its key in. */
export const CLIENT_HEADER = "x-fleek-client";
/** The header the node's signed receipt comes back in. */
export const RECEIPT_HEADER = "x-fleek-receipt";

const text = new TextEncoder();
const PAYER_DOMAIN = text.encode("fleek-network/payer-binding/v1\0");
const FUNCTION_ACK_DOMAIN = text.encode("fleek-network/compute-ack/v1\0");
const AGENT_ACK_DOMAIN = text.encode("fleek-network/agent-call-ack/v1\0");

/** A client key: the 32-byte seed (kept) and its public half (sent). */
export interface CallerKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes of `hex` (with or without 0x); throws on anything else. */
export function fromHex(hex: string): Uint8Array {
  const h = hex.replace(/^0x/, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(h)) throw new Error(`not hex: ${hex.slice(0, 20)}`);
  return Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The key of a seed. */
export function callerKeyFromSeed(seed: Uint8Array): CallerKey {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed has 32 bytes, got ${seed.length}`);
  return { seed, publicKey: ed25519.getPublicKey(seed) };
}

/** The storage slot of an account's key (one key per wallet account: each pays from its own escrow). */
export const callerKeySlot = (account: string) => `fleek.agents.callerKey.${account.toLowerCase()}`;

/** The account's key from `storage`, made and stored on first use. */
export function callerKeyOf(storage: Pick<Storage, "getItem" | "setItem">, account: string): CallerKey {
  const stored = storage.getItem(callerKeySlot(account));
  if (stored && /^[0-9a-f]{64}$/.test(stored)) return callerKeyFromSeed(fromHex(stored));
  const seed = ed25519.utils.randomPrivateKey();
  storage.setItem(callerKeySlot(account), toHex(seed));
  return callerKeyFromSeed(seed);
}

/** What the client key signs for a binding: domain tag ‖ account (20 bytes). */
export function payerClientMessage(account: string): Uint8Array {
  return concat(PAYER_DOMAIN, fromHex(getAddress(account)));
}

/** What the wallet signs (EIP-191 personal message) so the account pays for the key. */
export function payerAccountMessage(clientKey: Uint8Array): string {
  return `Fleek Network: delivery acknowledgments signed by client key ${toHex(clientKey)} are paid from this account.`;
}

/** The body of `POST /acks/payer`, from the key and the wallet's signature over {@link payerAccountMessage} (0x hex). */
export function payerBinding(key: CallerKey, account: string, accountSignature: string) {
  return {
    clientKey: toHex(key.publicKey),
    account: getAddress(account),
    clientSignature: toHex(ed25519.sign(payerClientMessage(account), key.seed)),
    accountSignature: accountSignature.replace(/^0x/, ""),
  };
}

/** A node's receipt as `x-fleek-receipt` carries it (node/acks/computeReceipt.ts `ComputeAckJson`). */
export interface ReceiptJson {
  nodeKey: string;
  clientKey: string;
  functionRoot: string;
  requestHash: string;
  responseHash: string;
  cpuUs: number;
  wallMs: number;
  egressBytes: number;
  windowStart: number;
  windowEnd: number;
  nonce: string;
  /** Present on an agent call's receipt. */
  llmTokens?: number;
  nodeSignature: string;
}

/** Whether `value` has a compute receipt's shape (an unpaid node's agent receipt has not). */
export function isComputeReceipt(value: unknown): value is ReceiptJson {
  const r = value as Partial<ReceiptJson> | null;
  return typeof r?.clientKey === "string" && typeof r.functionRoot === "string" && typeof r.nodeSignature === "string";
}

function u64(value: number, name: string): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative safe integer`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function sized(hex: string, bytes: number, name: string): Uint8Array {
  const out = fromHex(hex);
  if (out.length !== bytes) throw new Error(`${name} must have ${bytes} bytes, got ${out.length}`);
  return out;
}

/** What the client countersigns: ack domain ‖ keys, root, hashes, five u64be figures, nonce (‖ u64be tokens for an agent call). */
export function computeAckMessage(r: ReceiptJson): Uint8Array {
  return concat(
    r.llmTokens === undefined ? FUNCTION_ACK_DOMAIN : AGENT_ACK_DOMAIN,
    sized(r.nodeKey, 32, "nodeKey"),
    sized(r.clientKey, 32, "clientKey"),
    sized(r.functionRoot, 32, "functionRoot"),
    sized(r.requestHash, 32, "requestHash"),
    sized(r.responseHash, 32, "responseHash"),
    u64(r.cpuUs, "cpuUs"),
    u64(r.wallMs, "wallMs"),
    u64(r.egressBytes, "egressBytes"),
    u64(r.windowStart, "windowStart"),
    u64(r.windowEnd, "windowEnd"),
    sized(r.nonce, 16, "nonce"),
    ...(r.llmTokens === undefined ? [] : [u64(r.llmTokens, "llmTokens")]),
  );
}

/**
 * The body of `POST /acks/compute`: the receipt with the key's countersignature. Refuses a
 * receipt made out to another key (countersigning it would acknowledge someone else's call).
 */
export function countersign(receipt: ReceiptJson, key: CallerKey): ReceiptJson & { clientSignature: string } {
  if (receipt.clientKey.toLowerCase() !== toHex(key.publicKey)) throw new Error("The node's receipt names another client key: not acknowledged.");
  return { ...receipt, clientSignature: toHex(ed25519.sign(computeAckMessage(receipt), key.seed)) };
}

/**
 * A gateway's 402 in words for the page. The escrow cannot cover the call: its figures (USDC
 * units left this epoch, what a call may cost) and where to deposit; other refusals as they are.
 */
export function paymentRefusal(message: string, format: (units: bigint) => string): string {
  const short = /cannot cover this request in epoch (\d+): (\d+) USDC units left, a request may cost (\d+)/.exec(message);
  if (short)
    return (
      `Your escrow account can pay ${format(BigInt(short[2]))} more in epoch ${short[1]}; a call may cost ${format(BigInt(short[3]))}. ` +
      "Deposit to escrow (or raise its spending limit) on the Account page."
    );
  if (/left \d+ receipts unacknowledged/.test(message)) return `The node is waiting for acknowledgments of earlier calls: ${message}`;
  return `The node refused to serve the call (402): ${message}`;
}
