import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { cumulativeEmission } from "../../protocol/emission";
import { GENESIS_ALLOCATIONS, vestedAmount } from "../../protocol/genesis";
import { FLK, YEAR } from "../../protocol/units";
import { deploySuite, timelockSigner } from "../../testkit/deploy";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);

describe("Token properties (fast-check on the EVM)", () => {
  it("vesting never releases more than allocated, vested amounts never decrease, balances add up", async () => {
    const suite = await loadFixture(deploySuite);
    const { vesting, flk } = suite;
    const vestingAddress = await vesting.getAddress();
    const count = Number(await vesting.scheduleCount());
    const action = fc.record({ advance: fc.bigInt({ min: 1n, max: 2n * YEAR }), schedule: fc.nat({ max: count - 1 }) });

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const lastVested = new Array<bigint>(count).fill(0n);
          let releasedTotal = 0n;
          for (const { advance, schedule } of actions) {
            await time.increase(advance);
            const before = await vesting.released(schedule);
            if ((await vesting.releasable(schedule)) > 0n) await vesting.release(schedule);
            releasedTotal += (await vesting.released(schedule)) - before;
            const now = BigInt(await time.latest());
            for (let id = 0; id < count; id++) {
              const s = await vesting.schedule(id);
              const vested = await vesting.vestedAmount(id, now);
              expect(s.released <= s.amount && s.released <= vested).to.equal(true);
              expect(vested >= lastVested[id]).to.equal(true);
              lastVested[id] = vested;
              expect(await flk.balanceOf(s.beneficiary)).to.equal(s.released);
            }
            expect(await flk.balanceOf(vestingAddress)).to.equal((await vesting.totalAllocated()) - releasedTotal);
          }
        } finally {
          await snapshot.restore();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("the vesting views match the TypeScript formula and are monotone at any two times", async () => {
    const { vesting } = await loadFixture(deploySuite);
    const start = await vesting.start();
    const count = Number(await vesting.scheduleCount());
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: count - 1 }), fc.bigInt({ min: 0n, max: 4n * YEAR }), fc.bigInt({ min: 0n, max: 4n * YEAR }), async (id, t1, t2) => {
        const s = await vesting.schedule(id);
        const shape = GENESIS_ALLOCATIONS[Number(s.allocation)];
        const [lo, hi] = t1 < t2 ? [t1, t2] : [t2, t1];
        const vLo = await vesting.vestedAmount(id, start + lo);
        const vHi = await vesting.vestedAmount(id, start + hi);
        expect(vLo).to.equal(vestedAmount(shape, s.amount, lo));
        expect(vHi >= vLo && vHi <= s.amount).to.equal(true);
      }),
      { numRuns: RUNS * 8 },
    );
  });

  it("emission never exceeds the schedule for any sequence of mints, redirects and times", async () => {
    const suite = await loadFixture(deploySuite);
    const { emission, flk } = suite;
    const signers = await hre.ethers.getSigners();
    const admin = await timelockSigner(suite);
    const recipients = signers.slice(5, 9).map((s) => s.address);
    const start = await emission.start();
    const initialRecipients = [await emission.stakingRecipient(), await emission.nodeRecipient()];
    const action = fc.oneof(
      fc.record({ kind: fc.constant("advance" as const), seconds: fc.bigInt({ min: 1n, max: 2n * YEAR }) }),
      fc.record({ kind: fc.constant("mint" as const) }),
      fc.record({ kind: fc.constant("redirect" as const), staking: fc.nat({ max: 3 }), nodes: fc.nat({ max: 3 }) }),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 15 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const holdings = async () => {
            let sum = 0n;
            for (const r of [...recipients, ...initialRecipients]) sum += await flk.balanceOf(r);
            return sum;
          };
          const initial = await holdings();
          const mintedAtStart = await emission.minted();
          for (const a of actions) {
            if (a.kind === "advance") await time.increase(a.seconds);
            if (a.kind === "mint") await emission.mint();
            if (a.kind === "redirect") await emission.connect(admin).setRecipients(recipients[a.staking], recipients[a.nodes]);
            const now = BigInt(await time.latest());
            const minted = await emission.minted();
            const due = cumulativeEmission(now - start);
            expect(minted <= due).to.equal(true);
            if (a.kind !== "advance") expect(minted).to.equal(due);
            expect(minted <= 16_500_000n * FLK).to.equal(true);
            expect(await flk.totalSupply()).to.equal(100_000_000n * FLK + minted);
            expect((await holdings()) - initial).to.equal(minted - mintedAtStart);
          }
        } finally {
          await snapshot.restore();
        }
      }),
      { numRuns: RUNS },
    );
  });
});
