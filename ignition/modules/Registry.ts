import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import TokenModule from "./Token";
import UsdcModule from "./Usdc";
import BuybackModule from "./Buyback";
import { REGISTRY_DEFAULTS } from "../../protocol/params";

/**
 * Node registry (epochs, committee, reports), the rewards contract and the USDC service escrow
 * (docs/spec.md §5). Registry and escrow stay owned by the deployer here: the top-level module hands them
 * to the timelock and points Emission's node half at `rewards`.
 *
 * The escrow pays the non-node share of USDC debits to the buyback-and-burn contract.
 *
 * Parameters (defaults in protocol/params.ts): `minimumStake`, `epochDuration` (seconds: 1 day on
 * Base), `revealDuration`, `committeeSize`, `slashAmount`, `noticePeriod`.
 */
export default buildModule("Registry", (m) => {
  const deployer = m.getAccount(0);
  const { flk, emission } = m.useModule(TokenModule);
  const { usdc } = m.useModule(UsdcModule);
  const { buyback } = m.useModule(BuybackModule);

  // The committee draw and stake ranking, and the report's EIP-712 hash and checks, run in linked
  // libraries (keeps NodeRegistry under the size limit).
  const selection = m.library("Selection");
  const epochReports = m.library("EpochReports");
  const registry = m.contract(
    "NodeRegistry",
    [
      flk,
      deployer,
      m.getParameter("minimumStake", REGISTRY_DEFAULTS.minimumStake),
      m.getParameter("epochDuration", REGISTRY_DEFAULTS.epochDuration),
      m.getParameter("revealDuration", REGISTRY_DEFAULTS.revealDuration),
      m.getParameter("committeeSize", REGISTRY_DEFAULTS.committeeSize),
      m.getParameter("slashAmount", REGISTRY_DEFAULTS.slashAmount),
    ],
    { libraries: { Selection: selection, EpochReports: epochReports } },
  );
  const rewards = m.contract("EpochRewards", [flk, usdc, registry, emission]);
  const escrow = m.contract("ServiceEscrow", [usdc, registry, rewards, deployer, buyback, m.getParameter("noticePeriod", REGISTRY_DEFAULTS.noticePeriod)]);
  m.call(registry, "setPayments", [escrow, rewards]);

  return { registry, rewards, escrow, usdc };
});
