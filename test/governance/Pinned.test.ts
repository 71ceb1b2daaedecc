/**
 * The seed's and the decisions' numbers, pinned as literals (docs/spec.md §2-§5, docs/): a deployment that
 * drifts from them fails here even if it drifts together with the constants it was built from.
 * And the quorum boundary: For + Abstain exactly at 4% of the staked FLK succeeds, one wei less is
 * defeated.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { stakingFixture, type StakingSuite } from "../staking/fixture";

const FLK = 10n ** 18n;
const MONTH = (365n * 86_400n) / 12n;
enum State {
  Pending,
  Active,
  Canceled,
  Defeated,
  Succeeded,
}
const For = 1,
  Abstain = 2;

describe("Pinned numbers of the seed and the decisions", () => {
  it("governance: delay 86,400 s, period 432,000 s, threshold 10,000 FLK, quorum 4%, timelock 172,800 s", async () => {
    const { governor, timelock } = await loadFixture(stakingFixture);
    expect(await governor.votingDelay()).to.equal(86_400n);
    expect(await governor.votingPeriod()).to.equal(432_000n);
    expect(await governor.proposalThreshold()).to.equal(10_000n * FLK);
    expect(await governor["quorumNumerator()"]()).to.equal(4n);
    expect(await governor.quorumDenominator()).to.equal(100n);
    expect(await timelock.getMinDelay()).to.equal(172_800n);
  });

  it("token: 100,000,000 FLK at genesis in the six allocations of docs/spec.md §2, 28,000,000 circulating, at most 116,500,000 ever", async () => {
    const { flk, vesting } = await loadFixture(stakingFixture);
    expect(await flk.GENESIS_SUPPLY()).to.equal(100_000_000n * FLK);
    expect(await flk.MAX_MINTED()).to.equal(116_500_000n * FLK);
    // [total, TGE share (bps), cliff, duration] in the order of docs/spec.md §2's table.
    const expected = [
      [20_000_000n * FLK, 0n, 12n * MONTH, 36n * MONTH],
      [20_000_000n * FLK, 0n, 12n * MONTH, 36n * MONTH],
      [20_000_000n * FLK, 2_000n, 0n, 24n * MONTH],
      [20_000_000n * FLK, 10_000n, 0n, 0n],
      [10_000_000n * FLK, 2_000n, 0n, 12n * MONTH],
      [10_000_000n * FLK, 2_000n, 0n, 12n * MONTH],
    ];
    expect(await vesting.allocationCount()).to.equal(6n);
    let atTge = 0n;
    for (const [i, [total, tgeBps, cliff, duration]] of expected.entries()) {
      const a = await vesting.allocation(i);
      expect([a.total, a.tgeBps, a.cliff, a.duration]).to.deep.equal([total, tgeBps, cliff, duration], `allocation ${i}`);
      atTge += (total * tgeBps) / 10_000n;
    }
    expect(atTge).to.equal(28_000_000n * FLK);
  });

  it("payments and buyback: 80% of debits to nodes, 1,000 USDC spending limit, auctions of 1 day from 1,000 FLK per USDC, 2×, floor 0.01", async () => {
    const { escrow, buyback } = await loadFixture(stakingFixture);
    expect(await escrow.nodeShareBps()).to.equal(8_000n);
    expect(await escrow.DEFAULT_SPENDING_LIMIT()).to.equal(1_000n * 10n ** 6n);
    expect(await buyback.params()).to.deep.equal([86_400n, 2n * FLK, FLK / 100n]);
    expect((await buyback.auction()).startPrice).to.equal(1_000n * FLK);
  });

  /** A proposal by `a` (12,000 FLK For) with `c` abstaining `abstain` and `b` holding the rest of 500,000 FLK. */
  async function boundary(s: StakingSuite, abstain: bigint) {
    const [a, b, c] = s.stakers;
    await s.staking.connect(a).stake(12_000n * FLK);
    await s.staking.connect(c).stake(abstain);
    await s.staking.connect(b).stake(500_000n * FLK - 12_000n * FLK - abstain);
    await mine();
    const targets = [await s.staking.getAddress()];
    const calldatas = [s.staking.interface.encodeFunctionData("setUnbondingPeriod", [86_400n])];
    const description = `quorum boundary ${abstain}`;
    await s.governor.connect(a).propose(targets, [0n], calldatas, description);
    const id = await s.governor.hashProposal(targets, [0n], calldatas, hre.ethers.id(description));
    await time.increaseTo((await s.governor.proposalSnapshot(id)) + 1n);
    // 4% of 500,000 FLK staked at the snapshot.
    expect(await s.governor.quorum(await s.governor.proposalSnapshot(id))).to.equal(20_000n * FLK);
    await s.governor.connect(a).castVote(id, For);
    await s.governor.connect(c).castVote(id, Abstain);
    await time.increaseTo((await s.governor.proposalDeadline(id)) + 1n);
    return s.governor.state(id);
  }

  it("quorum boundary: For + Abstain exactly at 4% succeeds", async () => {
    const s = await loadFixture(stakingFixture);
    expect(await boundary(s, 8_000n * FLK)).to.equal(BigInt(State.Succeeded));
  });

  it("quorum boundary: one wei less is defeated", async () => {
    const s = await loadFixture(stakingFixture);
    expect(await boundary(s, 8_000n * FLK - 1n)).to.equal(BigInt(State.Defeated));
  });
});
