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

import { agentCallCharge, llmTokenCharge, MAX_REPORT_AGENTS } from "./agentUsage";

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

/** The kinds of service a {@link ServiceCharge} itemizes (`ServiceCharge.kind`). */
export const ServiceKind = {
  /** Content delivery: service zero, requests = delivery acks, no CPU. */
  Content: 0,
  /** Edge function: service = the function's content root (zero: folded, see {@link MAX_REPORT_CHARGES}). */
  Function: 1,
  /** Agent calls: service = `bytes32(agentId)` of AgentMarketplace; split by the marketplace (docs/agents.md). */
  Agent: 2,
} as const;

/** `bytes32(0)`: the service of content delivery and of folded functions. */
export const NO_SERVICE = `0x${"00".repeat(32)}`;

/** The `service` of an agent's charges: `bytes32(agentId)`, 0x + 64 lower-case hex digits. */
export function agentService(agentId: bigint | number): string {
  return `0x${BigInt(agentId).toString(16).padStart(64, "0")}`;
}

/**
 * Most charges a report carries (`EpochReports.MAX_CHARGES`). Above it, {@link foldCharges} folds
 * the smallest (node, agent) and (node, function) entries into their node's zero entries: with at
 * most 100 active nodes there is room for every node's content entry and folded entries.
 */
export const MAX_REPORT_CHARGES = 1024;

/** What one node served one paying account over an epoch: content bytes and function invocations. */
export interface Delivery {
  nodeId: number;
  /** The escrow account that pays (an Ethereum address). */
  account: string;
  /** Content bytes delivered (delivery acks). */
  bytes: bigint;
  /** Content delivery acks of those bytes (default 0; counted in the content charge's requests). */
  acks?: bigint;
  /** Function invocations acknowledged (compute acks; default 0). */
  requests?: bigint;
  /** CPU microseconds of those invocations (default 0). */
  cpuUs?: bigint;
  /** The invoked function's content root (0x hex; default {@link NO_SERVICE}). */
  service?: string;
  /**
   * A budget within the account the charge also counts against (an owner-pays function,
   * `fn:<id>`; its cap in {@link usageTotals}' `budgets`). None: only the account's debitable caps it.
   */
  budget?: string;
  /**
   * The invocations are calls of agent `service` (`kind` {@link ServiceKind.Agent}) charged at this
   * price per call (protocol/agentUsage.ts agentCallCharge); absent: function invocations.
   */
  callPrice?: bigint;
  /**
   * LLM tokens the node metered for an agent's owner, who is `account` (charged per 1,000 tokens,
   * itemized as the node's (agent, zero) charge, which the escrow splits as plain revenue).
   */
  llmTokens?: bigint;
}

/** Prices of agent usage beyond each agent's own price per call (protocol/agentUsage.ts). */
export interface AgentPrices {
  /** `AgentMarketplace.pricePer1kTokens`: USDC units per 1,000 LLM tokens, paid by the agent's owner. */
  per1kTokens: bigint;
}

/** USDC a node earned from one service (`ServiceCharge` of the report, protocol/report.ts). */
export interface ServiceCharge {
  nodeId: number;
  /** A {@link ServiceKind}. */
  kind: number;
  /** bytes32, lower-case 0x hex: zero for content, the function's root for a function. */
  service: string;
  /** Delivery acks (content) or invocations (function). */
  requests: bigint;
  /** CPU milliseconds of the invocations, rounded down once over the entry's total. */
  cpuMs: bigint;
  /** USDC units paid (after budget and debitable scaling). */
  amount: bigint;
}

/** Per-client usage, per-node revenue and per-(node, service) charges of an epoch. */
export interface UsageTotals {
  /** Escrow account (lower-case) → USDC units debited (at most its debitable amount). */
  usage: Map<string, bigint>;
  /** Node id → USDC units of that usage it served (its revenue, the report's `revenue`). */
  revenue: Map<number, bigint>;
  /** Per (node, kind, service), in strictly increasing order; each node's amounts sum to its revenue. */
  charges: ServiceCharge[];
}

/** The canonical order of charges: (nodeId, kind, service) increasing. */
export function compareCharges(a: ServiceCharge, b: ServiceCharge): number {
  return a.nodeId - b.nodeId || a.kind - b.kind || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0);
}

/**
 * Charges within {@link MAX_REPORT_CHARGES}: unchanged when they fit; otherwise each node keeps
 * room for its content entry and its folded (function, zero) and (agent, zero) entries, the
 * (node, agent) entries outside the largest that fit are folded into their node's (agent, zero)
 * entry (up to 128 agents, {@link foldAgentCharges}, served by up to 100 nodes is more than a
 * report carries), and the function charges outside the largest that fit in the room left into
 * their node's (function, zero) entry. Ranked by amount, then requests, then canonical order.
 * Amounts are moved, never rounded, so each node's sum is kept.
 */
