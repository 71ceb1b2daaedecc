/**
 * The emission schedule of contracts/token/EmissionSchedule.sol (docs/token.md): FLK minted per
 * year after the TGE, streamed linearly within each year, half to stakers and half to node rewards.
 */
import { FLK, YEAR } from "./units";

/** Emission per year after the TGE; nothing from the sixth year on. */
export const YEARLY_EMISSION: readonly bigint[] = [5_000_000n, 4_000_000n, 3_000_000n, 2_500_000n, 2_000_000n].map((n) => n * FLK);

/** Emission due `elapsed` seconds after the TGE, rounded down: mirrors `Emission.cumulativeEmission`. */
export function cumulativeEmission(elapsed: bigint): bigint {
  if (elapsed <= 0n) return 0n;
  const fullYears = elapsed / YEAR;
  if (fullYears >= BigInt(YEARLY_EMISSION.length)) return YEARLY_EMISSION.reduce((a, b) => a + b, 0n);
  let total = 0n;
  for (let y = 0; y < Number(fullYears); y++) total += YEARLY_EMISSION[y];
  return total + (YEARLY_EMISSION[Number(fullYears)] * (elapsed - fullYears * YEAR)) / YEAR;
}
