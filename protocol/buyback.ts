/**
 * The buyback auction of contracts/buyback/BuybackBurner.sol in TypeScript (bigint), exact to the
 * wei: one implementation for tests, the indexer and the dashboard. Prices are FLK wei per USDC
 * (10^6 units); a buy pays `potPrice` for the whole pot. See docs/buyback.md.
 */

/** USDC units in one USDC (`BuybackBurner.USDC_UNIT`). */
export const USDC_UNIT = 1_000_000n;

/** FLK wei per USDC `elapsed` seconds into an auction: linear from start to floor, rounded up. */
export function auctionPrice(startPrice: bigint, floor: bigint, period: bigint, elapsed: bigint): bigint {
  if (elapsed >= period || startPrice <= floor) return floor;
  return floor + ((startPrice - floor) * (period - elapsed) + period - 1n) / period;
}

/** FLK wei a buy of a `pot` of USDC units burns at `price` per USDC, rounded up. */
export function potPrice(price: bigint, pot: bigint): bigint {
  return (price * pot + USDC_UNIT - 1n) / USDC_UNIT;
}

/** Start price of the auction after one sold at `price` per USDC. */
export function nextStartPrice(price: bigint, multiplier: bigint, floor: bigint): bigint {
  const next = (price * multiplier) / 10n ** 18n;
  return next < floor ? floor : next;
}

/** Whether revenue bringing the pot from `counted` to `balance` restarts the decay: it at least doubles it. */
export function restartsAuction(counted: bigint, balance: bigint): boolean {
  return balance > counted && balance - counted >= counted;
}
