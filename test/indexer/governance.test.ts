import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { GOVERNANCE } from "../../protocol/governance";
import { startApiServer } from "../../indexer/api/server";
import { stakingFixture, type StakingSuite } from "../staking/fixture";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const STATES = ["PENDING", "ACTIVE", "CANCELED", "DEFEATED", "SUCCEEDED", "QUEUED", "EXPIRED", "EXECUTED"];
const [Against, For, Abstain] = [0, 1, 2];

/** Proposal `n`: sets the unbonding period to `n` days through the timelock. */
async function proposal(s: StakingSuite, n: number) {
  const targets = [await s.staking.getAddress()];
  const values = [0n];
  const calldatas = [s.staking.interface.encodeFunctionData("setUnbondingPeriod", [BigInt(n) * 86_400n])];
  const description = `Unbonding of ${n} days`;
  const descriptionHash = hre.ethers.id(description);
  return { targets, values, calldatas, description, descriptionHash, id: await s.governor.hashProposal(targets, values, calldatas, descriptionHash) };
}

/** Proposals ending executed, canceled, defeated (no quorum), active with votes, and pending. */
async function governanceWithActivity(): Promise<StakingSuite & { ids: bigint[] }> {
  const s = await stakingFixture();
  const { governor, staking } = s;
  const [a, b, c, d, e] = s.stakers;
  await staking.connect(a).stake(100_000n * FLK);
  await staking.connect(b).stake(60_000n * FLK);
  await staking.connect(c).stake(20_000n * FLK + 3n);
  await staking.connect(d).stake(5_000n * FLK);
  await staking.connect(d).delegate(a.address);
  await mine();
  const [executed, canceled, defeated, active, pending] = await Promise.all([1, 2, 3, 4, 5].map((n) => proposal(s, n)));
  for (const p of [executed, canceled, defeated]) await governor.connect(a).propose(p.targets, p.values, p.calldatas, p.description);
  await governor.connect(a).cancel(canceled.targets, canceled.values, canceled.calldatas, canceled.descriptionHash);
  await time.increaseTo((await governor.proposalSnapshot(executed.id)) + 1n);
  await staking.connect(e).stake(900_000n * FLK); // after the snapshot: no weight on these votes
  await governor.connect(a).castVote(executed.id, For);
  await governor.connect(b).castVoteWithReason(executed.id, Against, "too short");
  await governor.connect(c).castVote(executed.id, Abstain);
  await governor.connect(e).castVote(executed.id, For);
  await governor.connect(c).castVote(defeated.id, For); // under the 4% quorum
  await time.increaseTo((await governor.proposalDeadline(executed.id)) + 1n);
  await governor.queue(executed.targets, executed.values, executed.calldatas, executed.descriptionHash);
  await time.increase(GOVERNANCE.timelockDelay);
  await governor.execute(executed.targets, executed.values, executed.calldatas, executed.descriptionHash);
  await governor.connect(e).propose(active.targets, active.values, active.calldatas, active.description);
  await time.increaseTo((await governor.proposalSnapshot(active.id)) + 100n);
  await governor.connect(b).castVote(active.id, Against);
  await governor.connect(e).propose(pending.targets, pending.values, pending.calldatas, pending.description);
  await mine();
  return { ...s, ids: [executed, canceled, defeated, active, pending].map((p) => p.id) };
}

