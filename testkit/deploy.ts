import hre from "hardhat";
import { impersonateAccount, loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ModuleParameters } from "@nomicfoundation/ignition-core";
import FleekModule from "../ignition/modules/Fleek";
import { GENESIS_ALLOCATIONS } from "../protocol/genesis";
import type {
  AgentMarketplace,
  BuybackBurner,
  CreatorMarket,
  Emission,
  EpochRewards,
  FleekGovernor,
  FLK,
  FunctionRegistry,
  MockUSDC,
  NodeRegistry,
  ServiceCredits,
  ServiceEscrow,
  Staking,
  TimelockController,
  TokenCallEscrow,
  Vesting,
} from "../typechain-types";

/** Beneficiaries and amounts for each genesis allocation, keyed by allocation key. */
export type GenesisBeneficiaries = Record<string, { beneficiaries: string[]; amounts: bigint[] }>;

/** Ignition parameters of the Token module for a set of beneficiaries (the treasury takes none). */
export function tokenParameters(genesis: GenesisBeneficiaries): ModuleParameters {
  const params: ModuleParameters = {};
  for (const a of GENESIS_ALLOCATIONS.filter((x) => !x.treasury)) {
    params[`${a.key}Beneficiaries`] = genesis[a.key].beneficiaries;
    params[`${a.key}Amounts`] = genesis[a.key].amounts;
  }
  return params;
}

/**
 * Test beneficiaries from the Hardhat accounts: team split over three accounts and early
 * supporters over two (several schedules in one allocation), one account for each other allocation.
 * The ecosystem entry is what deploySuite checks against: the deployment makes the timelock its
 * beneficiary, so it is filled in after deployment.
 */
export async function testGenesis(): Promise<GenesisBeneficiaries> {
  const s = (await hre.ethers.getSigners()).map((x) => x.address);
  const F = 10n ** 18n;
  return {
    team: { beneficiaries: [s[10], s[11], s[12]], amounts: [10_000_000n * F, 7_000_000n * F, 3_000_000n * F] },
    earlySupporters: { beneficiaries: [s[13], s[14]], amounts: [15_000_000n * F, 5_000_000n * F] },
    ecosystem: { beneficiaries: [], amounts: [20_000_000n * F] },
    sale: { beneficiaries: [s[16]], amounts: [20_000_000n * F] },
    foundation: { beneficiaries: [s[17]], amounts: [10_000_000n * F] },
    incentives: { beneficiaries: [s[18]], amounts: [10_000_000n * F] },
  };
}

/** The deployed suite with typed contract handles. */
export interface Suite {
  flk: FLK;
  emission: Emission;
  vesting: Vesting;
  staking: Staking;
  serviceCredits: ServiceCredits;
  governor: FleekGovernor;
  timelock: TimelockController;
  creatorMarket: CreatorMarket;
  buyback: BuybackBurner;
  registry: NodeRegistry;
  rewards: EpochRewards;
  escrow: ServiceEscrow;
  /** The edge functions' registry (docs/functions.md, "Registry"). */
  functionRegistry: FunctionRegistry;
  /** The agent marketplace (docs/agents.md). */
  agentMarketplace: AgentMarketplace;
  /** Agent calls paid in creator tokens (docs/agents.md "Calls paid in the creator token"). */
  tokenCallEscrow: TokenCallEscrow;
  /** MockUSDC on the local chain. */
  usdc: MockUSDC;
  genesis: GenesisBeneficiaries;
  /** The TimelockController's address: owner of every parameter and treasury. */
  admin: string;
}

/**
 * The whole suite as `npm run deploy:local` deploys it (Ignition), deployed once per test process
 * and restored from the chain's snapshot after that (loadFixture): each fixture that builds on it
 * starts from a fresh deployment without paying the deployment's seconds of CPU again. Like
 * loadFixture, it reverts the chain to just after that deployment, so it comes first in a fixture.
 */
export async function deploySuite(): Promise<Suite> {
  const suite = await loadFixture(deployFleekSuite);
  // The chain's clock ran on since the snapshot: resume it from the deployment's last block, so
  // what the fixture does next happens right after the deployment, as on a fresh one.
  await time.setNextBlockTimestamp((await time.latest()) + 1);
  return { ...suite, genesis: structuredClone(suite.genesis) };
}

/** Deploys the whole suite with Ignition, exactly as `npm run deploy:local` does. */
async function deployFleekSuite(): Promise<Suite> {
  const genesis = await testGenesis();
  const deployed = await hre.ignition.deploy(FleekModule, { parameters: { Token: tokenParameters(genesis) } });
  const admin = await deployed.timelock.getAddress();
  genesis.ecosystem.beneficiaries = [admin];
  return {
    flk: deployed.flk as unknown as FLK,
    emission: deployed.emission as unknown as Emission,
    vesting: deployed.vesting as unknown as Vesting,
    staking: deployed.staking as unknown as Staking,
    serviceCredits: deployed.serviceCredits as unknown as ServiceCredits,
    governor: deployed.governor as unknown as FleekGovernor,
    timelock: deployed.timelock as unknown as TimelockController,
    creatorMarket: deployed.creatorMarket as unknown as CreatorMarket,
    buyback: deployed.buyback as unknown as BuybackBurner,
    registry: deployed.registry as unknown as NodeRegistry,
    rewards: deployed.rewards as unknown as EpochRewards,
    escrow: deployed.escrow as unknown as ServiceEscrow,
    functionRegistry: deployed.functionRegistry as unknown as FunctionRegistry,
    agentMarketplace: deployed.agentMarketplace as unknown as AgentMarketplace,
    tokenCallEscrow: deployed.tokenCallEscrow as unknown as TokenCallEscrow,
    usdc: deployed.usdc as unknown as MockUSDC,
    genesis,
    admin,
  };
}

/** A signer for the timelock (impersonated): what an executed proposal can do. */
export async function timelockSigner(suite: Pick<Suite, "admin">): Promise<HardhatEthersSigner> {
  await impersonateAccount(suite.admin);
  await setBalance(suite.admin, 10n ** 18n);
  return hre.ethers.getSigner(suite.admin);
}

/** The suite's contract addresses by the names the indexer's modules use. */
export async function suiteContracts(suite: Suite): Promise<Record<string, string>> {
  return {
    FLK: await suite.flk.getAddress(),
    Vesting: await suite.vesting.getAddress(),
    Emission: await suite.emission.getAddress(),
    Staking: await suite.staking.getAddress(),
    Governor: await suite.governor.getAddress(),
    CreatorMarket: await suite.creatorMarket.getAddress(),
    BuybackBurner: await suite.buyback.getAddress(),
    NodeRegistry: await suite.registry.getAddress(),
    EpochRewards: await suite.rewards.getAddress(),
    ServiceCredits: await suite.serviceCredits.getAddress(),
    ServiceEscrow: await suite.escrow.getAddress(),
    FunctionRegistry: await suite.functionRegistry.getAddress(),
    AgentMarketplace: await suite.agentMarketplace.getAddress(),
    TokenCallEscrow: await suite.tokenCallEscrow.getAddress(),
  };
}
