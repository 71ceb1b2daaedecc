/**
 * Service usage and revenue from delivery acknowledgments (docs/spec.md §5, §8): what a client pays and
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

/**
 * Edge function prices (`ServiceEscrow.pricePerMillionRequests` and `pricePerMillionCpuMs`,
 * governance parameters read at the epoch's first block): USDC units per million invocations and
 * per million CPU milliseconds, so prices as low as Cloudflare's ($0.30 per million requests,
 * $0.02 per million CPU-ms) are expressible in 6-decimal units.
 */
export interface ComputePrices {
  perMillionRequests: bigint;
  perMillionCpuMs: bigint;
}

/** `ServiceEscrow`'s constructor defaults: $0.30 per million requests, $0.02 per million CPU-ms. */
export const DEFAULT_COMPUTE_PRICES: ComputePrices = { perMillionRequests: 300_000n, perMillionCpuMs: 20_000n };

/**
 * USDC units charged for `requests` invocations that used `cpuUs` microseconds of CPU in all,
 * rounded down once: `(requests × perMillionRequests + cpuUs × perMillionCpuMs / 1000) / 10^6`,
 * computed as `(requests × perMillionRequests × 1000 + cpuUs × perMillionCpuMs) / 10^9`. Like
 * bandwidth it is charged per (client, node) pair over the epoch's totals.
 */
export function computeCharge(requests: bigint, cpuUs: bigint, prices: ComputePrices = DEFAULT_COMPUTE_PRICES): bigint {
  return (requests * prices.perMillionRequests * 1_000n + cpuUs * prices.perMillionCpuMs) / 1_000_000_000n;
}

/** What one node served one paying account over an epoch: content bytes and function invocations. */
export interface Delivery {
  nodeId: number;
  /** The escrow account that pays (an Ethereum address). */
  account: string;
  /** Content bytes delivered (delivery acks). */
  bytes: bigint;
  /** Function invocations acknowledged (compute acks; default 0). */
  requests?: bigint;
  /** CPU microseconds of those invocations (default 0). */
  cpuUs?: bigint;
  /**
   * A budget within the account the charge also counts against (an owner-pays function,
   * `fn:<id>`; its cap in {@link usageTotals}' `budgets`). None: only the account's debitable caps it.
   */
  budget?: string;
}

/** Per-client usage and per-node revenue of an epoch. */
export interface UsageTotals {
  /** Escrow account (lower-case) → USDC units debited (at most its debitable amount). */
  usage: Map<string, bigint>;
  /** Node id → USDC units of that usage it served (its revenue, the report's `revenue`). */
  revenue: Map<number, bigint>;
}

/**
 * Sums deliveries per (node, account) pair and charges each pair's bytes with
 * {@link bandwidthCharge} plus its invocations with {@link computeCharge}. An account is debited at most what the escrow lets the epoch's report
 * take from it (`debitable`: `ServiceEscrow.debitable` at the epoch's first block; an account
 * missing from the map has 0): when its charges exceed that, each pair's charge is scaled down to
 * `charge × debitable / charges`, rounded down; before that, the pairs of a budget (an owner-pays
 * function's cap per epoch) over its cap are scaled the same way to the cap. Each (scaled) charge is credited both to the
 * account's usage and to the node's revenue, so the nodes' revenue always equals the USDC the
 * report debits, and a node is never paid for usage nobody paid (docs/payments.md).
 */
export function usageTotals(
  deliveries: Iterable<Delivery>,
  debitable: ReadonlyMap<string, bigint>,
  pricePerGB: bigint = BANDWIDTH_PRICE_PER_GB,
  computePrices: ComputePrices = DEFAULT_COMPUTE_PRICES,
  budgets: ReadonlyMap<string, bigint> = new Map(),
): UsageTotals {
  const pairs = new Map<string, { nodeId: number; account: string; budget?: string; bytes: bigint; requests: bigint; cpuUs: bigint; charge: bigint }>();
  for (const d of deliveries) {
    const account = d.account.toLowerCase();
    const key = `${d.nodeId}:${account}:${d.budget ?? ""}`;
    const pair = pairs.get(key) ?? { nodeId: d.nodeId, account, budget: d.budget, bytes: 0n, requests: 0n, cpuUs: 0n, charge: 0n };
    pair.bytes += d.bytes;
    pair.requests += d.requests ?? 0n;
    pair.cpuUs += d.cpuUs ?? 0n;
    pairs.set(key, pair);
  }
  const inBudget = new Map<string, bigint>();
  for (const p of pairs.values()) {
    p.charge = bandwidthCharge(p.bytes, pricePerGB) + computeCharge(p.requests, p.cpuUs, computePrices);
    if (p.budget !== undefined) inBudget.set(p.budget, (inBudget.get(p.budget) ?? 0n) + p.charge);
  }
  // A budget over its cap (missing: 0) is scaled down first, as an account over its debitable is below.
  const charged = new Map<string, bigint>();
  for (const p of pairs.values()) {
    if (p.budget !== undefined) {
      const total = inBudget.get(p.budget)!;
      const cap = budgets.get(p.budget) ?? 0n;
      if (total > cap) p.charge = (p.charge * cap) / total;
    }
    charged.set(p.account, (charged.get(p.account) ?? 0n) + p.charge);
  }
  const usage = new Map<string, bigint>();
  const revenue = new Map<number, bigint>();
  for (const p of pairs.values()) {
    const total = charged.get(p.account)!;
    const cap = debitable.get(p.account) ?? 0n;
    const paid = total <= cap ? p.charge : (p.charge * cap) / total;
    usage.set(p.account, (usage.get(p.account) ?? 0n) + paid);
    revenue.set(p.nodeId, (revenue.get(p.nodeId) ?? 0n) + paid);
  }
  return { usage, revenue };
}
