import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { startApiServer } from "../../indexer/api/server";
import { timelockSigner } from "../../testkit/deploy";
import { stakingFixture, type StakingSuite } from "../staking/fixture";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const DAY = 86_400;

/** What the views say after each scripted transaction: the watched account's stake and the rate. */
interface Snapshot {
  t: number;
  stake: bigint;
  rate: bigint;
}

interface CreditsScenario extends StakingSuite {
  /** Start of the first scripted month (UTC) and of the month after it. */
  months: { label: string; start: number; end: number }[];
  timeline: Snapshot[];
  /** Block numbers at which each scripted month was last in progress. */
  lastBlockOf: number[];
  /** The credit rate before the script. */
  initialRate: bigint;
}

function utcMonth(year: number, month0: number) {
  const start = Date.UTC(year, month0, 1) / 1000;
  const d = new Date(start * 1000);
  return { label: `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`, start, end: Date.UTC(year, month0 + 1, 1) / 1000 };
}

/**
 * Staker a stakes before month 1, tops up, is partly unstaked after a rate change, and empties in
 * month 2; staker b stakes and compounds; the tier thresholds change late in month 1.
 */
async function creditsScenario(): Promise<CreditsScenario> {
  const s = await stakingFixture();
  const [a, b] = s.stakers;
  const admin = await timelockSigner(s);
  const now = new Date((await time.latest()) * 1000);
  const m1 = utcMonth(now.getUTCFullYear(), now.getUTCMonth() + 2);
  const m2 = utcMonth(now.getUTCFullYear(), now.getUTCMonth() + 3);
  const timeline: Snapshot[] = [];
  const initialRate = await s.serviceCredits.creditsPerFlkMonth();
  const lastBlockOf: number[] = [];
  const step = async (at: number, action: () => Promise<unknown>) => {
    await time.setNextBlockTimestamp(at);
    await action();
    timeline.push({ t: at, stake: await s.staking.stakeOf(a.address), rate: await s.serviceCredits.creditsPerFlkMonth() });
  };
  await step(m1.start - 1_000, () => s.staking.connect(a).stake(1_000n * FLK));
  await step(m1.start + 5 * DAY, () => s.staking.connect(b).stake(500n * FLK + 1n));
  await step(m1.start + 10 * DAY + 17, () => s.staking.connect(a).stake(200n * FLK + 3n));
  await step(m1.start + 12 * DAY, () => s.serviceCredits.connect(admin).setCreditRate(2n * FLK + 5n));
  await step(m1.start + 20 * DAY + 1, () => s.staking.connect(a).unstake(300n * FLK));
  await step(m1.start + 25 * DAY, () => s.staking.connect(b).compound());
  await step(m1.start + 26 * DAY, () => s.serviceCredits.connect(admin).setTierThresholds([500n * FLK, 1_000n * FLK]));
  await step(m1.end - 1, () => s.staking.connect(a).compound());
  lastBlockOf.push(await hre.ethers.provider.getBlockNumber());
  await step(m2.start + 3 * DAY, async () => s.staking.connect(a).unstake(await s.staking.stakeOf(a.address)));
  await step(m2.start + 9 * DAY, () => s.staking.connect(b).stake(1n));
  lastBlockOf.push(await hre.ethers.provider.getBlockNumber());
  return { ...s, months: [m1, m2], timeline, lastBlockOf, initialRate };
}

/**
 * The expected credits, written out independently of the indexer from the views after each
 * transaction: Σ stake × rate × seconds / (month seconds × 1e18), and the average stake.
 */
function expected(timeline: readonly Snapshot[], initialRate: bigint, month: { start: number; end: number }, now: number) {
  const to = Math.min(now, month.end);
  let stakeSeconds = 0n;
  let weighted = 0n;
  let current = { stake: 0n, rate: initialRate };
  let from = month.start;
  for (const snap of timeline) {
    if (snap.t > to) break;
    if (snap.t > from) {
      stakeSeconds += current.stake * BigInt(snap.t - from);
      weighted += current.stake * current.rate * BigInt(snap.t - from);
      from = snap.t;
    }
    current = snap;
  }
  stakeSeconds += current.stake * BigInt(to - from);
  weighted += current.stake * current.rate * BigInt(to - from);
  return {
    credits: weighted / (BigInt(month.end - month.start) * 10n ** 18n),
    averageStake: stakeSeconds / BigInt(to - month.start),
    stakeAtEnd: current.stake,
  };
}

describe("indexer service credits per account, month and tier", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: credits and tiers equal an independent integration of the scripted stake timeline`, async function () {
      const backend = (await testBackends()).find((x) => x.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(creditsScenario);
      const [a, b] = s.stakers;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const now = await time.latest();
        const { initialRate } = s;
        const fields = "account month credits averageStake tier stakeAtEnd complete";
        for (const [i, month] of s.months.entries()) {
          const got = (await gql(api.url, `{ serviceCredits(account: "${a.address.toLowerCase()}", month: "${month.label}") { ${fields} } }`)).data
            .serviceCredits;
          const want = expected(s.timeline, initialRate, month, now);
          // The tier of the average stake, by the contract's own tierOf at the month's last block.
          const tier = Number(await s.serviceCredits.tierOf(want.averageStake, { blockTag: s.lastBlockOf[i] }));
          expect(got).to.deep.equal({
            account: a.address,
            month: month.label,
            credits: want.credits.toString(),
            averageStake: want.averageStake.toString(),
            tier,
            stakeAtEnd: want.stakeAtEnd.toString(),
            complete: now >= month.end,
          });
          expect(want.credits).to.be.greaterThan(0n);
        }
        // Month 1 is complete and crossed a rate change: not the same as the average × one rate.
        const m1 = expected(s.timeline, initialRate, s.months[0], now);
        expect(m1.credits).to.not.equal((m1.averageStake * initialRate) / 10n ** 18n);
        expect(Number(await s.serviceCredits.tierOf(m1.averageStake, { blockTag: s.lastBlockOf[0] }))).to.equal(2);

        // The list per account: from b's first stake to the current month.
        const list = (await gql(api.url, `{ serviceCreditMonths(account: "${b.address}") { month credits } }`)).data.serviceCreditMonths;
        expect(list.map((m: any) => m.month)).to.deep.equal(s.months.map((m) => m.label));
        expect(list[0].credits).to.not.equal("0");
        expect((await gql(api.url, `{ serviceCreditMonths(account: "${s.stakers[5].address}") { month } }`)).data.serviceCreditMonths).to.deep.equal([]);

        const code = async (q: string) => (await gql(api.url, q)).errors?.[0]?.extensions?.code;
        expect(await code(`{ serviceCredits(account: "${a.address}", month: "2026-13") { credits } }`)).to.equal("BAD_USER_INPUT");
        expect(await code(`{ serviceCredits(account: "${a.address}", month: "November") { credits } }`)).to.equal("BAD_USER_INPUT");
        expect(await code(`{ serviceCredits(account: "0xnope", month: "${s.months[0].label}") { credits } }`)).to.equal("BAD_USER_INPUT");
        expect(await code(`{ serviceCredits(account: "${a.address}", month: "2999-01") { credits } }`)).to.equal("BAD_USER_INPUT");
        expect(await code(`{ serviceCreditMonths(account: "${a.address}", from: "1990-01") { credits } }`)).to.equal("BAD_USER_INPUT");
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
