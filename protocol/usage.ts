/**
 * Service usage and revenue from delivery acknowledgments (SPEC §5, §8): what a client owes and
 * what a node earned in an epoch. The committee builds its report with these and the indexer can
 * recompute them from the same acknowledgments, so they live here, once.
 */

/** Bandwidth price: USDC units (6 decimals) per 10^9 bytes delivered. 100,000 = $0.10/GB, Fleek's testnet price. */
export const BANDWIDTH_PRICE_PER_GB = 100_000n;

/** Bytes in the price's unit. */
const GB = 1_000_000_000n;

/**
 * USDC units charged for `bytes` delivered at `pricePerGB`, rounded down. Charged once per
 * (client, node) pair over the pair's total bytes of the epoch, not per acknowledgment, so small
 * deliveries add up before rounding instead of each rounding to zero.
 */
export function bandwidthCharge(bytes: bigint, pricePerGB: bigint = BANDWIDTH_PRICE_PER_GB): bigint {
  return (bytes * pricePerGB) / GB;
}

/** Bytes one node delivered to one paying account over an epoch. */
export interface Delivery {
  nodeId: number;
  /** The escrow account that pays (an Ethereum address). */
  account: string;
  bytes: bigint;
}

/** Per-client usage and per-node revenue of an epoch. */
export interface UsageTotals {
  /** Escrow account (lower-case) → USDC units owed. */
  usage: Map<string, bigint>;
  /** Node id → USDC units served (its revenue, the report's `revenue`). */
  revenue: Map<number, bigint>;
}

/**
 * Sums deliveries per (node, account) pair, charges each pair's bytes with {@link bandwidthCharge}
 * and credits the charge both to the account's usage and to the node's revenue, so the report's
 * total usage always equals the sum of the nodes' revenues.
 */
export function usageTotals(deliveries: Iterable<Delivery>, pricePerGB: bigint = BANDWIDTH_PRICE_PER_GB): UsageTotals {
  const pairs = new Map<string, Delivery>();
  for (const d of deliveries) {
    const account = d.account.toLowerCase();
    const key = `${d.nodeId}:${account}`;
    const pair = pairs.get(key) ?? { nodeId: d.nodeId, account, bytes: 0n };
    pair.bytes += d.bytes;
    pairs.set(key, pair);
  }
  const usage = new Map<string, bigint>();
  const revenue = new Map<number, bigint>();
  for (const p of pairs.values()) {
    const charge = bandwidthCharge(p.bytes, pricePerGB);
    usage.set(p.account, (usage.get(p.account) ?? 0n) + charge);
    revenue.set(p.nodeId, (revenue.get(p.nodeId) ?? 0n) + charge);
  }
  return { usage, revenue };
}
