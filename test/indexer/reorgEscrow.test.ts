import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { USDC } from "../../protocol/units";
import { sevenActiveNodes } from "./registryActivity";
import { debitEpoch } from "./escrowActivity";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

describe("indexer reorgs over escrow deposits, limits and debits", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a branch with a debit and a limit change replaced by another ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(sevenActiveNodes);
      const [c0, c1] = s.clients;
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        await s.escrow.connect(c0).deposit(c0.address, 100n * USDC);
        const engine = await newEngine(database, s, { finalityDepth: 60 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        // Branch A: a limit, a deposit for another client and a report debiting both.
        await s.escrow.connect(c0).setSpendingLimit(40n * USDC);
        await s.escrow.connect(c0).deposit(c1.address, 20n * USDC);
        await debitEpoch(s, { 0: 30n * USDC }, [
          { client: c0.address, amount: 25n * USDC },
          { client: c1.address, amount: 5n * USDC },
        ]);
        await engine.syncToHead();
        expect(await database.db.selectFrom("escrow_debits").select("client").execute()).to.have.length(2);
        await hre.network.provider.send("evm_revert", [fork]);
        // Branch B: another limit and a withdrawal announcement, no report.
        await s.escrow.connect(c0).setSpendingLimit(7n * USDC);
        await s.escrow.connect(c0).requestWithdrawal(60n * USDC);
        for (let i = 0; i < 12; i++) await hre.network.provider.send("evm_mine");
        await engine.syncToHead();
        expect(engine.stats.reorgs).to.equal(1);

        await (await newEngine(reference, s, { finalityDepth: 60 })).syncToHead();
        const got = await dumpDerived(database);
        expect(got).to.deep.equal(await dumpDerived(reference));
        expect(got.escrow_debits).to.deep.equal([]);
        expect(got.escrow_epochs).to.deep.equal([]);
        expect(
          (got.escrow_accounts as Record<string, unknown>[]).map((a) => [a.client, a.balance, a.next_spending_limit, a.next_limit_from, a.withdrawal_amount]),
        ).to.deep.equal([[c0.address, (100n * USDC).toString(), (7n * USDC).toString(), 2, (60n * USDC).toString()]]);
        expect(await s.escrow.spendingLimit(c0.address, 2)).to.equal(7n * USDC);
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
