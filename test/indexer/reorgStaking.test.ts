import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { stakingFixture, type StakingSuite } from "../staking/fixture";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

/** Stakes and an open proposal, with the vote window started, so both branches can vote. */
async function stakedWithOpenProposal(): Promise<StakingSuite & { proposalId: bigint }> {
  const s = await stakingFixture();
  const [a, b, c] = s.stakers;
  await s.staking.connect(a).stake(100_000n * FLK);
  await s.staking.connect(b).stake(60_000n * FLK);
  await s.staking.connect(c).stake(20_000n * FLK);
  await mine();
  const targets = [await s.staking.getAddress()];
  const calldatas = [s.staking.interface.encodeFunctionData("setUnbondingPeriod", [86_400n])];
  await s.governor.connect(a).propose(targets, [0n], calldatas, "reorg");
  const proposalId = await s.governor.hashProposal(targets, [0n], calldatas, hre.ethers.id("reorg"));
  await time.increaseTo((await s.governor.proposalSnapshot(proposalId)) + 1n);
  return { ...s, proposalId };
}

describe("indexer reorgs over staking and governance events", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a reorg replacing votes, unstakes, delegations and reward payments ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(stakedWithOpenProposal);
      const { staking, governor, proposalId } = s;
      const [a, b, c, d] = s.stakers;
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        const engine = await newEngine(database, s, { finalityDepth: 12 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        await governor.connect(a).castVote(proposalId, 1);
        await staking.connect(b).unstake(10n * FLK);
        await staking.connect(c).delegate(a.address);
        await staking.connect(a).claim();
        await engine.syncToHead();
        await hre.network.provider.send("evm_revert", [fork]);
        await governor.connect(b).castVote(proposalId, 0);
        await staking.connect(a).unstake(5n * FLK);
        await staking.connect(a).unstake(1n);
        await staking.connect(d).stake(3n * FLK);
        await staking.connect(c).delegate(b.address);
        await staking.connect(b).compound();
        await engine.syncToHead();
        expect(engine.stats.reorgs).to.equal(1);

        await (await newEngine(reference, s, { finalityDepth: 12 })).syncToHead();
        const got = await dumpDerived(database);
        expect(got).to.deep.equal(await dumpDerived(reference));
        for (const r of got.stakers as { address: string; staked: string; votes: string }[]) {
          expect(BigInt(r.staked)).to.equal(await staking.stakeOf(r.address));
          expect(BigInt(r.votes)).to.equal(await staking.getVotes(r.address));
        }
        const [p] = got.proposals as { against_votes: string; for_votes: string }[];
        const [against, forVotes] = await governor.proposalVotes(proposalId);
        expect([BigInt(p.against_votes), BigInt(p.for_votes)]).to.deep.equal([against, forVotes]);
        expect(got.votes).to.have.length(1);
        // The replaced branch's claim is gone, the new branch's compound is the only reward payment.
        expect((got.staking_reward_payments as { account: string; kind: string }[]).map((r) => [r.account, r.kind])).to.deep.equal([[b.address, "compounded"]]);
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
