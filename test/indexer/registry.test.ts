import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import { NODE_STATUS } from "../../indexer/derive/registry";
import { registryActivity } from "./registryActivity";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

describe("indexer registry area matches NodeRegistry and EpochRewards to the wei", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: nodes, stake history, slashes, epochs, committees, beacons, reports, settlements, claims and the API`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(registryActivity);
      const { registry, rewards } = s;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const db = database.db;

        // Nodes against getNode.
        const rows = await db.selectFrom("nodes").selectAll().orderBy("id").execute();
        expect(rows.map((r) => r.id)).to.deep.equal(s.nodes.map((n) => n.id));
        for (const r of rows) {
          const v = await registry.getNode(r.id);
          // Every fixture node registers with a valid ed25519 key proof (forged ones: test/node/chain).
          expect([
            r.owner,
            r.node_key,
            r.signer,
            r.status,
            BigInt(r.stake),
            BigInt(r.unstaking),
            r.unstake_ready_at,
            r.locked_until,
            r.key_proof_valid,
          ]).to.deep.equal(
            [v.owner, v.nodeKey, v.signer, NODE_STATUS[Number(v.status)], v.stake, v.unstaking, Number(v.unstakeReadyAt), Number(v.lockedUntil), true],
            `node ${r.id}`,
          );
          expect([r.host, r.ports]).to.deep.equal([v.endpoints.host, { primary: 4310, worker: 4311, mempool: 4210, rpc: 4240, pool: 4300, gateway: 4220 }]);
        }
        // The scenario reached every status it meant to, and a slash.
        expect([...new Set(rows.map((r) => r.status))]).to.include.members(["ACTIVE", "JAILED", "PENDING"]);
        expect(rows.some((r) => r.host === "moved.example.org")).to.equal(true);

        // Every stake change: the amounts after it equal getNode at that block (last change per block).
        const changes = await db.selectFrom("node_stake_changes").selectAll().orderBy("block_number").orderBy("log_index").execute();
        expect(new Set(changes.map((c) => c.kind))).to.deep.equal(new Set(["REGISTERED", "ADDED", "UNSTAKED", "WITHDRAWN", "SLASHED"]));
        for (const [i, c] of changes.entries()) {
          const later = changes.slice(i + 1).some((d) => d.node_id === c.node_id && d.block_number === c.block_number);
          if (later) continue;
          const v = await registry.getNode(c.node_id, { blockTag: c.block_number });
          expect([BigInt(c.stake), BigInt(c.unstaking)]).to.deep.equal([v.stake, v.unstaking], `change ${c.kind} of node ${c.node_id} at ${c.block_number}`);
        }
        const slashEvents = await registry.queryFilter(registry.filters.Slashed());
        const slashes = changes.filter((c) => c.kind === "SLASHED");
        expect(slashes.map((c) => [c.node_id, c.epoch, BigInt(c.amount)])).to.deep.equal(
          slashEvents.map((e) => [Number(e.args.nodeId), Number(e.args.epoch), e.args.amount]),
        );
        expect(slashes.length).to.equal(1);

        // Epochs: each one against the views at its last block (a duration change applies to the running epoch).
        const epochs = await db.selectFrom("epochs").selectAll().orderBy("number").execute();
        const current = Number(await registry.epoch());
        expect(epochs.map((e) => e.number)).to.deep.equal(Array.from({ length: current + 1 }, (_, i) => i));
        for (const e of epochs) {
          const at = { blockTag: e.ended_block === null ? "latest" : e.ended_block - 1 };
          expect([e.start, e.duration, e.active_set, e.committee]).to.deep.equal(
            [
              Number(await registry.epochStart(at)),
              Number(await registry.epochDuration(at)),
              (await registry.activeSetIds(at)).map(Number),
              (await registry.committeeIds(at)).map(Number),
            ],
            `epoch ${e.number}`,
          );
          const committers = (await registry.beaconCommitters(e.number)).map(Number);
          const stored = await db.selectFrom("epoch_beacons").selectAll().where("epoch", "=", e.number).orderBy("committed_block").execute();
          expect(stored.map((b) => b.node_id)).to.have.members(committers);
          for (const b of stored) {
            const [commitment, revealed] = await registry.beacons(e.number, b.node_id);
            expect([b.commitment, b.secret !== null]).to.deep.equal([commitment, revealed]);
          }
          const pools = await rewards.pools(e.number);
          if (e.settled_root !== null) {
            expect([
              e.settled_root,
              BigInt(e.flk_pool),
              BigInt(e.usdc_pool),
              BigInt(e.settled_flk_weight),
              BigInt(e.settled_usdc_weight),
              BigInt(e.flk_paid),
              BigInt(e.usdc_paid),
            ]).to.deep.equal(
              [pools.root, pools.flkPool, pools.usdcPool, pools.totalFlkWeight, pools.totalUsdcWeight, pools.flkPaid, pools.usdcPaid],
              `pools of epoch ${e.number}`,
            );
          } else expect(pools.root).to.equal(`0x${"00".repeat(32)}`);
        }
        expect(epochs.map((e) => e.status)).to.deep.equal(["SKIPPED", "REPORTED", "SKIPPED", "SKIPPED", "SKIPPED", "SKIPPED", "SKIPPED", "RUNNING"]);
        const [reported] = await registry.queryFilter(registry.filters.EpochReported());
        const e1 = epochs[1];
        expect(e1.report_digest).to.equal(reported.args.digest);
        expect(e1.report_signers).to.deep.equal(reported.args.signers.map(Number));
        expect(e1.report.rewardsRoot).to.equal(reported.args.report.rewardsRoot);
        // Stored with the report: the root the committee signed of the epoch's agent snapshot records.
        expect(e1.report.agentSnapshotsRoot).to.equal(reported.args.report.agentSnapshotsRoot);
        expect(e1.report.measurements).to.have.length(7);
        expect(BigInt(e1.flk_paid)).to.be.greaterThan(0n);

        const claims = await db.selectFrom("reward_claims").selectAll().execute();
        expect(claims).to.have.length(1);
        expect(await rewards.claimed(claims[0].epoch, claims[0].account)).to.equal(true);

        // GraphQL: nodes by stake, paged two at a time, equal to the views.
        const views = await Promise.all(s.nodes.map((n) => registry.getNode(n.id)));
        const byStake = [...views].sort((a, b) => (a.stake === b.stake ? Number(b.id - a.id) : a.stake < b.stake ? 1 : -1));
        const seen: { id: number; stake: string }[] = [];
        let after: string | null = null;
        do {
          const page: any = (
            await gql(
              api.url,
              "query($after: String) { nodes(first: 2, after: $after, orderBy: STAKE) { nodes { id stake } pageInfo { hasNextPage endCursor } } }",
              { after },
            )
          ).data.nodes;
          seen.push(...page.nodes);
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        expect(seen).to.deep.equal(byStake.map((v) => ({ id: Number(v.id), stake: v.stake.toString() })));

        const owner0 = s.nodes[0].owner.address;
        const owned = (await gql(api.url, `{ nodes(where: { owner: "${owner0.toLowerCase()}" }) { nodes { id owner } } }`)).data.nodes.nodes;
        expect(owned.map((n: any) => n.id)).to.deep.equal(s.nodes.filter((n) => n.owner.address === owner0).map((n) => n.id));
        const jailed = (await gql(api.url, "{ nodes(where: { status: JAILED }) { nodes { id status } } }")).data.nodes.nodes;
        expect(jailed.map((n: any) => n.id)).to.deep.equal(views.filter((v) => v.status === 3n).map((v) => Number(v.id)));

        const slashedId = slashes[0].node_id;
        const one = (
          await gql(
            api.url,
            `{ node(id: ${slashedId}) { id nodeKey signer endpoints { host ports { primary gateway } } stake unstaking lockedUntil slashed stakeChanges { nodes { kind amount stake unstaking epoch } } slashes { epoch amount } } }`,
          )
        ).data.node;
        const v = await registry.getNode(slashedId);
        expect([one.nodeKey, one.stake, one.unstaking, one.slashed]).to.deep.equal([v.nodeKey, v.stake.toString(), v.unstaking.toString(), slashes[0].amount]);
        expect(one.endpoints).to.deep.equal({ host: v.endpoints.host, ports: { primary: 4310, gateway: 4220 } });
        expect(one.stakeChanges.nodes[0].kind).to.equal("REGISTERED");
        expect(one.slashes).to.deep.equal([{ epoch: slashes[0].epoch, amount: slashes[0].amount }]);

        const ep = (
          await gql(
            api.url,
            "{ epoch(number: 1) { number start duration status activeSet committee seed beacons { nodeId revealed } report { digest signers rewardsRoot agentSnapshotsRoot totalUsage measurements { nodeId uptime bytesServed } usage { client amount } } settlement { root flkPool flkPaid } } }",
          )
        ).data.epoch;
        expect([ep.status, ep.activeSet, ep.committee, ep.report.digest, ep.report.signers]).to.deep.equal([
          "REPORTED",
          e1.active_set,
          e1.committee,
          e1.report_digest,
          e1.report_signers,
        ]);
        expect(ep.report.agentSnapshotsRoot).to.equal(reported.args.report.agentSnapshotsRoot);
        // The client pays the earning nodes' revenue: (10 + 11 + 12 + 16) USDC + 4 × 7 units.
        expect(ep.report.usage).to.deep.equal([{ client: s.clients[0].address, amount: (49n * 10n ** 6n + 28n).toString() }]);
        expect(ep.beacons.filter((b: any) => !b.revealed)).to.have.length(1);
        expect(ep.settlement.flkPool).to.equal((await rewards.pools(1)).flkPool.toString());
        const list = (await gql(api.url, "{ epochs(first: 3) { nodes { number status } pageInfo { hasNextPage } } }")).data.epochs;
        expect(list.nodes).to.deep.equal([
          { number: 7, status: "RUNNING" },
          { number: 6, status: "SKIPPED" },
          { number: 5, status: "SKIPPED" },
        ]);
        expect(list.pageInfo.hasNextPage).to.equal(true);
        const skipped = (await gql(api.url, "{ epochs(where: { status: REPORTED }) { nodes { number } } }")).data.epochs.nodes;
        expect(skipped).to.deep.equal([{ number: 1 }]);
        expect((await gql(api.url, "{ epoch(number: 99) { number } node(id: 99) { id } }")).data).to.deep.equal({ epoch: null, node: null });

        // Bad input gets clear codes.
        const bad = async (q: string) => (await gql(api.url, q)).errors?.[0]?.extensions?.code;
        expect(await bad(`{ nodes(where: { owner: "0x12" }) { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad("{ nodes(first: 5000) { nodes { id } } }")).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ nodes(after: "bm9wZQ") { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad("{ node(id: -1) { id } }")).to.equal("BAD_USER_INPUT");
        expect(await bad("{ epoch(number: -1) { number } }")).to.equal("BAD_USER_INPUT");
        const unknownStatus = await gql(api.url, "{ nodes(where: { status: SLEEPING }) { nodes { id } } }");
        expect(unknownStatus.data).to.equal(undefined);
        expect(unknownStatus.errors?.[0]?.message).to.include("SLEEPING");
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
