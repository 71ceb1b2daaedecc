/**
 * The two messages that bind a client's Ed25519 key to the ServiceEscrow account paying for its
 * acknowledgments (node/acks/payerBinding.ts verifies them, the dashboard's callerKey.ts signs
 * them): one definition for both, in plain Uint8Array.
 */
import { getAddress, getBytes, hexlify } from "ethers";

const PAYER_DOMAIN = new TextEncoder().encode("fleek-network/payer-binding/v1\0");

/** What a client key signs to be paid for by `account`: domain tag ‖ account (20 bytes). */
export function payerClientMessage(account: string): Uint8Array {
  const address = getBytes(getAddress(account));
  const out = new Uint8Array(PAYER_DOMAIN.length + address.length);
  out.set(PAYER_DOMAIN);
  out.set(address, PAYER_DOMAIN.length);
  return out;
}

/** What the account signs (an EIP-191 personal message), readable in a wallet, to pay for `clientKey`. */
export function payerAccountMessage(clientKey: Uint8Array): string {
  return `Fleek Network: delivery acknowledgments signed by client key ${hexlify(clientKey).slice(2)} are paid from this account.`;
}
