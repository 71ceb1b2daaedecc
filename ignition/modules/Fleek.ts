import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import TokenModule from "./Token";
import CreatorModule from "./Creator";
import BuybackModule from "./Buyback";

/**
 * The whole suite, wired. `admin` (default: the deployer; on Base: the timelock or a multisig)
 * receives every role the deployer held: the deployer keeps nothing.
 */
export default buildModule("Fleek", (m) => {
  const admin = m.getParameter("admin", m.getAccount(0));
  const { flk, emission, vesting } = m.useModule(TokenModule);

  const recipients = m.call(emission, "setRecipients", [admin, admin]);
  m.call(emission, "transferOwnership", [admin], { after: [recipients] });

  const { creatorMarket } = m.useModule(CreatorModule);
  const creatorTreasury = m.call(creatorMarket, "setTreasury", [admin]);
  m.call(creatorMarket, "transferOwnership", [admin], { after: [creatorTreasury] });

  const { buyback, usdc } = m.useModule(BuybackModule);
  m.call(buyback, "transferOwnership", [admin]);

  return { flk, emission, vesting, creatorMarket, buyback, usdc };
});