export function foldCharges(charges: readonly ServiceCharge[]): ServiceCharge[] {
  if (charges.length <= MAX_REPORT_CHARGES) return [...charges].sort(compareCharges);
  const nodes = new Set(charges.map((c) => c.nodeId)).size;
  const agentNodes = new Set(charges.filter((c) => c.kind === ServiceKind.Agent).map((c) => c.nodeId)).size;
  // The registry's report has at most MAX_ACTIVE = 100 nodes, so the room left is positive.
  const room = MAX_REPORT_CHARGES - 2 * nodes - agentNodes;
  const agents = largestFirst(charges.filter((c) => c.kind === ServiceKind.Agent && c.service !== NO_SERVICE));
  const foldedAgents = new Set(agents.slice(room));
  const functions = largestFirst(charges.filter((c) => c.kind === ServiceKind.Function && c.service !== NO_SERVICE));
  const folded = new Set(functions.slice(Math.max(0, room - (agents.length - foldedAgents.size))));
  return mergeFolded(charges, (c) => folded.has(c) || foldedAgents.has(c) || (c.kind === ServiceKind.Function && c.service === NO_SERVICE));
}

/** `charges` by amount, then requests, decreasing, then in canonical order. */
function largestFirst(charges: ServiceCharge[]): ServiceCharge[] {
  return charges.sort(
    (a, b) =>
      (a.amount > b.amount ? -1 : a.amount < b.amount ? 1 : 0) || (a.requests > b.requests ? -1 : a.requests < b.requests ? 1 : 0) || compareCharges(a, b),
  );
}

/**
 * Charges of at most {@link MAX_REPORT_AGENTS} agents: unchanged when they fit; otherwise the
 * agents outside the largest `MAX_REPORT_AGENTS` (by amount over all nodes, then requests, then
 * agent id) have their charges merged per node into its (node, agent, zero) entry, which the
 * escrow splits as plain revenue (no agent to settle). As {@link foldCharges}, amounts are moved,
 * never rounded, so each node's sum is kept.
 */
export function foldAgentCharges(charges: readonly ServiceCharge[]): ServiceCharge[] {
  const totals = new Map<string, { amount: bigint; requests: bigint }>();
  for (const c of charges) {
    if (c.kind !== ServiceKind.Agent || c.service === NO_SERVICE) continue;
    const t = totals.get(c.service) ?? { amount: 0n, requests: 0n };
    t.amount += c.amount;
    t.requests += c.requests;
    totals.set(c.service, t);
  }
  if (totals.size <= MAX_REPORT_AGENTS) return [...charges].sort(compareCharges);
  const ranked = [...totals].sort(
    ([sa, a], [sb, b]) =>
      (a.amount > b.amount ? -1 : a.amount < b.amount ? 1 : 0) || (a.requests > b.requests ? -1 : a.requests < b.requests ? 1 : 0) || (sa < sb ? -1 : 1),
  );
  const kept = new Set(ranked.slice(0, MAX_REPORT_AGENTS).map(([service]) => service));
  return mergeFolded(charges, (c) => c.kind === ServiceKind.Agent && !kept.has(c.service));
}

/** `charges` with those `fold` picks moved to their node's (kind, zero) entry, in canonical order. */
function mergeFolded(charges: readonly ServiceCharge[], fold: (c: ServiceCharge) => boolean): ServiceCharge[] {
  const out = new Map<string, ServiceCharge>();
  for (const c of charges) {
    const entry = fold(c) ? { ...c, service: NO_SERVICE } : c;
    const key = `${entry.nodeId}:${entry.kind}:${entry.service}`;
    const prev = out.get(key);
    out.set(
      key,
      prev ? { ...prev, requests: prev.requests + entry.requests, cpuMs: prev.cpuMs + entry.cpuMs, amount: prev.amount + entry.amount } : { ...entry },
    );
  }
  return [...out.values()].sort(compareCharges);
}

/**
 * Charges each (node, account, budget, service) atom of the deliveries: a pair's content bytes
 * with {@link bandwidthCharge}, its invocations of each function with {@link computeCharge}, its
 * calls of each agent with agentCallCharge and an owner's LLM tokens with llmTokenCharge (at
 * `agentPrices`; protocol/agentUsage.ts), each over the epoch's totals. An account is debited at most what the escrow lets the epoch's
 * report take from it (`debitable`: `ServiceEscrow.debitable` at the epoch's first block; an account
 * missing from the map has 0): when its charges exceed that, each atom's charge is scaled down to
 * `charge × debitable / charges`, rounded down; before that, the atoms of a budget (an owner-pays
 * function's cap per epoch) over its cap are scaled the same way to the cap. Each paid atom is
 * then credited, unrounded again, to the account's usage, the node's revenue and the node's
 * (kind, service) charge: the nodes' revenue always equals the USDC the report debits, each
 * node's charges sum to its revenue by construction, and a node is never paid for usage nobody
 * paid (docs/payments.md).
 */
