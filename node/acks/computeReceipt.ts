import { hash, sign, verify, type KeyObject } from "node:crypto";
import { computeAckMessage, encodeComputeReceipt, type ComputeAckJson, type ComputeReceipt as ProtocolComputeReceipt } from "../../protocol/computeAck";
import { ed25519PublicKeyFromRaw } from "./ed25519Keys";

/** A receipt as the node holds it (protocol/computeAck.ts). */
export type ComputeReceipt = ProtocolComputeReceipt<Buffer>;

/** A receipt with the node's signature, and the client's countersignature once acknowledged. */
export interface SignedComputeAck {
  receipt: ComputeReceipt;
  /** The node's Ed25519 signature over {@link encodeComputeReceipt}. */
  nodeSignature: Buffer;
  /** The client's Ed25519 signature over {@link computeAckMessage}. */
  clientSignature: Buffer;
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
