import { describe, expect, it } from "vitest";
import { ed25519 } from "@noble/curves/ed25519";
import {
  callerKeyFromSeed,
  callerKeyOf,
  callerKeySlot,
  countersign,
  fromHex,
  isComputeReceipt,
  payerBinding,
  paymentRefusal,
  receiptOfJson,
  toHex,
  type ReceiptJson,
} from "../src/lib/callerKey";
import { computeAckMessage } from "../../protocol/computeAck";
import { payerAccountMessage, payerClientMessage } from "../../protocol/payerBinding";
import { formatToken, USDC_DECIMALS } from "../src/lib/format";

/** The page shows prices to the unit. */
const formatUsdc = (units: bigint) => formatToken(units, "USDC", USDC_DECIMALS, USDC_DECIMALS);

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/** RFC 8032, section 7.1, test 1. */
const RFC_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

function memoryStorage() {
  const items = new Map<string, string>();
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
}

const receipt = (over: Partial<ReceiptJson> = {}): ReceiptJson => ({
  nodeKey: "01".repeat(32),
  clientKey: "02".repeat(32),
  functionRoot: "03".repeat(32),
  requestHash: "04".repeat(32),
  responseHash: "05".repeat(32),
  cpuUs: 1500,
  wallMs: 3,
  egressBytes: 5,
  windowStart: 1_700_000_000_000,
  windowEnd: 1_700_000_600_000,
  nonce: "06".repeat(16),
  llmTokens: 7,
  nodeSignature: "00".repeat(64),
  ...over,
});

describe("the page's call key (x-fleek-client)", () => {
  it("derives the RFC 8032 public key from a seed", () => {
    expect(toHex(callerKeyFromSeed(fromHex(RFC_SEED)).publicKey)).toBe(RFC_PUBLIC);
    expect(() => callerKeyFromSeed(new Uint8Array(31))).toThrow("an Ed25519 seed has 32 bytes, got 31");
  });

  it("is made once per wallet account and kept in the page's storage", () => {
    const storage = memoryStorage();
    const a = callerKeyOf(storage, ALICE);
    expect(storage.items.get(`fleek.agents.callerKey.${ALICE.toLowerCase()}`)).toBe(toHex(a.seed));
    expect(callerKeyOf(storage, ALICE.toLowerCase()).publicKey).toEqual(a.publicKey);
    expect(callerKeyOf(storage, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC").publicKey).not.toEqual(a.publicKey);
    // A stored seed is used as it is.
    storage.setItem(callerKeySlot(ALICE), RFC_SEED);
    expect(toHex(callerKeyOf(storage, ALICE).publicKey)).toBe(RFC_PUBLIC);
  });
});

describe("the payer binding (POST /acks/payer)", () => {
  it("signs the domain tag and the account's 20 bytes with the key; the wallet signs the sentence", () => {
    expect(toHex(payerClientMessage(ALICE.toLowerCase()))).toBe(
      "666c65656b2d6e6574776f726b2f70617965722d62696e64696e672f76310070997970c51812dc3a010c7d01b50e0d17dc79c8",
    );
    expect(payerAccountMessage(fromHex(RFC_PUBLIC))).toBe(
      `Fleek Network: delivery acknowledgments signed by client key ${RFC_PUBLIC} are paid from this account.`,
    );
    const key = callerKeyFromSeed(fromHex(RFC_SEED));
    const body = payerBinding(key, ALICE.toLowerCase(), `0x${"ab".repeat(65)}`);
    expect([body.clientKey, body.account, body.accountSignature]).toEqual([RFC_PUBLIC, ALICE, "ab".repeat(65)]);
    expect(ed25519.verify(fromHex(body.clientSignature), payerClientMessage(ALICE), key.publicKey)).toBe(true);
  });
});

describe("the countersignature (POST /acks/compute)", () => {
  it("signs the agent-call ack domain, the receipt's fields in order and the LLM tokens (the node's layout)", () => {
    // The bytes of protocol/computeAck.ts, which the node verifies (known-answer literals).
    expect(toHex(computeAckMessage(receiptOfJson(receipt())))).toBe(
      "666c65656b2d6e6574776f726b2f6167656e742d63616c6c2d61636b2f763100" +
        "01".repeat(32) +
        "02".repeat(32) +
        "03".repeat(32) +
        "04".repeat(32) +
        "05".repeat(32) +
        "00000000000005dc000000000000000300000000000000050000018bcfe568000000018bcfee8fc0" +
        "06".repeat(16) +
        "0000000000000007",
    );
    // A function's receipt (no tokens): the compute-ack domain, no tail.
    const plain = computeAckMessage(receiptOfJson(receipt({ llmTokens: undefined })));
    expect(new TextDecoder().decode(plain.slice(0, 28))).toBe("fleek-network/compute-ack/v1");
    expect(plain.length).toBe(29 + 32 * 5 + 8 * 5 + 16);
    expect(() => receiptOfJson(receipt({ nonce: "06" }))).toThrow("nonce must have 16 bytes, got 1");
    expect(() => computeAckMessage(receiptOfJson(receipt({ cpuUs: -1 })))).toThrow("cpuUs must be a non-negative safe integer");
  });

  it("tells a paid node's compute receipt from an unpaid node's agent receipt", () => {
    expect(isComputeReceipt(receipt())).toBe(true);
    expect(isComputeReceipt({ nodeKey: "01".repeat(32), agent: "1", bundleRoot: "bb".repeat(32), cpuUs: 1, signature: "00".repeat(64) })).toBe(false);
    expect(isComputeReceipt(null)).toBe(false);
  });

  it("countersigns only a receipt made out to its own key", () => {
    const key = callerKeyFromSeed(fromHex(RFC_SEED));
    const mine = receipt({ clientKey: RFC_PUBLIC });
    const acked = countersign(mine, key);
    expect(ed25519.verify(fromHex(acked.clientSignature), computeAckMessage(receiptOfJson(mine)), key.publicKey)).toBe(true);
    expect(() => countersign(receipt(), key)).toThrow("The node's receipt names another client key: not acknowledged.");
  });
});

describe("a 402 in words", () => {
  it("gives the escrow's figures and says to deposit; other refusals as the node said them", () => {
    expect(paymentRefusal("escrow account 0xabc cannot cover this request in epoch 3: 40000 USDC units left, a request may cost 50002", formatUsdc)).toBe(
      "Your escrow account can pay 0.04 USDC more in epoch 3; a call may cost 0.050002 USDC. Deposit to escrow (or raise its spending limit) on the Account page.",
    );
    expect(paymentRefusal("client key ab left 100 receipts unacknowledged in epoch 3: countersign them (POST /acks/compute) first", formatUsdc)).toBe(
      "The node is waiting for acknowledgments of earlier calls: client key ab left 100 receipts unacknowledged in epoch 3: countersign them (POST /acks/compute) first",
    );
    expect(paymentRefusal("agent 4 is not listed on the marketplace: its calls cannot be paid", formatUsdc)).toBe(
      "The node refused to serve the call (402): agent 4 is not listed on the marketplace: its calls cannot be paid",
    );
  });
});
