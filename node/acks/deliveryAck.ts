import { randomBytes, sign, verify, type KeyObject } from "node:crypto";
import { parseContentHash, type ContentHash } from "../blockstore/contentHash";
import { ed25519PublicKeyFromRaw } from "./ed25519Keys";

/**
 * A client's statement that a node delivered content to it: "node N gave me `bytes` bytes of
 * content R between windowStart and windowEnd". The nonce makes each statement unique, so one
 * delivery cannot be counted twice.
 */
export interface DeliveryAck {
  /** Ed25519 public key of the node that served (32 bytes, as registered on chain). */
  nodeKey: Buffer;
  /** Ed25519 public key of the client that signs (32 bytes). */
  clientKey: Buffer;
  /** Root of the content delivered. */
  contentHash: ContentHash;
  /** Bytes received. */
  bytes: number;
  /** Start of the time window the delivery happened in (Unix ms). */
  windowStart: number;
  /** End of that window (Unix ms); acks are accepted only until then (plus clock skew). */
  windowEnd: number;
  /** 16 random bytes. */
  nonce: Buffer;
}

/** An ack with the client's Ed25519 signature over {@link encodeDeliveryAck}. */
export interface SignedDeliveryAck {
  ack: DeliveryAck;
  signature: Buffer;
}

/** Domain tag: a signature over an ack can never be replayed as a signature over anything else. */
const DOMAIN = Buffer.from("fleek-network/delivery-ack/v1\0", "utf8");
/** Bytes of the canonical encoding. */
export const DELIVERY_ACK_BYTES = DOMAIN.length + 32 + 32 + 32 + 8 + 8 + 8 + 16;

/**
 * The canonical bytes a client signs: domain tag ‖ node key ‖ client key ‖ content root ‖
 * u64be bytes ‖ u64be windowStart ‖ u64be windowEnd ‖ nonce. Fixed width, so two different acks
 * never share an encoding.
 */
export function encodeDeliveryAck(ack: DeliveryAck): Buffer {
  const out = Buffer.alloc(DELIVERY_ACK_BYTES);
  let at = DOMAIN.copy(out, 0);
  at += copyExact(ack.nodeKey, 32, "node key", out, at);
  at += copyExact(ack.clientKey, 32, "client key", out, at);
  at += copyExact(Buffer.from(ack.contentHash, "hex"), 32, "content hash", out, at);
  for (const [name, value] of [
    ["bytes", ack.bytes],
    ["windowStart", ack.windowStart],
    ["windowEnd", ack.windowEnd],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative safe integer`);
    out.writeBigUInt64BE(BigInt(value), at);
    at += 8;
  }
  copyExact(ack.nonce, 16, "nonce", out, at);
  return out;
}

function copyExact(bytes: Buffer, length: number, name: string, out: Buffer, at: number): number {
  if (bytes.length !== length) throw new Error(`${name} must have ${length} bytes, got ${bytes.length}`);
  return bytes.copy(out, at);
}

/** A fresh nonce for an ack. */
export function newAckNonce(): Buffer {
  return randomBytes(16);
}

/** Signs an ack with the client's Ed25519 private key. */
export function signDeliveryAck(ack: DeliveryAck, clientPrivateKey: KeyObject): SignedDeliveryAck {
  return { ack, signature: sign(null, encodeDeliveryAck(ack), clientPrivateKey) };
}

/** Whether the signature is the client's over this exact ack. */
export function verifyDeliveryAckSignature(signed: SignedDeliveryAck): boolean {
  if (signed.signature.length !== 64) return false;
  try {
    return verify(null, encodeDeliveryAck(signed.ack), ed25519PublicKeyFromRaw(signed.ack.clientKey), signed.signature);
  } catch {
    return false;
  }
}

/** JSON form of a signed ack: keys, nonce and signature in hex, numbers as numbers. */
export interface SignedDeliveryAckJson {
  nodeKey: string;
  clientKey: string;
  contentHash: string;
  bytes: number;
  windowStart: number;
  windowEnd: number;
  nonce: string;
  signature: string;
}

/** The JSON form, for HTTP bodies and queues. */
export function deliveryAckToJson({ ack, signature }: SignedDeliveryAck): SignedDeliveryAckJson {
  return {
    nodeKey: ack.nodeKey.toString("hex"),
    clientKey: ack.clientKey.toString("hex"),
    contentHash: ack.contentHash,
    bytes: ack.bytes,
    windowStart: ack.windowStart,
    windowEnd: ack.windowEnd,
    nonce: ack.nonce.toString("hex"),
    signature: signature.toString("hex"),
  };
}

/** Parses the JSON form; throws with the field at fault (the signature is not checked here). */
export function deliveryAckFromJson(value: unknown): SignedDeliveryAck {
  const json = (value ?? {}) as Record<string, unknown>;
  const hex = (name: string, bytes: number) => {
    const text = json[name];
    if (typeof text !== "string" || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(text)) {
      throw new Error(`${name} must be ${bytes} bytes of hex`);
    }
    return Buffer.from(text, "hex");
  };
  const integer = (name: string) => {
    const number = json[name];
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) throw new Error(`${name} must be a non-negative integer`);
    return number;
  };
  const contentHash = typeof json.contentHash === "string" ? parseContentHash(json.contentHash) : undefined;
  if (!contentHash) throw new Error("contentHash must be 32 bytes of hex");
  return {
    ack: {
      nodeKey: hex("nodeKey", 32),
      clientKey: hex("clientKey", 32),
      contentHash,
      bytes: integer("bytes"),
      windowStart: integer("windowStart"),
      windowEnd: integer("windowEnd"),
      nonce: hex("nonce", 16),
    },
    signature: hex("signature", 64),
  };
}
