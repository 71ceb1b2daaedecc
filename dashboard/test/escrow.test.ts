import { beforeAll, describe, expect, it } from "vitest";
import { Interface } from "ethers";
import { escrowView, parseEscrowAmount, parseSpendingLimit } from "../src/lib/escrow";
import { formatUsdc } from "../src/lib/format";
import { registerSuiteErrors } from "../src/lib/contracts";
import { describeError } from "../src/lib/revert";
import { abi as escrowAbi } from "../../artifacts/contracts/payments/ServiceEscrow.sol/ServiceEscrow.json";
import { abi as flkAbi } from "../../artifacts/contracts/token/FLK.sol/FLK.json";

const U = 10n ** 6n;
const account = (a: Partial<Parameters<typeof escrowView>[0]>) => ({
  balance: 0n,
  withdrawalAmount: 0n,
  withdrawableAt: 0n,
  nextLimitFrom: 0n,
  limit: 0n,
  nextLimit: 0n,
  ...a,
});

describe("escrowView (ServiceEscrow's rules on accounts(client))", () => {
  it("applies the 1,000 USDC default to a client that never set a limit", () => {
    expect(escrowView(account({ balance: 1500n * U }), 4, 0n)).toEqual({
      epoch: 4,
      balance: 1500n * U,
      limit: 1000n * U,
      pending: undefined,
      debitable: 1000n * U,
      announced: 0n,
      withdrawableAt: 0n,
      payout: 0n,
      noticePassed: false,
    });
  });

  it("keeps this epoch's limit and shows the new one as pending until its epoch", () => {
    // Set in epoch 4 (limit 1,000 kept for epoch 4), 50 from epoch 5.
    const a = account({ balance: 80n * U, nextLimitFrom: 5n, limit: 1000n * U, nextLimit: 50n * U });
    expect(escrowView(a, 4, 0n)).toMatchObject({ limit: 1000n * U, pending: { limit: 50n * U, fromEpoch: 5 }, debitable: 80n * U });
    expect(escrowView(a, 5, 0n)).toMatchObject({ limit: 50n * U, pending: undefined, debitable: 50n * U });
  });

  it("pays a withdrawal only above the reserve, once the notice has passed", () => {
    const a = account({ balance: 15n * U, withdrawalAmount: 15n * U, withdrawableAt: 1000n, nextLimitFrom: 3n, limit: 1000n * U, nextLimit: 10n * U });
    expect(escrowView(a, 3, 999n)).toMatchObject({ debitable: 10n * U, payout: 5n * U, noticePassed: false });
    expect(escrowView(a, 3, 1000n)).toMatchObject({ payout: 5n * U, noticePassed: true });
    // A zero limit frees everything from its epoch on.
    expect(escrowView({ ...a, nextLimit: 0n }, 3, 1000n)).toMatchObject({ debitable: 0n, payout: 15n * U });
  });
});

describe("escrow inputs", () => {
  it("reads a spending limit in USDC with at most 6 decimals, 0 allowed, up to the uint64 bound", () => {
    expect(parseSpendingLimit("250.5")).toEqual({ value: 250_500_000n });
    expect(parseSpendingLimit("0")).toEqual({ value: 0n });
    expect(parseSpendingLimit("1,000")).toEqual({ value: 1_000_000_000n });
    expect(parseSpendingLimit("0.0000001")).toEqual({ error: "At most 6 decimals." });
    expect(parseSpendingLimit("ten")).toEqual({ error: "Enter a number, like 100 or 0.5." });
    expect(parseSpendingLimit("18446744073709.551615")).toEqual({ value: 2n ** 64n - 1n });
    expect(parseSpendingLimit("18446744073709.551616")).toEqual({ error: "At most 18,446,744,073,709.55 USDC." });
  });

  it("refuses a zero deposit or withdrawal and one above what is held", () => {
    expect(parseEscrowAmount("12.34", 20n * U, "Your wallet holds")).toEqual({ value: 12_340_000n });
    expect(parseEscrowAmount("0", 20n * U, "Your wallet holds")).toEqual({ error: "The amount must be more than zero." });
    expect(parseEscrowAmount("20.000001", 20n * U, "Your wallet holds")).toEqual({ error: "Your wallet holds 20 USDC." });
  });

  it("formats USDC with two fraction digits at most, never rounding up", () => {
    expect(formatUsdc(1_234_567_891n)).toBe("1,234.56 USDC");
    expect(formatUsdc(0n)).toBe("0 USDC");
    expect(formatUsdc(1n)).toBe("<0.01 USDC");
  });
});

describe("escrow errors in words", () => {
  beforeAll(registerSuiteErrors);
  const escrow = new Interface(escrowAbi);
  const revert = (data: string) => ({ code: "CALL_EXCEPTION", info: { error: { code: 3, data } } });
  const client = "0x00000000000000000000000000000000000000c1";

  it("decodes the escrow's custom errors", () => {
    expect(describeError(revert(escrow.encodeErrorResult("EscrowSpendingLimitExceeded", [client, 120n * U, 100n * U])))).toBe(
      `A report tried to debit 0x00000000000000000000000000000000000000C1 120 USDC, above its spending limit of 100 USDC per epoch.`,
    );
    expect(describeError(revert(escrow.encodeErrorResult("EscrowNotWithdrawable", [0n])))).toBe("No withdrawal is announced: announce one first.");
    expect(describeError(revert(escrow.encodeErrorResult("EscrowNotWithdrawable", [1_800_000_000n])))).toBe(
      "The withdrawal notice has not passed: the announced USDC can be withdrawn from 2027-01-15 08:00 UTC.",
    );
    expect(describeError(revert(escrow.encodeErrorResult("EscrowBadAmount", [0n])))).toBe("The amount must be more than zero.");
    expect(describeError(revert(escrow.encodeErrorResult("EscrowBadAmount", [7n * U])))).toBe(
      "You cannot withdraw 7 USDC: it is more than your escrow balance.",
    );
    expect(describeError(revert(escrow.encodeErrorResult("SafeCastOverflowedUintDowncast", [64n, 2n ** 64n])))).toBe(
      "The value does not fit in 64 bits: a spending limit is at most 18,446,744,073,709.55 USDC.",
    );
  });

  it("counts a USDC balance error in 6 decimals", () => {
    const data = new Interface(flkAbi).encodeErrorResult("ERC20InsufficientBalance", [client, 5n * U, 9n * U]);
    expect(describeError(revert(data), "USDC")).toBe("Your balance of 5 USDC is less than the 9 USDC needed.");
  });
});
