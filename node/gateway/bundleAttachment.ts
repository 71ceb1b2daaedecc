/**
 * A function's bundle handed to the functions service with the request that first names it
 * (serviceChannel.ts `Kind.Attachment`), so a cold start does not read it back from the gateway
 * over HTTP (docs/functions.md "Cold start, third pass"). Only what the service would accept
 * crosses: content this node's blockstore holds (read block by block, each verified against the
 * root, as `GET /blake3/<root>` reads it), within the function's bundle limit and one frame.
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
export async function bundleAttachment(
  store: BlockStore,
  services: AttachingRouter,
  root: string,
  registered: Partial<RegisteredLimits> | undefined,
): Promise<Attachment | undefined> {
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
  try {
    let parts = stored.length === 0 ? [] : store.cachedSlices(hash, 0, stored.length);
    if (!parts) {
      parts = [];
      for await (const part of store.read(hash)) parts.push(part);
    }
    return { key: root, bytes: Buffer.concat(parts) };
  } catch {
    // A block that fails its check is evicted; the service's own read fetches a good copy from peers.
    return undefined;
  }
}
