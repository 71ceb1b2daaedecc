import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, timelockSigner } from "../../testkit/deploy";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

const LIMITS = { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 };
const root = (byte: string) => `0x${byte.repeat(32)}`;

describe("indexer reorgs over function registrations, versions and prices", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a branch with a new version, a transfer, a registration and a price change replaced by another ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(deploySuite);
      const [alice, bob] = (await hre.ethers.getSigners()).slice(10, 12);
      const registry = s.functionRegistry;
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        await registry.connect(alice).register("hello", root("11"), LIMITS);
        const engine = await newEngine(database, s, { finalityDepth: 60 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        // Branch A: version 2, hello handed to Bob, a second function and new prices.
        await registry.connect(alice).publish(1, root("22"), { ...LIMITS, cpuMs: 10 });
        await registry.connect(alice).transferFunction(1, bob.address);
        await registry.connect(bob).register("other", root("33"), LIMITS);
        await s.escrow.connect(await timelockSigner(s)).setComputePrices(1n, 2n);
        await engine.syncToHead();
        expect(await database.db.selectFrom("function_versions").select("version").execute()).to.have.length(3);
        await hre.network.provider.send("evm_revert", [fork]);
        // Branch B: another version 2 only.
        await registry.connect(alice).publish(1, root("44"), { ...LIMITS, memoryMiB: 64 });
        for (let i = 0; i < 12; i++) await hre.network.provider.send("evm_mine");
        await engine.syncToHead();
        expect(engine.stats.reorgs).to.equal(1);

        await (await newEngine(reference, s, { finalityDepth: 60 })).syncToHead();
        const got = await dumpDerived(database);
        expect(got).to.deep.equal(await dumpDerived(reference));
        expect((got.functions as Record<string, unknown>[]).map((f) => [f.id, f.name, f.owner, f.version, f.root, f.memory_mib, f.cpu_ms])).to.deep.equal([
          [1, "hello", alice.address, 2, root("44"), 64, 50],
        ]);
        expect((got.function_versions as Record<string, unknown>[]).map((v) => [v.function_id, v.version, v.root])).to.deep.equal([
          [1, 1, root("11")],
          [1, 2, root("44")],
        ]);
        expect((got.compute_prices as Record<string, unknown>[]).map((p) => [p.per_million_requests, p.per_million_cpu_ms])).to.deep.equal([
          ["300000", "20000"],
        ]);
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
