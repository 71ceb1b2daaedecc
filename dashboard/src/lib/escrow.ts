/**
 * The Account page's escrow figures from `ServiceEscrow.accounts(client)` and the registry's
 * epoch, with the escrow's own rules (protocol/escrow.ts), and the checks of its two inputs.
 */
import { MAX_SPENDING_LIMIT, debitableAmount, pendingSpendingLimit, spendingLimitAt, withdrawPayout, type SpendingLimitState } from "../../../protocol/escrow";
import { AmountError, formatUsdc, parseAmount, USDC_DECIMALS } from "./format";

/** `ServiceEscrow.accounts(client)` as ethers returns it. */
export interface EscrowAccountFields {
  balance: bigint;
  withdrawalAmount: bigint;
  withdrawableAt: bigint;
  nextLimitFrom: bigint;
  limit: bigint;
  nextLimit: bigint;
}

/** What the page shows about a client's escrow in one epoch. */
export interface EscrowView {
  epoch: number;
  balance: bigint;
  /** The spending limit per epoch in force this epoch. */
  limit: bigint;
  /** A limit set this epoch and the epoch it takes effect (undefined: none pending). */
  pending?: { limit: bigint; fromEpoch: number };
  /** What this epoch's report may debit at most: the reserve a withdrawal leaves. */
  debitable: bigint;
  /** The announced withdrawal (0: none). */
  announced: bigint;
  /** When the announced withdrawal may be made (unix seconds). */
  withdrawableAt: bigint;
  /** What `withdraw()` pays this epoch once the notice has passed. */
  payout: bigint;
  /** Whether the notice has passed at `now`. */
  noticePassed: boolean;
}

/** The page's view of `a` in `epoch`, with `now` the chain's latest block time. */
export function escrowView(a: EscrowAccountFields, epoch: number, now: bigint): EscrowView {
  const limits: SpendingLimitState = { limit: a.limit, nextLimit: a.nextLimit, nextLimitFrom: Number(a.nextLimitFrom) };
  return {
    epoch,
    balance: a.balance,
    limit: spendingLimitAt(limits, epoch),
    pending: pendingSpendingLimit(limits, epoch),
    debitable: debitableAmount(a.balance, limits, epoch),
    announced: a.withdrawalAmount,
    withdrawableAt: a.withdrawableAt,
    payout: withdrawPayout(a.balance, a.withdrawalAmount, limits, epoch),
    noticePassed: a.withdrawalAmount > 0n && now >= a.withdrawableAt,
  };
}

/** The parse of a USDC input: units, or the reason it is refused. */
export interface ParsedUsdc {
  value?: bigint;
  error?: string;
}

function parseUsdc(text: string): ParsedUsdc {
  try {
    return { value: parseAmount(text, USDC_DECIMALS) };
  } catch (err) {
    if (err instanceof AmountError) return { error: err.message };
    throw err;
  }
}

/** A new spending limit: 0 (stops all debits from the next epoch) up to {@link MAX_SPENDING_LIMIT}. */
export function parseSpendingLimit(text: string): ParsedUsdc {
  const parsed = parseUsdc(text);
  if (parsed.value !== undefined && parsed.value > MAX_SPENDING_LIMIT) return { error: `At most ${formatUsdc(MAX_SPENDING_LIMIT)}.` };
  return parsed;
}

/** An amount to deposit (more than 0, at most the wallet's USDC) or to announce for withdrawal (at most the balance). */
export function parseEscrowAmount(text: string, max: bigint, over: string): ParsedUsdc {
  const parsed = parseUsdc(text);
  if (parsed.value === undefined) return parsed;
  if (parsed.value === 0n) return { error: "The amount must be more than zero." };
  if (parsed.value > max) return { error: `${over} ${formatUsdc(max)}.` };
  return parsed;
}
