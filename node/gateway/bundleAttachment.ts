/**
 * A function's bundle handed to the functions service with the request that first names it
 * (serviceChannel.ts `Kind.Attachment`), so a cold start does not read it back from the gateway
 * over HTTP (docs/functions.md "Cold start, third pass"). Only what the service would accept
 * crosses: content this node's blockstore holds (verified against the root, as `GET /blake3/<root>`
 * reads it), within the function's bundle limit and one frame. One frame is at most one block, read
 * synchronously (BlockStore.readBlockSync; docs/functions.md "Cold start, fourth pass"), so a
 * request never waits for a promise here.
 * Anything else (content only peers hold, a bundle over its limit, a read that fails) is left to
 * the service's own read through `GET /blake3/<root>`, which answers those cases as before.
 */
import type { BlockStore } from "../blockstore/blockStore";
import { parseContentHash } from "../blockstore/contentHash";
import { effectiveLimits, functionLimitsFrom, type RegisteredLimits } from "../functions/functionLimits";
import { MAX_PAYLOAD, type Attachment } from "../services/serviceChannel";

/** What this module needs of the node's services (ServiceSupervisor). */
export interface AttachingRouter {
  wantsAttachment(id: string, key: string): boolean;
  optionsOf(id: string): Record<string, unknown> | undefined;
}

/** The bundle of `root` to hand the functions service, or undefined when it should read it itself (see above). */
export function bundleAttachment(
  store: BlockStore,
  services: AttachingRouter,
  root: string,
  registered: Partial<RegisteredLimits> | undefined,
): Attachment | undefined {
  if (!services.wantsAttachment("functions", root)) return undefined;
  const hash = parseContentHash(root);
  const stored = hash && store.stat(hash);
  if (!hash || !stored) return undefined;
  let limit: number;
  try {
    limit = Math.min(MAX_PAYLOAD, effectiveLimits(functionLimitsFrom(services.optionsOf("functions")?.limits), registered).bundleBytes);
  } catch {
    return undefined;
  }
  if (stored.length > limit) return undefined;
  // A block that fails its check is evicted: the service's own read then fetches a good copy from peers.
  const bytes = store.readBlockSync(hash);
  return bytes && { key: root, bytes };
}
