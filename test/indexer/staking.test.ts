import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { supplyAt } from "../../indexer/api/supply";
import { startApiServer } from "../../indexer/api/server";
import { STAKER_FUNDS, stakingFixture, type StakingSuite } from "../staking/fixture";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const DAY = 86400;

/**
 * Several stakers stake, unstake (twice in one account, so a withdrawal pays two requests),
 * withdraw, restake after emptying, compound, and delegate to stakers and to a non-staker.
 */
async function stakingWithActivity(): Promise<StakingSuite> {
  const suite = await stakingFixture();
  const {
    staking,
    stakers: [a, b, c, d, e, f],
  } = suite;
  const outsider = (await hre.ethers.getSigners())[9];
  await staking.connect(a).stake(1_000n * FLK);
  await staking.connect(b).stake(2_000n * FLK + 1n);
  await staking.connect(c).stake(500n * FLK);
  await staking.connect(d).stake(3_000n * FLK);
  await staking.connect(b).delegate(a.address);
  await staking.connect(c).delegate(outsider.address);
  await time.increase(DAY);
  await staking.connect(a).unstake(100n * FLK);
  await staking.connect(a).unstake(50n * FLK + 7n);
  await staking.connect(d).unstake(3_000n * FLK); // empties a staker
  await time.increase(8 * DAY);
  await staking.connect(a).withdraw();
  await staking.connect(a).unstake(10n * FLK); // still pending at the end
  await staking.connect(d).stake(7n * FLK);
  await staking.connect(e).stake(1n);
  await staking.connect(b).compound();
  await staking.connect(f).stake(40n * FLK);
  await staking.connect(f).delegate(b.address);
  await staking.connect(f).delegate(f.address);
  await staking.connect(c).unstake(1n);
  await staking.connect(c).claim();
  return suite;
}

describe("indexer staking area matches the staking contract to the wei", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: positions, unbonding, delegation, votes, totals, supply and the stakers list`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const suite = await loadFixture(stakingWithActivity);
      const { staking } = suite;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, suite)).syncToHead();
        const db = database.db;

        const rows = await db.selectFrom("stakers").selectAll().execute();
        const outsider = (await hre.ethers.getSigners())[9].address;
        // Every staker plus the non-staking delegatee.
        expect(rows.map((r) => r.address).sort()).to.deep.equal([...suite.stakers.map((s) => s.address), outsider].sort());
        for (const r of rows) {
          expect(BigInt(r.staked)).to.equal(await staking.stakeOf(r.address), `stake of ${r.address}`);
          expect(BigInt(r.votes)).to.equal(await staking.getVotes(r.address), `votes of ${r.address}`);
          expect(r.delegate).to.equal(await staking.delegates(r.address), `delegate of ${r.address}`);
          const [firstId, requests] = await staking.unbondingRequests(r.address);
          const pending = await db
            .selectFrom("unbonding_requests")
            .selectAll()
            .where("account", "=", r.address)
            .where("withdrawn", "=", false)
            .orderBy("request_id")
            .execute();
          expect(r.next_request_id).to.equal(Number(firstId));
          expect(pending.map((p) => [p.request_id, BigInt(p.amount), p.release_time])).to.deep.equal(
            requests.map((q, i) => [Number(firstId) + i, q.amount, Number(q.releaseTime)]),
            `requests of ${r.address}`,
          );
          expect(BigInt(r.unbonding)).to.equal(requests.reduce((sum, q) => sum + q.amount, 0n));
        }
        // Rewards paid, checked against balances rather than events: b's stake beyond its
        // principal was compounded, and c's FLK beyond its unstaked funds was claimed.
        const [, b, c] = suite.stakers;
        const rewards = async (x: string) =>
          db.selectFrom("stakers").select(["rewards_claimed", "rewards_compounded"]).where("address", "=", x).executeTakeFirstOrThrow();
        const bRewards = await rewards(b.address);
        expect(BigInt(bRewards.rewards_compounded))
          .to.equal((await staking.stakeOf(b.address)) - (2_000n * FLK + 1n))
          .and.to.be.greaterThan(0n);
        const cRewards = await rewards(c.address);
        expect(BigInt(cRewards.rewards_claimed))
          .to.equal((await suite.flk.balanceOf(c.address)) - (STAKER_FUNDS - 500n * FLK))
          .and.to.be.greaterThan(0n);
        expect(BigInt(cRewards.rewards_compounded)).to.equal(0n);

        // The withdrawal paid both of the first account's earlier requests.
        const a = suite.stakers[0].address;
        expect(
          (await db.selectFrom("unbonding_requests").select("request_id").where("account", "=", a).where("withdrawn", "=", true).execute()).length,
        ).to.equal(2);

        const totals = await db.selectFrom("staking_totals").selectAll().executeTakeFirstOrThrow();
        expect(BigInt(totals.total_staked)).to.equal(await staking.totalStaked());
        expect(BigInt(totals.total_unbonding)).to.equal(await staking.totalUnbonding());
        expect(totals.stakers).to.equal(6);
        const head = (await hre.ethers.provider.getBlock("latest"))!;
        expect((await supplyAt(db, head.timestamp)).staked).to.equal(await staking.totalStaked());

        // GraphQL: stakers paged two at a time, largest stake first, equal to the views.
        const expected = (await Promise.all(suite.stakers.map(async (s) => ({ address: s.address, staked: await staking.stakeOf(s.address) })))).sort((x, y) =>
          x.staked === y.staked ? (x.address < y.address ? 1 : -1) : x.staked < y.staked ? 1 : -1,
        );
        const seen: { address: string; staked: string }[] = [];
        let after: string | null = null;
        do {
          const res: Response = await fetch(`${api.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              query: "query($after: String) { stakers(first: 2, after: $after) { nodes { address staked } pageInfo { hasNextPage endCursor } } }",
              variables: { after },
            }),
          });
          const page: { nodes: { address: string; staked: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } = ((await res.json()) as any).data
            .stakers;
          seen.push(...page.nodes);
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        expect(seen).to.deep.equal(expected.map((x) => ({ address: x.address, staked: x.staked.toString() })));

        const res = await fetch(`${api.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            query: `{ staker(address: "${a.toLowerCase()}") { staked votes delegate unbondingRequests { requestId amount } } stakingTotals { totalStaked } }`,
          }),
        });
        const data = ((await res.json()) as any).data;
        expect(BigInt(data.staker.votes)).to.equal(await staking.getVotes(a));
        expect(data.staker.unbondingRequests).to.deep.equal([{ requestId: 2, amount: (10n * FLK).toString() }]);
        expect(BigInt(data.stakingTotals.totalStaked)).to.equal(await staking.totalStaked());

        // The delegate leaderboard: every account with votes, the non-staking delegatee too, most votes first.
        const holders = await Promise.all(
          [...suite.stakers.map((s) => s.address), outsider].map(async (address) => ({ address, votes: await staking.getVotes(address) })),
        );
        const leaderboard = holders
          .filter((h) => h.votes > 0n)
          .sort((x, y) => (x.votes === y.votes ? (x.address < y.address ? 1 : -1) : x.votes < y.votes ? 1 : -1))
          .map((h) => ({ address: h.address, votes: h.votes.toString() }));
        expect(
          leaderboard.some((h) => h.address === outsider),
          "the fixture delegates to a non-staker",
        ).to.equal(true);
        const delegates = await fetch(`${api.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ delegates(first: 20) { nodes { address votes } } }" }),
        });
        expect(((await delegates.json()) as any).data.delegates.nodes).to.deep.equal(leaderboard);
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
