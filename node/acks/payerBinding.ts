import { sign, verify, type KeyObject } from "node:crypto";
import { getAddress, isAddress, verifyMessage, type Signer } from "ethers";
import { payerAccountMessage, payerClientMessage } from "../../protocol/payerBinding";
import { ed25519PublicKeyFromRaw } from "./ed25519Keys";

/**
 * Which escrow account pays for a client's deliveries. Acks are signed with the client's Ed25519
 * key, usage is debited from an Ethereum account in ServiceEscrow: the binding links them, signed
 * by both sides — the account (EIP-191) so nobody spends from it without consent, the client key
 * so nobody can point someone else's usage at an empty account and leave nodes unpaid.
 */
export interface PayerBinding {
  /** The client's Ed25519 public key (32 bytes), as in its acks. */
  clientKey: Buffer;
  /** The ServiceEscrow account debited for it (checksummed address). */
  account: string;
  /** Ed25519 signature by the client key over {@link payerClientMessage}. */
  clientSignature: Buffer;
  /** EIP-191 signature by the account over {@link payerAccountMessage} (65 bytes). */
  accountSignature: Buffer;
}

/** Signs a binding with both keys. */
export async function signPayerBinding(clientPrivateKey: KeyObject, clientKey: Buffer, account: Signer): Promise<PayerBinding> {
  const address = await account.getAddress();
  return {
    clientKey,
    account: getAddress(address),
    clientSignature: sign(null, payerClientMessage(address), clientPrivateKey),
    accountSignature: Buffer.from((await account.signMessage(payerAccountMessage(clientKey))).slice(2), "hex"),
  };
}

/** Whether both signatures hold. */
export function verifyPayerBinding(b: PayerBinding): boolean {
  if (b.clientKey.length !== 32 || b.clientSignature.length !== 64 || b.accountSignature.length !== 65 || !isAddress(b.account)) return false;
  try {
    if (!verify(null, payerClientMessage(b.account), ed25519PublicKeyFromRaw(b.clientKey), b.clientSignature)) return false;
    return verifyMessage(payerAccountMessage(b.clientKey), `0x${b.accountSignature.toString("hex")}`) === getAddress(b.account);
  } catch {
    return false;
  }
}

/** JSON form (hex fields) for the gateway's `POST /acks/payer`. */
export interface PayerBindingJson {
  clientKey: string;
  account: string;
  clientSignature: string;
  accountSignature: string;
}

/** The JSON form of a binding. */
export function payerBindingToJson(b: PayerBinding): PayerBindingJson {
  return {
    clientKey: b.clientKey.toString("hex"),
    account: b.account,
    clientSignature: b.clientSignature.toString("hex"),
    accountSignature: b.accountSignature.toString("hex"),
  };
}

/** Parses the JSON form; throws naming the bad field (signatures are not checked here). */
export function payerBindingFromJson(value: unknown): PayerBinding {
  const json = (value ?? {}) as Record<string, unknown>;
  const hex = (name: string, bytes: number) => {
    const text = json[name];
    if (typeof text !== "string" || !new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`).test(text)) throw new Error(`${name} must be ${bytes} bytes of hex`);
    return Buffer.from(text.replace(/^0x/, ""), "hex");
  };
  if (typeof json.account !== "string" || !isAddress(json.account)) throw new Error("account must be an Ethereum address");
  return {
    clientKey: hex("clientKey", 32),
    account: getAddress(json.account),
    clientSignature: hex("clientSignature", 64),
    accountSignature: hex("accountSignature", 65),
  };
}
