import { expect } from "chai";
import hre from "hardhat";
import fc from "fast-check";
import { loadFixture, mine, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { GOVERNANCE, UNBONDING_PERIOD } from "../../protocol/governance";
import { stakingFixture, type StakingSuite } from "../staking/fixture";

enum State {
  Pending,
  Active,
  Canceled,
  Defeated,
  Succeeded,
  Queued,
  Expired,
  Executed,
}
const For = 1,
  Against = 0,
  Abstain = 2;

/** A proposal that sets the unbonding period through the timelock. */
async function unbondingProposal(s: StakingSuite, period: bigint, description: string) {
  const targets = [await s.staking.getAddress()];
  const values = [0n];
  const calldatas = [s.staking.interface.encodeFunctionData("setUnbondingPeriod", [period])];
  const descriptionHash = hre.ethers.id(description);
  const id = await s.governor.hashProposal(targets, values, calldatas, descriptionHash);
  return { targets, values, calldatas, description, descriptionHash, id };
}

describe("Governance (Governor + Timelock over staked FLK)", () => {
  it("is deployed with the docs/spec.md §4 settings, the timelock owning everything and the deployer holding no role", async () => {
    const s = await loadFixture(stakingFixture);
    const { governor, timelock, staking, emission, vesting, admin } = s;
    const [deployer] = await hre.ethers.getSigners();
    expect(await governor.votingDelay()).to.equal(GOVERNANCE.votingDelay);
    expect(await governor.votingPeriod()).to.equal(GOVERNANCE.votingPeriod);
    expect(await governor.proposalThreshold()).to.equal(GOVERNANCE.proposalThreshold);
    expect(await governor["quorumNumerator()"]()).to.equal(GOVERNANCE.quorumPercent);
    expect(await governor.token()).to.equal(await staking.getAddress());
    expect(await governor.timelock()).to.equal(admin);
    expect(await governor.CLOCK_MODE()).to.equal("mode=timestamp");
    expect(await timelock.getMinDelay()).to.equal(GOVERNANCE.timelockDelay);

    const governorAddress = await governor.getAddress();
    expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), governorAddress)).to.equal(true);
    expect(await timelock.hasRole(await timelock.CANCELLER_ROLE(), governorAddress)).to.equal(true);
    expect(await timelock.hasRole(await timelock.EXECUTOR_ROLE(), hre.ethers.ZeroAddress)).to.equal(true, "anyone executes");
    expect(await timelock.hasRole(await timelock.DEFAULT_ADMIN_ROLE(), admin)).to.equal(true);
    for (const role of [await timelock.DEFAULT_ADMIN_ROLE(), await timelock.PROPOSER_ROLE(), await timelock.CANCELLER_ROLE()]) {
      expect(await timelock.hasRole(role, deployer.address)).to.equal(false);
    }
    expect(await emission.owner()).to.equal(admin);
    expect(await staking.owner()).to.equal(admin);
    expect(await s.serviceCredits.owner()).to.equal(admin);
    expect(await staking.unbondingPeriod()).to.equal(UNBONDING_PERIOD);
    // The ecosystem treasury vests to the timelock.
    const [treasuryId] = await vesting.scheduleIdsOf(admin);
    expect((await vesting.schedule(treasuryId)).amount).to.equal(20_000_000n * FLK);
  });

  it("lets no one but the governor schedule or cancel on the timelock", async () => {
    const s = await loadFixture(stakingFixture);
    const { timelock, staking, stakers } = s;
    const call = staking.interface.encodeFunctionData("setUnbondingPeriod", [0n]);
    const [deployer] = await hre.ethers.getSigners();
    for (const who of [deployer, stakers[0]]) {
      await expect(
        timelock.connect(who).schedule(await staking.getAddress(), 0n, call, hre.ethers.ZeroHash, hre.ethers.ZeroHash, GOVERNANCE.timelockDelay),
      ).to.be.revertedWithCustomError(timelock, "AccessControlUnauthorizedAccount");
      await expect(timelock.connect(who).cancel(hre.ethers.ZeroHash)).to.be.revertedWithCustomError(timelock, "AccessControlUnauthorizedAccount");
      await expect(timelock.connect(who).updateDelay(0n)).to.be.revertedWithCustomError(timelock, "TimelockUnauthorizedCaller");
    }
  });

  it("fits every contract under the 24,576-byte limit", async () => {
    for (const name of ["Staking", "FleekGovernor", "ServiceCredits", "TimelockController"]) {
      const { deployedBytecode } = await hre.artifacts.readArtifact(name);
      expect((deployedBytecode.length - 2) / 2).to.be.lte(24_576, name);
    }
  });

  it("runs a proposal through its whole life: propose, vote, queue, execute changes a staking parameter", async () => {
    const s = await loadFixture(stakingFixture);
    const { governor, staking, timelock } = s;
    const [a, b, c, d, , outsider] = s.stakers;
    await staking.connect(a).stake(100_000n * FLK);
    await staking.connect(b).stake(60_000n * FLK);
    await staking.connect(c).stake(20_000n * FLK);
    await mine();
    const p = await unbondingProposal(s, 3n * 86_400n, "Shorten unbonding to 3 days");
    await expect(governor.connect(a).propose(p.targets, p.values, p.calldatas, p.description)).to.emit(governor, "ProposalCreated");
    expect(await governor.state(p.id)).to.equal(State.Pending);
    const snapshot = await governor.proposalSnapshot(p.id);
    expect(snapshot).to.equal(BigInt(await time.latest()) + GOVERNANCE.votingDelay);

    await time.increaseTo(snapshot + 1n);
    expect(await governor.state(p.id)).to.equal(State.Active);
    expect(await governor.quorum(snapshot)).to.equal((180_000n * FLK * 4n) / 100n);
    await expect(governor.connect(a).castVote(p.id, For))
      .to.emit(governor, "VoteCast")
      .withArgs(a.address, p.id, For, 100_000n * FLK, "");
    await governor.connect(b).castVote(p.id, Against);
    await governor.connect(c).castVote(p.id, Abstain);

    // A flash stake while the vote is open carries no weight on it.
    await staking.connect(d).stake(500_000n * FLK);
    await expect(governor.connect(d).castVote(p.id, Against)).to.emit(governor, "VoteCast").withArgs(d.address, p.id, Against, 0n, "");
    expect(await governor.proposalVotes(p.id)).to.deep.equal([60_000n * FLK, 100_000n * FLK, 20_000n * FLK]);

    await time.increaseTo((await governor.proposalDeadline(p.id)) + 1n);
    expect(await governor.state(p.id)).to.equal(State.Succeeded);
    await expect(governor.connect(outsider).queue(p.targets, p.values, p.calldatas, p.descriptionHash)).to.emit(governor, "ProposalQueued");
    expect(await governor.state(p.id)).to.equal(State.Queued);
    await expect(governor.connect(outsider).execute(p.targets, p.values, p.calldatas, p.descriptionHash)).to.be.revertedWithCustomError(
      timelock,
      "TimelockUnexpectedOperationState",
    );
    await time.increase(GOVERNANCE.timelockDelay);
    await expect(governor.connect(outsider).execute(p.targets, p.values, p.calldatas, p.descriptionHash))
      .to.emit(staking, "UnbondingPeriodSet")
      .withArgs(UNBONDING_PERIOD, 3n * 86_400n);
    expect(await governor.state(p.id)).to.equal(State.Executed);
    expect(await staking.unbondingPeriod()).to.equal(3n * 86_400n);
  });

  it("defeats a proposal that misses the quorum of 4% of staked FLK, even with no vote against", async () => {
    const s = await loadFixture(stakingFixture);
    const { governor, staking } = s;
    const [a, b] = s.stakers;
    await staking.connect(a).stake(15_000n * FLK); // 3.6% of the 415,000 staked
    await staking.connect(b).stake(400_000n * FLK);
    await mine();
    const p = await unbondingProposal(s, 86_400n, "No quorum");
    await governor.connect(a).propose(p.targets, p.values, p.calldatas, p.description);
    await time.increaseTo((await governor.proposalSnapshot(p.id)) + 1n);
    await governor.connect(a).castVote(p.id, For);
    await time.increaseTo((await governor.proposalDeadline(p.id)) + 1n);
    expect(await governor.state(p.id)).to.equal(State.Defeated);
    await expect(governor.queue(p.targets, p.values, p.calldatas, p.descriptionHash)).to.be.revertedWithCustomError(
      governor,
      "GovernorUnexpectedProposalState",
    );
    expect(await staking.unbondingPeriod()).to.equal(UNBONDING_PERIOD);
  });

  it("needs 10,000 staked FLK to propose, and lets the proposer cancel before the vote", async () => {
    const s = await loadFixture(stakingFixture);
    const { governor, staking } = s;
    const [a, b] = s.stakers;
    await staking.connect(a).stake(10_000n * FLK - 1n);
    await staking.connect(b).stake(10_000n * FLK);
    await mine();
    const p = await unbondingProposal(s, 86_400n, "Threshold");
    await expect(governor.connect(a).propose(p.targets, p.values, p.calldatas, p.description)).to.be.revertedWithCustomError(
      governor,
      "GovernorInsufficientProposerVotes",
    );
    await governor.connect(b).propose(p.targets, p.values, p.calldatas, p.description);
    await expect(governor.connect(a).cancel(p.targets, p.values, p.calldatas, p.descriptionHash)).to.be.revertedWithCustomError(
      governor,
      "GovernorUnableToCancel",
    );
    await expect(governor.connect(b).cancel(p.targets, p.values, p.calldatas, p.descriptionHash)).to.emit(governor, "ProposalCanceled");
    expect(await governor.state(p.id)).to.equal(State.Canceled);
  });

  it("tallies exactly the stake at the snapshot: flash stakes add nothing, and the outcome follows quorum and majority", async () => {
    const s = await loadFixture(stakingFixture);
    const { governor, staking } = s;
    const voters = s.stakers.slice(0, 5);
    const proposer = s.stakers[5];
    const voter = fc.record({
      stake: fc.bigInt({ min: 0n, max: 200_000n }),
      support: fc.constantFrom(-1, Against, For, Abstain), // -1: does not vote
      flash: fc.bigInt({ min: 0n, max: 500_000n }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(voter, { minLength: 5, maxLength: 5 }), async (plan) => {
        const snapshot = await takeSnapshot();
        try {
          await staking.connect(proposer).stake(GOVERNANCE.proposalThreshold);
          for (const [i, v] of plan.entries()) if (v.stake > 0n) await staking.connect(voters[i]).stake(v.stake * FLK);
          await mine();
          const p = await unbondingProposal(s, 86_400n, `property run ${run++}`);
          await governor.connect(proposer).propose(p.targets, p.values, p.calldatas, p.description);
          await time.increaseTo((await governor.proposalSnapshot(p.id)) + 1n);
          // Flash stakes once the vote is open, then the votes.
          for (const [i, v] of plan.entries()) if (v.flash > 0n) await staking.connect(voters[i]).stake(v.flash * FLK);
          const tally = [0n, 0n, 0n];
          for (const [i, v] of plan.entries()) {
            if (v.support < 0) continue;
            await governor.connect(voters[i]).castVote(p.id, v.support);
            tally[v.support] += v.stake * FLK;
          }
          expect(await governor.proposalVotes(p.id)).to.deep.equal(tally);
          const total = GOVERNANCE.proposalThreshold + plan.reduce((sum, v) => sum + v.stake * FLK, 0n);
          const quorum = (total * GOVERNANCE.quorumPercent) / 100n;
          expect(await governor.quorum(await governor.proposalSnapshot(p.id))).to.equal(quorum);
          await time.increaseTo((await governor.proposalDeadline(p.id)) + 1n);
          const passes = tally[For] > tally[Against] && tally[For] + tally[Abstain] >= quorum;
          expect(await governor.state(p.id)).to.equal(passes ? State.Succeeded : State.Defeated);
        } finally {
          await snapshot.restore();
        }
      }),
      { numRuns: 10 },
    );
  });
});
