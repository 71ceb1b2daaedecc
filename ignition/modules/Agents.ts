import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import CreatorModule from "./Creator";
import RegistryModule from "./Registry";
import BuybackModule from "./Buyback";

/**
 * The agent marketplace (docs/agents.md): agents, listings, leases and the settlement of their call
 * revenue. It reads the registry's epoch (prices apply from the next one), quotes token prices in
 * the owner's creator token, is settled by the service escrow and sends the protocol fee to the
 * buyback-and-burn contract. Owned by the deployer here: the top-level module hands it to the
 * timelock. Its split and hosting prices start at the contract's defaults; governance changes them.
 * Beside it, TokenCallEscrow takes calls paid in the owner's creator token through payment channels
 * (no owner: its split is the marketplace's); a caller's deposit leaves `tokenCallWithdrawDelay`
 * seconds after it is asked back (default a day), so a node redeems what it served first.
 */
export default buildModule("Agents", (m) => {
  const { creatorMarket } = m.useModule(CreatorModule);
  const { registry, escrow, usdc } = m.useModule(RegistryModule);
  const { buyback } = m.useModule(BuybackModule);
  const agentMarketplace = m.contract("AgentMarketplace", [usdc, registry, creatorMarket, m.getAccount(0), escrow, buyback]);
  const tokenCallEscrow = m.contract("TokenCallEscrow", [agentMarketplace, registry, m.getParameter("tokenCallWithdrawDelay", 86_400)]);
  return { agentMarketplace, tokenCallEscrow };
});
