/**
 * The indexer's one ABI source: the compiled artifacts (artifacts/, made by `hardhat compile`) of
 * every contract it reads, by the name modules use, and the typechain types of their events. A
 * module names the events it reads; their fragments (the EpochReport and Endpoints tuples
 * included) and its handlers' argument types come from here, so a contract change reaches the
 * indexer without a hand-written signature to update.
 */
import { EventFragment, Interface, type FunctionFragment } from "ethers";
import type { TypedContractEvent } from "../typechain-types/common";
import type {
  AgentMarketplace,
  BuybackBurner,
  CreatorMarket,
  CreatorToken,
  EpochRewards,
  Emission,
  FLK,
  FleekGovernor,
  FunctionRegistry,
  NodeRegistry,
  ServiceCredits,
  ServiceEscrow,
  Staking,
  TokenCallEscrow,
  Vesting,
} from "../typechain-types";
import agentMarketplace from "../artifacts/contracts/agents/AgentMarketplace.sol/AgentMarketplace.json";
import tokenCallEscrow from "../artifacts/contracts/agents/TokenCallEscrow.sol/TokenCallEscrow.json";
import buybackBurner from "../artifacts/contracts/buyback/BuybackBurner.sol/BuybackBurner.json";
import creatorMarket from "../artifacts/contracts/creator/CreatorMarket.sol/CreatorMarket.json";
import creatorToken from "../artifacts/contracts/creator/CreatorToken.sol/CreatorToken.json";
import fleekGovernor from "../artifacts/contracts/governance/FleekGovernor.sol/FleekGovernor.json";
import functionRegistry from "../artifacts/contracts/functions/FunctionRegistry.sol/FunctionRegistry.json";
import serviceEscrow from "../artifacts/contracts/payments/ServiceEscrow.sol/ServiceEscrow.json";
import epochRewards from "../artifacts/contracts/registry/EpochRewards.sol/EpochRewards.json";
import nodeRegistry from "../artifacts/contracts/registry/NodeRegistry.sol/NodeRegistry.json";
import serviceCredits from "../artifacts/contracts/staking/ServiceCredits.sol/ServiceCredits.json";
import staking from "../artifacts/contracts/staking/Staking.sol/Staking.json";
import emission from "../artifacts/contracts/token/Emission.sol/Emission.json";
import flk from "../artifacts/contracts/token/FLK.sol/FLK.json";
import vesting from "../artifacts/contracts/token/Vesting.sol/Vesting.json";

/** The typechain type of each contract, by the name modules use. */
interface Contracts {
  AgentMarketplace: AgentMarketplace;
  BuybackBurner: BuybackBurner;
  CreatorMarket: CreatorMarket;
  CreatorToken: CreatorToken;
  Emission: Emission;
  EpochRewards: EpochRewards;
  FLK: FLK;
  FunctionRegistry: FunctionRegistry;
  Governor: FleekGovernor;
  NodeRegistry: NodeRegistry;
  ServiceCredits: ServiceCredits;
  ServiceEscrow: ServiceEscrow;
  Staking: Staking;
  TokenCallEscrow: TokenCallEscrow;
  Vesting: Vesting;
}

/** A contract the indexer reads. */
export type ContractName = keyof Contracts;

/** The compiled interface of each contract. */
const INTERFACES: { [C in ContractName]: Interface } = {
  AgentMarketplace: new Interface(agentMarketplace.abi),
  BuybackBurner: new Interface(buybackBurner.abi),
  CreatorMarket: new Interface(creatorMarket.abi),
  CreatorToken: new Interface(creatorToken.abi),
  Emission: new Interface(emission.abi),
  EpochRewards: new Interface(epochRewards.abi),
  FLK: new Interface(flk.abi),
  FunctionRegistry: new Interface(functionRegistry.abi),
  Governor: new Interface(fleekGovernor.abi),
  NodeRegistry: new Interface(nodeRegistry.abi),
  ServiceCredits: new Interface(serviceCredits.abi),
  ServiceEscrow: new Interface(serviceEscrow.abi),
  Staking: new Interface(staking.abi),
  TokenCallEscrow: new Interface(tokenCallEscrow.abi),
  Vesting: new Interface(vesting.abi),
};

/** The event names of contract `C` (typechain lists each by name and by signature). */
export type EventName<C extends ContractName> =
  Extract<keyof Contracts[C]["filters"], string> extends infer K ? (K extends `${string}(${string}` ? never : K & string) : never;

/** `Contract:Event` of every event the indexer could read. */
export type EventKey = { [C in ContractName]: `${C}:${EventName<C>}` }[ContractName];

/** The decoded arguments of event `K` (`Contract:Event`), by name. */
export type EventArgsOf<K extends EventKey> = K extends `${infer C extends ContractName}:${infer E}`
  ? E extends keyof Contracts[C]["filters"]
    ? Contracts[C]["filters"][E] extends TypedContractEvent<never, never, infer O>
      ? O
      : never
    : never
  : never;

/** The compiled interface of `contract`; throws for a contract the indexer has no artifact of. */
export function contractInterface(contract: string): Interface {
  const iface = INTERFACES[contract as ContractName];
  if (!iface) throw new Error(`no compiled ABI for contract ${contract} (indexer/abi.ts lists the ones the indexer reads)`);
  return iface;
}

/** The compiled fragment of event `name` of `contract`; throws if the contract has no such event. */
export function eventFragment(contract: string, name: string): EventFragment {
  const event = contractInterface(contract).getEvent(name);
  if (!event) throw new Error(`${contract} has no event ${name} in its compiled ABI`);
  return event;
}

/** The compiled fragment of function `name` of `contract`; throws if the contract has no such function. */
export function functionFragment(contract: string, name: string): FunctionFragment {
  const fn = contractInterface(contract).getFunction(name);
  if (!fn) throw new Error(`${contract} has no function ${name} in its compiled ABI`);
  return fn;
}

/** An interface of the compiled fragments of events `names` of `contract` (what the decoders are built from). */
export function eventsInterface(contract: string, names: readonly string[]): Interface {
  return new Interface([...new Set(names)].map((name) => eventFragment(contract, name)));
}
