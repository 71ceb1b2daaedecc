import type { Migration } from "kysely";
import type { Result } from "ethers";
import type { EventArgs } from "./sync/decode";
import type { EntityStore } from "./store/entityStore";
import type { AnyTable } from "./store/tables";
import type { ContractName, EventArgsOf, EventKey, EventName } from "./abi";

/** The block an event belongs to. */
export interface BlockInfo {
  number: number;
  hash: string;
  timestamp: number;
}

/** Where an event was emitted. */
export interface LogInfo {
  /** Emitting contract, as the node returns it (often lower case: `getAddress` it to compare). */
  address: string;
  transactionHash: string;
  logIndex: number;
}

/** What a handler gets besides the decoded event. */
export interface HandlerContext {
  store: EntityStore;
  block: BlockInfo;
  log: LogInfo;
  /** Addresses of the suite's contracts by name (e.g. `FLK`, `Vesting`). */
  contracts: Readonly<Record<string, string>>;
  /**
   * Calls view `fn` (a name, or a signature when overloaded) of `contract` (its compiled ABI:
   * abi.ts) at this event's block, so the answer
   * is the same on every replay (use it for values the events do not carry, such as a start
   * time). The suite's contract of that name answers unless `address` names another (a clone).
   */
  readContract(contract: ContractName, fn: string, args?: unknown[], address?: string): Promise<Result>;
}

/** Handles one decoded event. Handlers run in (block, log index) order. */
export type EventHandler<Args = EventArgs> = (args: Args, ctx: HandlerContext) => Promise<void>;

/** A row a handler is about to read: prefetched in bulk for a whole batch before handlers run. */
export interface PrefetchKey {
  table: AnyTable;
  key: Record<string, unknown>;
}

/**
 * One area of derived state: the contract events it reads, its tables, migrations and handlers.
 * A later area (staking, governance, ...) adds one such module file plus its API pieces.
 */
export interface IndexerModule {
  name: string;
  /** Events read per contract name (their fragments come from the compiled artifacts: abi.ts). */
  events: { [C in ContractName]?: readonly EventName<C>[] };
  tables: readonly AnyTable[];
  migrations: Record<string, Migration>;
  /** Handlers keyed by `Contract:EventName`, with that event's arguments typed (typechain). */
  handlers: { [K in EventKey]?: EventHandler<EventArgsOf<K>> };
  /**
   * Optional: rows the handler of `Contract:EventName` will read for these args. Loading them in
   * one query per table for a whole batch saves a round trip per first-seen row.
   */
  prefetch?: { [K in EventKey]?: (args: EventArgsOf<K>) => PrefetchKey[] };
  /**
   * Optional: contracts a suite contract deploys at run time (clones), by the name their handlers
   * use (`Name:Event`). Their `events` are read from every address named by argument `address` of
   * the factory event `createdBy` (`Contract:Event`, one of this module's events).
   */
  children?: { [C in ContractName]?: ChildContracts<C> };
}

/** How to find and read contracts a factory deploys (see {@link IndexerModule.children}). */
export interface ChildContracts<C extends ContractName = ContractName> {
  createdBy: EventKey;
  address: string;
  events: readonly EventName<C>[];
}
