import { describe, expect, it } from "vitest";
import { JsonRpcProvider } from "ethers";
import { connectSuite, type Deployment } from "../src/lib/contracts";
import { PARAMETER_CHANGES, describeCall, proposalTimeline } from "../src/lib/proposals";
import type { Proposal } from "../src/data/source";

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
    functionRegistry: "0x000000000000000000000000000000000000000e",
    agentMarketplace: "0x000000000000000000000000000000000000000f",
    tokenCallEscrow: "0x0000000000000000000000000000000000000010",
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

  it("refuses values outside each parameter's range with the reason, before anything is sent", () => {
    const unbonding = change("unbonding");
    expect(unbonding.check("7")).toBeUndefined();
    expect(unbonding.check("1")).toBeUndefined();
    expect(unbonding.check("90")).toBeUndefined();
    // 9 seconds, in days: under the one-day floor.
    expect(unbonding.check(String(9 / 86_400))).toBe("The unbonding period must be 1 to 90 days.");
    expect(unbonding.check("0")).toBe("The unbonding period must be 1 to 90 days.");
    expect(unbonding.check("91")).toBe("The unbonding period must be 1 to 90 days.");
    expect(unbonding.check("")).toBe("Enter a number of days, like 7 or 2.5.");
    expect(unbonding.check("-1")).toBe("Enter a number of days, like 7 or 2.5.");
    expect(unbonding.check("1e400")).toBe("Enter a number of days, like 7 or 2.5.");
    expect(unbonding.range).toBe("1 to 90 days");
    expect(change("creditRate").check("1.5")).toBeUndefined();
    expect(change("creditRate").check("1.1234567")).toBe("At most 6 decimals.");
    const fees = change("creatorFee");
    expect(fees.check("300/100/100")).toBeUndefined();
    expect(fees.check("600/0/0")).toBe("Each share is at most 500 basis points.");
    expect(fees.check("500/500/100")).toBe("The shares together are at most 1000 basis points.");
    expect(fees.check("300/100")).toBe("Enter three whole numbers of basis points: creator/burn/treasury.");
  });

  it("falls back to the raw call for unknown targets and other functions", () => {
    const data = suite.staking.interface.encodeFunctionData("delegate", [deployment.contracts.flk]);
    expect(describeCall(suite, deployment.contracts.staking, data)).toBe(`staking.delegate(${deployment.contracts.flk})`);
    expect(describeCall(suite, "0x00000000000000000000000000000000000000ff", data)).toMatch(/^Call 0x0+ff with 0x5c19a95c…$/);
  });
});

describe("proposal timeline", () => {
  // Voting delay 1 day, period 1 week, timelock 2 days: the devnet's governance settings in seconds.
  const created = 1_000_000n;
  const base = { created, voteStart: created + 86_400n, voteEnd: created + 86_400n + 604_800n, eta: 0n, lifecycle: [] as Proposal["lifecycle"] };
  const steps = (p: Parameters<typeof proposalTimeline>[0], now: bigint) => proposalTimeline(p, now).map((s) => [s.label, s.time, s.done]);

  it("shows a pending proposal's vote window ahead and its queue unknown", () => {
    expect(steps({ ...base, state: "Pending" }, created + 10n)).toEqual([
      ["Created", created, true],
      ["Voting opens", base.voteStart, false],
      ["Voting closes", base.voteEnd, false],
      ["Queued", undefined, false],
      ["Executable", undefined, false],
    ]);
  });

  it("counts the window as open only after the snapshot, as the Governor does", () => {
    expect(steps({ ...base, state: "Pending" }, base.voteStart)[1]).toEqual(["Voting opens", base.voteStart, false]);
    expect(steps({ ...base, state: "Active" }, base.voteStart + 1n)[1]).toEqual(["Voting opens", base.voteStart, true]);
    expect(steps({ ...base, state: "Active" }, base.voteEnd)[2]).toEqual(["Voting closes", base.voteEnd, false]);
  });

  it("gives a queued proposal its queue time and its ETA, then the execution's time and transaction", () => {
    const queuedAt = base.voteEnd + 100n;
    const eta = queuedAt + 172_800n;
    const queued = { ...base, eta, lifecycle: [{ kind: "queued" as const, time: queuedAt, txHash: "0xq" }] };
    expect(steps({ ...queued, state: "Queued" }, queuedAt + 1n).slice(3)).toEqual([
      ["Queued", queuedAt, true],
      ["Executable", eta, false],
    ]);
    const executed = proposalTimeline(
      { ...queued, state: "Executed", lifecycle: [...queued.lifecycle, { kind: "executed", time: eta + 5n, txHash: "0xe" }] },
      eta + 10n,
    );
    expect(executed.map((s) => s.done)).toEqual([true, true, true, true, true]);
    expect(executed[4]).toEqual({ label: "Executed", time: eta + 5n, done: true, txHash: "0xe" });
  });

  it("ends a defeated proposal at its deadline and a canceled one at its cancel, dropping the steps it never reached", () => {
    expect(steps({ ...base, state: "Defeated" }, base.voteEnd + 1n).map((s) => s[0])).toEqual(["Created", "Voting opens", "Voting closes", "Defeated"]);
    const canceledAt = created + 50n;
    expect(steps({ ...base, state: "Canceled", lifecycle: [{ kind: "canceled", time: canceledAt, txHash: "0xc" }] }, base.voteEnd + 1n)).toEqual([
      ["Created", created, true],
      ["Canceled", canceledAt, true],
    ]);
  });
});
