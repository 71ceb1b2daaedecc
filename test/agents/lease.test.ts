/**
 * Hosting leases of the agent marketplace (contracts/agents/AgentMarketplace.sol, docs/agents.md
 * "Hosting lease"): the owner's prepaid balance pays for the agent's reserved memory by the second
 * at `memoryMiB × pricePerGiBHour / 1,024` per hour; `leaseEnds` says until when; top-ups extend it,
 * `setLease` and a hosting price change apply from the lease's next checkpoint, a paused agent is
 * not charged and its balance may be withdrawn, and `collectRent` (anyone, bounded) sends the rent
 * to the node rewards pool. Literal figures; every revert; a fast-check property that no USDC is
 * created or lost.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, timelockSigner } from "../../testkit/deploy";
import { ROOT_A, ROOT_B, USDC } from "./fixtures";

const SCALE = 3_600n * 1_024n;
const MAX_U64 = 2n ** 64n - 1n;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 10);

/** The Ignition suite (its marketplace settles through the real escrow, whose `rewards` is the pool) and two funded owners. */
async function leaseFixture() {
  const suite = await deploySuite();
  const [, alice, bob] = await hre.ethers.getSigners();
  const market = suite.agentMarketplace;
  const address = await market.getAddress();
  for (const who of [alice, bob]) {
    await suite.usdc.mint(who.address, 1_000_000n * USDC);
    await suite.usdc.connect(who).approve(address, hre.ethers.MaxUint256);
  }
  const gov = await timelockSigner(suite);
  return { ...suite, market, alice, bob, gov, rewards: await suite.rewards.getAddress() };
}

