/**
 * Turns a failed call or transaction into one sentence a user can act on: the wallet's refusal,
 * a contract's custom error decoded from any ABI of the suite, or the node's message.
 */
import type { ErrorDescription, Interface } from "ethers";
import { MAX_SPENDING_LIMIT } from "../../../protocol/escrow";
import { formatAmount, formatDateTime, formatUsdc, USDC_DECIMALS } from "./format";

let combined: Pick<Interface, "parseError"> | undefined;

/**
 * Sets the interface whose custom errors {@link describeError} decodes: every error of the suite,
 * built by lib/contracts.ts (so ethers' ABI coder loads with the pages, not with the first page).
 */
export function registerErrorInterface(errors: Pick<Interface, "parseError">): void {
  combined = errors;
}

/** The ABI's error fragments, each signature once: the input of {@link registerErrorInterface}'s interface. */
export function errorFragments(abis: readonly unknown[]): unknown[] {
  const seen = new Set<string>();
  const fragments: unknown[] = [];
  for (const abi of abis) {
    for (const item of abi as { type: string; name?: string; inputs?: { type: string }[] }[]) {
      if (item.type !== "error") continue;
      const key = `${item.name}(${(item.inputs ?? []).map((i) => i.type).join(",")})`;
      if (seen.has(key)) continue;
      seen.add(key);
      fragments.push(item);
    }
  }
  return fragments;
}

/** `NodeStaking.Status` in words, by its index. */
export const STATUS_NAMES = ["none", "pending", "active", "jailed", "exited"] as const;

/** The name of a node status (`Status` enum value from the contract). */
export function statusName(status: bigint | number): string {
  return STATUS_NAMES[Number(status)] ?? `unknown (${status})`;
}

const flk = (v: unknown) => `${formatAmount(v as bigint)} FLK`;
const usdc = (v: unknown) => formatUsdc(v as bigint);
/** Decimals of the tokens whose ERC-20 errors name them, when not 18. */
const TOKEN_DECIMALS: Record<string, number> = { USDC: USDC_DECIMALS };
const tokenAmount = (v: unknown, token: string) => `${formatAmount(v as bigint, TOKEN_DECIMALS[token] ?? 18)} ${token}`;

