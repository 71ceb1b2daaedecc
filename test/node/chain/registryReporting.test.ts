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

  it("finds an old epoch's root in a bounded number of requests on a long chain, and asks the chain once per epoch", async () => {
    // A long chain (Hardhat answers no state at blocks it mined in bulk, so they come before the registry).
    await mine(1_000_000);
    const s = await registrySuite();
    const nodes = await withActiveNodes(s, 2);
    const root = `0x${"ab".repeat(32)}`;
    await submitReport(s, nodes, await emptyReport(s, { agentSnapshotsRoot: root }));
    expect(await s.registry.epoch()).to.equal(2n);
    const chain = await serveChain();
    try {
      let requests = 0;
      const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
      const send = provider._send.bind(provider);
      provider._send = (payload) => {
        requests += Array.isArray(payload) ? payload.length : 1;
        return send(payload);
      };
      const reporting = new RegistryReporting(provider, CHAIN_ID, String(s.registry.target));
      // Bounded by a binary search over the chain's ~2^20 blocks (2 requests a step at most), whatever the epoch.
      expect(await reporting.reportedAgentSnapshotsRoot(1)).to.equal(root);
      expect(requests).to.be.within(1, 2 * 21 + 4);
      // Epoch 0 was skipped (no report), the current epoch 2 and later ones are not over.
      expect(await reporting.reportedAgentSnapshotsRoot(0)).to.equal(undefined);
      expect(await reporting.reportedAgentSnapshotsRoot(2)).to.equal(undefined);
      expect(await reporting.reportedAgentSnapshotsRoot(1_000_000)).to.equal(undefined);
      // A reported epoch's root never changes: the chain is not asked again.
      requests = 0;
      expect(await reporting.reportedAgentSnapshotsRoot(1)).to.equal(root);
      expect(await reporting.reportedAgentSnapshotsRoot(0)).to.equal(undefined);
      expect(requests).to.equal(0);
    } finally {
      await chain.close();
    }
  });
});
