import { expect } from "chai";
import hre from "hardhat";

/** EIP-170: the largest runtime code a contract may deploy. */
const LIMIT = 24_576;
/** Headroom every contract keeps (GUIDE.md): room for fixes without a redesign. */
const HEADROOM = 2_048;

describe("contract sizes", () => {
  it("keeps every deployable artifact at least 2 KiB under the 24,576-byte limit", async () => {
    const rows: { name: string; size: number; margin: number }[] = [];
    for (const name of await hre.artifacts.getAllFullyQualifiedNames()) {
      const { deployedBytecode } = await hre.artifacts.readArtifact(name);
      const size = (deployedBytecode.length - 2) / 2;
      if (size === 0) continue; // interfaces and abstract contracts deploy nothing
      rows.push({ name, size, margin: LIMIT - size });
    }
    rows.sort((a, b) => a.margin - b.margin);
    console.log(rows.map((r) => `      ${String(r.size).padStart(6)} B  margin ${String(r.margin).padStart(6)} B  ${r.name}`).join("\n"));
    expect(rows.length).to.be.greaterThan(20);
    expect(rows.map((r) => r.name)).to.include("contracts/registry/NodeRegistry.sol:NodeRegistry");
    for (const r of rows) expect(r.margin, `${r.name}: ${r.size} bytes`).to.be.gte(HEADROOM);
  });
});