describe("AgentMarketplace hosting leases", () => {
  it("charges 256 MiB at 7,000 units per GiB-hour 1,750 units an hour, sends it to the rewards pool and ends when the balance runs out", async () => {
    const { market, usdc, alice, bob, rewards } = await loadFixture(leaseFixture);
    const t0 = (await time.latest()) + 10;
    await time.setNextBlockTimestamp(t0);
    // A new lease has nothing: it ended when it began.
    await expect(market.connect(alice).register("counter", ROOT_A, ROOT_B, 256, 0))
      .to.emit(market, "LeaseUpdated")
      .withArgs(1, 0, t0, 0);
    expect(await market.leaseEnds(1)).to.equal(t0);

    // 3,500 units pay two hours; anyone may fund.
    await time.setNextBlockTimestamp(t0 + 100);
    await expect(market.connect(bob).fundLease(1, 3_500))
      .to.emit(market, "LeaseFunded")
      .withArgs(1, bob.address, 3_500)
      .and.to.emit(market, "LeaseUpdated")
      .withArgs(1, 3_500, t0 + 100 + 7_200, 0);
    expect(await market.leaseEnds(1)).to.equal(t0 + 7_300);
    // What a node reads in one call: owner, version and roots, memory, pause, end, seconds left.
    expect(await market.hosting(1)).to.deep.equal([alice.address, 1n, 256n, ROOT_A, ROOT_B, false, BigInt(t0 + 7_300), 7_200n]);
    await expect(market.hosting(2)).to.be.revertedWithCustomError(market, "AgentMarketUnknown").withArgs(2);

    // One hour later: 1,750 charged, 1,750 left; collecting sends it to the rewards pool.
    const poolBefore = await usdc.balanceOf(rewards);
    await time.setNextBlockTimestamp(t0 + 3_700);
    await expect(market.connect(bob).collectRent([1]))
      .to.emit(market, "LeaseUpdated")
      .withArgs(1, 1_750, t0 + 7_300, 1_750)
      .and.to.emit(market, "RentCollected")
      .withArgs(rewards, 1_750, 1);
    expect((await usdc.balanceOf(rewards)) - poolBefore).to.equal(1_750n);
    expect(await market.totalRentCollected()).to.equal(1_750n);
    expect(await market.leaseBalance(1, { blockTag: "latest" })).to.equal(1_750n);

    // A top-up extends the end by what it pays: 875 units = 30 minutes.
    await time.setNextBlockTimestamp(t0 + 4_000);
    await expect(market.connect(alice).fundLease(1, 875))
      .to.emit(market, "LeaseUpdated")
      .withArgs(1, 1_750 - 146 + 875, t0 + 7_300 + 1_800, 145);
    expect(await market.leaseEnds(1)).to.equal(t0 + 9_100);

    // Long past the end: only what was funded is charged, the balance is 0, the lease has ended.
    await time.increaseTo(t0 + 50_000);
    expect(await market.leaseBalance(1)).to.equal(0n);
    expect(await market.leaseEnds(1)).to.equal(t0 + 9_100);
    await market.connect(bob).collectRent([1]);
    expect((await usdc.balanceOf(rewards)) - poolBefore).to.equal(3_500n + 875n);
    expect(await usdc.balanceOf(await market.getAddress())).to.equal(0n);

    // Funding an ended lease runs it again from now (the time it was ended costs nothing).
    await time.setNextBlockTimestamp(t0 + 60_000);
    await expect(market.connect(alice).fundLease(1, 1_750))
      .to.emit(market, "LeaseUpdated")
      .withArgs(1, 1_750, t0 + 63_600, 0);
  });

  it("keeps the rent of a fraction of a unit per second exact however often it is charged", async () => {
    const { market, usdc, alice, bob } = await loadFixture(leaseFixture);
    // 1 MiB at 7,000: 6.8359375 units an hour; 7 units last 3,686.4 s.
    await market.connect(alice).register("tiny", ROOT_A, ROOT_B, 1, 0);
    const t0 = (await time.latest()) + 10;
    await time.setNextBlockTimestamp(t0);
    await market.connect(alice).fundLease(1, 7);
    expect(await market.leaseEnds(1)).to.equal(t0 + 3_686);
    // Charged every second for ten seconds: each charge is under one unit and none is lost.
    for (let i = 1; i <= 10; i++) {
      await time.setNextBlockTimestamp(t0 + i);
      await market.connect(bob).collectRent([1]);
    }
    expect(await market.totalRentCollected()).to.equal(0n);
    expect(await market.rentAccrued()).to.equal(10n * 7_000n);
    expect((await market.leases(1)).credit).to.equal(7n * SCALE - 70_000n);
    expect(await market.leaseEnds(1)).to.equal(t0 + 3_686);
    await time.increaseTo(t0 + 4_000);
    await market.connect(bob).collectRent([1]);
    // The lease ran to its last fraction of a second: all 7 units went to the pool, none is left.
    expect(await market.totalRentCollected()).to.equal(7n);
    expect(await market.rentAccrued()).to.equal(0n);
    expect((await market.leases(1)).credit).to.equal(0n);
    expect(await usdc.balanceOf(await market.getAddress())).to.equal(0n);
  });

  it("changes the rate from now on setLease, and a hosting price change from each lease's next checkpoint", async () => {
    const { market, alice, bob, gov } = await loadFixture(leaseFixture);
    await market.connect(alice).register("counter", ROOT_A, ROOT_B, 256, 0);
    const t0 = (await time.latest()) + 10;
    await time.setNextBlockTimestamp(t0);
    await market.connect(alice).fundLease(1, 7_000); // 4 hours at 1,750
    // After one hour, 512 MiB: 1,750 charged at the old rate, the remaining 5,250 at 3,500 an hour.
    await time.setNextBlockTimestamp(t0 + 3_600);
    await expect(market.connect(alice).setLease(1, 512))
      .to.emit(market, "LeaseSet")
      .withArgs(1, 512)
      .and.to.emit(market, "LeaseUpdated")
      .withArgs(1, 5_250, t0 + 3_600 + 5_400, 1_750);
    // Governance doubles the price: nothing changes before the lease's next checkpoint...
    await time.setNextBlockTimestamp(t0 + 5_000);
    await market.connect(gov).setHostingPrices(14_000, 1_000);
    expect(await market.leaseEnds(1)).to.equal(t0 + 9_000);
    // ...which charges the past at the old price and the future at the new one: 1,750 charged,
    // 3,500 left at 7,000 an hour.
    await time.setNextBlockTimestamp(t0 + 5_400);
    await expect(market.connect(bob).collectRent([1]))
      .to.emit(market, "LeaseUpdated")
      .withArgs(1, 3_500, t0 + 5_400 + 1_800, 1_750);
    // A zero price: free, never ends.
    await market.connect(gov).setHostingPrices(0, 1_000);
    await market.connect(bob).collectRent([1]);
    expect(await market.leaseEnds(1)).to.equal(MAX_U64);
  });

  it("does not charge a paused agent and gives its owner back the unused balance", async () => {
    const { market, usdc, alice } = await loadFixture(leaseFixture);
    await market.connect(alice).register("counter", ROOT_A, ROOT_B, 256, 0);
    const t0 = (await time.latest()) + 10;
    await time.setNextBlockTimestamp(t0);
    await market.connect(alice).fundLease(1, 3_500);
    await time.setNextBlockTimestamp(t0 + 1_800);
    await expect(market.connect(alice).setPaused(1, true))
      .to.emit(market, "ListingPausedSet")
      .withArgs(1, true)
      .and.to.emit(market, "LeaseUpdated")
      .withArgs(1, 2_625, 0, 875);
    expect(await market.leaseEnds(1)).to.equal(0n);
    // A day paused costs nothing.
    await time.increaseTo(t0 + 1_800 + 86_400);
    expect(await market.leaseBalance(1)).to.equal(2_625n);
    // Resumed: runs from now.
    await time.setNextBlockTimestamp(t0 + 90_000);
    await expect(market.connect(alice).setPaused(1, false))
      .to.emit(market, "LeaseUpdated")
      .withArgs(1, 2_625, t0 + 90_000 + 5_400, 0);
    await time.setNextBlockTimestamp(t0 + 93_600);
    await market.connect(alice).setPaused(1, true);
    const before = await usdc.balanceOf(alice.address);
    await expect(market.connect(alice).withdrawLease(1)).to.emit(market, "LeaseWithdrawn").withArgs(1, alice.address, 875);
    expect((await usdc.balanceOf(alice.address)) - before).to.equal(875n);
    expect(await market.leaseBalance(1)).to.equal(0n);
  });

  it("refuses an unknown agent, a zero amount, a stranger's or a running lease's withdrawal, an empty one, and too many leases to collect", async () => {
    const { market, alice, bob } = await loadFixture(leaseFixture);
    await expect(market.connect(alice).fundLease(1, 1)).to.be.revertedWithCustomError(market, "AgentMarketUnknown").withArgs(1);
    await expect(market.leaseEnds(1)).to.be.revertedWithCustomError(market, "AgentMarketUnknown").withArgs(1);
    await expect(market.leaseBalance(1)).to.be.revertedWithCustomError(market, "AgentMarketUnknown").withArgs(1);
    await expect(market.connect(alice).withdrawLease(1)).to.be.revertedWithCustomError(market, "AgentMarketUnknown").withArgs(1);
    await expect(market.connect(bob).collectRent([1]))
      .to.be.revertedWithCustomError(market, "AgentMarketUnknown")
      .withArgs(1);
    await market.connect(alice).register("counter", ROOT_A, ROOT_B, 256, 0);
    await expect(market.connect(alice).fundLease(1, 0)).to.be.revertedWithCustomError(market, "AgentMarketZeroAmount");
    await market.connect(alice).fundLease(1, 3_500);
    await expect(market.connect(bob).withdrawLease(1)).to.be.revertedWithCustomError(market, "AgentMarketNotOwner").withArgs(1, bob.address);
    await expect(market.connect(alice).withdrawLease(1)).to.be.revertedWithCustomError(market, "AgentMarketLeaseRunning").withArgs(1);
    await expect(market.connect(bob).collectRent(Array(257).fill(1)))
      .to.be.revertedWithCustomError(market, "AgentMarketTooManyLeases")
      .withArgs(257);
    await market.connect(bob).collectRent(Array(256).fill(1)); // the bound itself, one lease many times
    await market.connect(alice).setPaused(1, true);
    await market.connect(alice).withdrawLease(1);
    await expect(market.connect(alice).withdrawLease(1)).to.be.revertedWithCustomError(market, "AgentMarketNothingToWithdraw");
    // Nothing charged since: collecting sends nothing, refuses nothing.
    await expect(market.connect(bob).collectRent([])).to.emit(market, "RentCollected");
  });

  it("collects 256 leases in one transaction under 8M gas (half the 2^24 cap)", async () => {
    const { market, alice, bob } = await loadFixture(leaseFixture);
    const signers = await hre.ethers.getSigners();
    for (let i = 0; i < 256; i++) {
      const owner = signers[i % signers.length];
      await market.connect(owner).register("a", ROOT_A, ROOT_B, 4_096, 0);
      await market.connect(i % 2 ? alice : bob).fundLease(i + 1, 1_000_000);
    }
    await time.increase(3_600);
    const ids = Array.from({ length: 256 }, (_, i) => i + 1);
    const receipt = await (await market.connect(bob).collectRent(ids)).wait();
    console.log(`      collectRent of 256 leases: ${receipt!.gasUsed} gas`);
    expect(receipt!.gasUsed).to.be.lessThan(8_000_000n);
    // 4 GiB at 7,000 per GiB-hour: 28,000 an hour each, an hour and a few seconds of blocks.
    expect(await market.totalRentCollected()).to.be.greaterThanOrEqual(256n * 28_000n);
  });

  it("creates and loses no USDC: held × scale = owner balances × scale + lease credits + rent not collected (fast-check)", async function () {
    this.timeout(900_000);
    const { market, usdc, alice, bob, gov, rewards } = await loadFixture(leaseFixture);
    const address = await market.getAddress();
    const owners = [alice, bob];
    const action = fc.oneof(
      fc.record({ kind: fc.constant("register" as const), owner: fc.nat(1), mib: fc.integer({ min: 1, max: 4_096 }) }),
      fc.record({ kind: fc.constant("fund" as const), agent: fc.nat(3), amount: fc.bigInt({ min: 1n, max: 50n * USDC }) }),
      fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 200_000 }) }),
      fc.record({ kind: fc.constant("collect" as const), agents: fc.array(fc.nat(3), { maxLength: 4 }) }),
      fc.record({ kind: fc.constant("pause" as const), agent: fc.nat(3) }),
      fc.record({ kind: fc.constant("withdraw" as const), agent: fc.nat(3) }),
      fc.record({ kind: fc.constant("lease" as const), agent: fc.nat(3), mib: fc.integer({ min: 1, max: 4_096 }) }),
      fc.record({ kind: fc.constant("price" as const), perGiBHour: fc.integer({ min: 0, max: 10_000_000 }) }),
    );
    const done = { register: 0, fund: 0, wait: 0, collect: 0, pause: 0, withdraw: 0, lease: 0, price: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const start = { pool: await usdc.balanceOf(rewards), held: await usdc.balanceOf(address) };
          const ownerOf: number[] = [];
          const paused: boolean[] = [];
          let funded = 0n;
          let withdrawn = 0n;
          for (const a of actions) {
            if (a.kind === "register") {
              await market.connect(owners[a.owner]).register("agent", ROOT_A, ROOT_B, a.mib, 0);
              ownerOf.push(a.owner);
              paused.push(false);
            } else if (a.kind === "fund") {
              if (a.agent >= ownerOf.length) continue;
              await market.connect(bob).fundLease(a.agent + 1, a.amount);
              funded += a.amount;
            } else if (a.kind === "wait") {
              await time.increase(a.seconds);
            } else if (a.kind === "collect") {
              await market.connect(alice).collectRent(a.agents.filter((i) => i < ownerOf.length).map((i) => i + 1));
            } else if (a.kind === "pause") {
              if (a.agent >= ownerOf.length) continue;
              paused[a.agent] = !paused[a.agent];
              await market.connect(owners[ownerOf[a.agent]]).setPaused(a.agent + 1, paused[a.agent]);
            } else if (a.kind === "withdraw") {
              if (a.agent >= ownerOf.length || !paused[a.agent]) continue;
              const owner = owners[ownerOf[a.agent]];
              const due = (await market.leases(a.agent + 1)).credit / SCALE;
              if (due === 0n) {
                await expect(market.connect(owner).withdrawLease(a.agent + 1)).to.be.revertedWithCustomError(market, "AgentMarketNothingToWithdraw");
                continue;
              }
              const before = await usdc.balanceOf(owner.address);
              await market.connect(owner).withdrawLease(a.agent + 1);
              expect((await usdc.balanceOf(owner.address)) - before).to.equal(due);
              withdrawn += due;
            } else if (a.kind === "lease") {
              if (a.agent >= ownerOf.length) continue;
              await market.connect(owners[ownerOf[a.agent]]).setLease(a.agent + 1, a.mib);
            } else {
              await market.connect(gov).setHostingPrices(a.perGiBHour, 1_000);
            }
            done[a.kind]++;

            let credits = 0n;
            for (let i = 1; i <= ownerOf.length; i++) credits += (await market.leases(i)).credit;
            const held = (await usdc.balanceOf(address)) - start.held;
            const collected = (await usdc.balanceOf(rewards)) - start.pool;
            const owed = await market.totalOwed();
            expect(owed).to.equal(0n);
            // Every unit funded is held, collected into the pool or withdrawn; the held units are
            // exactly the credits and the rent not yet collected.
            expect(funded).to.equal(held + collected + withdrawn);
            expect(held * SCALE).to.equal(credits + (await market.rentAccrued()));
          }
        } finally {
          await snapshot.restore();
        }
      }),
      {
        numRuns: RUNS,
        examples: [
          [
            [
              { kind: "register", owner: 0, mib: 256 },
              { kind: "fund", agent: 0, amount: 3_500n },
              { kind: "wait", seconds: 1_000 },
              { kind: "lease", agent: 0, mib: 3 },
              { kind: "price", perGiBHour: 9_999 },
              { kind: "collect", agents: [0, 0] },
              { kind: "pause", agent: 0 },
              { kind: "withdraw", agent: 0 },
            ],
          ],
        ],
      },
    );
    for (const [name, count] of Object.entries(done)) expect(count, `${name} never succeeded`).to.be.greaterThan(0);
  });
});
