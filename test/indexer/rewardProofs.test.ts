import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { keccak256, toUtf8Bytes } from "ethers";
import { startApiServer } from "../../indexer/api/server";
import { reportRewardsTree } from "../../protocol/reportRoots";
import { claimAmount, flkWeight } from "../../protocol/rewards";
import { standings } from "../../testkit/registry";
import { measurement, registryActivity, reportEpoch, sevenActiveNodes, USDC, type RegistryActivity } from "./registryActivity";
import { apiReached, gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const PROOF_FIELDS = "epoch nodeId account flkWeight usdcWeight flkAmount usdcAmount proof claimed";

/**
 * Seven nodes; epoch 1's report signs a rewards root and FLK total computed with a wrong stake
 * lock for one node; epoch 2's report signs a wrong reputation root but honest rewards.
 */
async function tamperedReports(): Promise<RegistryActivity> {
  const s = await sevenActiveNodes();
  const [client] = s.clients;
  await s.escrow.connect(client).deposit(client.address, 100n * USDC);
  const nodes = s.nodes.map((n, i) => measurement(n.id, BigInt(i + 1) * USDC, 50 + i));
  const wrong = await standings(
    s,
    nodes.map((m) => m.nodeId),
  );
  wrong.set(s.nodes[0].id, { ...wrong.get(s.nodes[0].id)!, lockedUntil: 700n });
  const forged = reportRewardsTree(1n, nodes, wrong);
  await reportEpoch(s, nodes, [{ client: client.address, amount: 28n * USDC }], (r) => ({
    ...r,
    rewardsRoot: forged.root,
    totalFlkWeight: forged.totalFlkWeight,
  }));
  await reportEpoch(s, nodes, [{ client: client.address, amount: 28n * USDC }], (r) => ({ ...r, reputationRoot: keccak256(toUtf8Bytes("not the scores")) }));
  return s;
}

describe("indexer rewards: reports recomputed, per-node reputation and rewards, claim proofs", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: every proof the API serves is paid by EpochRewards.claim exactly as it says`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(registryActivity);
      const { rewards, registry } = s;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        const engine = await newEngine(database, s);
        await engine.syncToHead();
        const answer = await gql(
          api.url,
          "{ epoch(number: 1) { rootsMatch mismatch recomputed { rewardsRoot totalFlkWeight } report { rewardsRoot totalFlkWeight measurements { nodeId revenue reputation } } } }",
        );
        expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
        const epoch1 = answer.data.epoch;
        expect([epoch1.rootsMatch, epoch1.mismatch]).to.deep.equal([true, []]);
        expect(epoch1.recomputed).to.deep.equal({ rewardsRoot: epoch1.report.rewardsRoot, totalFlkWeight: epoch1.report.totalFlkWeight });
        const pools = await rewards.pools(1);
        expect(pools.flkPool).to.be.greaterThan(0n);
        expect(pools.usdcPool).to.be.greaterThan(0n);

        // Node 1's owner claimed in the scenario; every other owner claims with the API's proof.
        let withLeaf = 0;
        for (const n of s.nodes) {
          const p = (await gql(api.url, `{ rewardProof(epoch: 1, node: ${n.id}) { ${PROOF_FIELDS} } }`)).data.rewardProof;
          const ownerEarns = s.nodes.some(
            (o) => o.owner.address === n.owner.address && epoch1.report.measurements.find((x: any) => x.nodeId === o.id).revenue !== "0",
          );
          if (!ownerEarns) {
            expect(p, `node ${n.id} earns nothing`).to.equal(null);
            continue;
          }
          withLeaf++;
          expect([p.epoch, p.nodeId, p.account]).to.deep.equal([1, n.id, n.owner.address]);
          const [flk, usdc] = await rewards.claimable(1, p.flkWeight, p.usdcWeight);
          expect([p.flkAmount, p.usdcAmount]).to.deep.equal([flk.toString(), usdc.toString()]);
          if (p.claimed) {
            expect(await rewards.claimed(1, p.account)).to.equal(true);
            continue;
          }
          await expect(rewards.claim(1, p.account, p.flkWeight, p.usdcWeight, p.proof))
            .to.emit(rewards, "Claimed")
            .withArgs(1, p.account, p.flkAmount, p.usdcAmount);
        }
        expect(withLeaf).to.equal(4); // n1, n2, n3 and n7 earn; n1 and n7 share an owner's leaf
        await engine.syncToHead();
        await apiReached(api.url, engine.cursor);
        for (const n of s.nodes) {
          const p = (await gql(api.url, `{ rewardProof(epoch: 1, node: ${n.id}) { claimed } }`)).data.rewardProof;
          if (p) expect(p.claimed).to.equal(true);
        }
        const after = await rewards.pools(1);
        expect(after.flkPool - after.flkPaid).to.be.lessThan(5n); // only rounding dust is left

        // Per-node reputation and rewards (the dashboard's chart and claim list).
        const n3 = s.nodes[2];
        const view = (
          await gql(
            api.url,
            `{ node(id: ${n3.id}) { reputation { epoch score } rewards { epoch account flkWeight usdcWeight flkAmount usdcAmount claimed } } }`,
          )
        ).data.node;
        const m3 = epoch1.report.measurements.find((x: any) => x.nodeId === n3.id);
        expect(view.reputation).to.deep.equal([{ epoch: 1, score: m3.reputation }]);
        const lockedUntil = (await registry.getNode(n3.id)).lockedUntil;
        const w = flkWeight({ revenue: BigInt(m3.revenue), remainingLockEpochs: lockedUntil - 1n, reputation: m3.reputation });
        expect(lockedUntil - 1n).to.equal(100n); // the lock boosts this node
        expect(view.rewards).to.deep.equal([
          {
            epoch: 1,
            account: n3.owner.address,
            flkWeight: w.toString(),
            usdcWeight: m3.revenue,
            flkAmount: claimAmount(pools.flkPool, w, pools.totalFlkWeight).toString(),
            usdcAmount: claimAmount(pools.usdcPool, BigInt(m3.revenue), pools.totalUsdcWeight).toString(),
            claimed: true,
          },
        ]);

        // Unknown and unsettled epochs, bad arguments.
        const code = async (q: string) => (await gql(api.url, q)).errors?.[0]?.extensions?.code;
        expect(await code("{ rewardProof(epoch: 0, node: 1) { account } }")).to.equal("EPOCH_NOT_SETTLED");
        expect(await code(`{ rewardProof(epoch: ${Number(await registry.epoch())}, node: 1) { account } }`)).to.equal("EPOCH_NOT_SETTLED");
        expect(await code("{ rewardProof(epoch: 99, node: 1) { account } }")).to.equal("EPOCH_NOT_FOUND");
        expect(await code("{ rewardProof(epoch: -1, node: 1) { account } }")).to.equal("BAD_USER_INPUT");
        expect(await code(`{ rewardProof(epoch: 1, node: "x") { account } }`)).to.equal("GRAPHQL_VALIDATION_FAILED");
        expect(await code("{ node(id: 1) { reputation(last: 0) { epoch } } }")).to.equal("BAD_USER_INPUT");
        expect((await gql(api.url, "{ rewardProof(epoch: 1, node: 999) { account } }")).data.rewardProof).to.equal(null);
      } finally {
        await api.close();
        await database.close();
      }
    });

    it(`${name}: a report whose roots do not follow from it is flagged, and its proofs refused`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(tamperedReports);
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const q = "{ epochs(where: { status: REPORTED }, orderDirection: ASC) { nodes { number rootsMatch mismatch } } }";
        expect((await gql(api.url, q)).data.epochs.nodes).to.deep.equal([
          { number: 1, rootsMatch: false, mismatch: ["REWARDS_ROOT", "TOTALS"] },
          { number: 2, rootsMatch: false, mismatch: ["REPUTATION_ROOT"] },
        ]);
        const refused = await gql(api.url, "{ rewardProof(epoch: 1, node: 1) { account } }");
        expect(refused.errors?.[0]?.extensions?.code).to.equal("REPORT_MISMATCH");
        const rewards1 = (await gql(api.url, "{ node(id: 1) { rewards { epoch flkAmount usdcAmount } } }")).data.node.rewards;
        expect(rewards1[0]).to.deep.equal({ epoch: 1, flkAmount: null, usdcAmount: null });
        // Epoch 2's rewards root is honest: its proofs verify on chain.
        const p = (await gql(api.url, `{ rewardProof(epoch: 2, node: 2) { ${PROOF_FIELDS} } }`)).data.rewardProof;
        await expect(s.rewards.claim(2, p.account, p.flkWeight, p.usdcWeight, p.proof))
          .to.emit(s.rewards, "Claimed")
          .withArgs(2, p.account, p.flkAmount, p.usdcAmount);
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
