import type { BlockStore, StoredObject } from "../blockstore/blockStore";
import { blockCount, leavesFromOutboard } from "../blockstore/blockTree";
import { HASH_BYTES, type ContentHash } from "../blockstore/contentHash";
import { CONTENT_LENGTH_HEADER, PEER_FETCH_HEADER } from "../gateway/gatewayHeaders";
import { SingleFlight } from "../origins/singleFlight";
import { timedHttpGet, type HttpTimeouts } from "../origins/timedHttpGet";
import type { PeerDirectory } from "./peerDirectory";

/** No peer could supply the content; `reasons` says what each one did. */
export class PeerFetchError extends Error {
  constructor(
    readonly hash: ContentHash,
    readonly reasons: string[],
  ) {
    super(`no peer could supply ${hash}${reasons.length ? `: ${reasons.join("; ")}` : " (no peer holds it)"}`);
  }
}

/** Settings of a {@link PeerFetcher}. */
export interface PeerFetcherOptions {
  /** Per-request limits (default: 2 s for headers and for body silence, 10 min in all). */
  timeouts?: Partial<HttpTimeouts>;
}

/**
 * Fetches content this node lacks from peers that hold it, over their HTTP gateways: first the
 * outboard (block hashes), checked against the root, then the bytes, each block checked against
 * its hash as it arrives; a peer that sends one bad block is dropped at that block and the next
 * peer is tried. Concurrent requests for one hash share one fetch.
 */
export class PeerFetcher {
  private readonly flights = new SingleFlight<StoredObject>();
  private readonly timeouts: HttpTimeouts;

  constructor(
    private readonly store: BlockStore,
    private readonly peers: PeerDirectory,
    options: PeerFetcherOptions = {},
  ) {
    this.timeouts = { responseMs: 2_000, idleMs: 2_000, totalMs: 600_000, ...options.timeouts };
  }

  /** Makes `hash` local (no-op if it already is) and returns it; throws {@link PeerFetchError}. */
  fetch(hash: ContentHash): Promise<StoredObject> {
    const stored = this.store.stat(hash);
    if (stored) return Promise.resolve(stored);
    return this.flights.run(hash, async () => {
      const reasons: string[] = [];
      for (const peer of await this.peers.providersOf(hash)) {
        try {
          return await this.fetchFrom(peer, hash);
        } catch (error) {
          reasons.push(`${peer}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      throw new PeerFetchError(hash, reasons);
    });
  }

  private async fetchFrom(peer: string, hash: ContentHash): Promise<StoredObject> {
    const asPeer = { [PEER_FETCH_HEADER]: "1" };
    const tree = await timedHttpGet(
      new URL(`/blake3/${hash}/outboard`, peer),
      this.timeouts,
      async (response, body) => {
        if (response.status !== 200) throw new Error(`outboard answered ${response.status}`);
        const length = Number(response.headers.get(CONTENT_LENGTH_HEADER));
        if (!Number.isSafeInteger(length) || length < 0) throw new Error(`bad ${CONTENT_LENGTH_HEADER} header`);
        const expectedBytes = blockCount(length) * HASH_BYTES;
        const parts: Uint8Array[] = [];
        let size = 0;
        for await (const part of body) {
          size += part.length;
          if (size > expectedBytes) throw new Error(`outboard longer than ${expectedBytes} bytes`);
          parts.push(part);
        }
        return { length, leaves: leavesFromOutboard(Buffer.concat(parts)) };
      },
      asPeer,
    );
    return timedHttpGet(
      new URL(`/blake3/${hash}`, peer),
      this.timeouts,
      async (response, body) => {
        if (response.status !== 200) throw new Error(`content answered ${response.status}`);
        return this.store.put(body, { expectedHash: hash, expectedTree: tree, contentType: response.headers.get("content-type") ?? undefined });
      },
      asPeer,
    );
  }
}
