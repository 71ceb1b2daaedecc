import { describe, expect, it } from "vitest";
import { parseHost, parseLockEpochs, parsePort, shortKey } from "../src/lib/nodes";
import { statusName } from "../src/lib/revert";

const KEY = "ab".repeat(32);

describe("node registration inputs", () => {
  it("accepts ports 1 to 65535 only, as whole numbers", () => {
    expect(parsePort("1").value).toBe(1);
    expect(parsePort("65535").value).toBe(65535);
    for (const bad of ["0", "65536", "-1", "80.5", "", "8o"]) expect(parsePort(bad).error, bad).toBeDefined();
  });

  it("accepts a bare host of at most 253 bytes", () => {
    expect(parseHost(" node.example.org ").value).toBe("node.example.org");
    expect(parseHost("a".repeat(253)).value).toHaveLength(253);
    expect(parseHost("a".repeat(254)).error).toMatch(/253 bytes/);
    expect(parseHost("é".repeat(127)).error).toMatch(/253 bytes/); // 254 bytes in UTF-8
    expect(parseHost("").error).toMatch(/host name/);
    expect(parseHost("https://node.example.org").error).toMatch(/without scheme/);
  });

  it("bounds a lock to 1..max epochs", () => {
    expect(parseLockEpochs("30", 1460).value).toBe(30n);
    expect(parseLockEpochs("0", 1460).error).toBe("Lock for 1 to 1460 epochs.");
    expect(parseLockEpochs("1461", 1460).error).toBe("Lock for 1 to 1460 epochs.");
    expect(parseLockEpochs("1.5", 1460).error).toMatch(/whole number/);
  });
});

describe("registry values in words", () => {
  it("names the contract's Status values", () => {
    expect([0n, 1n, 2n, 3n, 4n].map(statusName)).toEqual(["none", "pending", "active", "jailed", "exited"]);
    expect(statusName(9)).toBe("unknown (9)");
  });

  it("shortens a key", () => {
    expect(shortKey(`0x${KEY}`)).toBe("0xabab…abab");
  });
});
