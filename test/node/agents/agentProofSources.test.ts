/**
 * Issue 20, where a node taking an agent over asks for the agent's reported record
 * (docs/agents-runtime.md "The reported record is the floor"): only committee members that closed a
 * report keep its proofs, and the first nodes of the agent's order are members only by chance. Six
 * nodes on a real Hardhat chain, all on the committee: the taker and one member that holds the
 * proof run as real `node run` processes; the three nodes after the taker in the agent's order are
 * registered but down (they hold nothing). The member that holds the proof comes fifth in the
 * agent's order: the taker finds it through the registry's committee and restores the reported
 * record, where asking only its successors found no proof and restored nothing.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { agentHostOrder } from "../../../protocol/agentHosting";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { signSnapshot, type SnapshotRecord } from "../../../node/agents/agentRecords";
import { reportsDir } from "../../../node/app/epochReporter";
import { writeReportedAgentSnapshots } from "../../../node/app/reportedAgentSnapshots";
import {
  COUNTER_AGENT,
  REPORT_LEAF_TYPES,
  reportLeafOf,
  planAgentNode,
  registerAgentNode,
  startAgentNode,
  type AgentNode,
  type AgentNodePlan,
} from "../../../testkit/agentNode";
import { emptyReport, registrySuite, submitReport, type RegistrySuite, type TestNode } from "../../../testkit/registry";
import { CHAIN_ID, serveChain } from "../chain/chainNodes";

describe("agents: a taker asks the committee for the reported record (issue 20)", function () {
  this.timeout(300_000);
  let s: RegistrySuite;
  let chain: { url: string; close: () => Promise<void> };
  let taker: AgentNode | undefined;
  let holder: AgentNode | undefined;
  const plans: AgentNodePlan[] = [];

  before(async () => {
    s = await registrySuite();
    chain = await serveChain();
    for (let i = 0; i < 6; i++) plans.push(await planAgentNode());
  });
  after(async () => {
    await taker?.stop();
    await holder?.stop();
    await chain?.close();
    for (const plan of plans.slice(2)) fs.rmSync(plan.dir, { recursive: true, force: true });
  });

  it("restores the record a committee member outside the agent's first nodes proves", async () => {
    const nodes: TestNode[] = [];
    for (const [i, plan] of plans.entries()) nodes.push(await registerAgentNode(s, CHAIN_ID, i, plan));
    // Epoch 1: all six active and on the committee (a forced change; the committee size is 32).
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    expect((await s.registry.committeeIds()).length).to.equal(6);

    const [takerPlan, holderPlan] = plans;
    const keys = plans.map((p) => p.nodeKey);
    const ids = Array.from({ length: 2_000 }, (_, i) => String(i + 1));
    // The agent taken over: the taker hosts it, the holder is neither it nor one of the 3 after it.
    const agent = ids.find((id) => {
      const order = agentHostOrder(id, keys);
      return order[0] === takerPlan.nodeKey && order.indexOf(holderPlan.nodeKey) >= 4;
    })!;
    // An agent the holder hosts (only down nodes before it), whose snapshot lends its content.
    const lender = ids.find((id) => {
      const order = agentHostOrder(id, keys);
      return order[0] !== takerPlan.nodeKey && order.indexOf(holderPlan.nodeKey) < order.indexOf(takerPlan.nodeKey);
    })!;
    expect(agent).to.be.a("string");
    expect(lender).to.be.a("string");

    const hosting = {
      registry: { rpcUrl: chain.url, chainId: Number(CHAIN_ID), address: await s.registry.getAddress(), pollMs: 200 },
      snapshotEveryMs: 60_000,
      probeMs: 200,
    };
    const agents = { [agent]: COUNTER_AGENT, [lender]: COUNTER_AGENT };
    [taker, holder] = await Promise.all([
      startAgentNode(agents, { plan: takerPlan, hosting, peers: [holderPlan.gatewayUrl] }),
      startAgentNode(agents, { plan: holderPlan, hosting, peers: [takerPlan.gatewayUrl] }),
    ]);

    // The holder serves the lender (n = 3) and snapshots it: content in its blockstore.
    for (let i = 1; i <= 3; i++) {
      const answer = await fetch(`${holder.gatewayUrl}/agents/${lender}/`, { method: "POST", redirect: "manual" });
      expect(answer.status).to.equal(200);
      expect(await answer.json()).to.deep.equal({ n: i });
    }
    const taken = await fetch(`${holder.gatewayUrl}/agents/${lender}/_fleek/snapshot`, {
      method: "POST",
      headers: { authorization: `Bearer ${holder.operatorToken}` },
    });
    expect(taken.status).to.equal(201);
    const content = (await taken.json()) as SnapshotRecord;

    // Epoch 1's report holds the agent's record 1 of that content, signed by the holder as its
    // host; the holder closed the report, so it keeps the proof (its reporter's file).
    const record = signSnapshot(
      { agent, root: content.root, bytes: content.bytes, sequence: 1, takenAt: Date.now(), nodeKey: holder.nodeKey },
      ed25519PrivateKeyFromSeed(holderPlan.key.seed),
    );
    const agentSnapshotsRoot = StandardMerkleTree.of([reportLeafOf(record)], REPORT_LEAF_TYPES).root;
    await submitReport(s, nodes, await emptyReport(s, { agentSnapshotsRoot }));
    expect(await s.registry.epoch()).to.equal(2n);
    await writeReportedAgentSnapshots(reportsDir(path.join(holder.dataDir, "app")), 1, [record]);
    // Neither the taker nor the nodes after it hold a proof.
    expect((await fetch(`${taker.gatewayUrl}/agents/_snapshots/${agent}`)).status).to.equal(404);

    // The first request makes the taker the agent's host: it proves the holder's record and restores it.
    const served = await fetch(`${taker.gatewayUrl}/agents/${agent}/`, { redirect: "manual" });
    expect(served.status, `${await served.clone().text()}\n${taker.stderr().slice(-3000)}`).to.equal(200);
    expect(await served.json()).to.deep.equal({ n: 3 });
    expect(taker.stderr()).to.match(new RegExp(`agent taken over.*"agent":"${agent}".*"reportedEpoch":1`));
  });
});