/** Words for the errors users actually meet; anything else is described from its name and arguments. */
const WORDS: Record<string, (args: readonly unknown[], token: string) => string> = {
  StakingZeroAmount: () => "The amount must be more than zero.",
  StakingInsufficientStake: ([requested, staked]) => `You asked to unstake ${flk(requested)} but only ${flk(staked)} is staked.`,
  StakingNothingToWithdraw: () => "Nothing to withdraw yet: unstaked FLK becomes withdrawable after the unbonding period.",
  StakingNothingToClaim: () => "There are no rewards to claim yet.",
  StakingRewardsUnfunded: () => "The staking contract does not hold enough rewards yet; try again after the next emission.",
  StakingZeroDelegate: () => "Delegate to an address, not the zero address.",
  VestingNothingToRelease: () => "Nothing of this schedule is releasable yet.",
  // The ERC-20 errors name the token the transaction moves: FLK, or a creator token when selling it.
  ERC20InsufficientBalance: ([, balance, needed], token) =>
    `Your balance of ${tokenAmount(balance, token)} is less than the ${tokenAmount(needed, token)} needed.`,
  ERC20InsufficientAllowance: ([, allowance, needed], token) =>
    `The approved allowance of ${tokenAmount(allowance, token)} is less than the ${tokenAmount(needed, token)} needed.`,
  CreatorMarketExpired: () => "The deadline passed before the trade was mined: try again.",
  CreatorMarketZeroAmount: () => "The amount must be more than zero.",
  CreatorMarketMaxCost: ([cost, max]) => `The price moved: the buy now costs ${flk(cost)}, above your limit of ${flk(max)}. Raise the slippage or retry.`,
  CreatorMarketMinReturn: ([proceeds, min]) =>
    `The price moved: the sale now returns ${flk(proceeds)}, below your minimum of ${flk(min)}. Raise the slippage or retry.`,
  CreatorMarketExceedsSupply: ([amount, supply]) => `Only ${formatAmount(supply as bigint)} tokens exist; you cannot sell ${formatAmount(amount as bigint)}.`,
  CreatorMarketNothingToClaim: () => "You have no creator fees to claim.",
  CreatorTokenUnauthorized: () => "Only the creator market may mint or burn creator tokens.",
  GovernorInsufficientProposerVotes: ([, votes, threshold]) => `Proposing needs ${flk(threshold)} of voting power; you have ${flk(votes)}.`,
  GovernorAlreadyCastVote: () => "You already voted on this proposal.",
  GovernorUnexpectedProposalState: () => "The proposal is not in the right state for this action.",
  GovernorUnableToCancel: () => "This proposal can no longer be cancelled.",
  GovernorUnexpectedProposal: () => "An identical proposal already exists.",
  NodeRegistryBadNodeKey: () => "The node key must be a non-zero 32-byte ed25519 public key.",
  NodeRegistryBadSigner: () => "The signer must be a non-zero address.",
  NodeRegistryDuplicateNodeKey: ([, id]) => `This node key is already registered, by node ${id}.`,
  NodeRegistryDuplicateSigner: ([signer, id]) => `The signer ${signer} already signs for node ${id}.`,
  NodeRegistryBadEndpoints: () => "The host must be 1 to 253 bytes and every port non-zero.",
  NodeRegistryUnderStaked: ([stake, minimum]) => `A node needs at least ${flk(minimum)} of stake; ${flk(stake)} is not enough.`,
  NodeRegistryNotOwner: ([id]) => `Only the owner of node ${id} may do this.`,
  NodeRegistryZeroAmount: () => "The amount must be more than zero.",
  NodeRegistryBadLock: ([until, max]) => `The lock would end at epoch ${until}; it may reach at most epoch ${max}.`,
  NodeRegistryStakeLocked: ([until]) => `The stake is locked until epoch ${until}; it can be unstaked from then.`,
  NodeRegistryInsufficientStake: ([amount, stake]) => `You asked to unstake ${flk(amount)} but the node's stake is ${flk(stake)}.`,
  NodeRegistryCommitteeMember: ([id]) => `Node ${id} is in this epoch's committee: its stake may not go below the minimum before the next epoch change.`,
  NodeRegistryNotWithdrawable: ([readyAt]) =>
    (readyAt as bigint) === 0n ? "Nothing is unstaking: unstake first." : `Nothing to withdraw yet: the unstaked FLK is withdrawable from epoch ${readyAt}.`,
  NodeRegistryCannotRejoin: ([status]) => `Only a jailed or exited node can rejoin; this node is ${statusName(status as bigint)}.`,
  NodeRegistryUnknownNode: ([id]) => `There is no node ${id}.`,
  RewardsAlreadyClaimed: ([epoch]) => `The rewards of epoch ${epoch} were already claimed.`,
  RewardsInvalidProof: ([epoch]) => `The reward proof for epoch ${epoch} does not match the settled rewards (or the epoch is not settled yet).`,
  RewardsPoolExceeded: ([epoch]) => `Epoch ${epoch}'s reward pool is exhausted: its report's totals were wrong.`,
  NodeRegistryQueueFull: () => "The queue of nodes waiting for the next epoch is full; try again after the epoch change.",
  EscrowBadAmount: ([amount]) =>
    (amount as bigint) === 0n ? "The amount must be more than zero." : `You cannot withdraw ${usdc(amount)}: it is more than your escrow balance.`,
  EscrowNotWithdrawable: ([at]) =>
    (at as bigint) === 0n
      ? "No withdrawal is announced: announce one first."
      : `The withdrawal notice has not passed: the announced USDC can be withdrawn from ${formatDateTime(at as bigint)}.`,
  EscrowSpendingLimitExceeded: ([client, amount, limit]) =>
    `A report tried to debit ${client} ${usdc(amount)}, above its spending limit of ${usdc(limit)} per epoch.`,
  EscrowInsufficientBalance: ([client, amount, balance]) =>
    `A report tried to debit ${client} ${usdc(amount)}, more than its escrow balance of ${usdc(balance)}.`,
  EscrowUnauthorized: () => "Only the node registry may debit the escrow.",
  SafeCastOverflowedUintDowncast: ([bits]) => `The value does not fit in ${bits} bits: a spending limit is at most ${usdc(MAX_SPENDING_LIMIT)}.`,
  TimelockUnexpectedOperationState: () => "The timelock delay has not passed yet, or the operation was already executed.",
};

/** Splits `StakingNothingToClaim` into `Staking nothing to claim`. */
function humanize(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/ ([A-Z])(?=[a-z])/g, (_m, c: string) => ` ${c.toLowerCase()}`);
}

/** Describes a decoded custom error in words; `token` is the symbol of the ERC-20 the call moves. */
export function describeCustomError(error: Pick<ErrorDescription, "name" | "args">, token = "FLK"): string {
  const words = WORDS[error.name];
  if (words) return words([...error.args], token);
  if (error.name === "Error") return String(error.args[0]);
  if (error.name === "Panic") return `The contract panicked (code ${error.args[0]}).`;
  const args = [...error.args].map(String).join(", ");
  return `${humanize(error.name)}${args ? ` (${args})` : ""}.`;
}

/** Finds revert data (`0x…` with a selector) anywhere in a nested provider error. */
function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== "object") return undefined;
  const record = error as Record<string, unknown>;
  const data = record.data;
  if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
  for (const key of ["data", "error", "info", "cause", "payload"]) {
    const found = findRevertData(record[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

function isUserRejection(error: unknown): boolean {
  const e = error as { code?: unknown; info?: { error?: { code?: unknown } } };
  return e?.code === "ACTION_REJECTED" || e?.code === 4001 || e?.info?.error?.code === 4001;
}

/** One sentence for any error a read or a transaction can throw; `token` names the ERC-20 the call moves (FLK unless said). */
export function describeError(error: unknown, token = "FLK"): string {
  if (isUserRejection(error)) return "You rejected the request in your wallet.";
  const data = findRevertData(error);
  if (data && combined) {
    try {
      const decoded = combined.parseError(data);
      if (decoded) return describeCustomError(decoded, token);
    } catch {
      // Unknown selector: fall through to the message.
    }
  }
  const e = error as { shortMessage?: string; reason?: string; message?: string };
  if (e?.reason) return e.reason;
  return e?.shortMessage ?? e?.message ?? String(error);
}
