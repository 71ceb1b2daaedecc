import hre from "hardhat";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** USDC on the chains of docs/spec.md §9. */
export const USDC_ADDRESSES: Record<number, string> = {
  8453: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  84532: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
};

/**
 * USDC: on Base and Base Sepolia the real token (parameter `usdc`, defaulting to the address of
 * docs/spec.md §9); on any other chain (the local Hardhat network, a devnet) a freshly deployed MockUSDC
 * with an open `mint`. The branch is taken when the module is built, from the network Hardhat runs
 * against: Ignition cannot branch on a parameter's value.
 */
export default buildModule("Usdc", (m) => {
  const known = USDC_ADDRESSES[hre.network.config.chainId ?? 0];
  if (known !== undefined) return { usdc: m.contractAt("IERC20Metadata", m.getParameter("usdc", known)) };
  return { usdc: m.contract("MockUSDC") };
});
