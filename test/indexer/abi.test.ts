/**
 * The indexer decodes logs with the event fragments of the compiled artifacts (indexer/abi.ts),
 * chosen by the event names its modules list. Each name must be one event of the contract's
 * artifact (an overloaded name would pick one of several layouts), abi.ts must hand out that very
 * fragment (the right artifact for the contract's name), and every handler must be for an event
 * its module reads, or it would never run.
 */
import { expect } from "chai";
import hre from "hardhat";
import { Interface } from "ethers";
import { eventFragment } from "../../indexer/abi";
import { allModules } from "../../indexer/derive";

/** Artifact names of the contracts the modules name differently. */
const ARTIFACT: Record<string, string> = { Governor: "FleekGovernor" };

/** Every (contract, event name) the modules decode, children (clones) included. */
function decodedEvents(modules = allModules): [string, string][] {
  const out: [string, string][] = [];
  for (const m of modules) {
    for (const [contract, names] of Object.entries(m.events) as [string, string[]][]) for (const n of names) out.push([contract, n]);
    for (const [contract, child] of Object.entries(m.children ?? {})) for (const n of child!.events) out.push([contract, n]);
  }
  return out;
}

describe("indexer ABI: every event the modules decode exists in its contract's artifact", () => {
  it("is one event of the compiled contract, and abi.ts gives its compiled fragment", async () => {
    const events = decodedEvents();
    const checked = new Map<string, number>();
    for (const [contract, name] of events) {
      const artifact = await hre.artifacts.readArtifact(ARTIFACT[contract] ?? contract);
      const compiled = new Interface(artifact.abi).fragments.filter((f) => f.type === "event" && (f as { name?: string }).name === name);
      expect(compiled, `${contract}: ${name} is not one event of ${artifact.contractName}`).to.have.length(1);
      expect(eventFragment(contract, name).format("full"), `${contract}.${name}: abi.ts fragment`).to.equal(compiled[0].format("full"));
      checked.set(contract, (checked.get(contract) ?? 0) + 1);
    }
    // Not vacuous: every contract the indexer reads had its events checked, the report tuple among them.
    expect([...checked.keys()].sort()).to.include.members([
      "BuybackBurner",
      "CreatorMarket",
      "CreatorToken",
      "Emission",
      "EpochRewards",
      "FLK",
      "FunctionRegistry",
      "Governor",
      "NodeRegistry",
      "ServiceCredits",
      "ServiceEscrow",
      "Staking",
      "Vesting",
    ]);
    expect(events.length).to.be.greaterThan(30);
    expect(eventFragment("NodeRegistry", "EpochReported").format("full")).to.include("(uint32 nodeId, uint8 uptime");
  });

  it("has a handler only for events its module reads", () => {
    for (const m of allModules) {
      const read = new Set(decodedEvents([m]).map(([c, n]) => `${c}:${n}`));
      for (const key of [...Object.keys(m.handlers), ...Object.keys(m.prefetch ?? {})])
        expect(read.has(key), `module ${m.name}: ${key} is handled but not read`).to.equal(true);
    }
  });
});
