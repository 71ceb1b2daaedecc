import { describe, expect, it } from "vitest";
import { JsonRpcProvider } from "ethers";
import { connectSuite, type Deployment } from "../src/lib/contracts";
import { PARAMETER_CHANGES, describeCall, validParameter } from "../src/lib/proposals";

// Encoding and decoding need addresses and ABIs only: the provider is never called.
const deployment: Deployment = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:1",
  contracts: {
    flk: "0x0000000000000000000000000000000000000001",
    emission: "0x0000000000000000000000000000000000000002",
    vesting: "0x0000000000000000000000000000000000000003",
    staking: "0x0000000000000000000000000000000000000004",
    serviceCredits: "0x0000000000000000000000000000000000000005",
    governor: "0x0000000000000000000000000000000000000006",
    timelock: "0x0000000000000000000000000000000000000007",
    creatorMarket: "0x0000000000000000000000000000000000000008",
    buyback: "0x0000000000000000000000000000000000000009",
    usdc: "0x000000000000000000000000000000000000000a",
    registry: "0x000000000000000000000000000000000000000b",
    rewards: "0x000000000000000000000000000000000000000c",
    escrow: "0x000000000000000000000000000000000000000d",
  },
};
const suite = connectSuite(deployment, new JsonRpcProvider(deployment.rpcUrl, 31337, { staticNetwork: true }));
const change = (key: string) => PARAMETER_CHANGES.find((c) => c.key === key)!;

describe("parameter-change proposals", () => {
  it("encodes the unbonding period in seconds on the staking contract and reads it back in words", async () => {
    const { target, calldata } = await change("unbonding").encode(suite, "3");
    expect(target).toBe(deployment.contracts.staking);
    expect(suite.staking.interface.decodeFunctionData("setUnbondingPeriod", calldata)[0]).toBe(259_200n);
    expect(describeCall(suite, target, calldata)).toBe("Set the staking unbonding period to 3 days");
  });

  it("encodes the credit rate with 18 decimals and creator fees as three shares", async () => {
    const rate = await change("creditRate").encode(suite, "1.5");
    expect(suite.credits.interface.decodeFunctionData("setCreditRate", rate.calldata)[0]).toBe(1_500_000_000_000_000_000n);
    expect(describeCall(suite, rate.target, rate.calldata)).toBe("Set service credits to 1.5 credits per FLK-month");
    const fees = await change("creatorFee").encode(suite, "300/100/50");
    expect(describeCall(suite, fees.target, fees.calldata)).toBe("Set creator-token fees to 3% creator, 1% burn, 0.5% treasury");
  });

  it("validates inputs before anything is sent", () => {
    expect(validParameter(change("unbonding"), "7")).toBe(true);
    expect(validParameter(change("unbonding"), "")).toBe(false);
    expect(validParameter(change("unbonding"), "-1")).toBe(false);
    expect(validParameter(change("creatorFee"), "300/100/100")).toBe(true);
    expect(validParameter(change("creatorFee"), "600/0/0")).toBe(false);
    expect(validParameter(change("creatorFee"), "300/100")).toBe(false);
  });

  it("falls back to the raw call for unknown targets and other functions", () => {
    const data = suite.staking.interface.encodeFunctionData("delegate", [deployment.contracts.flk]);
    expect(describeCall(suite, deployment.contracts.staking, data)).toBe(`staking.delegate(${deployment.contracts.flk})`);
    expect(describeCall(suite, "0x00000000000000000000000000000000000000ff", data)).toMatch(/^Call 0x0+ff with 0x5c19a95c…$/);
  });
});