export function usageTotals(
  deliveries: Iterable<Delivery>,
  debitable: ReadonlyMap<string, bigint>,
  pricePerGB: bigint = BANDWIDTH_PRICE_PER_GB,
  computePrices: ComputePrices = DEFAULT_COMPUTE_PRICES,
  budgets: ReadonlyMap<string, bigint> = new Map(),
  agentPrices: AgentPrices = { per1kTokens: 0n },
): UsageTotals {
  interface Atom {
    nodeId: number;
    account: string;
    budget?: string;
    kind: number;
    service: string;
    bytes: bigint;
    requests: bigint;
    cpuUs: bigint;
    /** Agent calls: the agent's price per call; LLM tokens of the (agent, zero) atom. */
    callPrice: bigint;
    tokens: bigint;
    charge: bigint;
  }
  const atoms = new Map<string, Atom>();
  const add = (d: Delivery, account: string, kind: number, service: string, bytes: bigint, requests: bigint, cpuUs: bigint, tokens = 0n) => {
    const key = `${d.nodeId}:${account}:${d.budget ?? ""}:${kind}:${service}`;
    let atom = atoms.get(key);
    const callPrice = d.callPrice ?? 0n;
    if (!atom) {
      atom = { nodeId: d.nodeId, account, budget: d.budget, kind, service, bytes: 0n, requests: 0n, cpuUs: 0n, callPrice, tokens: 0n, charge: 0n };
      atoms.set(key, atom);
    } else if (kind === ServiceKind.Agent && service !== NO_SERVICE && atom.callPrice !== callPrice) {
      // An agent has one price in an epoch (priceAt at its first block): two are a caller bug.
      throw new Error(`agent ${service} charged at ${atom.callPrice} and ${callPrice} in one epoch`);
    }
    atom.bytes += bytes;
    atom.requests += requests;
    atom.cpuUs += cpuUs;
    atom.tokens += tokens;
  };
  for (const d of deliveries) {
    const account = d.account.toLowerCase();
    if (d.bytes > 0n || (d.acks ?? 0n) > 0n) add(d, account, ServiceKind.Content, NO_SERVICE, d.bytes, d.acks ?? 0n, 0n);
    const kind = d.callPrice === undefined ? ServiceKind.Function : ServiceKind.Agent;
    if ((d.requests ?? 0n) > 0n || (d.cpuUs ?? 0n) > 0n) add(d, account, kind, (d.service ?? NO_SERVICE).toLowerCase(), 0n, d.requests ?? 0n, d.cpuUs ?? 0n);
    if ((d.llmTokens ?? 0n) > 0n) add(d, account, ServiceKind.Agent, NO_SERVICE, 0n, 0n, 0n, d.llmTokens);
  }
  const inBudget = new Map<string, bigint>();
  for (const a of atoms.values()) {
    a.charge =
      a.kind === ServiceKind.Content
        ? bandwidthCharge(a.bytes, pricePerGB)
        : a.kind === ServiceKind.Function
          ? computeCharge(a.requests, a.cpuUs, computePrices)
          : agentCallCharge(a.requests, a.cpuUs, { perCall: a.callPrice, perMillionCpuMs: computePrices.perMillionCpuMs }) +
            llmTokenCharge(a.tokens, agentPrices.per1kTokens);
    if (a.budget !== undefined) inBudget.set(a.budget, (inBudget.get(a.budget) ?? 0n) + a.charge);
  }
  // A budget over its cap (missing: 0) is scaled down first, as an account over its debitable is below.
  const charged = new Map<string, bigint>();
  for (const a of atoms.values()) {
    if (a.budget !== undefined) {
      const total = inBudget.get(a.budget)!;
      const cap = budgets.get(a.budget) ?? 0n;
      if (total > cap) a.charge = (a.charge * cap) / total;
    }
    charged.set(a.account, (charged.get(a.account) ?? 0n) + a.charge);
  }
  const usage = new Map<string, bigint>();
  const revenue = new Map<number, bigint>();
  const byService = new Map<string, ServiceCharge & { cpuUs: bigint }>();
  for (const a of atoms.values()) {
    const total = charged.get(a.account)!;
    const cap = debitable.get(a.account) ?? 0n;
    const paid = total <= cap ? a.charge : (a.charge * cap) / total;
    usage.set(a.account, (usage.get(a.account) ?? 0n) + paid);
    revenue.set(a.nodeId, (revenue.get(a.nodeId) ?? 0n) + paid);
    const key = `${a.nodeId}:${a.kind}:${a.service}`;
    const c = byService.get(key) ?? { nodeId: a.nodeId, kind: a.kind, service: a.service, requests: 0n, cpuMs: 0n, cpuUs: 0n, amount: 0n };
    c.requests += a.requests;
    c.cpuUs += a.cpuUs;
    c.amount += paid;
    byService.set(key, c);
  }
  const charges = [...byService.values()].map(({ cpuUs, ...c }) => ({ ...c, cpuMs: cpuUs / 1_000n }));
  return { usage, revenue, charges: foldCharges(foldAgentCharges(charges)) };
}
