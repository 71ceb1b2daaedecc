/**
 * The dashboard's data source (dashboard/src/data/indexer.ts) against the real indexer: a suite on
 * Hardhat, synced into PGlite, served by the indexer's GraphQL server. Every figure the pages show
 * is checked against the contracts' views; the indexer down, empty or behind gives errors in words.
 */
import http from "node:http";
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { scriptedActivity } from "../indexer/activity";
import { newEngine, testBackends } from "../indexer/helpers";
import { startApiServer, type ApiServer } from "../../indexer/api/server";
import type { IndexerDatabase } from "../../indexer/store/database";
import type { SyncEngine } from "../../indexer/sync/engine";
import { GENESIS_ALLOCATIONS } from "../../protocol/genesis";
import { FLK } from "../../protocol/units";
import { graphqlClient, IndexerError } from "../../dashboard/src/data/graphql";
import { indexerData } from "../../dashboard/src/data/indexer";

async function suiteWithActivity(): Promise<Suite> {
  const suite = await deploySuite();
  await scriptedActivity(suite);
  // A staker, for the delegate leaderboard.
  const [, , staker] = await hre.ethers.getSigners();
  await suite.flk.connect(staker).approve(await suite.staking.getAddress(), 500n * FLK);
  await suite.staking.connect(staker).stake(500n * FLK);
  // A claim a day later, for the reward history.
  await time.increase(86_400);
  await suite.staking.connect(staker).claim();
  return suite;
}

/** What a rejected promise was rejected with. */
async function rejection(promise: Promise<unknown>): Promise<IndexerError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(IndexerError);
    return err as IndexerError;
  }
  throw new Error("expected a rejection");
}

