/**
 * Agent owners' secrets (an LLM API key) sealed to the host node (docs/agents-runtime.md
 * "Secrets"). The node's sealing key is an X25519 key derived from its Ed25519 seed with HKDF
 * (domain-separated), not the Ed25519 key converted: the agents service process holds it, and a
 * converted key would be the node's signing scalar. Its public half is served at
 * `GET /agents/_key` and is what owners seal to. Sealing (ECIES): an ephemeral X25519 key,
 * HKDF-SHA256 of the shared secret (salt: both public keys), ChaCha20-Poly1305 with the agent's id
 * as associated data, so a sealed secret opens only for the agent it was sealed for. All from
 * node:crypto (OpenSSL). Without a TEE the operator can read every secret it opens.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";

const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");
const DERIVE_INFO = "fleek-network/agent-sealing-key/v1";
const SEAL_INFO = "fleek-network/agent-secret/v1";

/** The node's X25519 sealing key (private, raw 32 bytes) from its Ed25519 seed. */
export function sealingKeyFromSeed(seed: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", seed, Buffer.alloc(0), DERIVE_INFO, 32));
}

/** The raw public half of a raw X25519 private key. */
export function sealingPublicKey(privateRaw: Uint8Array): Buffer {
  return rawPublic(createPublicKey(privateKeyOf(privateRaw)));
}

/** Seals `secret` for agent `agentId` to a node's sealing public key; base64 of ephemeral key ‖ nonce ‖ ciphertext ‖ tag. */
export function sealSecret(nodePublicRaw: Uint8Array, agentId: string, secret: string): string {
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralPublic = rawPublic(ephemeral.publicKey);
  const key = sharedKey(ephemeral.privateKey, publicKeyOf(nodePublicRaw), ephemeralPublic, Buffer.from(nodePublicRaw));
  const nonce = randomBytes(12);
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(agentId, "utf8"), { plaintextLength: Buffer.byteLength(secret) });
  const sealed = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return Buffer.concat([ephemeralPublic, nonce, sealed, cipher.getAuthTag()]).toString("base64");
}

/** Opens a sealed secret of agent `agentId`; throws when it was sealed to another key or agent, or altered. */
export function openSecret(privateRaw: Uint8Array, agentId: string, sealedBase64: string): string {
  const sealed = Buffer.from(sealedBase64, "base64");
  if (sealed.length < 32 + 12 + 16) throw new Error("a sealed secret is at least 60 bytes");
  const ephemeralPublic = sealed.subarray(0, 32);
  const nonce = sealed.subarray(32, 44);
  const tag = sealed.subarray(sealed.length - 16);
  const key = sharedKey(privateKeyOf(privateRaw), publicKeyOf(ephemeralPublic), ephemeralPublic, sealingPublicKey(privateRaw));
  const decipher = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  decipher.setAAD(Buffer.from(agentId, "utf8"), { plaintextLength: sealed.length - 60 });
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(44, sealed.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    throw new Error(`the sealed secret of agent ${agentId} does not open with this node's key (sealed to another node or agent, or altered)`);
  }
}

function sharedKey(privateKey: KeyObject, publicKey: KeyObject, ephemeralPublic: Buffer, recipientPublic: Buffer): Buffer {
  const shared = diffieHellman({ privateKey, publicKey });
  return Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ephemeralPublic, recipientPublic]), SEAL_INFO, 32));
}

function privateKeyOf(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an X25519 private key has 32 bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw]), format: "der", type: "pkcs8" });
}

function publicKeyOf(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an X25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: "der", type: "spki" });
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "spki" }).subarray(X25519_SPKI.length);
}
