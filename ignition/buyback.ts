/**
 * Parameters the Ignition module deploys the buyback auction with (docs/buyback.md). The price
 * formulas live in protocol/buyback.ts.
 */

/** Auction parameters: period (s), multiplier (1e18 = 1×), floor and first start price (FLK wei per USDC). */
export interface AuctionParams {
  period: bigint;
  multiplier: bigint;
  floor: bigint;
  firstStartPrice: bigint;
}

/** Defaults: 1 day, 2×, floor 0.01 FLK per USDC, first auction from 1,000 FLK per USDC. */
export const DEFAULT_AUCTION: AuctionParams = {
  period: 86_400n,
  multiplier: 2n * 10n ** 18n,
  floor: 10n ** 16n,
  firstStartPrice: 1_000n * 10n ** 18n,
};
