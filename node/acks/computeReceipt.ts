import { hash, sign, verify, type KeyObject } from "node:crypto";
import { ed25519PublicKeyFromRaw } from "./ed25519Keys";

/**
 * What a node measured of one function invocation, signed by the node: "I ran function F on
 * request Q and answered R, using `cpuUs` of CPU, `wallMs` of wall time and `egressBytes` of
 * response, at a time in [windowStart, windowEnd]". The client countersigns it (a compute
 * acknowledgment); only the pair of signatures counts in the report, so neither side alone can
 * make an invocation: the node cannot invent usage (no client signature), the client cannot
 * claim other figures (no node signature). An agent call's receipt has the same shape with
 * `agent` set (docs/agents.md "Payment of calls"): `functionRoot` then holds `bytes32(agentId)` of
 * AgentMarketplace, and its own domain tags keep a function's and an agent's receipts apart.
 */
export interface ComputeReceipt {
  /** Ed25519 public key of the node that ran the function (32 bytes). */
  nodeKey: Buffer;
  /** Ed25519 public key of the client that pays for it (32 bytes). */
  clientKey: Buffer;
  /** Content root of the function's module (32 bytes). */
  functionRoot: Buffer;
  /** {@link requestHash} of the request the function ran on. */
  requestHash: Buffer;
  /** SHA-256 of the response body the client received (`sha256sum` reproduces it). */
  responseHash: Buffer;
  /** CPU microseconds of the isolate during the invocation. */
  cpuUs: number;
  /** Wall milliseconds from the start of the run to the answer. */
  wallMs: number;
  /** Bytes of the response body. */
  egressBytes: number;
  /** Start of the window (Unix ms, the node's chain clock when it answered). */
  windowStart: number;
  /** End of the window: the client's acknowledgment is taken until then (plus clock skew). */
  windowEnd: number;
  /** 16 random bytes: one receipt, one charge. */
  nonce: Buffer;
  /** An agent call (report charges of kind 2): the LLM tokens the host metered, which the agent's owner pays. */
  agent?: { llmTokens: number };
}

/** A receipt with the node's signature, and the client's countersignature once acknowledged. */
export interface SignedComputeAck {
  receipt: ComputeReceipt;
  /** The node's Ed25519 signature over {@link encodeComputeReceipt}. */
  nodeSignature: Buffer;
  /** The client's Ed25519 signature over {@link computeAckMessage}. */
  clientSignature: Buffer;
}

/** Domain tags: neither signature can be replayed as the other, or as any other statement. */
const RECEIPT_DOMAIN = Buffer.from("fleek-network/compute-receipt/v1\0", "utf8");
const ACK_DOMAIN = Buffer.from("fleek-network/compute-ack/v1\0", "utf8");
const AGENT_RECEIPT_DOMAIN = Buffer.from("fleek-network/agent-call-receipt/v1\0", "utf8");
const AGENT_ACK_DOMAIN = Buffer.from("fleek-network/agent-call-ack/v1\0", "utf8");
const BODY_BYTES = 32 * 5 + 8 * 5 + 16;

