/**
 * The chain time the reporting duties act on (RegistryReporting.phase) against Hardhat mining only
 * on transactions, as the devnet of `npm start` does: between blocks it must go on with the clock,
 * or a quiet devnet never reaches an epoch's end and its keeper skips every epoch (slashing the
 * members, whose beacons were committed but never revealed).
 */
import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network } from "ethers";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { emptyReport, registrySuite, submitReport, withActiveNodes } from "../../../testkit/registry";
import { CHAIN_ID, serveChain } from "./chainNodes";

describe("chain: RegistryReporting's phase between blocks", function () {
  this.timeout(30_000);

  it("moves the chain's time on with the clock while no block is mined, never past the next block's", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    try {
      const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
      const reporting = new RegistryReporting(provider, CHAIN_ID, String(s.registry.target));
      // The devnet's seed leaves the chain's clock ahead of the wall clock.
      await time.increase(3_600);
      const head = (await provider.getBlock("latest"))!;
      const first = await reporting.phase();
      expect(first.now).to.be.within(head.timestamp, head.timestamp + 1);
      expect(first.epochEnd).to.equal(Number(await s.registry.epochEnd()));

      await new Promise((r) => setTimeout(r, 2_500));
      const later = await reporting.phase();
      expect((await provider.getBlock("latest"))!.number).to.equal(head.number, "nothing was mined meanwhile");
      expect(later.now).to.be.at.least(head.timestamp + 2);
      await mine();
      expect((await provider.getBlock("latest"))!.timestamp).to.be.at.least(later.now, "a transaction sent at that time is not early");
    } finally {
      await chain.close();
    }
  });
});

describe("chain: RegistryReporting's reported agentSnapshotsRoot", function () {
  this.timeout(120_000);

  it("reads a reported epoch's root with one eth_call at the latest block (no archive state), and keeps it", async () => {
    const s = await registrySuite();
    const nodes = await withActiveNodes(s, 2);
    const root = `0x${"ab".repeat(32)}`;
    const zero = `0x${"00".repeat(32)}`;
    // Epoch 0 skipped (withActiveNodes' forced change), epoch 1 reported with agents, epoch 2 reported without.
    await submitReport(s, nodes, await emptyReport(s, { agentSnapshotsRoot: root }));
    await mine(100);
    await submitReport(s, nodes, await emptyReport(s, { agentSnapshotsRoot: zero }));
    expect(await s.registry.epoch()).to.equal(3n);
    const chain = await serveChain();
    try {
      // A pruned endpoint: state at any block but the latest is refused, as a non-archive node does.
      const calls: unknown[][] = [];
      const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
      const send = provider._send.bind(provider);
      provider._send = (payload) => {
        for (const p of Array.isArray(payload) ? payload : [payload]) {
          calls.push([p.method, ...(p.params as unknown[])]);
          if (p.method === "eth_call" && (p.params as unknown[])[1] !== "latest") throw new Error("missing trie node: not an archive endpoint");
        }
        return send(payload);
      };
      const reporting = new RegistryReporting(provider, CHAIN_ID, String(s.registry.target));
      expect(await reporting.reportedAgentSnapshotsRoot(1)).to.equal(root);
      expect(calls.map(([method]) => method)).to.deep.equal(["eth_call"]);
      expect(calls[0][2]).to.equal("latest");
      // Nothing to prove against: epoch 0 skipped, epoch 2's report held no agent, epoch 3 and later not over.
      calls.length = 0;
      for (const epoch of [0, 2, 3, 1_000_000]) expect(await reporting.reportedAgentSnapshotsRoot(epoch)).to.equal(undefined);
      expect(calls.map(([method]) => method)).to.deep.equal(["eth_call", "eth_call", "eth_call", "eth_call"]);
      // A reported epoch's root never changes: the chain is not asked again.
      calls.length = 0;
      expect(await reporting.reportedAgentSnapshotsRoot(1)).to.equal(root);
      expect(calls).to.deep.equal([]);
    } finally {
      await chain.close();
    }
  });
});
