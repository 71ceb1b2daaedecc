/**
 * The parameter changes the dashboard can propose, and a reader for any proposal's calls, so
 * voters see "Staking.setUnbondingPeriod(7 days)" instead of calldata.
 */
import type { Suite } from "./contracts";
import type { Proposal } from "../data/source";
import { formatAmount, formatBps, formatDuration, formatToken } from "./format";

/** One governable parameter: its form field and the call that sets it. */
export interface ParameterChange {
  key: string;
  label: string;
  /** What the user types, e.g. "days". */
  unit: string;
  /** The accepted range in words, shown beside the field. */
  range: string;
  /** Why `value` is refused (out of range, not a number), or undefined when it may be proposed. */
  check(value: string): string | undefined;
  /** The value in force today, in the field's unit, read from the chain (undefined when no getter exists). */
  current?(suite: Suite): Promise<string>;
  /** The timelock call: target contract and calldata for the typed value. */
  encode(suite: Suite, value: string): Promise<{ target: string; calldata: string }>;
}

/**
 * Bounds of the unbonding period a proposal may set, in days. The contract caps it at
 * `Staking.MAX_UNBONDING_PERIOD` (90 days); the floor of one day is the dashboard's: an unbonding
 * period of seconds would let a staker vote, unstake and sell before a proposal executes.
 */
export const UNBONDING_DAYS = { min: 1, max: 90 } as const;
/** `CreatorMarket.MAX_FEE_SHARE_BPS` and `MAX_TOTAL_FEE_BPS`. */
export const FEE_BOUNDS_BPS = { share: 500, total: 1000 } as const;
/** The largest credit rate the form accepts, in credits per FLK-month: a guard against typos (the contract has no cap). */
export const MAX_CREDIT_RATE = 1_000_000;

/** A decimal number as typed (digits with an optional fraction), or undefined. */
function decimal(value: string): number | undefined {
  const t = value.trim();
  return /^\d+(\.\d+)?$|^\.\d+$/.test(t) ? Number(t) : undefined;
}

/** Parameters owned by the timelock that a proposal may change. */
export const PARAMETER_CHANGES: readonly ParameterChange[] = [
  {
    key: "unbonding",
    label: "Staking unbonding period",
    unit: "days",
    range: `${UNBONDING_DAYS.min} to ${UNBONDING_DAYS.max} days`,
    check: (v) => {
      const days = decimal(v);
      if (days === undefined) return "Enter a number of days, like 7 or 2.5.";
      if (days < UNBONDING_DAYS.min || days > UNBONDING_DAYS.max) return `The unbonding period must be ${UNBONDING_DAYS.min} to ${UNBONDING_DAYS.max} days.`;
      return undefined;
    },
    current: async (s) => formatDuration(await s.staking.unbondingPeriod()),
    encode: async (s, v) => ({
      target: await s.staking.getAddress(),
      calldata: s.staking.interface.encodeFunctionData("setUnbondingPeriod", [BigInt(Math.round(Number(v) * 86_400))]),
    }),
  },
  {
    key: "creditRate",
    label: "Service credits per staked FLK per month",
    unit: "credits",
    range: `0 to ${MAX_CREDIT_RATE.toLocaleString("en-US")} credits, up to 6 decimals`,
    check: (v) => {
      const rate = decimal(v);
      if (rate === undefined) return "Enter a number of credits, like 1.5.";
      if ((v.split(".")[1] ?? "").length > 6) return "At most 6 decimals.";
      if (rate > MAX_CREDIT_RATE) return `At most ${MAX_CREDIT_RATE.toLocaleString("en-US")} credits per FLK-month.`;
      return undefined;
    },
    current: async (s) => formatAmount(await s.credits.creditsPerFlkMonth(), 18, 6),
    encode: async (s, v) => ({
      target: await s.credits.getAddress(),
      calldata: s.credits.interface.encodeFunctionData("setCreditRate", [BigInt(Math.round(Number(v) * 1e6)) * 10n ** 12n]),
    }),
  },
  {
    key: "creatorFee",
    label: "Creator-token fees: creator / burn / treasury",
    unit: "basis points, e.g. 300/100/100",
    range: `each share 0 to ${FEE_BOUNDS_BPS.share}, together at most ${FEE_BOUNDS_BPS.total}`,
    check: (v) => {
      const parts = v.split("/").map((x) => x.trim());
      if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) return "Enter three whole numbers of basis points: creator/burn/treasury.";
      const shares = parts.map(Number);
      if (shares.some((p) => p > FEE_BOUNDS_BPS.share)) return `Each share is at most ${FEE_BOUNDS_BPS.share} basis points.`;
      if (shares.reduce((a, b) => a + b, 0) > FEE_BOUNDS_BPS.total) return `The shares together are at most ${FEE_BOUNDS_BPS.total} basis points.`;
      return undefined;
    },
    encode: async (s, v) => {
      const [creator, burn, treasury] = v.split("/").map((x) => Number(x.trim()));
      return { target: await s.market.getAddress(), calldata: s.market.interface.encodeFunctionData("setFees", [creator, burn, treasury]) };
    },
  },
];

