/**
 * The transaction envelope clients submit: signer public key (32) | ed25519 signature (64) |
 * payload. The signature covers H("fleek-tx-v1" | payload), so the node can refuse forged or
 * corrupted transactions before they take room in a batch. The payload is opaque to consensus.
 */
import { hash, KeyPair, PUBLIC_KEY_LEN, SIGNATURE_LEN, verifySignature } from "../consensus/types/crypto";

/** Domain tag of the signed message: the signature covers H(TX_TAG | payload). */
export const TX_TAG = Buffer.from("fleek-tx-v1");
/** Bytes before the payload: public key then signature. */
export const ENVELOPE = PUBLIC_KEY_LEN + SIGNATURE_LEN;

/** Builds a signed transaction around `payload`. */
export function signTransaction(payload: Uint8Array, key: KeyPair): Buffer {
  return Buffer.concat([key.publicKey, key.sign(hash(TX_TAG, payload)), payload]);
}

/** The payload of a transaction (without checking it). */
export function transactionPayload(tx: Buffer): Buffer {
  return tx.subarray(ENVELOPE);
}

/** Admission rules for submitted transactions. */
export interface TxRules {
  /** Largest accepted transaction, envelope included. */
  maxTxSize: number;
  /** Check signatures (turning this off is for benchmarks of the ordering path only). */
  verifySignatures: boolean;
}

/** Returns why a transaction breaks the size rules (cheap checks only), or undefined. */
export function checkTransactionShape(tx: Buffer, rules: TxRules): string | undefined {
  if (tx.length > rules.maxTxSize) return `transaction of ${tx.length} bytes above ${rules.maxTxSize}`;
  if (tx.length < ENVELOPE) return "transaction shorter than its envelope";
  return undefined;
}

/** Returns why a submitted transaction is refused, or undefined when it is admissible. */
export function checkTransaction(tx: Buffer, rules: TxRules): string | undefined {
  const bad = checkTransactionShape(tx, rules);
  if (bad || !rules.verifySignatures) return bad;
  const ok = verifySignature(tx.subarray(0, PUBLIC_KEY_LEN), hash(TX_TAG, tx.subarray(ENVELOPE)), tx.subarray(PUBLIC_KEY_LEN, ENVELOPE));
  return ok ? undefined : "bad transaction signature";
}
