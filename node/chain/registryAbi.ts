/**
 * The NodeRegistry ABI as compiled (artifacts/, made by `hardhat compile`): the node's one ABI
 * source, so a struct the contracts change (NodeView, Endpoints, EpochReport) reaches the node
 * without a hand-written tuple to update, and every custom error of the registry decodes.
 */
import artifact from "../../artifacts/contracts/registry/NodeRegistry.sol/NodeRegistry.json";

export const NODE_REGISTRY_ABI = artifact.abi;

/** The ServiceEscrow ABI as compiled: the node reads what each client can be debited from it. */
export { abi as SERVICE_ESCROW_ABI } from "../../artifacts/contracts/payments/ServiceEscrow.sol/ServiceEscrow.json";

/** The FunctionRegistry ABI as compiled: the node reads each function's limits and owner-pays budget from it. */
export { abi as FUNCTION_REGISTRY_ABI } from "../../artifacts/contracts/functions/FunctionRegistry.sol/FunctionRegistry.json";

/** The AgentMarketplace ABI as compiled: the agents service reads what it hosts from it, the reporter each agent's price for an epoch and its owner. */
export { abi as AGENT_MARKETPLACE_ABI } from "../../artifacts/contracts/agents/AgentMarketplace.sol/AgentMarketplace.json";

/** The TokenCallEscrow ABI as compiled: the node reads deposits and redemptions of token-paid agent calls. */
export { abi as TOKEN_CALL_ESCROW_ABI } from "../../artifacts/contracts/agents/TokenCallEscrow.sol/TokenCallEscrow.json";
