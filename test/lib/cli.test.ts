import { expect } from "chai";
import { parseArgs } from "node:util";
import { integerFlag, isUsageError, positiveFlag, UsageError } from "../../lib/cli";

describe("lib/cli: the flags every command line reads", () => {
  it("integerFlag: the fallback when absent or empty, else an integer within its bounds", () => {
    expect(integerFlag("--n", undefined, { min: 1, fallback: 4 })).to.equal(4);
    expect(integerFlag("--n", "", { min: 1, fallback: 4 })).to.equal(4);
    expect(integerFlag("--n", undefined, { min: 0 })).to.equal(undefined);
    expect(integerFlag("--n", "0", { min: 0 })).to.equal(0);
    expect(integerFlag("--port", "65535", { min: 0, max: 65_535, fallback: 1 })).to.equal(65_535);
  });

  it("integerFlag: refuses fractions, words, out-of-range and unsafe integers, naming the flag", () => {
    const cases: [string, { min: number; max?: number }, string][] = [
      ["x", { min: 1 }, '--n must be a positive integer, got "x"'],
      ["1.5", { min: 0 }, '--n must be a non-negative integer, got "1.5"'],
      ["0", { min: 1 }, '--n must be a positive integer, got "0"'],
      ["-1", { min: 0 }, '--n must be a non-negative integer, got "-1"'],
      ["65536", { min: 0, max: 65_535 }, '--n must be an integer from 0 to 65535, got "65536"'],
      ["9007199254740993", { min: 0 }, '--n must be a non-negative integer, got "9007199254740993"'],
      ["1", { min: 2 }, '--n must be an integer ≥ 2, got "1"'],
    ];
    for (const [value, bounds, message] of cases) {
      expect(() => integerFlag("--n", value, bounds), value).to.throw(UsageError, message);
    }
  });

  it("positiveFlag: fractions yes, zero, negatives and words no", () => {
    expect(positiveFlag("--max-gib", "0.5")).to.equal(0.5);
    for (const bad of ["0", "-2", "ten", "Infinity"])
      expect(() => positiveFlag("--max-gib", bad)).to.throw(UsageError, `--max-gib must be a positive number, got "${bad}"`);
  });

  it("isUsageError: our usage errors and parseArgs' refusals, not other failures", () => {
    let parseError: unknown;
    try {
      parseArgs({ args: ["--bogus"], options: {} });
    } catch (err) {
      parseError = err;
    }
    expect(isUsageError(parseError)).to.equal(true);
    expect(isUsageError(new UsageError("x"))).to.equal(true);
    expect(isUsageError(new Error("ECONNREFUSED"))).to.equal(false);
    expect(isUsageError(undefined)).to.equal(false);
  });
});