describe("indexer governance area matches the governor to the wei", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: proposals, tallies, states and votes`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(governanceWithActivity);
      const { governor } = s;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0, dev: true });
      try {
        await (await newEngine(database, s)).syncToHead();
        const res = await fetch(`${api.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            query: `{ proposals(first: 10, orderDirection: ASC) { nodes { id proposer targets values calldatas description voteStart voteEnd
              forVotes againstVotes abstainVotes quorum voters state votes { nodes { voter support weight reason } }
              timestamp lifecycle { kind blockNumber timestamp transactionHash } } } }`,
          }),
        });
        const body = (await res.json()) as any;
        expect(body.errors, JSON.stringify(body.errors)).to.equal(undefined);
        const nodes = body.data.proposals.nodes;
        expect(nodes.map((p: any) => p.id)).to.deep.equal(s.ids.map(String));
        // Each expected state appears, so the comparison below covers every branch.
        expect(nodes.map((p: any) => p.state)).to.deep.equal(["EXECUTED", "CANCELED", "DEFEATED", "ACTIVE", "PENDING"]);
        for (const p of nodes) {
          const id = BigInt(p.id);
          expect(p.state).to.equal(STATES[Number(await governor.state(id))], `state of ${id}`);
          const [against, forVotes, abstain] = await governor.proposalVotes(id);
          expect([p.againstVotes, p.forVotes, p.abstainVotes]).to.deep.equal([against, forVotes, abstain].map(String));
          expect(p.voteStart).to.equal(Number(await governor.proposalSnapshot(id)));
          expect(p.voteEnd).to.equal(Number(await governor.proposalDeadline(id)));
          expect(p.proposer).to.equal(await governor.proposalProposer(id));
          expect(p.quorum).to.equal(p.state === "PENDING" ? null : String(await governor.quorum(p.voteStart)));
          expect(p.targets).to.deep.equal([await s.staking.getAddress()]);
          expect(p.values).to.deep.equal(["0"]);
          expect(p.calldatas).to.have.length(1);
          expect(p.voters).to.equal(p.votes.nodes.length);
          for (const v of p.votes.nodes) {
            expect(await governor.hasVoted(id, v.voter)).to.equal(true);
            expect(BigInt(v.weight)).to.equal(await governor.getVotes(v.voter, p.voteStart));
          }
        }
        // Each proposal's timeline: creation, then queue, execute and cancel at the times of the governor's events.
        const steps = await Promise.all(
          (["ProposalQueued", "ProposalExecuted", "ProposalCanceled"] as const).map(async (name) =>
            Promise.all(
              (await governor.queryFilter(governor.filters[name]())).map(async (e: any) => ({
                id: String(e.args.proposalId),
                kind: name.slice("Proposal".length).toUpperCase(),
                blockNumber: e.blockNumber,
                timestamp: (await e.getBlock()).timestamp,
                transactionHash: e.transactionHash,
              })),
            ),
          ),
        );
        for (const p of nodes) {
          const created = (await governor.queryFilter(governor.filters.ProposalCreated())).find((e: any) => String(e.args.proposalId) === p.id)!;
          expect(p.timestamp).to.equal((await created.getBlock()).timestamp);
          const expected = steps
            .flat()
            .filter((e) => e.id === p.id)
            .sort((x, y) => x.blockNumber - y.blockNumber);
          expect(p.lifecycle).to.deep.equal(
            expected.map(({ id: _, ...e }) => e),
            `lifecycle of ${p.id}`,
          );
        }
        expect(nodes[0].lifecycle.map((e: any) => e.kind)).to.deep.equal(["QUEUED", "EXECUTED"]);
        expect(nodes[1].lifecycle.map((e: any) => e.kind)).to.deep.equal(["CANCELED"]);
        const executed = nodes[0];
        expect(executed.votes.nodes.map((v: any) => [v.support, v.reason])).to.deep.equal([
          ["FOR", ""],
          ["AGAINST", "too short"],
          ["ABSTAIN", ""],
          ["FOR", ""],
        ]);
        expect(executed.votes.nodes[3].weight).to.equal("0"); // staked after the snapshot
        expect(BigInt(executed.forVotes)).to.equal(105_000n * FLK); // a's own stake plus d's delegation

        // Heaviest first, two pages (the dashboard lists the heaviest voters, not the latest).
        const page = async (after: string | null) => {
          const r = await fetch(`${api.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              query: `query($id: String!, $after: String) { proposal(id: $id) { votes(first: 2, after: $after, orderBy: WEIGHT, orderDirection: DESC) {
                nodes { voter weight } pageInfo { hasNextPage endCursor } } } }`,
              variables: { id: executed.id, after },
            }),
          });
          return ((await r.json()) as any).data.proposal.votes;
        };
        const first = await page(null);
        const second = await page(first.pageInfo.endCursor);
        const [a, b, c, , e] = s.stakers;
        expect([...first.nodes, ...second.nodes]).to.deep.equal([
          { voter: a.address, weight: String(105_000n * FLK) },
          { voter: b.address, weight: String(60_000n * FLK) },
          { voter: c.address, weight: String(20_000n * FLK + 3n) },
          { voter: e.address, weight: "0" },
        ]);
        expect([first.pageInfo.hasNextPage, second.pageInfo.hasNextPage]).to.deep.equal([true, false]);
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
