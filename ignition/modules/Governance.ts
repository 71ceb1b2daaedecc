import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { id, ZeroHash } from "ethers";
import { GOVERNANCE } from "../../protocol/governance";
import StakingModule from "./Staking";
import TimelockModule from "./Timelock";

/**
 * The governor over staked FLK, wired to the timelock: the governor is the only proposer and
 * canceller, anyone executes, and the deployer renounces its timelock admin role here, so after
 * this module the timelock administers itself alone.
 *
 * Parameters: `votingDelay`, `votingPeriod` (seconds), `proposalThreshold` (wei of staked FLK),
 * `quorumPercent`; defaults from docs/spec.md §4 in protocol/governance.ts.
 */
export default buildModule("Governance", (m) => {
  const { staking } = m.useModule(StakingModule);
  const { timelock } = m.useModule(TimelockModule);
  const governor = m.contract("FleekGovernor", [
    staking,
    timelock,
    m.getParameter("votingDelay", GOVERNANCE.votingDelay),
    m.getParameter("votingPeriod", GOVERNANCE.votingPeriod),
    m.getParameter("proposalThreshold", GOVERNANCE.proposalThreshold),
    m.getParameter("quorumPercent", GOVERNANCE.quorumPercent),
  ]);
  const proposer = m.call(timelock, "grantRole", [id("PROPOSER_ROLE"), governor], { id: "GrantProposer" });
  const canceller = m.call(timelock, "grantRole", [id("CANCELLER_ROLE"), governor], { id: "GrantCanceller" });
  m.call(timelock, "renounceRole", [ZeroHash, m.getAccount(0)], { id: "RenounceAdmin", after: [proposer, canceller] });
  return { governor, timelock };
});
