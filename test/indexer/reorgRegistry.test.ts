import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { NODE_STATUS } from "../../indexer/derive/registry";
import { runBeacon, sevenActiveNodes, skipEpoch } from "./registryActivity";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

describe("indexer reorgs over an epoch change", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a skipped epoch with a slash replaced by another branch ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(sevenActiveNodes);
      const { registry } = s;
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        const engine = await newEngine(database, s, { finalityDepth: 40 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        // Branch A: one member stays silent and is slashed at a skipped epoch change; stake moves.
        const members = await runBeacon(s, new Set([Math.min(...(await registry.committeeIds()).map(Number))]));
        await registry.connect(s.nodes[6].owner).addStake(s.nodes[6].id, 5n * FLK);
        await skipEpoch(s);
        await skipEpoch(s);
        await engine.syncToHead();
        expect((await database.db.selectFrom("epochs").select("number").execute()).length).to.equal(4);
        await hre.network.provider.send("evm_revert", [fork]);
        // Branch B: every member reveals, different stake changes, one epoch change.
        await runBeacon(s);
        await registry.connect(s.nodes[1].owner).unstake(s.nodes[1].id, 1n);
        await skipEpoch(s);
        await engine.syncToHead();
        expect(engine.stats.reorgs).to.equal(1);
        expect(members.length).to.equal(4);

        await (await newEngine(reference, s, { finalityDepth: 40 })).syncToHead();
        const got = await dumpDerived(database);
        expect(got).to.deep.equal(await dumpDerived(reference));
        expect((got.node_stake_changes as { kind: string }[]).map((c) => c.kind)).to.not.include("SLASHED");
        expect((got.epochs as { number: number }[]).map((e) => e.number)).to.deep.equal([0, 1, 2]);
        for (const n of got.nodes as { id: number; stake: string; status: string }[]) {
          const v = await registry.getNode(n.id);
          expect([BigInt(n.stake), n.status]).to.deep.equal([v.stake, NODE_STATUS[Number(v.status)]]);
        }
        const [e2] = (got.epochs as { number: number; committee: number[] }[]).slice(-1);
        expect(e2.committee).to.deep.equal((await registry.committeeIds()).map(Number));
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
