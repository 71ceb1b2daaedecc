/**
 * The deployed suite as typed ethers contracts over JSON-RPC (typechain factories: run
 * `npx hardhat compile` first, as `npm start` does).
 */
import { JsonRpcProvider, type ContractRunner } from "ethers";
import {
  AgentMarketplace__factory,
  BuybackBurner__factory,
  CreatorMarket__factory,
  Emission__factory,
  EpochRewards__factory,
  FleekGovernor__factory,
  FLK__factory,
  FunctionRegistry__factory,
  MockUSDC__factory,
  NodeRegistry__factory,
  ServiceEscrow__factory,
  Staking__factory,
  TokenCallEscrow__factory,
  Vesting__factory,
} from "../../typechain-types";
import type { Deployment } from "./chain";

/** The suite's contracts bound to `runner` (a provider for views, a wallet to send). */
export function deployedSuite(deployment: Deployment, runner: ContractRunner) {
  const c = deployment.contracts;
  return {
    flk: FLK__factory.connect(c.flk, runner),
    vesting: Vesting__factory.connect(c.vesting, runner),
    emission: Emission__factory.connect(c.emission, runner),
    staking: Staking__factory.connect(c.staking, runner),
    governor: FleekGovernor__factory.connect(c.governor, runner),
    creatorMarket: CreatorMarket__factory.connect(c.creatorMarket, runner),
    buyback: BuybackBurner__factory.connect(c.buyback, runner),
    usdc: MockUSDC__factory.connect(c.usdc, runner),
    registry: NodeRegistry__factory.connect(c.registry, runner),
    rewards: EpochRewards__factory.connect(c.rewards, runner),
    escrow: ServiceEscrow__factory.connect(c.escrow, runner),
    functionRegistry: FunctionRegistry__factory.connect(c.functionRegistry, runner),
    agentMarketplace: AgentMarketplace__factory.connect(c.agentMarketplace, runner),
    tokenCallEscrow: TokenCallEscrow__factory.connect(c.tokenCallEscrow, runner),
  };
}

/** A provider for the local chain: no response cache, so each nonce and view is fresh. */
export function localProvider(deployment: Deployment): JsonRpcProvider {
  return new JsonRpcProvider(deployment.rpcUrl, deployment.chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 250 });
}
