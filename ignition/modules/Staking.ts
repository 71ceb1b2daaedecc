import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { CREDITS_PER_FLK_MONTH, TIER_THRESHOLDS, UNBONDING_PERIOD } from "../../protocol/governance";
import TimelockModule from "./Timelock";
import TokenModule from "./Token";

/**
 * Staking (rewards + votes) and the service-credit parameters, both owned by the timelock.
 * Parameters: `unbondingPeriod` (seconds), `creditsPerFlkMonth` (18 decimals), `tierThresholds`
 * (wei, ascending); defaults in protocol/governance.ts.
 */
export default buildModule("Staking", (m) => {
  const { emission } = m.useModule(TokenModule);
  const { timelock } = m.useModule(TimelockModule);
  const staking = m.contract("Staking", [emission, timelock, m.getParameter("unbondingPeriod", UNBONDING_PERIOD)]);
  const serviceCredits = m.contract("ServiceCredits", [
    timelock,
    m.getParameter("creditsPerFlkMonth", CREDITS_PER_FLK_MONTH),
    m.getParameter("tierThresholds", [...TIER_THRESHOLDS]),
  ]);
  return { staking, serviceCredits };
});
