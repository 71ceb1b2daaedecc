/**
 * Vouchers of agent calls paid in a creator token (contracts/agents/TokenCallEscrow.sol,
 * docs/agents.md "Calls paid in the creator token"): the EIP-712 type the caller's wallet signs and
 * the node checks, one definition for the node, the dashboard and the tests.
 */
import { AbiCoder, concat, dataSlice, isHexString, keccak256, toBeHex, verifyTypedData, type Signer, type TypedDataDomain } from "ethers";

/** "The caller owes node `nodeId` for calls of agent `agentId` a cumulative `cumulative` wei of `token`." */
export interface TokenVoucher {
  caller: string;
  agentId: bigint;
  nodeId: number;
  token: string;
  cumulative: bigint;
}

/** The EIP-712 type, field for field TokenCallEscrow's `VOUCHER_TYPEHASH`. */
export const TOKEN_VOUCHER_TYPES = {
  Voucher: [
    { name: "caller", type: "address" },
    { name: "agentId", type: "uint256" },
    { name: "nodeId", type: "uint32" },
    { name: "token", type: "address" },
    { name: "cumulative", type: "uint256" },
  ],
};

/** TokenCallEscrow's EIP-712 domain on chain `chainId` at `escrow`. */
export function tokenVoucherDomain(chainId: bigint, escrow: string): TypedDataDomain {
  return { name: "TokenCallEscrow", version: "1", chainId, verifyingContract: escrow };
}

/** secp256k1's group order, and its half: the highest `s` OpenZeppelin's ECDSA accepts. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const SECP256K1_HALF_N = SECP256K1_N / 2n;

/**
 * The caller's wallet signs `voucher` (its `caller` must be the wallet's address), in the one form
 * the escrow recovers: some wallets (hardware ones) answer v 0/1 or a high s for the same signature.
 */
export async function signTokenVoucher(wallet: Signer, domain: TypedDataDomain, voucher: TokenVoucher): Promise<string> {
  const signature = await wallet.signTypedData(domain, TOKEN_VOUCHER_TYPES, voucher);
  if (!isHexString(signature, 65)) return signature; // not ECDSA r‖s‖v: the node says why
  let v = Number.parseInt(signature.slice(130), 16);
  let s = BigInt(dataSlice(signature, 32, 64));
  if (v === 0 || v === 1) v += 27;
  if (s > SECP256K1_HALF_N && (v === 27 || v === 28)) [s, v] = [SECP256K1_N - s, 55 - v];
  return concat([dataSlice(signature, 0, 32), toBeHex(s, 32), toBeHex(v, 1)]);
}

/**
 * Why `signature` is not `voucher.caller`'s ECDSA signature of `voucher` in the one form
 * TokenCallEscrow.redeem recovers (OpenZeppelin ECDSA: 65 bytes r‖s‖v, v 27 or 28, s at most half
 * the group order), or undefined if it is. ethers alone also takes v 0/1, 64-byte and high-s
 * signatures, which the contract refuses: a node admitting calls on them would never be paid.
 */
export function tokenVoucherSignatureFault(domain: TypedDataDomain, voucher: TokenVoucher, signature: string): string | undefined {
  if (!isHexString(signature, 65)) return "the voucher's signature must be 65 bytes r, s, v (hex)";
  const v = Number.parseInt(signature.slice(130), 16);
  if (v !== 27 && v !== 28) return `the voucher's signature has v = ${v}: it must be 27 or 28`;
  if (BigInt(dataSlice(signature, 32, 64)) > SECP256K1_HALF_N) return "the voucher's signature has a high s: it must be at most secp256k1n/2";
  try {
    if (verifyTypedData(domain, TOKEN_VOUCHER_TYPES, voucher, signature).toLowerCase() === voucher.caller.toLowerCase()) return undefined;
  } catch {
    // No point on the curve for this r: signed by no one.
  }
  return `the voucher is not signed by its caller ${voucher.caller}`;
}

/** The voucher's channel, as TokenCallEscrow.channelId: keccak256(abi.encode(caller, agentId, nodeId, token)). */
export function tokenChannelId(v: Pick<TokenVoucher, "caller" | "agentId" | "nodeId" | "token">): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256", "uint32", "address"], [v.caller, v.agentId, v.nodeId, v.token]));
}
