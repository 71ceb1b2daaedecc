import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { UNBONDING_PERIOD } from "../../protocol/governance";
import { RewardModel, SCALE, stakingEmission, stakingFixture } from "./fixture";
import { timelockSigner } from "../../testkit/deploy";

const DAY = 86_400n;

/**
 * Mines `calls` (sent in order) together in one block at `timestamp`, so they share a second: the
 * case where a history or an unbonding queue replaces its last entry instead of appending.
 */
async function inOneBlock(timestamp: bigint, calls: Array<() => Promise<unknown>>): Promise<void> {
  await hre.network.provider.send("evm_setAutomine", [false]);
  try {
    for (const call of calls) await call();
    await hre.network.provider.send("evm_mine", [Number(timestamp)]);
  } finally {
    await hre.network.provider.send("evm_setAutomine", [true]);
  }
}

describe("Staking", () => {
  describe("rewards", () => {
    it("pays each staker to the wei what the reference accumulator computes, within a few wei of the exact pro-rata share", async () => {
      const s = await loadFixture(stakingFixture);
      const { staking, flk, stakers, start } = s;
      const [a, b, c] = stakers;
      const model = new RewardModel(start);
      // Exact pro-rata shares (times SCALE): each interval's emission split by the stake of that
      // interval; emission of an interval with nothing staked waits for the next staked interval.
      const ideal = new Map<string, bigint>();
      const stakes = new Map<string, bigint>();
      let waiting = 0n;
      let last = BigInt(await time.latest()) + 10n;
      let lastEmission = 0n; // everything since the TGE waits for the first staker
      const advance = (t: bigint) => {
        const total = [...stakes.values()].reduce((x, y) => x + y, 0n);
        const delta = stakingEmission(start, t) - lastEmission + waiting;
        lastEmission = stakingEmission(start, t);
        waiting = total === 0n ? delta : 0n;
        if (total > 0n) for (const [k, v] of stakes) ideal.set(k, (ideal.get(k) ?? 0n) + (delta * v * SCALE) / total);
        last = t;
      };
      const at = async (dt: bigint, fn: () => Promise<unknown>) => {
        const t = last + dt;
        await time.setNextBlockTimestamp(t);
        advance(t);
        await fn();
        return t;
      };
      const claimed = new Map<string, bigint>();
      const doStake = (who: typeof a, amount: bigint) => async () => {
        await staking.connect(who).stake(amount);
        model.stake(who.address, amount, last);
        stakes.set(who.address, (stakes.get(who.address) ?? 0n) + amount);
      };
      const doUnstake = (who: typeof a, amount: bigint) => async () => {
        await staking.connect(who).unstake(amount);
        model.unstake(who.address, amount, last);
        stakes.set(who.address, stakes.get(who.address)! - amount);
      };
      const doClaim =
        (who: typeof a, compound = false) =>
        async () => {
          const before = await flk.balanceOf(who.address);
          if (compound) await staking.connect(who).compound();
          else await staking.connect(who).claim();
          const expected = model.claim(who.address, last, compound);
          if (compound) stakes.set(who.address, stakes.get(who.address)! + expected);
          else expect((await flk.balanceOf(who.address)) - before).to.equal(expected);
          claimed.set(who.address, (claimed.get(who.address) ?? 0n) + expected);
        };
      const check = async () => {
        const now = BigInt(await time.latest());
        for (const x of [a, b, c]) expect(await staking.earned(x.address)).to.equal(model.earned(x.address, now), x.address);
        expect(await staking.rewardState()).to.deep.equal(model.preview(now));
      };

      await at(0n, doStake(a, 1_000n * FLK)); // the emission since the TGE waited for this first staker
      await check();
      await at(DAY, doStake(b, 3_000n * FLK));
      await check();
      await at(3n * DAY + 17n, doStake(c, 500_123_456_789_000_000_001n));
      await check();
      await at(2n * DAY, doUnstake(a, 400n * FLK));
      await at(3n * DAY, doClaim(b));
      await check();
      await at(DAY + 5n, doClaim(c, true));
      await check();
      await at(3n * DAY, doUnstake(b, 3_000n * FLK));
      await at(8n * DAY, doClaim(a));
      await at(1n, doClaim(b));
      await at(2n * DAY, doUnstake(c, 100n * FLK));
      await check();
      // Close the books: claims, then each account's total against its exact share.
      for (const x of [a, c]) await at(DAY, doClaim(x));
      for (const x of [a, b, c]) {
        // Up to the last block: claimed plus still claimable.
        const got = claimed.get(x.address)! + (await staking.earned(x.address));
        const exact = ideal.get(x.address)! / SCALE;
        expect(got).to.be.lte(exact, "never more than the exact share");
        // Each of the 13 accruals floors the per-wei index, costing an account less than
        // stake / 1e18 + 1 wei (stakes here are at most 3,000 FLK): dust, in the contract's favour.
        expect(exact - got).to.be.lte(13n * 3_001n, "rounding dust only");
      }
      expect(claimed.get(a.address)! > 0n && claimed.get(b.address)! > 0n && claimed.get(c.address)! > 0n).to.equal(true);
    });

    it("keeps emission that streams while nothing is staked for the first staker", async () => {
      const { staking, stakers, start } = await loadFixture(stakingFixture);
      const [a] = stakers;
      expect(await staking.waitingRewards()).to.be.gt(0n);
      const t0 = BigInt(await time.latest()) + 100n;
      await time.setNextBlockTimestamp(t0);
      await staking.connect(a).stake(7n * FLK);
      await time.increase(3600);
      const now = BigInt(await time.latest());
      // Everything streamed since the TGE is a's, less rounding dust below stake / 1e18 + 1 wei.
      const earned = await staking.earned(a.address);
      expect(earned).to.be.lte(stakingEmission(start, now));
      expect(stakingEmission(start, now) - earned).to.be.lte(8n);
      expect(await staking.waitingRewards()).to.be.lte(7n);
    });

    it("stops earning for unbonding FLK and keeps claims away from principal when emission is redirected", async () => {
      const s = await loadFixture(stakingFixture);
      const { staking, emission, flk, stakers } = s;
      const [a, b] = stakers;
      await staking.connect(a).stake(1_000n * FLK);
      await staking.connect(b).stake(1_000n * FLK);
      await time.increase(DAY);
      await staking.connect(b).unstake(1_000n * FLK);
      const frozen = await staking.earned(b.address);
      await time.increase(DAY);
      expect(await staking.earned(b.address)).to.equal(frozen);

      // Governance redirects the stakers' half (which it must not): accrual goes on virtually, the
      // FLK no longer arrives, and claims revert instead of eating principal.
      const timelock = await timelockSigner(s);
      await emission.connect(timelock).setRecipients(timelock.address, timelock.address);
      await time.increase(DAY);
      await expect(staking.connect(a).claim()).to.be.revertedWithCustomError(staking, "StakingRewardsUnfunded");
      await time.increase(UNBONDING_PERIOD);
      await expect(staking.connect(b).withdraw()).to.changeTokenBalance(flk, b, 1_000n * FLK);
      await staking.connect(a).unstake(1_000n * FLK);
      // The treasury can fund the gap; then the claim goes through.
      await flk.connect(a).transfer(await staking.getAddress(), 100_000n * FLK);
      await expect(staking.connect(a).claim()).to.emit(staking, "RewardClaimed");
    });

    it("rejects empty claims, compounds and stakes", async () => {
      const { staking, stakers } = await loadFixture(stakingFixture);
      const [a] = stakers;
      await expect(staking.connect(a).claim()).to.be.revertedWithCustomError(staking, "StakingNothingToClaim");
      await expect(staking.connect(a).compound()).to.be.revertedWithCustomError(staking, "StakingNothingToClaim");
      await expect(staking.connect(a).stake(0n)).to.be.revertedWithCustomError(staking, "StakingZeroAmount");
      await expect(staking.connect(a).unstake(0n)).to.be.revertedWithCustomError(staking, "StakingZeroAmount");
      await expect(staking.connect(a).unstake(1n)).to.be.revertedWithCustomError(staking, "StakingInsufficientStake").withArgs(1n, 0n);
    });
  });

  describe("stake with permit", () => {
    it("stakes in one call from an account that never approved", async () => {
      const { staking, flk, stakers } = await loadFixture(stakingFixture);
      const fresh = (await hre.ethers.getSigners())[9];
      await flk.connect(stakers[0]).transfer(fresh.address, 100n * FLK);
      const deadline = BigInt(await time.latest()) + 3600n;
      const { chainId } = await hre.ethers.provider.getNetwork();
      const sig = hre.ethers.Signature.from(
        await fresh.signTypedData(
          { name: "Fleek", version: "1", chainId, verifyingContract: await flk.getAddress() },
          {
            Permit: [
              { name: "owner", type: "address" },
              { name: "spender", type: "address" },
              { name: "value", type: "uint256" },
              { name: "nonce", type: "uint256" },
              { name: "deadline", type: "uint256" },
            ],
          },
          { owner: fresh.address, spender: await staking.getAddress(), value: 60n * FLK, nonce: 0n, deadline },
        ),
      );
      await expect(staking.connect(fresh).stakeWithPermit(60n * FLK, deadline, sig.v, sig.r, sig.s))
        .to.emit(staking, "Staked")
        .withArgs(fresh.address, 60n * FLK, 60n * FLK);
      expect(await staking.getVotes(fresh.address)).to.equal(60n * FLK);
      // A replayed (already used) permit is ignored; without allowance the transfer then fails.
      await expect(staking.connect(fresh).stakeWithPermit(10n * FLK, deadline, sig.v, sig.r, sig.s)).to.be.revertedWithCustomError(
        flk,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("unbonding", () => {
    it("pays an unstake out exactly when the unbonding period has passed, not a second before", async () => {
      const { staking, flk, stakers } = await loadFixture(stakingFixture);
      const [a] = stakers;
      await staking.connect(a).stake(1_000n * FLK);
      const t = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(t);
      await expect(staking.connect(a).unstake(400n * FLK))
        .to.emit(staking, "Unstaked")
        .withArgs(a.address, 0n, 400n * FLK, t + UNBONDING_PERIOD, 600n * FLK);
      expect(await staking.totalUnbonding()).to.equal(400n * FLK);
      expect(await staking.getVotes(a.address)).to.equal(600n * FLK);
      await time.setNextBlockTimestamp(t + UNBONDING_PERIOD - 1n);
      await expect(staking.connect(a).withdraw()).to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw");
      await time.setNextBlockTimestamp(t + UNBONDING_PERIOD);
      await expect(staking.connect(a).withdraw()).to.changeTokenBalance(flk, a, 400n * FLK);
      expect(await staking.totalUnbonding()).to.equal(0n);
      await expect(staking.connect(a).withdraw()).to.be.revertedWithCustomError(staking, "StakingNothingToWithdraw");
    });

    it("keeps the queue in order when governance shortens the period, and applies changes to later unstakes only", async () => {
      const s = await loadFixture(stakingFixture);
      const { staking, stakers } = s;
      const [a] = stakers;
      const timelock = await timelockSigner(s);
      await staking.connect(a).stake(1_000n * FLK);
      const t1 = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(t1);
      await staking.connect(a).unstake(100n * FLK);
      await expect(staking.connect(timelock).setUnbondingPeriod(DAY)).to.emit(staking, "UnbondingPeriodSet").withArgs(UNBONDING_PERIOD, DAY);
      // Would release in a day, but waits for the first request, and so joins it.
      await expect(staking.connect(a).unstake(200n * FLK))
        .to.emit(staking, "Unstaked")
        .withArgs(a.address, 0n, 200n * FLK, t1 + UNBONDING_PERIOD, 700n * FLK);
      const [firstId, requests] = await staking.unbondingRequests(a.address);
      expect(firstId).to.equal(0n);
      expect(requests.map((r) => [r.amount, r.releaseTime])).to.deep.equal([[300n * FLK, t1 + UNBONDING_PERIOD]]);
      await time.setNextBlockTimestamp(t1 + UNBONDING_PERIOD);
      await expect(staking.connect(a).unstake(300n * FLK))
        .to.emit(staking, "Unstaked")
        .withArgs(a.address, 1n, 300n * FLK, t1 + UNBONDING_PERIOD + DAY, 400n * FLK);
      expect(await staking.withdrawable(a.address)).to.equal(300n * FLK);
      await expect(staking.connect(a).withdraw())
        .to.emit(staking, "Withdrawn")
        .withArgs(a.address, 300n * FLK, 1n);
      await time.increase(DAY);
      await expect(staking.connect(a).withdraw())
        .to.emit(staking, "Withdrawn")
        .withArgs(a.address, 300n * FLK, 2n);
      expect((await staking.unbondingRequests(a.address))[1]).to.deep.equal([]);
    });

    it("keeps every request exact when requests of one second merge into a stored last request, and after the queue empties", async () => {
      // Requests are stored two per slot and the last one in the account slot: a merge into an odd
      // last request (already stored with its pair) must update the stored copy, which is all that
      // is left once the next request arrives.
      const { staking, flk, stakers } = await loadFixture(stakingFixture);
      const [a] = stakers;
      await staking.connect(a).stake(1_000n * FLK);
      const t0 = BigInt(await time.latest()) + 10n;
      const gas = { gasLimit: 500_000n };
      await inOneBlock(t0, [() => staking.connect(a).unstake(10n * FLK, gas)]);
      await inOneBlock(t0 + 1n, [() => staking.connect(a).unstake(20n * FLK, gas), () => staking.connect(a).unstake(30n * FLK, gas)]);
      await inOneBlock(t0 + 2n, [() => staking.connect(a).unstake(40n * FLK, gas)]);
      const release = (t: bigint) => t + UNBONDING_PERIOD;
      const [firstId, requests] = await staking.unbondingRequests(a.address);
      expect(firstId).to.equal(0n);
      expect(requests.map((r) => [r.amount, r.releaseTime])).to.deep.equal([
        [10n * FLK, release(t0)],
        [50n * FLK, release(t0 + 1n)],
        [40n * FLK, release(t0 + 2n)],
      ]);
      await time.setNextBlockTimestamp(release(t0 + 1n));
      await expect(staking.connect(a).withdraw())
        .to.emit(staking, "Withdrawn")
        .withArgs(a.address, 60n * FLK, 2n);
      await time.setNextBlockTimestamp(release(t0 + 2n));
      await expect(staking.connect(a).withdraw()).to.changeTokenBalance(flk, a, 40n * FLK);
      expect((await staking.unbondingRequests(a.address))[1]).to.deep.equal([]);
      // An empty queue whose last request (id 2) was paid: the next request starts fresh at id 3.
      await expect(staking.connect(a).unstake(5n * FLK)).to.emit(staking, "Unstaked");
      const [nextId, pending] = await staking.unbondingRequests(a.address);
      expect(nextId).to.equal(3n);
      expect(pending.map((r) => r.amount)).to.deep.equal([5n * FLK]);
      await time.increase(UNBONDING_PERIOD);
      expect(await staking.withdrawable(a.address)).to.equal(5n * FLK);
      expect(await staking.totalUnbonding()).to.equal(5n * FLK);
    });

    it("lets only the timelock set the period, at most 90 days", async () => {
      const s = await loadFixture(stakingFixture);
      const { staking, stakers } = s;
      await expect(staking.connect(stakers[0]).setUnbondingPeriod(DAY)).to.be.revertedWithCustomError(staking, "OwnableUnauthorizedAccount");
      const timelock = await timelockSigner(s);
      await expect(staking.connect(timelock).setUnbondingPeriod(91n * DAY)).to.be.revertedWithCustomError(staking, "StakingUnbondingPeriodTooLong");
      await staking.connect(timelock).setUnbondingPeriod(90n * DAY);
      expect(await staking.unbondingPeriod()).to.equal(90n * DAY);
      expect(await staking.owner()).to.equal(s.admin);
    });
  });

  describe("votes (ERC-5805, timestamp clock)", () => {
    it("self-delegates on first stake so the staker can vote at once", async () => {
      const { staking, stakers } = await loadFixture(stakingFixture);
      const [a] = stakers;
      await expect(staking.connect(a).stake(5n * FLK))
        .to.emit(staking, "DelegateChanged")
        .withArgs(a.address, hre.ethers.ZeroAddress, a.address);
      expect(await staking.delegates(a.address)).to.equal(a.address);
      expect(await staking.getVotes(a.address)).to.equal(5n * FLK);
      expect(await staking.clock()).to.equal(BigInt(await time.latest()));
      expect(await staking.CLOCK_MODE()).to.equal("mode=timestamp");
    });

    it("answers past votes and past total stake at every timestamp across many checkpoints", async () => {
      const { staking, stakers } = await loadFixture(stakingFixture);
      const [a, b, c] = stakers;
      // history[i] = [timestamp, votes of a, votes of b, total staked] after step i
      const history: Array<[bigint, bigint, bigint, bigint]> = [];
      let t = BigInt(await time.latest()) + 100n;
      const step = async (fn: () => Promise<unknown>) => {
        t += 7n + BigInt(history.length);
        await time.setNextBlockTimestamp(t);
        await fn();
        history.push([t, await staking.getVotes(a.address), await staking.getVotes(b.address), await staking.totalStaked()]);
      };
      for (let i = 1n; i <= 5n; i++) await step(() => staking.connect(a).stake(i * FLK));
      await step(() => staking.connect(b).stake(50n * FLK));
      await step(() => staking.connect(a).delegate(b.address));
      await step(() => staking.connect(c).stake(9n * FLK));
      await step(() => staking.connect(a).unstake(4n * FLK));
      await step(() => staking.connect(a).stake(2n * FLK));
      await step(() => staking.connect(a).delegate(a.address));
      await step(() => staking.connect(b).unstake(50n * FLK));
      await time.increase(10);
      expect(history[6][2]).to.equal(65n * FLK); // b holds its own 50 and a's 15
      for (const [i, [ts, va, vb, total]] of history.entries()) {
        expect(await staking.getPastVotes(a.address, ts)).to.equal(va, `a at step ${i}`);
        expect(await staking.getPastVotes(b.address, ts)).to.equal(vb, `b at step ${i}`);
        expect(await staking.getPastTotalSupply(ts)).to.equal(total, `total at step ${i}`);
        const before = i === 0 ? [0n, 0n, 0n] : history[i - 1].slice(1);
        expect(await staking.getPastVotes(a.address, ts - 1n)).to.equal(before[0], `a before step ${i}`);
        expect(await staking.getPastVotes(b.address, ts - 1n)).to.equal(before[1], `b before step ${i}`);
        expect(await staking.getPastTotalSupply(ts - 1n)).to.equal(before[2], `total before step ${i}`);
      }
      const now = await staking.clock();
      await expect(staking.getPastVotes(a.address, now + 1n)).to.be.revertedWithCustomError(staking, "ERC5805FutureLookup");
      await expect(staking.getPastTotalSupply(now + 1n)).to.be.revertedWithCustomError(staking, "ERC5805FutureLookup");
    });

    it("answers exact past votes and totals when changes share a second, whichever half of a stored pair they fall in", async () => {
      // Each history keeps its last entry in its head and stores complete pairs only: a change in
      // the same second replaces the last entry (stored or not), and the entry before the head must
      // be exact in storage. Blocks of one to three changes by two stakers make every history hit
      // both parities with and without a same-second replacement.
      const { staking, stakers } = await loadFixture(stakingFixture);
      const [a, b] = stakers;
      const gas = { gasLimit: 500_000n };
      const stake = (s: typeof a, n: bigint) => () => staking.connect(s).stake(n * FLK, gas);
      const unstake = (s: typeof a, n: bigint) => () => staking.connect(s).unstake(n * FLK, gas);
      const blocks = [
        [stake(a, 10n)],
        [stake(a, 1n), stake(b, 20n)],
        [stake(a, 2n), stake(a, 3n)],
        [stake(b, 1n)],
        [unstake(a, 4n), stake(b, 2n), stake(a, 5n)],
        [stake(a, 6n)],
        [unstake(b, 3n), unstake(b, 1n)],
        [stake(a, 7n), stake(b, 4n)],
        [stake(b, 5n)],
        [stake(a, 8n), unstake(a, 2n)],
        [stake(b, 6n), stake(a, 9n)],
      ];
      const seen: Array<[bigint, bigint, bigint, bigint]> = [];
      let t = BigInt(await time.latest()) + 5n;
      for (const calls of blocks) {
        t += 3n;
        await inOneBlock(t, calls);
        seen.push([t, await staking.getVotes(a.address), await staking.getVotes(b.address), await staking.totalStaked()]);
      }
      await time.increase(5);
      let before: [bigint, bigint, bigint] = [0n, 0n, 0n];
      for (const [i, [ts, va, vb, total]] of seen.entries()) {
        expect(await staking.getPastVotes(a.address, ts)).to.equal(va, `a at block ${i}`);
        expect(await staking.getPastVotes(b.address, ts)).to.equal(vb, `b at block ${i}`);
        expect(await staking.getPastTotalSupply(ts)).to.equal(total, `total at block ${i}`);
        expect(await staking.getPastVotes(a.address, ts - 1n)).to.equal(before[0], `a before block ${i}`);
        expect(await staking.getPastVotes(b.address, ts - 1n)).to.equal(before[1], `b before block ${i}`);
        expect(await staking.getPastTotalSupply(ts - 1n)).to.equal(before[2], `total before block ${i}`);
        before = [va, vb, total];
      }
      expect(seen.at(-1)![3]).to.equal(seen.at(-1)![1] + seen.at(-1)![2]);
    });

    it("delegates by signature once per nonce, and never to the zero address", async () => {
      const { staking, stakers } = await loadFixture(stakingFixture);
      const [a, b, c] = stakers;
      await staking.connect(a).stake(10n * FLK);
      const expiry = BigInt(await time.latest()) + 3600n;
      const { chainId } = await hre.ethers.provider.getNetwork();
      const domain = { name: "Fleek Staking", version: "1", chainId, verifyingContract: await staking.getAddress() };
      const types = {
        Delegation: [
          { name: "delegatee", type: "address" },
          { name: "nonce", type: "uint256" },
          { name: "expiry", type: "uint256" },
        ],
      };
      const sig = hre.ethers.Signature.from(await a.signTypedData(domain, types, { delegatee: b.address, nonce: 0n, expiry }));
      await staking.connect(c).delegateBySig(b.address, 0n, expiry, sig.v, sig.r, sig.s);
      expect(await staking.delegates(a.address)).to.equal(b.address);
      expect(await staking.getVotes(b.address)).to.equal(10n * FLK);
      expect(await staking.getVotes(a.address)).to.equal(0n);
      await expect(staking.connect(c).delegateBySig(b.address, 0n, expiry, sig.v, sig.r, sig.s)).to.be.revertedWithCustomError(staking, "InvalidAccountNonce");
      await time.increaseTo(expiry + 1n);
      await expect(staking.connect(c).delegateBySig(b.address, 1n, expiry, sig.v, sig.r, sig.s)).to.be.revertedWithCustomError(
        staking,
        "VotesExpiredSignature",
      );
      await expect(staking.connect(a).delegate(hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(staking, "StakingZeroDelegate");
    });

    it("keeps a delegate chosen before staking", async () => {
      const { staking, stakers } = await loadFixture(stakingFixture);
      const [a, b] = stakers;
      await staking.connect(a).delegate(b.address);
      await staking.connect(a).stake(3n * FLK);
      expect(await staking.getVotes(b.address)).to.equal(3n * FLK);
      expect(await staking.getVotes(a.address)).to.equal(0n);
    });
  });

  describe("service-credit parameters", () => {
    it("starts at the defaults and lets only the timelock change them, with validation", async () => {
      const s = await loadFixture(stakingFixture);
      const { serviceCredits: credits } = s;
      expect(await credits.owner()).to.equal(s.admin);
      expect(await credits.creditsPerFlkMonth()).to.equal(FLK);
      expect(await credits.tierThresholds()).to.deep.equal([1_000n * FLK, 10_000n * FLK, 100_000n * FLK]);
      expect(await credits.tierOf(999n * FLK)).to.equal(0n);
      expect(await credits.tierOf(1_000n * FLK)).to.equal(1n);
      expect(await credits.tierOf(100_000n * FLK)).to.equal(3n);
      await expect(credits.connect(s.stakers[0]).setCreditRate(2n)).to.be.revertedWithCustomError(credits, "OwnableUnauthorizedAccount");
      const timelock = await timelockSigner(s);
      await expect(credits.connect(timelock).setCreditRate(2n * FLK))
        .to.emit(credits, "CreditRateSet")
        .withArgs(FLK, 2n * FLK);
      await expect(credits.connect(timelock).setTierThresholds([5n, 5n])).to.be.revertedWithCustomError(credits, "ServiceCreditsInvalidThresholds");
      await expect(credits.connect(timelock).setTierThresholds([0n, 5n])).to.be.revertedWithCustomError(credits, "ServiceCreditsInvalidThresholds");
      await expect(credits.connect(timelock).setTierThresholds(Array.from({ length: 17 }, (_, i) => BigInt(i + 1)))).to.be.revertedWithCustomError(
        credits,
        "ServiceCreditsInvalidThresholds",
      );
      await expect(credits.connect(timelock).setTierThresholds([5n, 50n]))
        .to.emit(credits, "TierThresholdsSet")
        .withArgs([5n, 50n]);
      expect(await credits.tierOf(49n)).to.equal(1n);
    });
  });
});