describe("Dashboard data source on the indexer's GraphQL", function () {
  let suite: Suite;
  let database: IndexerDatabase;
  let engine: SyncEngine;
  let api: ApiServer;
  let minBlock = 0;
  let data: ReturnType<typeof indexerData>;

  before(async function () {
    const pglite = (await testBackends()).find((b) => b.name === "pglite")!;
    suite = await loadFixture(suiteWithActivity);
    database = await pglite.fresh!();
    engine = await newEngine(database, suite);
    await engine.syncToHead();
    api = await startApiServer({ database, port: 0 });
    const contracts = { staking: await suite.staking.getAddress(), timelock: suite.admin, creatorMarket: await suite.creatorMarket.getAddress() };
    data = indexerData(graphqlClient(`${api.url}/graphql`), { contracts } as never, () => minBlock, 1_000);
  });
  after(async () => {
    await api?.close();
    await database?.close();
  });

  it("gives the supply breakdown the contracts give", async () => {
    const head = (await hre.ethers.provider.getBlock("latest"))!;
    const s = await data.supply();
    const { flk } = suite;
    expect(s.now).to.equal(BigInt(head.timestamp));
    expect(s.tge).to.equal(await suite.vesting.start());
    expect(s.total).to.equal(await flk.totalSupply());
    expect(s.vesting).to.equal(await suite.vesting.lockedAt(head.timestamp));
    expect(s.staked).to.equal(await flk.balanceOf(await suite.staking.getAddress()));
    expect(s.reserves).to.equal((await flk.balanceOf(suite.admin)) + (await flk.balanceOf(await suite.creatorMarket.getAddress())));
    expect(s.burned).to.equal((await flk.totalMinted()) - (await flk.totalSupply()));
    expect(s.emitted).to.equal(await suite.emission.minted());
    expect(s.circulating).to.equal(s.total - s.vesting - s.staked - s.reserves);
  });

  it("samples the supply history from the TGE (genesis supply, all locked but the TGE shares) to now", async () => {
    const s = await data.supply();
    const samples = await data.supplyHistory(s.tge, s.now, 5);
    expect(samples.map((p) => p.time)).to.deep.equal([0n, 1n, 2n, 3n, 4n].map((i) => s.tge + ((s.now - s.tge) * i) / 4n));
    expect(samples[0].total).to.equal(100_000_000n * FLK);
    expect(samples[0].vesting).to.equal(72_000_000n * FLK);
    expect(samples[4].total).to.equal(s.total);
    expect(samples[4].burned).to.equal(s.burned);
    expect(samples[4].staked).to.equal(500n * FLK);
  });

  it("lists the genesis allocations as the Vesting contract holds them", async () => {
    const allocations = await data.allocations();
    expect(allocations.map((a) => [a.name, a.total, a.tgeBps, a.cliff, a.duration])).to.deep.equal(
      GENESIS_ALLOCATIONS.map((a) => [a.name, a.total, a.tgeBps, a.cliff, a.duration]),
    );
  });

  it("lists burns newest first and delegates with the most votes first", async () => {
    const signers = await hre.ethers.getSigners();
    const burns = await data.burns(10);
    expect(burns.map((b) => [b.from, b.amount, b.source])).to.deep.equal([
      [signers[10].address, 1n, "OTHER"],
      [signers[2].address, 123n * FLK + 456n, "OTHER"],
    ]);
    expect(await data.proposals()).to.deep.equal([]);
    expect(await data.vote(1n, signers[2].address)).to.equal(undefined);
    // The delegate leaderboard: the one account with votes, and all voting power (the staked FLK).
    expect(await data.delegates(5)).to.deep.equal({
      totalVotes: await suite.staking.totalStaked(),
      delegates: [{ address: signers[2].address, votes: 500n * FLK, staked: 500n * FLK }],
    });
  });

  it("gives an account's staking rewards paid, as the staking contract's events give them", async () => {
    const [, , staker] = await hre.ethers.getSigners();
    const [claim] = await suite.staking.queryFilter(suite.staking.filters.RewardClaimed(staker.address));
    expect(claim.args.amount).to.be.greaterThan(0n);
    expect(await data.rewardPayments(staker.address, 10)).to.deep.equal([
      { block: claim.blockNumber, time: (await claim.getBlock()).timestamp, txHash: claim.transactionHash, kind: "claimed", amount: claim.args.amount },
    ]);
    expect(await data.rewardPayments((await hre.ethers.getSigners())[3].address, 10)).to.deep.equal([]);
  });

  it("counts holders and transfers and lists the largest holders and the latest transfers as the token's events give them", async () => {
    const events = await suite.flk.queryFilter(suite.flk.filters.Transfer());
    const accounts = [...new Set(events.flatMap((e) => [e.args.from, e.args.to]))].filter((a) => a !== hre.ethers.ZeroAddress);
    const balances = (await Promise.all(accounts.map(async (address) => ({ address, balance: (await suite.flk.balanceOf(address)) as bigint })))).filter(
      (h) => h.balance > 0n,
    );
    expect(await data.tokenStats()).to.deep.equal({ holders: balances.length, transfers: events.length });
    // Equal balances in the indexer's keyset order: address, descending.
    const largest = [...balances]
      .sort((a, b) => (a.balance === b.balance ? b.address.toLowerCase().localeCompare(a.address.toLowerCase()) : a.balance > b.balance ? -1 : 1))
      .slice(0, 5);
    expect((await data.holders(5)).map((h) => ({ ...h, address: hre.ethers.getAddress(h.address) }))).to.deep.equal(largest);
    const latest = await Promise.all(
      events
        .slice(-5)
        .reverse()
        .map(async (e) => ({
          block: e.blockNumber,
          time: (await e.getBlock()).timestamp,
          txHash: e.transactionHash,
          from: e.args.from,
          to: e.args.to,
          amount: e.args.value as bigint,
        })),
    );
    const transfers = (await data.transfers(5)).map((t) => ({ ...t, from: hre.ethers.getAddress(t.from), to: hre.ethers.getAddress(t.to) }));
    expect(transfers).to.deep.equal(latest);
  });

  it("waits for the indexer to reach the user's last transaction, and says so when it does not", async () => {
    minBlock = (await hre.ethers.provider.getBlockNumber()) + 1;
    const err = await rejection(data.burns(1));
    expect(err.code).to.equal("BEHIND");
    expect(err.message).to.equal(
      `The indexer is behind: it has reached block ${minBlock - 1}, your last transaction is in block ${minBlock}. Lists will catch up when it does.`,
    );
    const waiting = data.burns(1);
    await mine(1);
    await engine.syncToHead();
    expect(await waiting).to.have.length(1);
    minBlock = 0;
  });

  it("says in words when the indexer is unreachable, has nothing indexed, or refuses a query", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const down = await rejection(indexerData(graphqlClient(`http://127.0.0.1:${port}/graphql`), { contracts: {} } as never, () => 0).burns(1));
    expect(down.code).to.equal("UNREACHABLE");
    expect(down.message).to.equal(
      `The indexer at http://127.0.0.1:${port}/graphql is unreachable, so lists, history and totals cannot be shown. Check that it is running (\`npm run indexer -- all\`).`,
    );

    const empty = await (await testBackends()).find((b) => b.name === "pglite")!.fresh!();
    const emptyApi = await startApiServer({ database: empty, port: 0 });
    try {
      const contracts = { staking: suite.admin, timelock: suite.admin, creatorMarket: suite.admin };
      const notIndexed = await rejection(indexerData(graphqlClient(`${emptyApi.url}/graphql`), { contracts } as never, () => 0).supply());
      expect(notIndexed.code).to.equal("NOT_INDEXED");
      expect(notIndexed.message).to.equal("The indexer has not indexed any block yet; try again in a moment.");
    } finally {
      await emptyApi.close();
      await empty.close();
    }

    const refused = await rejection(graphqlClient(`${api.url}/graphql`)(`{ nothing }`));
    expect(refused.code).to.equal("GRAPHQL_VALIDATION_FAILED");
    expect(refused.message).to.match(/^The indexer refused the query: Cannot query field "nothing" on type "Query"\. \(GRAPHQL_VALIDATION_FAILED\)\.$/);
  });

  it("lists creator tokens with the curve state the market gives, its trades and holders, and labels their fee burns", async () => {
    const [buyer, creator] = (await hre.ethers.getSigners()).slice(2, 4);
    const market = suite.creatorMarket;
    await suite.flk.connect(buyer).approve(await market.getAddress(), 10n ** 30n);
    const [paid, curveCost] = await market.buyCost(creator.address, 25n * FLK);
    const receipt = await (await market.connect(buyer).buy(creator.address, 25n * FLK, 10n ** 30n, 2n ** 40n)).wait();
    await engine.syncToHead();
    const token = await hre.ethers.getContractAt("CreatorToken", await market.tokenOf(creator.address));
    const lower = <T extends { creator: string; token: string }>(t: T) => ({ ...t, creator: t.creator.toLowerCase(), token: t.token.toLowerCase() });
    expect((await data.creatorTokens()).map(lower)).to.deep.equal([
      lower({
        creator: creator.address,
        token: await market.tokenOf(creator.address),
        index: 0,
        supply: await market.supplyOf(creator.address),
        spotPrice: await market.spotPrice(creator.address),
        reserve: await market.reserveOf(creator.address),
        symbol: await token.symbol(),
        // One buy: the volume is its curve cost.
        volume: curveCost,
        holders: 1,
      }),
    ]);
    const block = await hre.ethers.provider.getBlock(receipt!.blockNumber);
    const activity = await data.creatorActivity(creator.address, 10, 10);
    expect(activity.trades.map((t) => ({ ...t, trader: t.trader.toLowerCase() }))).to.deep.equal([
      {
        block: receipt!.blockNumber,
        time: block!.timestamp,
        txHash: receipt!.hash,
        trader: buyer.address.toLowerCase(),
        side: "buy",
        amount: 25n * FLK,
        flk: paid,
        priceAfter: await market.spotPrice(creator.address),
      },
    ]);
    expect(activity.holders.map((h) => ({ ...h, address: h.address.toLowerCase() }))).to.deep.equal([
      { address: buyer.address.toLowerCase(), balance: 25n * FLK },
    ]);
    expect((await data.burns(1))[0].source).to.equal("CREATOR_MARKET");
  });
});
