/**
 * Typed contract handles. ABIs come from Hardhat's artifacts (only the `abi` export is imported,
 * so bytecode stays out of the bundle); types come from typechain, imported as types only.
 * Only the lazy pages import this module: the first page reads the indexer, so neither the ABIs
 * nor the cost of parsing them into ethers interfaces sit on its critical path.
 */
import { Contract, Interface, JsonRpcProvider, type ContractRunner } from "ethers";
import { errorFragments, registerErrorInterface } from "./revert";
import { abi as flkAbi } from "../../../artifacts/contracts/token/FLK.sol/FLK.json";
import { abi as emissionAbi } from "../../../artifacts/contracts/token/Emission.sol/Emission.json";
import { abi as vestingAbi } from "../../../artifacts/contracts/token/Vesting.sol/Vesting.json";
import { abi as stakingAbi } from "../../../artifacts/contracts/staking/Staking.sol/Staking.json";
import { abi as creditsAbi } from "../../../artifacts/contracts/staking/ServiceCredits.sol/ServiceCredits.json";
import { abi as governorAbi } from "../../../artifacts/contracts/governance/FleekGovernor.sol/FleekGovernor.json";
import { abi as timelockAbi } from "../../../artifacts/@openzeppelin/contracts/governance/TimelockController.sol/TimelockController.json";
import { abi as marketAbi } from "../../../artifacts/contracts/creator/CreatorMarket.sol/CreatorMarket.json";
import { abi as registryAbi } from "../../../artifacts/contracts/registry/NodeRegistry.sol/NodeRegistry.json";
import { abi as rewardsAbi } from "../../../artifacts/contracts/registry/EpochRewards.sol/EpochRewards.json";
import { abi as creatorTokenAbi } from "../../../artifacts/contracts/creator/CreatorToken.sol/CreatorToken.json";
import { abi as escrowAbi } from "../../../artifacts/contracts/payments/ServiceEscrow.sol/ServiceEscrow.json";
import { abi as functionRegistryAbi } from "../../../artifacts/contracts/functions/FunctionRegistry.sol/FunctionRegistry.json";
import { abi as agentMarketplaceAbi } from "../../../artifacts/contracts/agents/AgentMarketplace.sol/AgentMarketplace.json";
import { abi as tokenCallEscrowAbi } from "../../../artifacts/contracts/agents/TokenCallEscrow.sol/TokenCallEscrow.json";
import { abi as erc20Abi } from "../../../artifacts/@openzeppelin/contracts/token/ERC20/IERC20.sol/IERC20.json";
import type {
  FLK,
  Emission,
  Vesting,
  Staking,
  ServiceCredits,
  FleekGovernor,
  TimelockController,
  CreatorMarket,
  CreatorToken,
  NodeRegistry,
  EpochRewards,
  ServiceEscrow,
  FunctionRegistry,
  AgentMarketplace,
  TokenCallEscrow,
  IERC20,
} from "../../../typechain-types";

/** Every ABI the dashboard talks to, for decoding custom errors raised anywhere in a call. */
export const ALL_ABIS = [
  flkAbi,
  emissionAbi,
  vestingAbi,
  stakingAbi,
  creditsAbi,
  governorAbi,
  timelockAbi,
  marketAbi,
  creatorTokenAbi,
  registryAbi,
  rewardsAbi,
  escrowAbi,
  functionRegistryAbi,
  agentMarketplaceAbi,
  tokenCallEscrowAbi,
];

/** Lets `describeError` (lib/revert.ts) decode the custom errors of every ABI of the suite. */
export function registerSuiteErrors(): void {
  registerErrorInterface(new Interface(errorFragments(ALL_ABIS) as never));
}
// Every page that can send a transaction imports this module, so errors decode from here on.
registerSuiteErrors();

/**
 * The deployment the dashboard reads: what `scripts/chain.ts` writes to addresses.json, plus the
 * indexer's GraphQL endpoint, which the host adds (the dev server from `DASHBOARD_INDEXER_URL`).
 */
