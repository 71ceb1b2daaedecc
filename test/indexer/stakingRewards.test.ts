import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { startApiServer } from "../../indexer/api/server";
import { stakingFixture, type StakingSuite } from "../staking/fixture";
import { apiReached, gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const DAY = 86_400;

/** Stakes, unstakes (one account to zero and back), claims, compounds and delegation over weeks. */
async function rewardActivity(): Promise<StakingSuite> {
  const s = await stakingFixture();
  const [a, b, c, d] = s.stakers;
  await s.staking.connect(a).stake(1_000n * FLK);
  await time.increase(3 * DAY);
  await s.staking.connect(b).stake(333n * FLK + 7n);
  await s.staking.connect(c).stake(1n);
  await time.increase(5 * DAY + 13);
  await s.staking.connect(a).unstake(1_000n * FLK); // nothing staked for a while: emission waits
  await s.staking.connect(b).unstake(333n * FLK + 7n);
  await s.staking.connect(c).unstake(1n);
  await time.increase(2 * DAY);
  await s.staking.connect(d).stake(50n * FLK);
  await s.staking.connect(a).claim();
  await time.increase(DAY);
  await s.staking.connect(a).stake(10n * FLK);
  await s.staking.connect(d).delegate(a.address);
  await time.increase(4 * DAY + 1);
  await s.staking.connect(d).compound();
  await s.staking.connect(b).stake(5n * FLK);
  await time.increase(DAY);
  await s.staking.connect(b).claim();
  return s;
}

describe("indexer staking rewards earned: the contract's accumulator replayed", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: rewardsEarned equals Staking.earned at the indexed block, also blocks after the last event; each claim and compound in the history`, async function () {
      const backend = (await testBackends()).find((x) => x.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(rewardActivity);
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      const engine = await newEngine(database, s);
      try {
        const check = async () => {
          await engine.syncToHead();
          const block = engine.cursor;
          await apiReached(api.url, block);
          let positive = 0;
          for (const x of s.stakers) {
            const got = (await gql(api.url, `{ staker(address: "${x.address}") { rewardsEarned } }`)).data.staker;
            const want = await s.staking.earned(x.address, { blockTag: block });
            expect(got?.rewardsEarned ?? "0", `earned by ${x.address} at block ${block}`).to.equal(want.toString());
            if (want > 0n) positive++;
          }
          return positive;
        };
        expect(await check()).to.be.greaterThanOrEqual(3);
        // Emission keeps streaming without events: the API accrues up to the indexed block.
        await time.increase(7 * DAY + 5);
        await mine();
        expect(await check()).to.be.greaterThanOrEqual(3);
        const [a] = s.stakers;
        await s.staking.connect(a).compound();
        await check();

        // Each account's reward history: the contract's RewardClaimed and RewardCompounded events, oldest first.
        const paid = [
          ...(await s.staking.queryFilter(s.staking.filters.RewardClaimed())).map((e) => ({ e, kind: "CLAIMED" })),
          ...(await s.staking.queryFilter(s.staking.filters.RewardCompounded())).map((e) => ({ e, kind: "COMPOUNDED" })),
        ].sort((x, y) => x.e.blockNumber - y.e.blockNumber || x.e.index - y.e.index);
        expect(paid.map((p) => p.kind)).to.include.members(["CLAIMED", "COMPOUNDED"]);
        for (const x of s.stakers) {
          const mine = await Promise.all(
            paid
              .filter((p) => p.e.args.account === x.address)
              .map(async ({ e, kind }) => ({
                kind,
                amount: e.args.amount.toString(),
                blockNumber: e.blockNumber,
                timestamp: (await e.getBlock()).timestamp,
                transactionHash: e.transactionHash,
              })),
          );
          const got = (
            await gql(
              api.url,
              `{ stakingRewardPayments(account: "${x.address.toLowerCase()}") { nodes { kind amount blockNumber timestamp transactionHash } } }`,
            )
          ).data.stakingRewardPayments.nodes;
          expect(got, `reward payments of ${x.address}`).to.deep.equal(mine);
        }
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
