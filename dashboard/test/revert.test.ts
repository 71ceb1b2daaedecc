import { describe, expect, it, beforeAll } from "vitest";
import { Interface } from "ethers";
import { registerSuiteErrors } from "../src/lib/contracts";
import { describeError } from "../src/lib/revert";
import { abi as stakingAbi } from "../../artifacts/contracts/staking/Staking.sol/Staking.json";
import { abi as marketAbi } from "../../artifacts/contracts/creator/CreatorMarket.sol/CreatorMarket.json";
import { abi as flkAbi } from "../../artifacts/contracts/token/FLK.sol/FLK.json";
import { abi as registryAbi } from "../../artifacts/contracts/registry/NodeRegistry.sol/NodeRegistry.json";

const FLK = 10n ** 18n;
const staking = new Interface(stakingAbi);
const market = new Interface(marketAbi);
const flk = new Interface(flkAbi);
const registry = new Interface(registryAbi);

/** The shape ethers v6 gives a failed estimateGas through a BrowserProvider. */
const callException = (data: string) => ({
  code: "CALL_EXCEPTION",
  shortMessage: "execution reverted (unknown custom error)",
  info: { error: { code: 3, data } },
});

describe("describeError", () => {
  beforeAll(registerSuiteErrors);

  it("decodes a custom error of the called contract into words with amounts", () => {
    const data = staking.encodeErrorResult("StakingInsufficientStake", [5n * FLK, 2n * FLK]);
    expect(describeError(callException(data))).toBe("You asked to unstake 5 FLK but only 2 FLK is staked.");
  });

  it("decodes an error raised by another contract of the suite deep in the call", () => {
    const data = flk.encodeErrorResult("ERC20InsufficientBalance", ["0x0000000000000000000000000000000000000001", FLK, 3n * FLK]);
    expect(describeError({ error: { data: { data } } })).toBe("Your balance of 1 FLK is less than the 3 FLK needed.");
  });

  it("names the token a balance error is about: a creator token's symbol when selling it", () => {
    const data = flk.encodeErrorResult("ERC20InsufficientBalance", ["0x0000000000000000000000000000000000000001", 6n * FLK, 7n * FLK]);
    expect(describeError(callException(data), "ALICE")).toBe("Your balance of 6 ALICE is less than the 7 ALICE needed.");
  });

  it("explains slippage failures with the moved price", () => {
    const data = market.encodeErrorResult("CreatorMarketMaxCost", [11n * FLK, 10n * FLK]);
    expect(describeError(callException(data))).toMatch(/costs 11 FLK, above your limit of 10 FLK/);
  });

  it("decodes the node registry's errors (NodeStaking's and NodeRegistry's own)", () => {
    const under = registry.encodeErrorResult("NodeRegistryUnderStaked", [FLK, 1000n * FLK]);
    expect(describeError(callException(under))).toBe("A node needs at least 1,000 FLK of stake; 1 FLK is not enough.");
    const tooEarly = registry.encodeErrorResult("NodeRegistryTooEarly", [42n]);
    expect(describeError(callException(tooEarly))).toBe("Node registry too early (42).");
  });

  it("spells out errors without custom words from their name and arguments", () => {
    const data = market.encodeErrorResult("CreatorMarketSupplyCap", [5n, 3n]);
    expect(describeError(callException(data))).toBe("Creator market supply cap (5, 3).");
  });

  it("recognises a rejection in the wallet", () => {
    expect(describeError({ code: "ACTION_REJECTED" })).toBe("You rejected the request in your wallet.");
    expect(describeError({ code: 4001, message: "User denied" })).toBe("You rejected the request in your wallet.");
  });

  it("falls back to the node's message for unknown selectors", () => {
    expect(describeError({ shortMessage: "execution reverted", data: "0xdeadbeef" })).toBe("execution reverted");
    expect(describeError(new Error("network down"))).toBe("network down");
  });
});
