/**
 * Hashing and ed25519 signatures on top of node:crypto (native, no dependency).
 * Keys travel as raw 32-byte public keys and 32-byte seeds; KeyObjects are built once and cached
 * because creating them costs more than a verification.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from "node:crypto";

/** Length of a digest (SHA-256) in bytes. */
export const DIGEST_LEN = 32;
/** Length of a raw ed25519 public key in bytes. */
export const PUBLIC_KEY_LEN = 32;
/** Length of an ed25519 signature in bytes. */
export const SIGNATURE_LEN = 64;

/** SHA-256 of the concatenation of the given parts. */
export function hash(...parts: Uint8Array[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

// DER prefixes that wrap a raw ed25519 key into SPKI / PKCS#8, the forms node:crypto imports.
/** DER prefix of an ed25519 SPKI public key (exported for the signature verifier threads). */
export const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** Clients' keys pass through here too: past this many the cache starts over. */
const PUBLIC_KEY_CACHE_SIZE = 4096;
const publicKeyCache = new Map<string, KeyObject>();

/** The node:crypto KeyObject for a raw 32-byte ed25519 public key (cached). */
function publicKeyObject(raw: Uint8Array): KeyObject {
  const hex = Buffer.from(raw).toString("hex");
  let key = publicKeyCache.get(hex);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_SIZE) publicKeyCache.clear();
    publicKeyCache.set(hex, key);
  }
  return key;
}

/** An ed25519 key pair: the raw public key and a private KeyObject ready to sign. */
export class KeyPair {
  private constructor(
    /** Raw 32-byte public key. */
    readonly publicKey: Buffer,
    private readonly privateKey: KeyObject,
    /** Raw 32-byte seed, kept so the key can be written to a config file. */
    readonly seed: Buffer,
  ) {}

  /** Rebuilds a key pair from its 32-byte seed. */
  static fromSeed(seed: Uint8Array): KeyPair {
    if (seed.length !== 32) throw new Error("ed25519 seed must be 32 bytes");
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    return new KeyPair(Buffer.from(spki.subarray(SPKI_PREFIX.length)), privateKey, Buffer.from(seed));
  }

  /** A fresh random key pair. */
  static generate(): KeyPair {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
    return KeyPair.fromSeed(pkcs8.subarray(PKCS8_PREFIX.length));
  }

  /** Signs a message (for consensus messages the message is always a digest). */
  sign(message: Uint8Array): Buffer {
    return sign(null, message, this.privateKey);
  }
}

/** True if `signature` is a valid ed25519 signature of `message` by the raw `publicKey`. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LEN || signature.length !== SIGNATURE_LEN) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false; // a point that does not decode is simply an invalid key
  }
}
