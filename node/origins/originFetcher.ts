import type { BlockStore, StoredObject } from "../blockstore/blockStore";
import type { ContentHash } from "../blockstore/contentHash";
import { ContentTooLargeError, IntegrityError } from "../blockstore/errors";
import { OriginError } from "./originError";
import { parseOriginPointer, type OriginPointer } from "./originPointer";
import { SingleFlight } from "./singleFlight";
import { timedHttpGet } from "./timedHttpGet";
import { IntegrityCheck, type IntegrityExpectation } from "./subresourceIntegrity";

/** Pointers remembered with the root they gave. */
const MAX_RESOLVED = 100_000;

/** Limits and places for origin fetches. */
export interface OriginFetcherOptions {
  /** Base URLs of IPFS gateways tried in order for `ipfs://` pointers (e.g. `https://ipfs.io`). */
  ipfsGateways?: string[];
  /** Longest wait for the response headers (default 5 s, as Fleek's IPFS origin). */
  responseTimeoutMs?: number;
  /** Longest silence inside the body before the origin counts as stalled (default 5 s). */
  idleTimeoutMs?: number;
  /** Longest whole fetch (default 10 min). */
  totalTimeoutMs?: number;
  /** Largest content accepted (default: the store's whole budget). */
  maxLength?: number;
}

/**
 * Pulls content from HTTP(S) URLs and IPFS gateways into the blockstore, verifying it on the way
 * in. A pointer is fetched once: later requests are answered from the store while it still holds
 * the content, and concurrent requests for the same pointer share one fetch.
 */
export class OriginFetcher {
  private readonly flights = new SingleFlight<StoredObject>();
  /** Pointer key → root of what it gave last time (Fleek's node calls this the resolver). */
  private readonly resolved = new Map<string, ContentHash>();

  constructor(
    private readonly store: BlockStore,
    private readonly options: OriginFetcherOptions = {},
  ) {}

  /**
   * Fetches `url` (optionally checked against `integrity`) into the store and returns what was
   * stored. Throws {@link OriginError} with the reason; nothing is stored on failure.
   */
  async fetch(url: string, integrity?: string): Promise<StoredObject> {
    const pointer = parseOriginPointer(url, integrity);
    const known = this.resolved.get(pointer.key);
    const stored = known && this.store.stat(known);
    if (stored) return stored;
    return this.flights.run(pointer.key, async () => {
      const object = await this.fetchFirstWorking(pointer);
      this.resolved.set(pointer.key, object.hash);
      // Bounded: forgetting a pointer only costs a refetch, which the store then deduplicates.
      if (this.resolved.size > MAX_RESOLVED) this.resolved.delete(this.resolved.keys().next().value!);
      return object;
    });
  }

  private async fetchFirstWorking(pointer: OriginPointer): Promise<StoredObject> {
    const candidates = pointer.url
      ? [pointer.url]
      : (this.options.ipfsGateways ?? []).map((gateway) => new URL(`/ipfs/${pointer.ipfs!.cid.text}${pointer.ipfs!.path}`, gateway));
    if (candidates.length === 0) throw new OriginError("bad-pointer", "no IPFS gateway is configured on this node");
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        return await this.fetchUrl(candidate, pointer);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  private async fetchUrl(url: URL, pointer: OriginPointer): Promise<StoredObject> {
    const timeouts = {
      responseMs: this.options.responseTimeoutMs ?? 5_000,
      idleMs: this.options.idleTimeoutMs ?? 5_000,
      totalMs: this.options.totalTimeoutMs ?? 600_000,
    };
    try {
      return await timedHttpGet(url, timeouts, async (response, body) => {
        if (response.status !== 200) {
          await response.body?.cancel();
          throw new OriginError("upstream-status", `${url.href} answered ${response.status}`);
        }
        const declared = response.headers.get("content-length");
        const limit = this.options.maxLength;
        if (declared !== null && limit !== undefined && Number(declared) > limit) {
          await response.body?.cancel();
          throw new OriginError("too-large", `${url.href} declares ${declared} bytes, over the limit of ${limit}`);
        }
        return this.store.put(checkedBody(body, pointer.integrity, declared === null ? undefined : Number(declared)), {
          contentType: response.headers.get("content-type") ?? undefined,
          maxLength: limit,
          expectedHash: pointer.expectedHash,
        });
      });
    } catch (error) {
      throw asOriginError(error, url);
    }
  }
}

/**
 * Passes the body through while counting and hashing it; throws at the end (before the store
 * commits anything) if it is shorter or longer than declared or fails an integrity check.
 */
async function* checkedBody(
  body: AsyncIterable<Uint8Array>,
  integrity: IntegrityExpectation[],
  declaredLength: number | undefined,
): AsyncGenerator<Uint8Array> {
  const checks = integrity.map((expectation) => new IntegrityCheck(expectation));
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    for (const check of checks) check.update(chunk);
    yield chunk;
  }
  if (declaredLength !== undefined && length !== declaredLength) {
    throw new OriginError("network", `body has ${length} bytes, Content-Length said ${declaredLength}`);
  }
  if (!checks.every((check) => check.matches())) throw new OriginError("integrity", "content does not match its integrity hash");
}

function asOriginError(error: unknown, url: URL): OriginError {
  if (error instanceof OriginError) return error;
  if (error instanceof ContentTooLargeError) return new OriginError("too-large", `${url.href}: ${error.message}`);
  if (error instanceof IntegrityError) return new OriginError("integrity", `${url.href}: ${error.message}`);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return new OriginError("network", `${url.href}: ${error instanceof Error ? error.message : String(error)}${cause}`);
}