/** Canonical bytes of a receipt without domain: keys, root, hashes, five u64be figures, nonce. */
function receiptBody(r: ComputeReceipt): Buffer {
  const out = Buffer.alloc(BODY_BYTES);
  let at = 0;
  for (const [name, bytes, length] of [
    ["node key", r.nodeKey, 32],
    ["client key", r.clientKey, 32],
    ["function root", r.functionRoot, 32],
    ["request hash", r.requestHash, 32],
    ["response hash", r.responseHash, 32],
  ] as const) {
    if (bytes.length !== length) throw new Error(`${name} must have ${length} bytes, got ${bytes.length}`);
    at += bytes.copy(out, at);
  }
  for (const [name, value] of [
    ["cpuUs", r.cpuUs],
    ["wallMs", r.wallMs],
    ["egressBytes", r.egressBytes],
    ["windowStart", r.windowStart],
    ["windowEnd", r.windowEnd],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative safe integer`);
    out.writeBigUInt64BE(BigInt(value), at);
    at += 8;
  }
  if (r.nonce.length !== 16) throw new Error(`nonce must have 16 bytes, got ${r.nonce.length}`);
  r.nonce.copy(out, at);
  if (!r.agent) return out;
  const tokens = r.agent.llmTokens;
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new Error("llmTokens must be a non-negative safe integer");
  const tail = Buffer.alloc(8);
  tail.writeBigUInt64BE(BigInt(tokens));
  return Buffer.concat([out, tail]);
}

/** What the node signs: receipt domain ‖ receipt body (fixed width: one encoding per receipt). */
export function encodeComputeReceipt(r: ComputeReceipt): Buffer {
  return Buffer.concat([r.agent ? AGENT_RECEIPT_DOMAIN : RECEIPT_DOMAIN, receiptBody(r)]);
}

/** What the client signs to acknowledge: ack domain ‖ receipt body. */
export function computeAckMessage(r: ComputeReceipt): Buffer {
  return Buffer.concat([r.agent ? AGENT_ACK_DOMAIN : ACK_DOMAIN, receiptBody(r)]);
}

/**
 * SHA-256 of a request as the function saw it: u32be length ‖ method ‖ u32be length ‖ target
 * (path and query after `/fn/<scheme>/<root>`) ‖ body. Lengths first, so no two requests share it.
 * Hashed in one call over one buffer: a hash object with an update per part cost a warm request
 * more than the hashing (docs/functions.md "Warm path, fifth pass").
 */
export function requestHash(method: string, target: string, body: Uint8Array): Buffer {
  const methodBytes = Buffer.byteLength(method);
  const targetBytes = Buffer.byteLength(target);
  const data = Buffer.allocUnsafe(8 + methodBytes + targetBytes + body.byteLength);
  data.writeUInt32BE(methodBytes, 0);
  data.write(method, 4);
  data.writeUInt32BE(targetBytes, 4 + methodBytes);
  data.write(target, 8 + methodBytes);
  data.set(body, 8 + methodBytes + targetBytes);
  return hash("sha256", data, "buffer");
}

/** SHA-256 of a response body. */
export function responseHash(body: Uint8Array): Buffer {
  return hash("sha256", body, "buffer");
}

/** The node's signature over a receipt. */
export function signComputeReceipt(r: ComputeReceipt, nodePrivateKey: KeyObject): Buffer {
  return sign(null, encodeComputeReceipt(r), nodePrivateKey);
}

/** The client's countersignature (its compute acknowledgment). */
export function signComputeAck(r: ComputeReceipt, clientPrivateKey: KeyObject): Buffer {
  return sign(null, computeAckMessage(r), clientPrivateKey);
}

/** Whether the node's signature and the client's countersignature both hold over this receipt. */
export function verifyComputeAck(a: SignedComputeAck): boolean {
  if (a.nodeSignature.length !== 64 || a.clientSignature.length !== 64) return false;
  try {
    return (
      verify(null, encodeComputeReceipt(a.receipt), ed25519PublicKeyFromRaw(a.receipt.nodeKey), a.nodeSignature) &&
      verify(null, computeAckMessage(a.receipt), ed25519PublicKeyFromRaw(a.receipt.clientKey), a.clientSignature)
    );
  } catch {
    return false;
  }
}

/** JSON form: byte fields in hex, figures as numbers; `clientSignature` absent on a bare receipt. */
export interface ComputeAckJson {
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
  /** Agent calls only: LLM tokens the host metered (their presence makes the receipt an agent call's). */
  llmTokens?: number;
  nodeSignature: string;
  clientSignature?: string;
}

/** The JSON form (the gateway's `x-fleek-receipt` header without `clientSignature`, `POST /acks/compute` with it). */
export function computeAckToJson(receipt: ComputeReceipt, nodeSignature: Buffer, clientSignature?: Buffer): ComputeAckJson {
  return {
    nodeKey: receipt.nodeKey.toString("hex"),
    clientKey: receipt.clientKey.toString("hex"),
    functionRoot: receipt.functionRoot.toString("hex"),
    requestHash: receipt.requestHash.toString("hex"),
    responseHash: receipt.responseHash.toString("hex"),
    cpuUs: receipt.cpuUs,
    wallMs: receipt.wallMs,
    egressBytes: receipt.egressBytes,
    windowStart: receipt.windowStart,
    windowEnd: receipt.windowEnd,
    nonce: receipt.nonce.toString("hex"),
    ...(receipt.agent ? { llmTokens: receipt.agent.llmTokens } : {}),
    nodeSignature: nodeSignature.toString("hex"),
    ...(clientSignature ? { clientSignature: clientSignature.toString("hex") } : {}),
  };
}

/** Parses a countersigned JSON ack; throws naming the bad field (signatures are not checked here). */
export function computeAckFromJson(value: unknown): SignedComputeAck {
  const json = (value ?? {}) as Record<string, unknown>;
  const hex = (name: string, bytes: number) => {
    const text = json[name];
    if (typeof text !== "string" || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(text)) throw new Error(`${name} must be ${bytes} bytes of hex`);
    return Buffer.from(text, "hex");
  };
  const integer = (name: string) => {
    const number = json[name];
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) throw new Error(`${name} must be a non-negative integer`);
    return number;
  };
  return {
    receipt: {
      nodeKey: hex("nodeKey", 32),
      clientKey: hex("clientKey", 32),
      functionRoot: hex("functionRoot", 32),
      requestHash: hex("requestHash", 32),
      responseHash: hex("responseHash", 32),
      cpuUs: integer("cpuUs"),
      wallMs: integer("wallMs"),
      egressBytes: integer("egressBytes"),
      windowStart: integer("windowStart"),
      windowEnd: integer("windowEnd"),
      nonce: hex("nonce", 16),
      ...(json.llmTokens === undefined ? {} : { agent: { llmTokens: integer("llmTokens") } }),
    },
    nodeSignature: hex("nodeSignature", 64),
    clientSignature: hex("clientSignature", 64),
  };
}
