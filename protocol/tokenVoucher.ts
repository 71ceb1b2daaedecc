/**
 * Vouchers of agent calls paid in a creator token (contracts/agents/TokenCallEscrow.sol,
 * docs/agents.md "Calls paid in the creator token"): the EIP-712 type the caller's wallet signs and
 * the node checks, one definition for the node, the dashboard and the tests.
 */
import { AbiCoder, keccak256, verifyTypedData, type Signer, type TypedDataDomain } from "ethers";

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

/** The caller's wallet signs `voucher` (its `caller` must be the wallet's address). */
export function signTokenVoucher(wallet: Signer, domain: TypedDataDomain, voucher: TokenVoucher): Promise<string> {
  return wallet.signTypedData(domain, TOKEN_VOUCHER_TYPES, voucher);
}

/** Whether `signature` is `voucher.caller`'s signature of `voucher` (an EOA's: a malformed signature is not). */
export function isTokenVoucherSigned(domain: TypedDataDomain, voucher: TokenVoucher, signature: string): boolean {
  try {
    return verifyTypedData(domain, TOKEN_VOUCHER_TYPES, voucher, signature).toLowerCase() === voucher.caller.toLowerCase();
  } catch {
    return false;
  }
}

/** The voucher's channel, as TokenCallEscrow.channelId: keccak256(abi.encode(caller, agentId, nodeId, token)). */
export function tokenChannelId(v: Pick<TokenVoucher, "caller" | "agentId" | "nodeId" | "token">): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256", "uint32", "address"], [v.caller, v.agentId, v.nodeId, v.token]));
}
