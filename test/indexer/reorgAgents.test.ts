import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, timelockSigner } from "../../testkit/deploy";
import { afterOneReorg, dropTestDatabases, newEngine, testBackends } from "./helpers";

const root = (byte: string) => `0x${byte.repeat(32)}`;

describe("indexer reorgs over agents, prices, settlements and withdrawals", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a branch with a version, a price, a split, a settlement and a withdrawal replaced by another ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(deploySuite);
      const [alice, bob, settler] = (await hre.ethers.getSigners()).slice(10, 13);
      const m = s.agentMarketplace;
      const admin = await timelockSigner(s);
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        await m.connect(alice).register("a", root("11"), root("22"), 128, 10_000);
        await m.connect(admin).setSettlement(settler.address, s.buyback);
        await s.usdc.mint(settler.address, 10_000_000n);
        await s.usdc.connect(settler).approve(await m.getAddress(), hre.ethers.MaxUint256);
        await m.connect(settler).settle(1, [1], [100_000]);
        const engine = await newEngine(database, s, { finalityDepth: 60 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        // Branch A: version 2, a new price, agent 2, a new split, epoch 2 settled, Alice withdraws, the agent goes to Bob.
        await m.connect(alice).publish(1, root("33"), root("22"));
        await m.connect(alice).setPrice(1, 50_000, 0);
        await m.connect(bob).register("b", root("44"), root("55"), 64, 1);
        await m.connect(admin).setSplit(500, 7_500, 2_000);
        await m.connect(settler).settle(2, [1, 2, 1], [1_000, 2_000, 3_000]);
        await m.connect(alice).withdraw();
        await m.connect(alice).transferAgent(1, bob.address);
        await engine.syncToHead();
        expect(await database.db.selectFrom("agent_settlements").select("epoch").execute()).to.have.length(2);
        await hre.network.provider.send("evm_revert", [fork]);
        // Branch B: only a pause and another epoch 2.
        await m.connect(alice).setPaused(1, true);
        await m.connect(settler).settle(2, [1], [10_000]);
        const got = await afterOneReorg(engine, database, reference, s);
        // Literal state of branch B: 100,000 + 10,000 units at 20/70/10.
        expect((got.agents as Record<string, unknown>[]).map((a) => [a.id, a.owner, a.version, a.paused, a.revenue, a.to_owner])).to.deep.equal([
          [1, alice.address, 1, true, "110000", "77000"],
        ]);
        expect((got.agent_prices as Record<string, unknown>[]).map((p) => p.price)).to.deep.equal(["10000"]);
        expect((got.agent_epoch_revenue as Record<string, unknown>[]).map((r) => [r.agent_id, r.epoch, r.entries, r.amount])).to.deep.equal([
          [1, 1, 1, "100000"],
          [1, 2, 1, "10000"],
        ]);
        expect((got.agent_owners as Record<string, unknown>[]).map((o) => [o.owner, o.credited, o.withdrawn, o.balance])).to.deep.equal([
          [alice.address, "77000", "0", "77000"],
        ]);
        expect(got.agent_withdrawals).to.deep.equal([]);
        expect((got.agent_splits as Record<string, unknown>[]).map((x) => [x.node_bps, x.owner_bps, x.protocol_bps])).to.deep.equal([[2_000, 7_000, 1_000]]);
        const market = (got.agent_market as Record<string, unknown>[])[0];
        expect([market.agent_count, market.epochs_settled, market.to_protocol, market.withdrawn, market.node_bps]).to.deep.equal([1, 2, "11000", "0", 2_000]);
        expect(await m.balanceOf(alice.address)).to.equal(77_000n);
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
