import type { Migration } from "kysely";
import type { Result } from "ethers";
import type { EventArgs } from "./sync/decode";
import type { EntityStore } from "./store/entity-store";
import type { AnyTable } from "./store/tables";

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
   * Calls a view of a suite contract (by name) or of any contract (by address) at this event's
   * block, so the answer is the same on every replay (use it for values the events do not
   * carry, such as a start time).
   */
  readContract(contract: string, signature: string, args?: unknown[]): Promise<Result>;
}

/** Handles one decoded event. Handlers run in (block, log index) order. */
export type EventHandler = (args: EventArgs, ctx: HandlerContext) => Promise<void>;

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
  /** Event signatures read per contract name, in human-readable ABI form. */
  events: Record<string, readonly string[]>;
  tables: readonly AnyTable[];
  migrations: Record<string, Migration>;
  /** Handlers keyed by `Contract:EventName`. */
  handlers: Record<string, EventHandler>;
  /**
   * Optional: rows the handler of `Contract:EventName` will read for these args. Loading them in
   * one query per table for a whole batch saves a round trip per first-seen row.
   */
  prefetch?: Record<string, (args: EventArgs) => PrefetchKey[]>;
  /**
   * Optional: contracts a suite contract deploys at run time (clones), by the name their handlers
   * use (`Name:Event`). Their `events` are read from every address named by argument `address` of
   * the factory event `createdBy` (`Contract:Event`, one of this module's events).
   */
  children?: Record<string, ChildContracts>;
}

/** How to find and read contracts a factory deploys (see {@link IndexerModule.children}). */
export interface ChildContracts {
  createdBy: string;
  address: string;
  events: readonly string[];
}
