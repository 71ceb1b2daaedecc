import type { Result } from "ethers";
import type { EventHandler, HandlerContext, IndexerModule, PrefetchKey } from "../module";
import type { EntityStore } from "../store/entityStore";
import type { AnyTable } from "../store/tables";
import { ChildContracts, type DecoderMap } from "./children";
import { buildDecoders, type EventArgs } from "./decode";
import type { Header } from "./headers";
import { hex, type RawLog } from "./logFetcher";
import type { Rpc } from "./rpc";
import { contractInterface, eventsInterface, functionFragment } from "../abi";

/** A log some handler wants, decoded. */
interface DecodedEvent {
  raw: RawLog;
  /** `Contract:EventName`. */
  key: string;
  args: EventArgs;
}

/** Where a batch's handler time goes (added to the engine's stats). */
export interface DispatchTimes {
  /** Decoding and handlers (in memory, CPU). */
  handlerMs: number;
  /** Prefetch reads. */
  dbMs: number;
}

/**
 * Dispatch: turns a batch's raw logs into handler calls. Knows which contract and event each
 * module reads (the decoders, also the fetcher's address list), which rows the handlers will read
 * (prefetched in bulk) and the factories' children; knows nothing of blocks' order or reorgs.
 */
export class Dispatcher {
  /** By lower-case contract address, then topic0: the suite's contracts, then children as found. */
  readonly decoders: DecoderMap = new Map();
  readonly children: ChildContracts;
  private readonly handlers = new Map<string, EventHandler[]>();
  private readonly prefetchers = new Map<string, ((args: EventArgs) => PrefetchKey[])[]>();

  constructor(
    modules: readonly IndexerModule[],
    private readonly contracts: Record<string, string>,
    private readonly rpc: Rpc,
  ) {
    const names = new Map<string, string[]>();
    for (const m of modules) {
      for (const [contract, events] of Object.entries(m.events) as [string, readonly string[]][]) {
        if (!contracts[contract]) throw new Error(`module ${m.name} reads contract ${contract}, which has no address`);
        names.set(contract, [...(names.get(contract) ?? []), ...events]);
      }
      // Each handler was typed for its key's arguments, which the decoder of that key produces.
      for (const [key, handler] of Object.entries(m.handlers) as [string, EventHandler][]) this.handlers.set(key, [...(this.handlers.get(key) ?? []), handler]);
      for (const [key, fetch] of Object.entries(m.prefetch ?? {}) as [string, (args: EventArgs) => PrefetchKey[]][])
        this.prefetchers.set(key, [...(this.prefetchers.get(key) ?? []), fetch]);
    }
    for (const [contract, events] of names) {
      this.decoders.set(contracts[contract].toLowerCase(), { contract, events: buildDecoders(eventsInterface(contract, events)) });
    }
    this.children = new ChildContracts(modules, contracts, this.decoders);
  }

  /** Decodes `logs`, prefetches what their handlers read and runs the handlers into `store`. */
  async run(logs: RawLog[], headers: Map<number, Header>, journaling: boolean, store: EntityStore, times: DispatchTimes): Promise<void> {
    let t = Date.now();
    const events = this.decode(logs);
    times.handlerMs += Date.now() - t;
    t = Date.now();
    await this.prefetch(events, store);
    times.dbMs += Date.now() - t;
    t = Date.now();
    for (const event of events) await this.applyEvent(event, headers, journaling, store);
    times.handlerMs += Date.now() - t;
  }

  /** The logs some handler wants, decoded, in order. */
  private decode(logs: RawLog[]): DecodedEvent[] {
    const events: DecodedEvent[] = [];
    for (const raw of logs) {
      const decoder = this.decoders.get(raw.address.toLowerCase());
      const event = decoder?.events.get(raw.topics[0]);
      if (!decoder || !event) continue;
      const key = `${decoder.contract}:${event.name}`;
      if (this.handlers.has(key) || this.children.isCreation(key)) events.push({ raw, key, args: event.decode(raw.topics, raw.data) });
    }
    return events;
  }

  /** Loads in bulk, one query per table, the rows the batch's handlers declared they will read. */
  private async prefetch(events: DecodedEvent[], store: EntityStore): Promise<void> {
    const byTable = new Map<AnyTable, Record<string, unknown>[]>();
    for (const event of events) {
      for (const fetch of this.prefetchers.get(event.key) ?? []) {
        for (const { table, key } of fetch(event.args)) {
          if (!table) throw new Error(`a prefetch of ${event.key} returned an entry without its table`);
          const keys = byTable.get(table);
          if (keys) keys.push(key);
          else byTable.set(table, [key]);
        }
      }
    }
    for (const [table, keys] of byTable) await store.prefetch(table, keys);
  }

  private async applyEvent({ raw, key, args }: DecodedEvent, headers: Map<number, Header>, journaling: boolean, store: EntityStore): Promise<void> {
    const number = Number(raw.blockNumber);
    store.beginBlock(number, journaling);
    const header = headers.get(number);
    const ctx: HandlerContext = {
      store,
      block: { number, hash: raw.blockHash, timestamp: raw.blockTimestamp ? Number(raw.blockTimestamp) : header!.timestamp },
      log: { address: raw.address, transactionHash: raw.transactionHash, logIndex: Number(raw.logIndex) },
      contracts: this.contracts,
      readContract: (contract, fn, params = [], address) => this.readContract(contract, fn, params, address, number),
    };
    if (this.children.isCreation(key)) await this.children.record(key, args, store, number);
    for (const handler of this.handlers.get(key) ?? []) await handler(args, ctx);
  }

  private async readContract(contract: string, name: string, args: unknown[], address: string | undefined, block: number): Promise<Result> {
    const iface = contractInterface(contract);
    const fn = functionFragment(contract, name);
    const data = iface.encodeFunctionData(fn, args);
    const out = await this.rpc.send<string>("eth_call", [{ to: address ?? this.contracts[contract], data }, hex(block)]);
    return iface.decodeFunctionResult(fn, out);
  }
}
