import type { RawLog } from "../../indexer/sync/logFetcher";
import type { Rpc } from "../../indexer/sync/rpc";

interface RawHeader {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
}

/**
 * What a sync read from a chain (logs, headers, contract calls, chain id and head), kept to be
 * served again from memory. The bench replays a sync through it to measure the indexer alone,
 * without the RPC node's time (as Ponder's "cached replay" figure does); the recorded answers
 * are the node's own, so the replayed sync derives exactly the same state.
 */
export class RecordedChain {
  private readonly logs = new Map<string, RawLog>();
  private readonly headers = new Map<number, RawHeader>();
  private readonly calls = new Map<string, unknown>();
  private chainId?: string;
  private head?: string;
  private sorted?: RawLog[];

  /** An RPC that forwards to `inner` and records every answer the sync engine asks for. */
  recording(inner: Rpc): Rpc {
    return {
      send: async <T>(method: string, params: unknown[]): Promise<T> => {
        // Before the call: Hardhat's provider adds a `from` to eth_call's parameters in place.
        const key = JSON.stringify(params);
        const result: unknown = await inner.send(method, params);
        this.sorted = undefined;
        if (method === "eth_getLogs") for (const l of result as RawLog[]) this.logs.set(`${Number(l.blockNumber)}:${Number(l.logIndex)}`, l);
        else if (method === "eth_getBlockByNumber" && result) this.headers.set(Number((result as RawHeader).number), result as RawHeader);
        else if (method === "eth_call") this.calls.set(key, result);
        else if (method === "eth_chainId") this.chainId = result as string;
        else if (method === "eth_blockNumber") this.head = result as string;
        return result as T;
      },
    };
  }

  /** An RPC answering from the recording alone; a question it cannot answer is an error. */
  replay(): Rpc {
    return { send: async <T>(method: string, params: unknown[]) => this.answer(method, params) as T };
  }

  private answer(method: string, params: unknown[]): unknown {
    switch (method) {
      case "eth_chainId":
        return this.chainId;
      case "eth_blockNumber":
        return this.head;
      case "eth_getBlockByNumber": {
        const header = this.headers.get(Number(params[0]));
        if (!header) throw new Error(`recorded chain has no header of block ${Number(params[0])}`);
        return header;
      }
      case "eth_getLogs": {
        const { address, fromBlock, toBlock } = params[0] as { address: string[]; fromBlock: string; toBlock: string };
        const wanted = new Set(address.map((a) => a.toLowerCase()));
        const logs = (this.sorted ??= [...this.logs.values()].sort(
          (a, b) => Number(a.blockNumber) - Number(b.blockNumber) || Number(a.logIndex) - Number(b.logIndex),
        ));
        const from = firstAtOrAfter(logs, Number(fromBlock));
        const to = firstAtOrAfter(logs, Number(toBlock) + 1);
        return logs.slice(from, to).filter((l) => wanted.has(l.address.toLowerCase()));
      }
      case "eth_call": {
        const key = JSON.stringify(params);
        if (!this.calls.has(key)) throw new Error(`recorded chain has no answer to eth_call ${key}`);
        return this.calls.get(key);
      }
      default:
        throw new Error(`recorded chain cannot answer ${method}`);
    }
  }
}

/** Index of the first log at or after block `n` (logs sorted by block). */
function firstAtOrAfter(logs: RawLog[], n: number): number {
  let lo = 0;
  let hi = logs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Number(logs[mid].blockNumber) < n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
