import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GovernanceModule from "./Governance";
import StakingModule from "./Staking";
import TokenModule from "./Token";
import CreatorModule from "./Creator";
import BuybackModule from "./Buyback";

/**
 * The whole suite, wired. The TimelockController (driven by the governor) is the admin of
 * everything: it owns Emission and every parameter, holds the ecosystem treasury and, until the
 * node registry exists, receives the node half of emission. The deployer keeps nothing.
 */
export default buildModule("Fleek", (m) => {
  const { flk, emission, vesting } = m.useModule(TokenModule);
  const { staking, serviceCredits } = m.useModule(StakingModule);
  const { governor, timelock } = m.useModule(GovernanceModule);

  const recipients = m.call(emission, "setRecipients", [staking, timelock]);
  m.call(emission, "transferOwnership", [timelock], { after: [recipients] });

  const { creatorMarket } = m.useModule(CreatorModule);
  const creatorTreasury = m.call(creatorMarket, "setTreasury", [timelock]);
  m.call(creatorMarket, "transferOwnership", [timelock], { after: [creatorTreasury] });

  const { buyback, usdc } = m.useModule(BuybackModule);
  m.call(buyback, "transferOwnership", [timelock]);

  return { flk, emission, vesting, staking, serviceCredits, governor, timelock, creatorMarket, buyback, usdc };
});
