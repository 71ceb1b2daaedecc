import { ChainMovedError } from "./errors";
import { hex } from "./logFetcher";
import type { Rpc } from "./rpc";

/** What the engine keeps of a block header. */
export interface Header {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

/** Block `n`'s header, or undefined when the node does not have it (the head moved back). */
export async function fetchHeader(rpc: Rpc, n: number): Promise<Header | undefined> {
  const b = await rpc.send<{ number: string; hash: string; parentHash: string; timestamp: string } | null>("eth_getBlockByNumber", [hex(n), false]);
  return b ? { number: Number(b.number), hash: b.hash, parentHash: b.parentHash, timestamp: Number(b.timestamp) } : undefined;
}

/** The headers of `numbers`, `concurrency` requests in flight at once; every one must exist. */
export async function fetchHeaders(rpc: Rpc, numbers: number[], concurrency: number): Promise<Map<number, Header>> {
  const headers = new Map<number, Header>();
  let i = 0;
  const worker = async () => {
    while (i < numbers.length) {
      const n = numbers[i++];
      const h = await fetchHeader(rpc, n);
      if (!h) throw new ChainMovedError(`block ${n} is not available (head moved back?)`);
      headers.set(n, h);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, numbers.length) }, worker));
  return headers;
}

/** A header as its `indexer_blocks` row (the hash chain reorg detection walks). */
export function headerRow(h: Header) {
  return { block_number: h.number, hash: h.hash, parent_hash: h.parentHash, timestamp: h.timestamp };
}
