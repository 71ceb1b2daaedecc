/**
 * Proof of possession of a node's two keys (docs/registry.md, "Nodes and stake"). At
 * registration both the report signer (secp256k1, checked on chain) and the node key (ed25519,
 * stored on chain, checked by nodes, the indexer and the dashboard: Base has no ed25519
 * precompile) sign the EIP-712 digest of `NodeKeyProof(address operator, bytes32 nodeKey, address
 * signer)` under the registry's domain, which binds the chain id, the registry's address and the
 * registering owner: a key or signer seen on chain cannot be registered by anyone else.
 *
 * Browser-safe (no node: imports): the dashboard checks a pasted proof with the same code.
 */
import { ed25519 } from "@noble/curves/ed25519";
import { getAddress, getBytes, hexlify, isAddress, isHexString, TypedDataEncoder, verifyTypedData, type Wallet } from "ethers";
import { reportDomain as registryDomain } from "./report";

export const NODE_KEY_PROOF_TYPES = {
  NodeKeyProof: [
    { name: "operator", type: "address" },
    { name: "nodeKey", type: "bytes32" },
    { name: "signer", type: "address" },
  ],
};

/** What a proof binds: the registering owner and the node's two keys. */
export interface NodeKeyProofSubject {
  operator: string;
  /** The ed25519 public key, 0x-prefixed 32 bytes. */
  nodeKey: string;
  signer: string;
}

/** The digest both keys sign (NodeRegistry.keyProofDigest). */
export function nodeKeyProofDigest(chainId: bigint, registry: string, subject: NodeKeyProofSubject): string {
  return TypedDataEncoder.hash(registryDomain(chainId, registry), NODE_KEY_PROOF_TYPES, subject);
}

/** An ed25519 key pair as the node holds it (node/consensus KeyPair). */
export interface Ed25519Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** The proofs `register` takes: the signer's ECDSA signature and the node key's ed25519 signature as (R, S). */
export interface NodeKeyProofs {
  nodeKey: string;
  signerProof: string;
  keyProof: [string, string];
}

/**
 * Everything an operator needs to register a node from a wallet that holds neither of the node's
 * keys: `node prove` prints it as JSON, the dashboard's registration form reads it back.
 */
export interface RegistrationProof extends NodeKeyProofs {
  chainId: string;
  registry: string;
  operator: string;
  signer: string;
}

/** Signs the proofs for `operator` with both of the node's keys. */
export async function signNodeKeyProof(chainId: bigint, registry: string, operator: string, nodeKey: Ed25519Signer, signer: Wallet): Promise<NodeKeyProofs> {
  const subject = { operator, nodeKey: hexlify(nodeKey.publicKey), signer: signer.address };
  const signerProof = await signer.signTypedData(registryDomain(chainId, registry), NODE_KEY_PROOF_TYPES, subject);
  const sig = nodeKey.sign(getBytes(nodeKeyProofDigest(chainId, registry, subject)));
  return { nodeKey: subject.nodeKey, signerProof, keyProof: [hexlify(sig.subarray(0, 32)), hexlify(sig.subarray(32))] };
}

/**
 * Whether `keyProof` is the node key's ed25519 signature of its proof digest. Nodes and the
 * indexer ignore a registered node for which this is false (a squatted or forged key).
 */
export function verifyNodeKeyProof(chainId: bigint, registry: string, subject: NodeKeyProofSubject, keyProof: readonly string[]): boolean {
  return verifyKeyProofOfDigest(nodeKeyProofDigest(chainId, registry, subject), subject.nodeKey, keyProof);
}

/** The ed25519 check itself, over a digest read from the chain (`NodeRegistry.keyProofDigest`). */
export function verifyKeyProofOfDigest(digest: string, nodeKey: string, keyProof: readonly string[]): boolean {
  try {
    const key = getBytes(nodeKey);
    if (key.length !== 32 || keyProof.length !== 2) return false;
    const sig = new Uint8Array([...getBytes(keyProof[0]), ...getBytes(keyProof[1])]);
    // zip215: false is RFC 8032's strict rule, the one node:crypto and libsodium apply.
    return sig.length === 64 && ed25519.verify(sig, getBytes(digest), key, { zip215: false });
  } catch {
    return false; // not a point on the curve, or malformed
  }
}

/**
 * Reads a {@link RegistrationProof} from JSON text and checks it against the registering wallet
 * and the registry it will be sent to: the form refuses a proof the contract would revert on
 * (wrong operator, chain, registry or signer) and one that nodes would ignore (a bad key proof).
 * Returns the proof, or the reason it is refused.
 */
export function parseRegistrationProof(
  text: string,
  expected: { operator: string; chainId: bigint; registry: string },
): { value: RegistrationProof; error?: undefined } | { value?: undefined; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: "Paste the JSON that `node prove` printed." };
  }
  const p = raw as Partial<Record<keyof RegistrationProof, unknown>>;
  const hex32 = (v: unknown) => typeof v === "string" && isHexString(v, 32);
  if (
    typeof raw !== "object" ||
    raw === null ||
    typeof p.chainId !== "string" ||
    !/^\d{1,20}$/.test(p.chainId) ||
    typeof p.registry !== "string" ||
    !isAddress(p.registry) ||
    typeof p.operator !== "string" ||
    !isAddress(p.operator) ||
    typeof p.signer !== "string" ||
    !isAddress(p.signer) ||
    !hex32(p.nodeKey) ||
    typeof p.signerProof !== "string" ||
    !isHexString(p.signerProof, 65) ||
    !Array.isArray(p.keyProof) ||
    p.keyProof.length !== 2 ||
    !p.keyProof.every(hex32)
  ) {
    return { error: "This is not a registration proof: it needs chainId, registry, operator, nodeKey, signer, signerProof and keyProof." };
  }
  const proof = raw as RegistrationProof;
  if (BigInt(proof.chainId) !== expected.chainId) return { error: `The proof is for chain ${proof.chainId}; this wallet is on chain ${expected.chainId}.` };
  if (getAddress(proof.registry) !== getAddress(expected.registry)) return { error: `The proof is for the registry at ${proof.registry}, not this network's.` };
  if (getAddress(proof.operator) !== getAddress(expected.operator)) {
    return { error: `The proof names ${proof.operator} as the operator; run \`node prove\` again with --operator ${expected.operator}.` };
  }
  const subject = { operator: proof.operator, nodeKey: proof.nodeKey, signer: proof.signer };
  let recovered: string;
  try {
    recovered = verifyTypedData(registryDomain(expected.chainId, expected.registry), NODE_KEY_PROOF_TYPES, subject, proof.signerProof);
  } catch {
    recovered = "";
  }
  if (recovered !== getAddress(proof.signer)) return { error: "The signer's proof does not match: the proof was altered or made for other keys." };
  if (!verifyNodeKeyProof(expected.chainId, expected.registry, subject, proof.keyProof)) {
    return { error: "The node key's proof does not verify: the proof was altered or made for another key." };
  }
  return { value: { ...proof, nodeKey: proof.nodeKey.toLowerCase() } };
}
