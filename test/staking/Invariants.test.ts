import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { FLK } from "../../protocol/units";
import { RewardModel, stakingFixture } from "./fixture";

const ACTORS = 4;

type Action =
  | { kind: "stake"; who: number; amount: bigint }
  | { kind: "unstake"; who: number; percent: number }
  | { kind: "withdraw"; who: number }
  | { kind: "claim"; who: number }
  | { kind: "compound"; who: number }
  | { kind: "delegate"; who: number; to: number }
  | { kind: "wait"; seconds: number };

const who = fc.integer({ min: 0, max: ACTORS - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("stake" as const), who, amount: fc.oneof(fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 50_000n * FLK })) }),
  fc.record({ kind: fc.constant("unstake" as const), who, percent: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ kind: fc.constant("withdraw" as const), who }),
  fc.record({ kind: fc.constant("claim" as const), who }),
  fc.record({ kind: fc.constant("compound" as const), who }),
  fc.record({ kind: fc.constant("delegate" as const), who, to: who }),
  fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 10 * 86_400 }) }),
);

describe("Staking invariants (fast-check action sequences on the EVM)", () => {
  it("holds stake, vote and reward accounting under random stake / unstake / withdraw / claim / compound / delegate / wait", async () => {
    const s = await loadFixture(stakingFixture);
    const { staking, flk, emission } = s;
    const actors = s.stakers.slice(0, ACTORS);
    const stakingAddress = await staking.getAddress();

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 25 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const model = new RewardModel(s.start);
          let claimed = 0n;
          let lastIndex = 0n;
          let dustBound = 0n;
          // Total staked and each actor's votes as seen at each timestamp (the last write wins).
          const history = new Map<bigint, { total: bigint; votes: bigint[] }>();
          const mined = async (tx: Promise<ContractTransactionResponse>) => {
            const receipt = await (await tx).wait();
            return BigInt((await receipt!.getBlock()).timestamp);
          };

          for (const act of actions) {
            if (act.kind === "wait") {
              await time.increase(act.seconds);
            } else {
              const signer = actors[act.who];
              const addr = signer.address;
              if (act.kind === "stake") {
                model.stake(addr, act.amount, await mined(staking.connect(signer).stake(act.amount)));
              } else if (act.kind === "unstake") {
                const amount = ((await staking.stakeOf(addr)) * BigInt(act.percent)) / 100n;
                if (amount === 0n) continue;
                model.unstake(addr, amount, await mined(staking.connect(signer).unstake(amount)));
              } else if (act.kind === "withdraw") {
                const due = await staking.withdrawable(addr);
                if (due === 0n) continue;
                const balance = await flk.balanceOf(addr);
                await staking.connect(signer).withdraw();
                expect((await flk.balanceOf(addr)) - balance).to.equal(due);
              } else if (act.kind === "claim" || act.kind === "compound") {
                // earned() is read at the previous block; the call settles one second later.
                if ((await staking.earned(addr)) === 0n) continue;
                const t = await mined(act.kind === "claim" ? staking.connect(signer).claim() : staking.connect(signer).compound());
                claimed += model.claim(addr, t, act.kind === "compound");
              } else {
                await staking.connect(signer).delegate(actors[act.to].address);
              }
            }
            const now = BigInt(await time.latest());
            dustBound += model.total / FLK + BigInt(ACTORS) + 1n;

            // Σ stakes = total staked = Σ votes (every delegate is one of the actors).
            let sumStakes = 0n;
            let sumVotes = 0n;
            let sumEarned = 0n;
            const votes: bigint[] = [];
            for (const x of actors) {
              sumStakes += await staking.stakeOf(x.address);
              votes.push(await staking.getVotes(x.address));
              sumVotes += votes.at(-1)!;
              const earned = await staking.earned(x.address);
              expect(earned).to.equal(model.earned(x.address, now), "earned = reference, to the wei");
              sumEarned += earned;
            }
            const total = await staking.totalStaked();
            expect(sumStakes).to.equal(total);
            expect(sumVotes).to.equal(total);
            expect(total).to.equal(model.total);

            // The accumulator never decreases.
            const [index, distributed] = await staking.rewardState();
            expect(index >= lastIndex).to.equal(true, "accumulator monotone");
            lastIndex = index;

            // Streamed in = claimed + claimable + waiting + dust, dust ≥ 0 and bounded.
            const streamed = await emission.stakingEmission(now);
            expect(streamed - distributed).to.equal(await staking.waitingRewards());
            const dust = distributed - claimed - sumEarned;
            expect(dust >= 0n && dust <= dustBound).to.equal(true, `dust ${dust} within [0, ${dustBound}]`);

            // Σ pending unbonding requests = total unbonding (it neither earns nor votes: see above).
            let sumUnbonding = 0n;
            for (const x of actors) for (const r of (await staking.unbondingRequests(x.address))[1]) sumUnbonding += r.amount;
            expect(sumUnbonding).to.equal(await staking.totalUnbonding());

            // Solvent: FLK held plus staking emission not yet minted covers principal and rewards.
            const principal = total + (await staking.totalUnbonding());
            const balance = await flk.balanceOf(stakingAddress);
            expect(balance >= principal).to.equal(true, "principal always held");
            expect(balance + streamed - (await emission.minted()) / 2n >= principal + sumEarned).to.equal(true, "rewards covered");

            history.set(now, { total, votes });
          }
          // Every past timestamp answers what was current then (packed checkpoint lookups).
          await time.increase(1);
          for (const [t, { total, votes }] of history) {
            expect(await staking.getPastTotalSupply(t)).to.equal(total, `total at ${t}`);
            for (const [i, x] of actors.entries()) expect(await staking.getPastVotes(x.address, t)).to.equal(votes[i], `votes at ${t}`);
          }
        } finally {
          await snapshot.restore();
        }
      }),
      { numRuns: 25 },
    );
  });
});
