/**
 * Helpers for the application-state tests: committee members with node keys and report signers,
 * clients with ack keys and escrow accounts, and the signed transactions they produce.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { Wallet } from "ethers";
import { signDeliveryAck, newAckNonce, type SignedDeliveryAck } from "../../../node/acks/deliveryAck";
import { rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";
import { signPayerBinding } from "../../../node/acks/payerBinding";
import { AppTxKind, encodeAppTx, type AppTx } from "../../../node/app/appTransactions";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import { signTransaction } from "../../../node/client/transaction";
import type { KeyPair } from "../../../node/consensus/types/crypto";

/** A client: its ack key and the escrow account that pays for it. */
export interface TestClient {
  privateKey: KeyObject;
  key: Buffer;
  account: Wallet;
}

/** A fresh client paying from `account`. */
export function newClient(account: Wallet = Wallet.createRandom() as unknown as Wallet): TestClient {
  const { privateKey } = generateKeyPairSync("ed25519");
  return { privateKey, key: rawEd25519PublicKey(privateKey), account };
}

/** A client-signed ack of `bytes` delivered by `nodeKey`, its window starting at `at` (Unix ms). */
export function ackFrom(client: TestClient, nodeKey: Buffer, bytes: number, at: number): SignedDeliveryAck {
  const ack = {
    nodeKey,
    clientKey: client.key,
    contentHash: "ab".repeat(32) as ContentHash,
    bytes,
    windowStart: at,
    windowEnd: at + 60_000,
    nonce: newAckNonce(),
  };
  return signDeliveryAck(ack, client.privateKey);
}

/** An application transaction signed with a member's node key. */
export function tx(key: KeyPair, body: AppTx): Buffer {
  return signTransaction(encodeAppTx(body), key);
}

/** The payer binding transaction of `client`, submitted by `key`. */
export async function payerTx(key: KeyPair, client: TestClient): Promise<Buffer> {
  return tx(key, { kind: AppTxKind.Payer, binding: await signPayerBinding(client.privateKey, client.key, client.account) });
}

/** A member's report signature transaction for `digest`. */
export function signatureTx(key: KeyPair, signer: Wallet, epoch: number, digest: string): Buffer {
  return tx(key, { kind: AppTxKind.ReportSignature, epoch, signature: Buffer.from(signer.signingKey.sign(digest).serialized.slice(2), "hex") });
}
