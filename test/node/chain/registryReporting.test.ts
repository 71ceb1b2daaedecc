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
import { registrySuite } from "../../../testkit/registry";
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
