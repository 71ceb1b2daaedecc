import type { Migration } from "kysely";
import type { Result } from "ethers";
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
  /** Emitting contract (checksummed). */
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
   * Calls a view of a suite contract at this event's block, so the answer is the same on every
   * replay (use it for immutable values the events do not carry, such as a start time).
   */
  readContract(contract: string, signature: string, args?: unknown[]): Promise<Result>;
}

/** Handles one decoded event. Handlers run in (block, log index) order. */
export type EventHandler = (args: Result, ctx: HandlerContext) => Promise<void>;

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
}
