/**
 * What agent calls cost (docs/agents.md "Payment of calls"): the caller pays the agent's
 * marketplace price per call for the epoch plus the call's CPU at the escrow's CPU price, and the
 * agent's owner pays the LLM tokens the host metered. The committee charges with these, the node
 * admits calls with them, and the indexer can recompute them, so they live here, once.
 */

/** Prices an agent call is charged at in one epoch, all read at the epoch's first block. */
export interface AgentCallPrices {
  /** `AgentMarketplace.priceAt(id, epoch)`: USDC units per call (a change applies from the next epoch). */
  perCall: bigint;
  /** `ServiceEscrow.pricePerMillionCpuMs`: USDC units per million CPU milliseconds. */
  perMillionCpuMs: bigint;
}

/**
 * USDC units a caller pays for `calls` calls of one agent that used `cpuUs` microseconds of CPU in
 * all: `calls × perCall + cpuUs × perMillionCpuMs / 10^9`, rounded down once over the epoch's
 * totals of a (node, caller, agent) triple, as function invocations are.
 */
export function agentCallCharge(calls: bigint, cpuUs: bigint, prices: AgentCallPrices): bigint {
  return (calls * prices.perCall * 1_000_000_000n + cpuUs * prices.perMillionCpuMs) / 1_000_000_000n;
}

/**
 * USDC units an agent's owner pays for `tokens` LLM tokens (prompt and completion) the host
 * metered, at `per1kTokens` (`AgentMarketplace.pricePer1kTokens`), rounded down once over the
 * epoch's total of a (node, owner) pair.
 */
export function llmTokenCharge(tokens: bigint, per1kTokens: bigint): bigint {
  return (tokens * per1kTokens) / 1_000n;
}

/**
 * Most agents whose charges a report itemizes: `ServiceEscrow.MAX_SETTLED_AGENTS`, the agents the
 * escrow settles through the marketplace in one debit (more ran out of a transaction's gas).
 */
export const MAX_REPORT_AGENTS = 128;
