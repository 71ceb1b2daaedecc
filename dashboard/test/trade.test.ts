import { describe, expect, it } from "vitest";
import { parseDeadlineMinutes, parseSlippage } from "../src/lib/trade";

describe("parseSlippage", () => {
  it("reads percentages into basis points", () => {
    expect(parseSlippage("1").value).toBe(100n);
    expect(parseSlippage("0.5").value).toBe(50n);
    expect(parseSlippage(".25").value).toBe(25n);
    expect(parseSlippage(" 50 ").value).toBe(5000n);
    expect(parseSlippage("0").value).toBe(0n);
  });
  it("refuses what used to crash the form (BigInt(NaN)) with a reason", () => {
    expect(parseSlippage("0,5").error).toBe("Use a dot for decimals, like 0.5.");
    expect(parseSlippage("1%").error).toBe("Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals).");
    expect(parseSlippage("1e400").error).toBe("Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals).");
    expect(parseSlippage("").error).toBe("Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals).");
    expect(parseSlippage("-1").error).toBe("Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals).");
    expect(parseSlippage("0.125").error).toBe("Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals).");
    expect(parseSlippage("50.01").error).toBe("The slippage tolerance is at most 50%.");
  });
});

describe("parseDeadlineMinutes", () => {
  it("reads whole minutes into seconds", () => {
    expect(parseDeadlineMinutes("20").value).toBe(1200n);
    expect(parseDeadlineMinutes("1440").value).toBe(86_400n);
  });
  it("refuses fractions, zero, overflow and text", () => {
    expect(parseDeadlineMinutes("0").error).toBe("The deadline is 1 to 1440 minutes.");
    expect(parseDeadlineMinutes("1441").error).toBe("The deadline is 1 to 1440 minutes.");
    expect(parseDeadlineMinutes("1e400").error).toBe("Enter a whole number of minutes, like 20.");
    expect(parseDeadlineMinutes("2.5").error).toBe("Enter a whole number of minutes, like 20.");
  });
});
