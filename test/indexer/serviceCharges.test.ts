/**
 * The report's per-service charges in the indexer (indexer/derive/serviceCharges.ts): per epoch,
 * function version and node on the real registry, totals per function over its versions' roots and
 * per node, over GraphQL, on PGlite and PostgreSQL, and a reorg that replaces a reported epoch;
 * agent charges (kind 2) settled through the escrow and the marketplace, linked to the agent by node.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import type { ServiceCharge } from "../../protocol/report";
import { completeEpochReport } from "../../protocol/reportRoots";
import { agentService, ServiceKind } from "../../protocol/usage";
import { standings, submitReport } from "../../testkit/registry";
import { gql } from "./graphql";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";
import { measurement, sevenActiveNodes, type RegistryActivity } from "./registryActivity";

const ZERO = `0x${"00".repeat(32)}`;
const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;
const R3 = `0x${"3b".repeat(32)}`;
const LIMITS = { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 };

const charge = (nodeId: number, kind: number, service: string, requests: bigint, cpuMs: bigint, amount: bigint): ServiceCharge => ({
  nodeId,
  kind,
  service,
  requests,
  cpuMs,
  amount,
});

/** Reports the current epoch with `charges`, each node's revenue their sum, one client paying it all. */
async function reportCharges(s: RegistryActivity, charges: ServiceCharge[]) {
  const epoch = await s.registry.epoch();
  const ids = s.nodes.map((n) => n.id);
  const revenue = (id: number) => charges.filter((c) => c.nodeId === id).reduce((sum, c) => sum + c.amount, 0n);
  const nodes = ids.map((id) => measurement(id, revenue(id), 80));
  const total = charges.reduce((sum, c) => sum + c.amount, 0n);
  const usage = total > 0n ? [{ client: s.clients[0].address, amount: total }] : [];
  const { report } = completeEpochReport({ epoch, nodes, usage, charges }, await standings(s, ids));
  await submitReport(s, s.nodes, report);
}

/** `hello` (versions R1 and R2) and `echo` (R3) registered; the client funded. */
async function chargedNetwork(): Promise<RegistryActivity> {
  const s = await sevenActiveNodes();
  const [alice] = (await hre.ethers.getSigners()).slice(10, 11);
  await s.functionRegistry.connect(alice).register("hello", R1, LIMITS);
  await s.functionRegistry.connect(alice).publish(1, R2, LIMITS);
  await s.functionRegistry.connect(alice).register("echo", R3, LIMITS);
  await s.escrow.connect(s.clients[0]).deposit(s.clients[0].address, 1_000_000n);
  return s;
}

/** Two agents on the deployed marketplace (owners: accounts 11 and 12), the client funded. */
async function agentNetwork(): Promise<RegistryActivity> {
  const s = await sevenActiveNodes();
  const [alice, bob] = (await hre.ethers.getSigners()).slice(11, 13);
  await s.agentMarketplace.connect(alice).register("alpha", R1, R2, 128, 1_000);
  await s.agentMarketplace.connect(bob).register("beta", R3, R2, 128, 1_000);
  await s.escrow.connect(s.clients[0]).deposit(s.clients[0].address, 2_000_000n);
  return s;
}

/** Epoch 1: node 1 content and hello v1, node 2 hello v2 and echo. */
const EPOCH_1 = (n1: number, n2: number) => [
  charge(n1, 0, ZERO, 5n, 0n, 100n),
  charge(n1, 1, R1, 30n, 7n, 40n),
  charge(n2, 1, R2, 10n, 3n, 25n),
  charge(n2, 1, R3, 4n, 0n, 5n),
];
/** Epoch 2: node 1 hello v2. */
const EPOCH_2 = (n1: number) => [charge(n1, 1, R2, 6n, 1n, 9n)];

