import { eventsInterface } from "../abi";
import type { Migration } from "kysely";
import type { ChildContracts as ChildSpec, IndexerModule } from "../module";
import type { EntityStore } from "../store/entityStore";
import { col, createTables, defineTable } from "../store/tables";
import { buildDecoders, type EventArgs, type LogDecoder } from "./decode";
import { LogFetcher, type RawLog } from "./logFetcher";
import type { Rpc } from "./rpc";
import type { RawDb } from "../store/database";

/**
 * Contracts deployed at run time by a suite contract (creator-token clones), so that their
 * events are read like the suite's own: a factory's creation events name the children, the
 * engine stores them and fetches each batch's child logs next to the suite's.
 */

/** Every child contract seen, with the block of its creation event (a reorg drops it). */
export const CHILDREN_TABLE = defineTable({
  name: "indexer_children",
  columns: {
    address: col.text(),
    contract: col.text(),
    block_number: col.int8(),
  },
  primaryKey: ["address"],
  rollback: "byBlock",
});

/** The children table's migration. */
export const childrenMigrations: Record<string, Migration> = {
  "160-indexer-children": {
    async up(db: RawDb) {
      await createTables(db, [CHILDREN_TABLE]);
    },
  },
};

/** Addresses per `eth_getLogs` call: providers cap the size of an address filter. */
const ADDRESSES_PER_CALL = 1_000;

/** The engine's decoders: by lower-case contract address, then by topic0. */
export type DecoderMap = Map<string, { contract: string; events: Map<string, { name: string; decode: LogDecoder }> }>;

interface Factory {
  /** `Contract:Event` of the creation event. */
  key: string;
  /** Lower-case address of the factory. */
  factory: string;
  topic: string;
  decode: LogDecoder;
  /** Creation event argument holding the child's address. */
  argument: string;
  child: string;
}

/**
 * The children of the modules' factories. The set in memory is a superset of the committed
 * children (a failed batch or a reorg may leave a child whose creation was undone): harmless,
 * because an address with no contract has no logs, and a CREATE2 child re-created on the new fork
 * has the same address and code.
 */
export class ChildContracts {
  private readonly factories: Factory[] = [];
  /** The factories' creation keys: checked for every event, so a set. */
  private readonly creationKeys = new Set<string>();
  private readonly childDecoders = new Map<string, Map<string, { name: string; decode: LogDecoder }>>();
  private readonly known = new Set<string>();

  /** `decoders` is the engine's map: children are added to it as they are discovered. */
  constructor(
    modules: readonly IndexerModule[],
    contracts: Record<string, string>,
    private readonly decoders: DecoderMap,
  ) {
    for (const m of modules) {
      for (const [child, spec] of Object.entries(m.children ?? {}) as [string, ChildSpec][]) {
        this.childDecoders.set(child, buildDecoders(eventsInterface(child, spec.events)));
        const [contract, event] = spec.createdBy.split(":");
        const factory = contracts[contract]?.toLowerCase();
        const found = factory ? [...(decoders.get(factory)?.events ?? [])].find(([, d]) => d.name === event) : undefined;
        if (!found) throw new Error(`module ${m.name}: children ${child} are created by ${spec.createdBy}, which the module does not read`);
        this.creationKeys.add(spec.createdBy);
        this.factories.push({ key: spec.createdBy, factory: factory!, topic: found[0], decode: found[1].decode, argument: spec.address, child });
      }
    }
  }

  /** Loads the children stored by earlier runs. */
  async load(db: RawDb): Promise<void> {
    if (this.factories.length === 0) return;
    for (const r of await db.selectFrom(CHILDREN_TABLE.name).selectAll().execute()) this.register(r.address, r.contract);
  }

  /** Whether `key` (`Contract:Event`) creates children: such events are stored even without a handler. */
  isCreation(key: string): boolean {
    return this.creationKeys.has(key);
  }

  /** Stores the child an applied creation event names (call in its block, before handlers). */
  async record(key: string, args: EventArgs, store: EntityStore, blockNumber: number): Promise<void> {
    for (const f of this.factories) {
      if (f.key === key) await store.set(CHILDREN_TABLE, { address: args[f.argument] as string, contract: f.child, block_number: blockNumber });
    }
  }

  /**
   * The suite's logs of `from`..`to` plus the logs of every child known by the end of that range
   * (including children created inside it), in (block, log index) order.
   */
  async withChildLogs(rpc: Rpc, from: number, to: number, logs: RawLog[]): Promise<RawLog[]> {
    if (this.factories.length === 0) return logs;
    for (const log of logs) {
      const f = this.factories.find((x) => x.topic === log.topics[0] && x.factory === log.address.toLowerCase());
      if (f) this.register(f.decode(log.topics, log.data)[f.argument] as string, f.child);
    }
    if (this.known.size === 0) return logs;
    const addresses = [...this.known];
    const childLogs: RawLog[] = [];
    for (let i = 0; i < addresses.length; i += ADDRESSES_PER_CALL) {
      // One call for the whole range unless the node refuses it (then the fetcher splits it).
      const span = to - from + 1;
      const fetcher = new LogFetcher(rpc, addresses.slice(i, i + ADDRESSES_PER_CALL), { initialRange: span, maxRange: span });
      for await (const chunk of fetcher.fetch(from, to)) for (const log of chunk.logs) childLogs.push(log);
    }
    if (childLogs.length === 0) return logs;
    return logs.concat(childLogs).sort((a, b) => Number(a.blockNumber) - Number(b.blockNumber) || Number(a.logIndex) - Number(b.logIndex));
  }

  private register(address: string, child: string): void {
    const lower = address.toLowerCase();
    if (this.known.has(lower)) return;
    this.known.add(lower);
    this.decoders.set(lower, { contract: child, events: this.childDecoders.get(child)! });
  }
}
