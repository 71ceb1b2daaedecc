import { describe, expect, it } from "vitest";
import { parseHost, parseLockEpochs, parseNodeKey, parsePort, parseSigner, shortKey } from "../src/lib/nodes";
import { statusName } from "../src/lib/revert";

const KEY = "ab".repeat(32);

describe("node registration inputs", () => {
  it("accepts a 32-byte hex key with or without 0x, as a lower-case bytes32", () => {
    expect(parseNodeKey(KEY.toUpperCase()).value).toBe(`0x${KEY}`);
    expect(parseNodeKey(` 0x${KEY} `).value).toBe(`0x${KEY}`);
  });

  it("refuses keys of the wrong length, non-hex digits and the zero key", () => {
    expect(parseNodeKey(KEY.slice(2)).error).toMatch(/32 bytes \(64 hex digits\); this is 62/);
    expect(parseNodeKey(`${KEY}00`).error).toMatch(/this is 66/);
    expect(parseNodeKey(`${KEY.slice(1)}g`).error).toMatch(/hexadecimal/);
    expect(parseNodeKey("0".repeat(64)).error).toMatch(/not be zero/);
  });

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

  it("requires a non-zero signer address", () => {
    expect(parseSigner("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").value).toBe("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    expect(parseSigner(`0x${"0".repeat(40)}`).error).toMatch(/zero address/);
    expect(parseSigner("0x1234").error).toMatch(/Ethereum address/);
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
