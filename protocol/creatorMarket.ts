/**
 * The creator-token curve of contracts/creator/CreatorMarket.sol mirrored in TypeScript (bigint),
 * exact to the wei: tests check the contract against it, the indexer derives reserves and prices
 * with it, and clients can quote trades offline. See docs/creator-tokens.md.
 */
import { getCreate2Address, keccak256, zeroPadValue } from "ethers";

/** Price of one whole token at zero supply, FLK wei (0.01 FLK). */
export const START_PRICE = 10n ** 16n;
/** Price increase per whole token of supply, FLK wei (0.001 FLK). */
export const SLOPE = 10n ** 15n;
/** Supply cap per creator, token wei. */
export const MAX_SUPPLY = 10n ** 30n;
/** Cap on each fee share, basis points (5%). */
export const MAX_FEE_SHARE_BPS = 500n;
/** Cap on the three fee shares together, basis points (10%). */
export const MAX_TOTAL_FEE_BPS = 1000n;

/** Fee shares in basis points of a trade's curve amount. */
export interface FeeShares {
  creatorBps: bigint;
  burnBps: bigint;
  treasuryBps: bigint;
}

/** Default fee shares the Ignition module deploys (governance may change them): 3% creator, 1% burned, 1% treasury. */
export const DEFAULT_FEES: FeeShares = { creatorBps: 300n, burnBps: 100n, treasuryBps: 100n };

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/** FLK held by the reserve at `supply`: ∫₀ˢ (START_PRICE + SLOPE·x/1e18) dx / 1e18, rounded up. */
export function reserveAt(supply: bigint): bigint {
  return ceilDiv(supply * (2n * 10n ** 18n * START_PRICE + SLOPE * supply), 2n * 10n ** 36n);
}

/** Marginal price of one whole token at `supply`, FLK wei, rounded down. */
export function spotPrice(supply: bigint): bigint {
  return START_PRICE + (SLOPE * supply) / 10n ** 18n;
}

/** The three fee shares of a curve amount, each rounded up (a dust trade pays at least 1 wei of each set share). */
export function feesOf(value: bigint, shares: FeeShares) {
  const creator = ceilDiv(value * shares.creatorBps, 10_000n);
  const burn = ceilDiv(value * shares.burnBps, 10_000n);
  const treasury = ceilDiv(value * shares.treasuryBps, 10_000n);
  return { creator, burn, treasury, total: creator + burn + treasury };
}

/** A buy of `amount` at `supply`: the curve cost, the fees and the total the buyer pays. */
export function quoteBuy(supply: bigint, amount: bigint, shares: FeeShares) {
  const cost = reserveAt(supply + amount) - reserveAt(supply);
  const fees = feesOf(cost, shares);
  return { cost, fees, total: cost + fees.total, dust: cost === 0n };
}

/**
 * A sell of `amount` at `supply`: the curve value, the fees and the proceeds to the seller. The
 * market refuses a sell whose value is zero or below its fees (`CreatorMarketDustTrade`): `dust`.
 */
export function quoteSell(supply: bigint, amount: bigint, shares: FeeShares) {
  const value = reserveAt(supply) - reserveAt(supply - amount);
  const fees = feesOf(value, shares);
  return { value, fees, proceeds: value - fees.total, dust: value === 0n || fees.total > value };
}

/**
 * The address of `creator`'s token, computed offline before it exists: the CREATE2 address of an
 * EIP-1167 clone of `implementation` deployed by `market` with the creator's address as salt.
 */
export function creatorTokenAddress(market: string, implementation: string, creator: string): string {
  const initCode = `0x3d602d80600a3d3981f3363d3d373d3d3d363d73${implementation.slice(2).toLowerCase()}5af43d82803e903d91602b57fd5bf3`;
  return getCreate2Address(market, zeroPadValue(creator, 32), keccak256(initCode));
}
