/**
 * The page's paying client key for agent calls (docs/agents.md "Payment of calls", "Dashboard"):
 * an Ed25519 key kept in the page's storage per wallet account, sent as `x-fleek-client`, bound
 * to the account's escrow with `POST /acks/payer` when a node does not know it (the account signs
 * in the wallet, the key signs too), and the node's receipt countersigned for `POST /acks/compute`.
 *
 * The byte layouts are the node's, from protocol/ (computeAck.ts, payerBinding.ts). @noble/curves
 * signs: WebCrypto's Ed25519 is missing from some Chromium versions.
 */
import { ed25519 } from "@noble/curves/ed25519";
import { getAddress } from "ethers";
import { computeAckMessage, type ComputeAckJson, type ComputeReceipt } from "../../../protocol/computeAck";
import { payerClientMessage } from "../../../protocol/payerBinding";

/** The header a paying client names its key in. */
export const CLIENT_HEADER = "x-fleek-client";
/** The header the node's signed receipt comes back in. */
export const RECEIPT_HEADER = "x-fleek-receipt";

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

/** The body of `POST /acks/payer`, from the key and the wallet's signature over protocol/payerBinding.ts `payerAccountMessage` (0x hex). */
export function payerBinding(key: CallerKey, account: string, accountSignature: string) {
  return {
    clientKey: toHex(key.publicKey),
    account: getAddress(account),
    clientSignature: toHex(ed25519.sign(payerClientMessage(account), key.seed)),
    accountSignature: accountSignature.replace(/^0x/, ""),
  };
}

/** A node's receipt as `x-fleek-receipt` carries it (without the client's signature). */
export type ReceiptJson = Omit<ComputeAckJson, "clientSignature">;

/** Whether `value` has a compute receipt's shape (an unpaid node's agent receipt has not). */
export function isComputeReceipt(value: unknown): value is ReceiptJson {
  const r = value as Partial<ReceiptJson> | null;
  return typeof r?.clientKey === "string" && typeof r.functionRoot === "string" && typeof r.nodeSignature === "string";
}

function sized(hex: string, bytes: number, name: string): Uint8Array {
  const out = fromHex(hex);
  if (out.length !== bytes) throw new Error(`${name} must have ${bytes} bytes, got ${out.length}`);
  return out;
}

/** The receipt's bytes from its JSON form; throws naming a field of the wrong size. */
export function receiptOfJson(r: ReceiptJson): ComputeReceipt {
  return {
    nodeKey: sized(r.nodeKey, 32, "nodeKey"),
    clientKey: sized(r.clientKey, 32, "clientKey"),
    functionRoot: sized(r.functionRoot, 32, "functionRoot"),
    requestHash: sized(r.requestHash, 32, "requestHash"),
    responseHash: sized(r.responseHash, 32, "responseHash"),
    cpuUs: r.cpuUs,
    wallMs: r.wallMs,
    egressBytes: r.egressBytes,
    windowStart: r.windowStart,
    windowEnd: r.windowEnd,
    nonce: sized(r.nonce, 16, "nonce"),
    ...(r.llmTokens === undefined ? {} : { agent: { llmTokens: r.llmTokens } }),
  };
}

/**
 * The body of `POST /acks/compute`: the receipt with the key's countersignature. Refuses a
 * receipt made out to another key (countersigning it would acknowledge someone else's call).
 */
export function countersign(receipt: ReceiptJson, key: CallerKey): ReceiptJson & { clientSignature: string } {
  if (receipt.clientKey.toLowerCase() !== toHex(key.publicKey)) throw new Error("The node's receipt names another client key: not acknowledged.");
  return { ...receipt, clientSignature: toHex(ed25519.sign(computeAckMessage(receiptOfJson(receipt)), key.seed)) };
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