describe("indexer service charges: invocations and revenue per function and node from the epoch reports", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: per epoch, per function over its versions, per node, over GraphQL`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(chargedNetwork);
      const [n1, n2] = s.nodes.map((n) => n.id);
      await reportCharges(s, EPOCH_1(n1, n2));
      await reportCharges(s, EPOCH_2(n1));
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const q = async (query: string) => {
          const answer = await gql(api.url, query);
          expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
          return answer.data;
        };
        // hello: 30 + 10 + 6 calls, 7 + 3 + 1 CPU-ms, 40 + 25 + 9 USDC units; echo: 4, 0, 5.
        expect((await q(`{ edgeFunctions { nodes { name invocations cpuMs revenue } } }`)).edgeFunctions.nodes).to.deep.equal([
          { name: "hello", invocations: "46", cpuMs: "11", revenue: "74" },
          { name: "echo", invocations: "4", cpuMs: "0", revenue: "5" },
        ]);
        const fields = "epoch nodeId kind service requests cpuMs amount";
        expect((await q(`{ edgeFunction(name: "hello") { usage { nodes { ${fields} } } } }`)).edgeFunction.usage.nodes).to.deep.equal([
          { epoch: 1, nodeId: n1, kind: "FUNCTION", service: R1, requests: "30", cpuMs: "7", amount: "40" },
          { epoch: 1, nodeId: n2, kind: "FUNCTION", service: R2, requests: "10", cpuMs: "3", amount: "25" },
          { epoch: 2, nodeId: n1, kind: "FUNCTION", service: R2, requests: "6", cpuMs: "1", amount: "9" },
        ]);
        expect((await q(`{ edgeFunction(id: 1) { usage(epoch: 2) { nodes { nodeId amount } } } }`)).edgeFunction.usage.nodes).to.deep.equal([
          { nodeId: n1, amount: "9" },
        ]);
        expect((await q(`{ edgeFunction(id: 1) { usage(nodeId: ${n2}) { nodes { epoch amount } } } }`)).edgeFunction.usage.nodes).to.deep.equal([
          { epoch: 1, amount: "25" },
        ]);
        // Paged: newest first, one at a time.
        const page = (await q(`{ edgeFunction(id: 1) { usage(first: 1, orderDirection: DESC) { nodes { epoch } pageInfo { hasNextPage endCursor } } } }`))
          .edgeFunction.usage;
        expect(page.nodes).to.deep.equal([{ epoch: 2 }]);
        expect(page.pageInfo.hasNextPage).to.equal(true);
        const next = (await q(`{ edgeFunction(id: 1) { usage(first: 5, orderDirection: DESC, after: "${page.pageInfo.endCursor}") { nodes { nodeId } } } }`))
          .edgeFunction.usage.nodes;
        expect(next).to.deep.equal([{ nodeId: n2 }, { nodeId: n1 }]);
        expect(
          (await q(`{ edgeFunction(id: 1) { usageByNode { nodes { nodeId service requests cpuMs amount lastEpoch } } } }`)).edgeFunction.usageByNode.nodes,
        ).to.deep.equal([
          { nodeId: n1, service: R1, requests: "30", cpuMs: "7", amount: "40", lastEpoch: 1 },
          { nodeId: n1, service: R2, requests: "6", cpuMs: "1", amount: "9", lastEpoch: 2 },
          { nodeId: n2, service: R2, requests: "10", cpuMs: "3", amount: "25", lastEpoch: 1 },
        ]);
        // A node's revenue by service adds up to its revenue of every epoch: 140 + 9.
        const node1 = (
          await q(`{ node(id: ${n1}) { revenueByService { nodes { kind service requests amount } } charges(epoch: 1) { nodes { kind amount } } } }`)
        ).node;
        expect(node1.revenueByService.nodes).to.deep.equal([
          { kind: "CONTENT", service: ZERO, requests: "5", amount: "100" },
          { kind: "FUNCTION", service: R1, requests: "30", amount: "40" },
          { kind: "FUNCTION", service: R2, requests: "6", amount: "9" },
        ]);
        expect(node1.charges.nodes).to.deep.equal([
          { kind: "CONTENT", amount: "100" },
          { kind: "FUNCTION", amount: "40" },
        ]);
        expect((await q(`{ node(id: ${n2}) { revenueByService(kind: CONTENT) { nodes { amount } } } }`)).node.revenueByService.nodes).to.deep.equal([]);
        expect((await q(`{ epochCharges(epoch: 1) { nodes { nodeId service amount } } }`)).epochCharges.nodes).to.deep.equal([
          { nodeId: n1, service: ZERO, amount: "100" },
          { nodeId: n1, service: R1, amount: "40" },
          { nodeId: n2, service: R2, amount: "25" },
          { nodeId: n2, service: R3, amount: "5" },
        ]);

        const bad = async (query: string) => (await gql(api.url, query)).errors?.[0]?.extensions?.code;
        expect(await bad(`{ edgeFunction(id: 1) { usage(epoch: -1) { nodes { epoch } } } }`)).to.equal("BAD_USER_INPUT");
        // A page above 1,000 rows: refused as too costly nested, as bad input at the top.
        expect(await bad(`{ edgeFunction(id: 1) { usage(first: 5000) { nodes { epoch } } } }`)).to.equal("QUERY_TOO_COMPLEX");
        expect(await bad(`{ epochCharges(epoch: 1, first: 5000) { nodes { epoch } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunction(id: 1) { usageByNode(after: "${page.pageInfo.endCursor}") { nodes { nodeId } } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ epochCharges(epoch: -2) { nodes { epoch } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ node(id: ${n1}) { revenueByService(kind: OTHER) { nodes { amount } } } }`)).to.equal("GRAPHQL_VALIDATION_FAILED");
      } finally {
        await api.close();
        await database.close();
      }
    });

    it(`${name}: agent charges reach the owners through the escrow and the marketplace, and each agent's revenue by node`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(agentNetwork);
      const [n1, n2] = s.nodes.map((n) => n.id);
      const [alice] = (await hre.ethers.getSigners()).slice(11, 12);
      // Agent 1 on two nodes (600,000 + 400,000), agent 2 on node 2 (10,000), content on node 1 (100,000).
      await reportCharges(s, [
        charge(n1, ServiceKind.Content, ZERO, 5n, 0n, 100_000n),
        charge(n1, ServiceKind.Agent, agentService(1), 6n, 40n, 600_000n),
        charge(n2, ServiceKind.Agent, agentService(1), 4n, 30n, 400_000n),
        charge(n2, ServiceKind.Agent, agentService(2), 1n, 2n, 10_000n),
      ]);
      // Default split 20/70/10 of 1,000,000 and 10,000; content at the escrow's 80%.
      expect(await s.agentMarketplace.balanceOf(alice.address)).to.equal(700_000n);
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const answer = await gql(
          api.url,
          `{ agent(id: 1) { calls charged revenue toNodes toOwner toProtocol revenueByNode { nodes { nodeId kind service requests cpuMs amount } } charges(nodeId: ${n2}) { nodes { epoch amount } } }
             agents { nodes { id calls charged } }
             agentSettlement(epoch: 1) { amount toNodes toOwners toProtocol }
             escrowEpoch(epoch: 1) { total toNodes toBuyback toMarketplace } }`,
        );
        expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
        const { agent, agents, agentSettlement, escrowEpoch } = answer.data;
        // Calls: 6 + 4 for agent 1 on its two nodes, 1 for agent 2; charged: the gross amounts.
        expect([agent.calls, agent.charged]).to.deep.equal(["10", "1000000"]);
        expect(agents.nodes).to.deep.equal([
          { id: 1, calls: "10", charged: "1000000" },
          { id: 2, calls: "1", charged: "10000" },
        ]);
        expect([agent.revenue, agent.toNodes, agent.toOwner, agent.toProtocol]).to.deep.equal(["1000000", "200000", "700000", "100000"]);
        expect(agent.revenueByNode.nodes).to.deep.equal([
          { nodeId: n1, kind: "AGENT", service: agentService(1), requests: "6", cpuMs: "40", amount: "600000" },
          { nodeId: n2, kind: "AGENT", service: agentService(1), requests: "4", cpuMs: "30", amount: "400000" },
        ]);
        expect(agent.charges.nodes).to.deep.equal([{ epoch: 1, amount: "400000" }]);
        expect(agentSettlement).to.deep.equal({ amount: "1010000", toNodes: "202000", toOwners: "707000", toProtocol: "101000" });
        // Content 100,000 at 80/20 beside the agents: 80,000 + 202,000 to nodes, 20,000 burned directly, 808,000 to the marketplace.
        expect(escrowEpoch).to.deep.equal({ total: "1110000", toNodes: "282000", toBuyback: "20000", toMarketplace: "808000" });
        const bad = (await gql(api.url, `{ agent(id: 1) { charges(epoch: -1) { nodes { epoch } } } }`)).errors?.[0]?.extensions?.code;
        expect(bad).to.equal("BAD_USER_INPUT");
      } finally {
        await api.close();
        await database.close();
      }
    });

    it(`${name}: a reported epoch replaced by another branch's report ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(chargedNetwork);
      const [n1, n2] = s.nodes.map((n) => n.id);
      await reportCharges(s, EPOCH_1(n1, n2));
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        const engine = await newEngine(database, s, { finalityDepth: 60 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        await reportCharges(s, EPOCH_2(n1));
        await engine.syncToHead();
        expect(await database.db.selectFrom("service_charges").select("epoch").execute()).to.have.length(5);
        await hre.network.provider.send("evm_revert", [fork]);
        // Branch B: epoch 2 reports echo on node 2 instead.
        await reportCharges(s, [charge(n2, 1, R3, 2n, 0n, 3n)]);
        for (let i = 0; i < 12; i++) await hre.network.provider.send("evm_mine");
        await engine.syncToHead();
        expect(engine.stats.reorgs).to.equal(1);
        await (await newEngine(reference, s, { finalityDepth: 60 })).syncToHead();
        const got = await dumpDerived(database);
        expect(got).to.deep.equal(await dumpDerived(reference));
        expect((got.service_totals as Record<string, unknown>[]).map((t) => [t.service, t.requests, t.amount, t.epochs])).to.deep.equal([
          [ZERO, "5", "100", 1],
          [R1, "30", "40", 1],
          [R2, "10", "25", 1],
          [R3, "6", "8", 2],
        ]);
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
