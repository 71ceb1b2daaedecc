import { expect } from "chai";
import hre from "hardhat";
import { sql } from "kysely";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import type { IndexerDatabase } from "../../indexer/store/database";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { buy, fundedTraders, sell, type QuotedTrade } from "./creatorActivity";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

const NO_DEADLINE = 2n ** 64n;

/** One creator token traded by two accounts, and USDC in the buyback pot. */
async function tradedSuite() {
  const s = await deploySuite();
  const traders = await fundedTraders(s);
  const [a, b] = traders;
  const trades: QuotedTrade[] = [];
  await buy(s, trades, a, a.address, 10n * FLK);
  await buy(s, trades, b, a.address, 4n * FLK);
  // 10 USDC: an hour in, auction 0 asks ~958 FLK per USDC.
  await s.buyback.connect(a).deposit(10n * 10n ** 6n);
  return { ...s, traders, trades };
}

async function children(database: IndexerDatabase) {
  const { rows } = await sql<Record<string, unknown>>`SELECT * FROM indexer_children ORDER BY address`.execute(database.db);
  return rows;
}

/** Every creator token's supply and every trader's balance of it, on chain and indexed. */
async function expectTokensMatchChain(database: IndexerDatabase, s: Suite, accounts: string[]) {
  const tokens = await database.db.selectFrom("creator_tokens").selectAll().execute();
  for (const t of tokens) {
    expect(BigInt(t.supply)).to.equal(await s.creatorMarket.supplyOf(t.creator));
    const token = await hre.ethers.getContractAt("CreatorToken", t.token);
    for (const account of accounts) {
      const row = await database.db
        .selectFrom("creator_token_holders")
        .select("balance")
        .where("token", "=", t.token)
        .where("address", "=", account)
        .executeTakeFirst();
      expect(BigInt(row?.balance ?? 0)).to.equal(await token.balanceOf(account), `${account} in ${t.token}`);
    }
  }
  const reserves = (await Promise.all(tokens.map((t) => s.creatorMarket.reserveOf(t.creator)))).reduce((x, y) => x + y, 0n);
  const { rows } = await sql<{
    amount: string;
  }>`SELECT amount FROM supply_components WHERE component = 'curveReserves' ORDER BY block_number DESC LIMIT 1`.execute(database.db);
  expect(BigInt(rows[0].amount)).to.equal(reserves);
}

describe("indexer reorgs and restarts over creator-token trades and buyback auctions", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a reorg replacing trades, a token's creation, a fee claim and an auction sale ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(tradedSuite);
      const [a, b, c, d] = s.traders;
      const trades: QuotedTrade[] = [];
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        const engine = await newEngine(database, s, { finalityDepth: 20 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");

        // Fork A: a new token (c's), a transfer between holders, a sell, a claim and an auction sale.
        await buy(s, trades, c, c.address, 3n * FLK);
        const tokenA = await hre.ethers.getContractAt("CreatorToken", await s.creatorMarket.tokenOf(a.address));
        await tokenA.connect(a).transfer(d.address, 2n * FLK);
        await sell(s, trades, b, a.address, 4n * FLK);
        await s.creatorMarket.connect(a).claimCreatorFees();
        await time.increase(3_600);
        await s.buyback.connect(b).buy(0, hre.ethers.MaxUint256, NO_DEADLINE, b.address);
        await engine.syncToHead();
        expect((await database.db.selectFrom("creator_tokens").select("creator").execute()).map((r) => r.creator)).to.include(c.address);
        expect(await database.db.selectFrom("flk_burns").select("source").where("source", "=", "BUYBACK").execute()).to.have.length(1);

        // Fork B: c's token never exists, d's does; different trades; the auction sells later to another buyer.
        await hre.network.provider.send("evm_revert", [fork]);
        await buy(s, trades, d, d.address, 1n * FLK + 5n);
        await sell(s, trades, a, a.address, 1n * FLK);
        await buy(s, trades, c, a.address, 7n);
        await time.increase(7_200);
        await s.buyback.connect(c).buy(0, hre.ethers.MaxUint256, NO_DEADLINE, c.address);
        await engine.syncToHead();
        expect(engine.stats.reorgs).to.equal(1);

        await (await newEngine(reference, s, { finalityDepth: 20 })).syncToHead();
        const got = await dumpDerived(database);
        expect(got).to.deep.equal(await dumpDerived(reference));
        expect(await children(database)).to.deep.equal(await children(reference));
        expect((got.creator_tokens as { creator: string }[]).map((r) => r.creator).sort()).to.deep.equal([a.address, d.address].sort());
        const [sale] = got.buyback_auctions as { status: string; buyer: string }[];
        expect([sale.status, sale.buyer]).to.deep.equal(["SOLD", c.address]);
        await expectTokensMatchChain(
          database,
          s,
          s.traders.map((t) => t.address),
        );
      } finally {
        await database.close();
        await reference.close();
      }
    });

    it(`${name}: a restarted engine reads the clones an earlier run stored`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(tradedSuite);
      const [a, b, , d] = s.traders;
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        await (await newEngine(database, s)).syncToHead();
        // Only the clone's own events show these: a transfer between holders, then a sell of it.
        const token = await hre.ethers.getContractAt("CreatorToken", await s.creatorMarket.tokenOf(a.address));
        await token.connect(b).transfer(d.address, 3n * FLK);
        await sell(s, [], d, a.address, 2n * FLK);
        await (await newEngine(database, s)).syncToHead();
        await (await newEngine(reference, s)).syncToHead();
        expect(await dumpDerived(database)).to.deep.equal(await dumpDerived(reference));
        await expectTokensMatchChain(
          database,
          s,
          s.traders.map((t) => t.address),
        );
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
