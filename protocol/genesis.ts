/**
 * The genesis allocations (docs/token.md): totals and vesting shapes, and the vesting formula of
 * contracts/token/Vesting.sol. The Ignition module builds the Vesting contract from these, so
 * deployments only choose the beneficiaries; the dashboard draws the unlock calendar from them.
 */
import { FLK, MONTH, YEAR } from "./units";

/** Vesting shape and total of one allocation. */
export interface GenesisAllocation {
  /** Parameter prefix in Ignition: `<key>Beneficiaries`, `<key>Amounts`. */
  key: string;
  name: string;
  total: bigint;
  /** Share unlocked at the TGE, in basis points. */
  tgeBps: number;
  /** Seconds after the TGE before anything more unlocks. */
  cliff: bigint;
  /** Seconds after the TGE when all of it is unlocked (linear from the TGE). */
  duration: bigint;
  /** The treasury's allocation: its one beneficiary is the timelock, not a deployment parameter. */
  treasury?: true;
}

/** The six allocations, in on-chain order (allocation id = index). */
export const GENESIS_ALLOCATIONS: readonly GenesisAllocation[] = [
  { key: "team", name: "Team", total: 20_000_000n * FLK, tgeBps: 0, cliff: YEAR, duration: 36n * MONTH },
  { key: "earlySupporters", name: "Early supporters", total: 20_000_000n * FLK, tgeBps: 0, cliff: YEAR, duration: 36n * MONTH },
  { key: "ecosystem", name: "Ecosystem treasury & staking rewards", total: 20_000_000n * FLK, tgeBps: 2000, cliff: 0n, duration: 24n * MONTH, treasury: true },
  { key: "sale", name: "Token sale & liquidity", total: 20_000_000n * FLK, tgeBps: 10_000, cliff: 0n, duration: 0n },
  { key: "foundation", name: "Foundation", total: 10_000_000n * FLK, tgeBps: 2000, cliff: 0n, duration: 12n * MONTH },
  { key: "incentives", name: "Incentives & airdrops", total: 10_000_000n * FLK, tgeBps: 2000, cliff: 0n, duration: 12n * MONTH },
];

/** FLK unlocked at the TGE by the allocations above: 28,000,000. */
export const CIRCULATING_AT_TGE = 28_000_000n * FLK;

/** Tokens of one schedule vested `elapsed` seconds after the TGE: mirrors `Vesting.vestedAmount`. */
export function vestedAmount(a: Pick<GenesisAllocation, "tgeBps" | "cliff" | "duration">, amount: bigint, elapsed: bigint): bigint {
  if (elapsed < 0n) return 0n;
  if (elapsed >= a.duration) return amount;
  const atTge = (amount * BigInt(a.tgeBps)) / 10_000n;
  if (elapsed < a.cliff) return atTge;
  return atTge + ((amount - atTge) * elapsed) / a.duration;
}