export interface Deployment {
  chainId: number;
  rpcUrl: string;
  /** The indexer's GraphQL endpoint (`…/graphql`); without it lists show an error. */
  graphqlUrl?: string;
  /** The nodes' HTTP gateways (`npm start` adds them): where the Functions page uploads a bundle. */
  gateways?: string[];
  /** The host forwards `POST gateways/<i>/origins` (relative to the page) to `gateways[i]` (scripts/network/dashboard.ts). */
  gatewayForward?: boolean;
  contracts: {
    flk: string;
    emission: string;
    vesting: string;
    staking: string;
    serviceCredits: string;
    governor: string;
    timelock: string;
    creatorMarket: string;
    buyback: string;
    usdc: string;
    registry: string;
    rewards: string;
    escrow: string;
    functionRegistry: string;
    agentMarketplace: string;
    tokenCallEscrow: string;
  };
}

/** The suite's contracts bound to one runner (a read provider or a wallet signer). */
export interface Suite {
  flk: FLK;
  emission: Emission;
  vesting: Vesting;
  staking: Staking;
  credits: ServiceCredits;
  governor: FleekGovernor;
  timelock: TimelockController;
  market: CreatorMarket;
  registry: NodeRegistry;
  rewards: EpochRewards;
  escrow: ServiceEscrow;
  functionRegistry: FunctionRegistry;
  agentMarketplace: AgentMarketplace;
  /** Deposits of creator tokens that pay agent calls through vouchers (docs/agents.md "Calls paid in the creator token"). */
  tokenCallEscrow: TokenCallEscrow;
  /** The escrow's payment token (USDC; MockUSDC on the devnet). */
  usdc: IERC20;
}

/** Binds every contract of `deployment` to `runner`. */
export function connectSuite(deployment: Deployment, runner: ContractRunner): Suite {
  const c = deployment.contracts;
  const at = <T>(address: string, abi: unknown) => new Contract(address, abi as never, runner) as unknown as T;
  return {
    flk: at<FLK>(c.flk, flkAbi),
    emission: at<Emission>(c.emission, emissionAbi),
    vesting: at<Vesting>(c.vesting, vestingAbi),
    staking: at<Staking>(c.staking, stakingAbi),
    credits: at<ServiceCredits>(c.serviceCredits, creditsAbi),
    governor: at<FleekGovernor>(c.governor, governorAbi),
    timelock: at<TimelockController>(c.timelock, timelockAbi),
    market: at<CreatorMarket>(c.creatorMarket, marketAbi),
    registry: at<NodeRegistry>(c.registry, registryAbi),
    rewards: at<EpochRewards>(c.rewards, rewardsAbi),
    escrow: at<ServiceEscrow>(c.escrow, escrowAbi),
    functionRegistry: at<FunctionRegistry>(c.functionRegistry, functionRegistryAbi),
    agentMarketplace: at<AgentMarketplace>(c.agentMarketplace, agentMarketplaceAbi),
    tokenCallEscrow: at<TokenCallEscrow>(c.tokenCallEscrow, tokenCallEscrowAbi),
    usdc: at<IERC20>(c.usdc, erc20Abi),
  };
}

/** A creator token clone bound to `runner`. */
export function creatorToken(address: string, runner: ContractRunner): CreatorToken {
  return new Contract(address, creatorTokenAbi as never, runner) as unknown as CreatorToken;
}

const providers = new WeakMap<Deployment, JsonRpcProvider>();

/** The JSON-RPC provider the pages read the chain with: one per deployment. */
export function readProvider(deployment: Deployment): JsonRpcProvider {
  let provider = providers.get(deployment);
  if (!provider) {
    // staticNetwork: the chain id is known, so ethers skips its network detection round trips.
    provider = new JsonRpcProvider(deployment.rpcUrl, deployment.chainId, { staticNetwork: true, pollingInterval: 2000 });
    providers.set(deployment, provider);
  }
  return provider;
}
