/**
 * The parameter changes the dashboard can propose, and a reader for any proposal's calls, so
 * voters see "Staking.setUnbondingPeriod(7 days)" instead of calldata.
 */
import type { Suite } from "./contracts";
import { formatBps, formatDuration, formatToken } from "./format";

/** One governable parameter: its form field and the call that sets it. */
export interface ParameterChange {
  key: string;
  label: string;
  /** What the user types, e.g. "days". */
  unit: string;
  /** The timelock call: target contract and calldata for the typed value. */
  encode(suite: Suite, value: string): Promise<{ target: string; calldata: string }>;
}

/** Parameters owned by the timelock that a proposal may change. */
export const PARAMETER_CHANGES: readonly ParameterChange[] = [
  {
    key: "unbonding",
    label: "Staking unbonding period",
    unit: "days",
    encode: async (s, v) => ({
      target: await s.staking.getAddress(),
      calldata: s.staking.interface.encodeFunctionData("setUnbondingPeriod", [BigInt(Math.round(Number(v) * 86_400))]),
    }),
  },
  {
    key: "creditRate",
    label: "Service credits per staked FLK per month",
    unit: "credits",
    encode: async (s, v) => ({
      target: await s.credits.getAddress(),
      calldata: s.credits.interface.encodeFunctionData("setCreditRate", [BigInt(Math.round(Number(v) * 1e6)) * 10n ** 12n]),
    }),
  },
  {
    key: "creatorFee",
    label: "Creator-token fees: creator / burn / treasury",
    unit: "basis points, e.g. 300/100/100",
    encode: async (s, v) => {
      const [creator, burn, treasury] = v.split("/").map((x) => Number(x.trim()));
      return { target: await s.market.getAddress(), calldata: s.market.interface.encodeFunctionData("setFees", [creator, burn, treasury]) };
    },
  },
];

/** Whether `value` is a valid input for `change` (numbers in range; three shares for fees). */
export function validParameter(change: ParameterChange, value: string): boolean {
  if (change.key === "creatorFee") {
    const parts = value.split("/").map((x) => Number(x.trim()));
    return parts.length === 3 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 500);
  }
  const n = Number(value);
  return value.trim() !== "" && Number.isFinite(n) && n >= 0;
}

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
