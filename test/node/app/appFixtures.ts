/**
 * Helpers for the application-state tests: committee members with node keys and report signers,
 * clients with ack keys and escrow accounts, and the signed transactions they produce.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { Wallet } from "ethers";
import { signDeliveryAck, newAckNonce, type SignedDeliveryAck } from "../../../node/acks/deliveryAck";
import { ed25519PrivateKeyFromSeed, rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";
import { signComputeAck, signComputeReceipt } from "../../../node/acks/computeReceipt";
import { signPayerBinding } from "../../../node/acks/payerBinding";
import { AppTxKind, encodeAppTx, type AppTx } from "../../../node/app/appTransactions";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import { signTransaction } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import type { ContextNode, EpochContext } from "../../../node/app/epochState";
import { CHAIN_ID } from "../chain/chainNodes";

/** Start of the acks window of the test epoch (Unix ms). */
export const START_MS = 1_800_000_000_000;

/** A committee member: node key, report signer, and the node as the epoch's context lists it. */
export interface Member {
  key: KeyPair;
  signer: Wallet;
  node: ContextNode;
}

/** `n` members with ids 1..n, fresh keys and signers. */
export function members(n: number): Member[] {
  return Array.from({ length: n }, (_, i) => {
    const key = KeyPair.generate();
    const signer = Wallet.createRandom() as unknown as Wallet;
    const owner = Wallet.createRandom().address;
    return { key, signer, node: { id: i + 1, nodeKey: key.publicKey.toString("hex"), signer: signer.address, owner, lockedUntil: BigInt(10 * i) } };
  });
}

/** The context of epoch 3 with `ms` as committee and active set, a day of acks from START_MS. */
export function context(ms: Member[], overrides: Partial<EpochContext> = {}): EpochContext {
  return {
    epoch: 3,
    acksFromMs: START_MS,
    acksUntilMs: START_MS + 86_400_000,
    chainId: CHAIN_ID,
    registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    committee: ms.map((m) => m.node),
    active: ms.map((m) => m.node),
    previousReputation: new Map([
      [1, 60],
      [2, 40],
    ]),
    ...overrides,
  };
}

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

/** A compute ack of one invocation of `functionRoot` (hex) served by `key` to `client`, its window starting at `at`. */
export function computeAckTx(key: KeyPair, client: TestClient, functionRoot: string, at: number): Buffer {
  const receipt = {
    nodeKey: key.publicKey,
    clientKey: client.key,
    functionRoot: Buffer.from(functionRoot, "hex"),
    requestHash: Buffer.alloc(32, 1),
    responseHash: Buffer.alloc(32, 2),
    cpuUs: 100,
    wallMs: 1,
    egressBytes: 5,
    windowStart: at,
    windowEnd: at + 60_000,
    nonce: newAckNonce(),
  };
  const ack = {
    receipt,
    nodeSignature: signComputeReceipt(receipt, ed25519PrivateKeyFromSeed(key.seed)),
    clientSignature: signComputeAck(receipt, client.privateKey),
  };
  return tx(key, { kind: AppTxKind.ComputeAcks, acks: [ack] });
}
