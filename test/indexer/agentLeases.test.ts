import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import { deploySuite, timelockSigner, type Suite } from "../../testkit/deploy";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;

interface LeaseScenario extends Suite {
  alice: string;
  t0: number;
}

/**
 * On the suite's marketplace (docs/agents.md "Hosting lease"): Alice registers agent 1 (256 MiB,
 * 1,750 units an hour at the default 7,000 per GiB-hour) and funds 3,500 at t0 (ends t0 + 7,200);
 * Bob registers agent 2 and never funds it. At t0 + 3,600 anyone collects: 1,750 to the rewards
 * pool. At t0 + 5,400 Alice pauses agent 1 (875 more charged, 875 left) and at t0 + 5,500 withdraws
 * the 875. Governance then sets a zero hosting price and agent 2 is collected (free, never ends),
 * which sends the 875 charged at the pause too.
 */
async function leaseScenario(): Promise<LeaseScenario> {
  const s = await deploySuite();
  const [alice, bob] = (await hre.ethers.getSigners()).slice(10, 12);
  const m = s.agentMarketplace;
  await s.usdc.mint(alice.address, 10_000n);
  await s.usdc.connect(alice).approve(await m.getAddress(), hre.ethers.MaxUint256);
  await m.connect(alice).register("counter", R1, R2, 256, 0);
  await m.connect(bob).register("idle", R2, R1, 128, 0);
  const t0 = (await time.latest()) + 10;
  await time.setNextBlockTimestamp(t0);
  await m.connect(alice).fundLease(1, 3_500);
  await time.setNextBlockTimestamp(t0 + 3_600);
  await m.connect(bob).collectRent([1]);
  await time.setNextBlockTimestamp(t0 + 5_400);
  await m.connect(alice).setPaused(1, true);
  await time.setNextBlockTimestamp(t0 + 5_500);
  await m.connect(alice).withdrawLease(1);
  await m.connect(await timelockSigner(s)).setHostingPrices(0, 1_000);
  await m.connect(bob).collectRent([2]);
  return { ...s, alice: alice.address, t0 };
}

const LEASE_FIELDS = "id paused leaseEndsAt leaseBalance leaseUpdatedAt leaseFunded leaseWithdrawn leaseRent";

describe("indexer agents area: hosting leases", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: each lease's balance, end, funding, withdrawals and rent, and the rent collected, over GraphQL`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(leaseScenario);
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const answer = await gql(api.url, `{ agents { nodes { ${LEASE_FIELDS} } } agentMarket { rentCollected } }`);
        expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
        const [one, two] = answer.data.agents.nodes;
        expect(one).to.deep.equal({
          id: 1,
          paused: true,
          leaseEndsAt: 0,
          leaseBalance: "0",
          leaseUpdatedAt: s.t0 + 5_500,
          leaseFunded: "3500",
          leaseWithdrawn: "875",
          leaseRent: "2625",
        });
        expect(two.paused).to.equal(false);
        expect(two.leaseEndsAt).to.equal(null);
        expect([two.leaseBalance, two.leaseFunded, two.leaseRent]).to.deep.equal(["0", "0", "0"]);
        expect(answer.data.agentMarket.rentCollected).to.equal("2625");
        expect(await s.agentMarketplace.totalRentCollected()).to.equal(2_625n);
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