/** One proposal call in words, decoded against the suite's ABIs. */
export function describeCall(suite: Suite, target: string, calldata: string): string {
  for (const [name, contract] of Object.entries(suite)) {
    if ((contract.target as string).toLowerCase() !== target.toLowerCase()) continue;
    const call = contract.interface.parseTransaction({ data: calldata });
    if (!call) break;
    const args = call.args;
    switch (call.name) {
      case "setUnbondingPeriod":
        return `Set the staking unbonding period to ${formatDuration(args[0])}`;
      case "setCreditRate":
        return `Set service credits to ${formatToken(args[0], "credits", 18, 6)} per FLK-month`;
      case "setFees":
        return `Set creator-token fees to ${formatBps(args[0])} creator, ${formatBps(args[1])} burn, ${formatBps(args[2])} treasury`;
      default:
        return `${name}.${call.name}(${args.map(String).join(", ")})`;
    }
  }
  return `Call ${target} with ${calldata.slice(0, 10)}…`;
}

/** One step of a proposal's timeline, Tally style. */
export interface TimelineStep {
  label: string;
  /** Unix seconds: when it happened, or when it is due; undefined when not known yet (the queue of a running vote). */
  time?: bigint;
  /** Happened (true) or still ahead (false). */
  done: boolean;
  /** The transaction of a queue, execute or cancel. */
  txHash?: string;
}

/**
 * A proposal's steps, the ones ahead with their due time where the governor fixes it: created,
 * voting opens (after the snapshot `voteStart`), voting closes (after `voteEnd`), then queued and
 * executed (from the ETA), or defeated, expired or canceled, at `now` (the chain's clock).
 * OpenZeppelin's Governor counts a vote window as open while `voteStart < now <= voteEnd`.
 */
export function proposalTimeline(p: Pick<Proposal, "state" | "created" | "voteStart" | "voteEnd" | "eta" | "lifecycle">, now: bigint): TimelineStep[] {
  const event = (kind: Proposal["lifecycle"][number]["kind"]) => p.lifecycle.find((e) => e.kind === kind);
  const steps: TimelineStep[] = [{ label: "Created", time: p.created, done: true }];
  const canceled = event("canceled");
  const voting: TimelineStep[] = [
    { label: "Voting opens", time: p.voteStart, done: now > p.voteStart },
    { label: "Voting closes", time: p.voteEnd, done: now > p.voteEnd },
  ];
  if (canceled)
    return [
      ...steps,
      ...voting.filter((s) => s.done && s.time! < canceled.time),
      { label: "Canceled", time: canceled.time, done: true, txHash: canceled.txHash },
    ];
  steps.push(...voting);
  if (p.state === "Defeated") return [...steps, { label: "Defeated", time: p.voteEnd, done: true }];
  const queued = event("queued");
  const executed = event("executed");
  steps.push(queued ? { label: "Queued", time: queued.time, done: true, txHash: queued.txHash } : { label: "Queued", done: false });
  if (p.state === "Expired") return [...steps, { label: "Expired", done: true }];
  steps.push(
    executed
      ? { label: "Executed", time: executed.time, done: true, txHash: executed.txHash }
      : { label: "Executable", time: p.eta > 0n ? p.eta : undefined, done: false },
  );
  return steps;
}
