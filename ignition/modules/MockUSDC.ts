import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** The local chain's USDC: a 6-decimal mock anyone can mint (SPEC §9). Base uses the real USDC. */
export default buildModule("MockUSDC", (m) => {
  const usdc = m.contract("MockUSDC");
  return { usdc };
});
