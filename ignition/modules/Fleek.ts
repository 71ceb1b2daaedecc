import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import TokenModule from "./Token";
import RegistryModule from "./Registry";

/**
 * The whole suite, wired. `admin` (default: the deployer; on Base: the timelock or a multisig)
 * receives every role the deployer held: the deployer keeps nothing.
 */
export default buildModule("Fleek", (m) => {
  const admin = m.getParameter("admin", m.getAccount(0));
  const { flk, emission, vesting } = m.useModule(TokenModule);
  const { registry, rewards, escrow, usdc } = m.useModule(RegistryModule);

  const recipients = m.call(emission, "setRecipients", [admin, rewards]);
  m.call(emission, "transferOwnership", [admin], { after: [recipients] });
  m.call(registry, "transferOwnership", [admin], { id: "RegistryToAdmin" });
  m.call(escrow, "transferOwnership", [admin], { id: "EscrowToAdmin" });

  return { flk, emission, vesting, registry, rewards, escrow, usdc };
});
