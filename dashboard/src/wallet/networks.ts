/** The chains the dashboard knows how to switch a wallet to. */
export interface Network {
  chainId: number;
  name: string;
  rpcUrl: string;
  explorer?: string;
}

/** Base mainnet, Base Sepolia and the local Hardhat devnet (chain 31337). */
export const NETWORKS: Record<number, Network> = {
  8453: { chainId: 8453, name: "Base", rpcUrl: "https://mainnet.base.org", explorer: "https://basescan.org" },
  84532: { chainId: 84532, name: "Base Sepolia", rpcUrl: "https://sepolia.base.org", explorer: "https://sepolia.basescan.org" },
  31337: { chainId: 31337, name: "Local devnet", rpcUrl: "http://127.0.0.1:8545" },
};

/** The display name of a chain id, known or not. */
export function networkName(chainId: number): string {
  return NETWORKS[chainId]?.name ?? `chain ${chainId}`;
}
