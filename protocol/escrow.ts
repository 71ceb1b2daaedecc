/**
 * ServiceEscrow's per-client rules (docs/payments.md), as the indexer and the dashboard apply them
 * to state they hold: the spending limit in force in an epoch and what `withdraw` pays. They mirror
 * `ServiceEscrow._limitAt`, `_debitable` and `withdraw` exactly.
 */
import { USDC } from "./units";

/** `ServiceEscrow.DEFAULT_SPENDING_LIMIT`: 1,000 USDC per epoch for a client that never set one. */
export const DEFAULT_SPENDING_LIMIT = 1_000n * USDC;

/** The largest limit the escrow stores (a uint64: `setSpendingLimit` reverts above it, SafeCast). */
export const MAX_SPENDING_LIMIT = 2n ** 64n - 1n;

/**
 * A client's spending limit as the escrow stores it: `limit` until epoch `nextLimitFrom`,
 * `nextLimit` from then on; `nextLimitFrom` 0 means the client never set one.
 */
export interface SpendingLimitState {
  limit: bigint;
  nextLimit: bigint;
  nextLimitFrom: number;
}

/** The spending limit per epoch in force in `epoch` (`ServiceEscrow.spendingLimit(client, epoch)`). */
export function spendingLimitAt(s: SpendingLimitState, epoch: number): bigint {
  if (s.nextLimitFrom === 0) return DEFAULT_SPENDING_LIMIT;
  return epoch >= s.nextLimitFrom ? s.nextLimit : s.limit;
}

/**
 * The state after `setSpendingLimit(limit)` in `epoch`: the limit of `epoch` is kept (it may
 * already have been read by the committee) and `limit` applies from `epoch + 1`.
 */
export function withSpendingLimit(s: SpendingLimitState, limit: bigint, epoch: number): SpendingLimitState {
  return { limit: spendingLimitAt(s, epoch), nextLimit: limit, nextLimitFrom: epoch + 1 };
}

/** A limit set but not in force yet in `epoch`, with the epoch it takes effect; undefined when none. */
export function pendingSpendingLimit(s: SpendingLimitState, epoch: number): { limit: bigint; fromEpoch: number } | undefined {
  return s.nextLimitFrom > epoch ? { limit: s.nextLimit, fromEpoch: s.nextLimitFrom } : undefined;
}

/** What a report of `epoch` may debit the client: `min(balance, limit of epoch)` (`ServiceEscrow.debitable`). */
export function debitableAmount(balance: bigint, s: SpendingLimitState, epoch: number): bigint {
  const limit = spendingLimitAt(s, epoch);
  return balance < limit ? balance : limit;
}

/**
 * What `withdraw()` pays in `epoch`: the announced amount, at most the balance above the epoch's
 * reserve ({@link debitableAmount}). Whether the notice has passed is the caller's check.
 */
export function withdrawPayout(balance: bigint, announced: bigint, s: SpendingLimitState, epoch: number): bigint {
  const free = balance - debitableAmount(balance, s, epoch);
  return announced < free ? announced : free;
}
