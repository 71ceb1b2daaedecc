import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { loadScheduleShapes, lockedAt, supplyAt, unlockCalendar } from "../../indexer/api/supply";
import { MONTH } from "../../protocol/units";
import { scriptedActivity } from "./activity";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

async function deployedWithActivity(): Promise<Suite> {
  const suite = await deploySuite();
  await scriptedActivity(suite);
  return suite;
}

describe("indexer derivations match the contracts' views to the wei", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    describe(name, function () {
      it("balances, holders, supply, vesting and emission after scripted activity", async function () {
        const backend = (await testBackends()).find((b) => b.name === name)!;
        if (!backend.fresh) return this.skip();
        const suite = await loadFixture(deployedWithActivity);
        const database = await backend.fresh();
        try {
          const engine = await newEngine(database, suite);
          await engine.syncToHead();
          const { flk, vesting, emission } = suite;
          const db = database.db;

          const accounts = await db.selectFrom("accounts").selectAll().execute();
          expect(accounts.length).to.be.greaterThan(10);
          for (const a of accounts) expect(BigInt(a.balance)).to.equal(await flk.balanceOf(a.address), a.address);
          const holders = accounts.filter((a) => BigInt(a.balance) > 0n).length;

          const totals = await db.selectFrom("token_totals").selectAll().executeTakeFirstOrThrow();
          expect(BigInt(totals.total_supply)).to.equal(await flk.totalSupply());
          expect(BigInt(totals.total_minted)).to.equal(await flk.totalMinted());
          expect(BigInt(totals.burned)).to.equal((await flk.totalMinted()) - (await flk.totalSupply()));
          expect(totals.holders).to.equal(holders);

          const state = await db.selectFrom("emission_state").selectAll().executeTakeFirstOrThrow();
          expect(BigInt(state.minted)).to.equal(await emission.minted());
          expect(state.start).to.equal(Number(await emission.start()));
          expect(state.mints).to.equal(3);

          const schedules = await db.selectFrom("vesting_schedules").selectAll().orderBy("id").execute();
          expect(schedules.length).to.equal(Number(await vesting.scheduleCount()));
          for (const s of schedules) {
            const onChain = await vesting.schedule(s.id);
            expect(s.beneficiary).to.equal(onChain.beneficiary);
            expect(BigInt(s.amount)).to.equal(onChain.amount);
            expect(BigInt(s.released)).to.equal(onChain.released);
          }

          // Locked in vesting, at instants around every kind of boundary.
          const start = Number(await vesting.start());
          const shapes = await loadScheduleShapes(db);
          const instants = [start - 1, start, start + 1, start + 365 * 86400 - 1, start + 365 * 86400, start + 500 * 86400 + 7, start + 3 * 365 * 86400 + 1];
          for (const t of instants) expect(lockedAt(shapes, t)).to.equal(await vesting.lockedAt(t), `lockedAt(${t})`);

          // Supply now (the head block) and at a past instant, against views at those blocks.
          const head = await hre.ethers.provider.getBlock("latest");
          const now = await supplyAt(db, head!.timestamp);
          expect(now.total).to.equal(await flk.totalSupply());
          expect(now.minted).to.equal(await flk.totalMinted());
          expect(now.emitted).to.equal(await emission.minted());
          expect(now.burned).to.equal(now.minted - now.total);
          expect(now.lockedInVesting).to.equal(await vesting.lockedAt(head!.timestamp));
          expect(now.circulating).to.equal(now.total - now.lockedInVesting);
          const tge = await supplyAt(db, start);
          expect(tge.total).to.equal(100_000_000n * 10n ** 18n);
          expect(tge.circulating).to.equal(28_000_000n * 10n ** 18n);

          // The unlock calendar sums to what vests over its span.
          const calendar = unlockCalendar(shapes, start, 40);
          const sum = calendar.reduce((a, p) => a + p.amount, 0n);
          expect(sum).to.equal((await vesting.lockedAt(start - 1)) - (await vesting.lockedAt(start + 40 * Number(MONTH) - 1)));
          // The first month holds the TGE unlock (28M) plus a month of linear vesting.
          expect(calendar[0].amount).to.equal((await vesting.lockedAt(start - 1)) - (await vesting.lockedAt(start + Number(MONTH) - 1)));
          expect(calendar[0].amount > 28_000_000n * 10n ** 18n).to.equal(true);
          expect(calendar[12].amount).to.be.greaterThan(calendar[11].amount); // the one-year cliff
        } finally {
          await database.close();
        }
      });
    });
  }
});
