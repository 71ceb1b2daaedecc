/**
 * The buyback auction of contracts/buyback/BuybackBurner.sol mirrored in TypeScript (bigint), exact
 * to the wei, with the parameters the Ignition module deploys. See docs/buyback.md.
 */

/** Auction parameters: period (s), multiplier (1e18 = 1×), floor and first start price (FLK wei). */
export interface AuctionParams {
  period: bigint;
  multiplier: bigint;
  floor: bigint;
  firstStartPrice: bigint;
}

/** Defaults of the Ignition module: 1 day, 2×, 10 FLK floor, first auction from 1,000 FLK. */
export const DEFAULT_AUCTION: AuctionParams = {
  period: 86_400n,
  multiplier: 2n * 10n ** 18n,
  floor: 10n * 10n ** 18n,
  firstStartPrice: 1_000n * 10n ** 18n,
};

/** Price of the whole pot `elapsed` seconds into an auction: linear from start to floor, rounded up. */
export function auctionPrice(startPrice: bigint, floor: bigint, period: bigint, elapsed: bigint): bigint {
  if (elapsed >= period || startPrice <= floor) return floor;
  return floor + ((startPrice - floor) * (period - elapsed) + period - 1n) / period;
}

/** Start price of the auction after one sold at `paid`. */
export function nextStartPrice(paid: bigint, multiplier: bigint, floor: bigint): bigint {
  const next = (paid * multiplier) / 10n ** 18n;
  return next < floor ? floor : next;
}
