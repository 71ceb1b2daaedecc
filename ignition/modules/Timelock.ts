import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroAddress } from "ethers";
import { GOVERNANCE } from "../../protocol/governance";

/**
 * The TimelockController: owner of every parameter and treasury of the suite. Anyone may execute a
 * ready operation (executor = zero address). The deployer is its admin only for the length of the
 * deployment: the Governance module grants the governor its roles and then renounces.
 *
 * Parameter: `minDelay` (seconds; default 2 days, docs/spec.md §4).
 */
export default buildModule("Timelock", (m) => {
  const minDelay = m.getParameter("minDelay", GOVERNANCE.timelockDelay);
  const timelock = m.contract("TimelockController", [minDelay, [], [ZeroAddress], m.getAccount(0)]);
  return { timelock };
});
