import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import GovernanceModule from "./Governance";
import StakingModule from "./Staking";
import TokenModule from "./Token";
import CreatorModule from "./Creator";
import BuybackModule from "./Buyback";
import RegistryModule from "./Registry";
import FunctionsModule from "./Functions";
import AgentsModule from "./Agents";

/**
 * The whole suite, wired. The TimelockController (driven by the governor) is the admin of
 * everything: it owns Emission and every parameter and holds the ecosystem treasury; the node half
 * of emission streams to the node rewards contract. The deployer keeps nothing. The edge
 * functions' registry has no owner and no wiring: it is here so every part finds its address in
 * the same deployment record. The agent marketplace is owned by the timelock like the rest; the
 * escrow splits agent revenue through it (docs/agents.md "Settlement").
 */
export default buildModule("Fleek", (m) => {
  const { flk, emission, vesting } = m.useModule(TokenModule);
  const { staking, serviceCredits } = m.useModule(StakingModule);
  const { governor, timelock } = m.useModule(GovernanceModule);
  const { registry, rewards, escrow } = m.useModule(RegistryModule);

  const recipients = m.call(emission, "setRecipients", [staking, rewards]);
  m.call(emission, "transferOwnership", [timelock], { after: [recipients] });

  const { creatorMarket } = m.useModule(CreatorModule);
  const creatorTreasury = m.call(creatorMarket, "setTreasury", [timelock]);
  m.call(creatorMarket, "transferOwnership", [timelock], { after: [creatorTreasury] });

  const { buyback, usdc } = m.useModule(BuybackModule);
  m.call(buyback, "transferOwnership", [timelock]);

  m.call(registry, "transferOwnership", [timelock], { id: "RegistryToTimelock" });

  const { functionRegistry } = m.useModule(FunctionsModule);

  // The escrow hands agent revenue to the marketplace (which admits only this escrow), then both go to the timelock.
  const { agentMarketplace, tokenCallEscrow } = m.useModule(AgentsModule);
  const escrowMarketplace = m.call(escrow, "setMarketplace", [agentMarketplace]);
  m.call(escrow, "transferOwnership", [timelock], { id: "EscrowToTimelock", after: [escrowMarketplace] });
  m.call(agentMarketplace, "transferOwnership", [timelock], { id: "AgentsToTimelock" });

  return {
    flk,
    emission,
    vesting,
    staking,
    serviceCredits,
    governor,
    timelock,
    creatorMarket,
    buyback,
    usdc,
    registry,
    rewards,
    escrow,
    functionRegistry,
    agentMarketplace,
    tokenCallEscrow,
  };
});
