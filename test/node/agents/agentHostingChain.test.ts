/**
 * Issue 20, the hosting set from the chain (docs/agents-runtime.md "Hosting and take-over"): two
 * real `node run` processes whose agents service takes its hosting set from the NodeRegistry on a
 * real Hardhat chain (served over JSON-RPC) instead of the config. Both are registered with their
 * Ed25519 keys and gateways; the agent's host snapshots it, then a report jails the host. At the
 * epoch change the next node drops it from the set and takes the agent over from the last snapshot
 * record (signed by the jailed node while it was a host); the jailed node, still running,
 * redirects to the new host.
 *
 * The same report carries the `agentSnapshotsRoot` of two marketplace agents' records, and the next
 * node proves the records it restores against it (docs/agents-runtime.md "Snapshots through
 * consensus"): a record the host signed beside the reported one (its sequence, other content) and
 * an older record are refused, and the reported records are restored.
 */
import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
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

/** Polls `read` until `until` holds, or fails after `ms` with the last value. */
async function waitFor<T>(read: () => Promise<T>, until: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (until(value)) return value;
    if (Date.now() > end) throw new Error(`condition not reached; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("agents: the hosting set from the registry, a jailed host (issue 20)", function () {
  this.timeout(300_000);
  let s: RegistrySuite;
  let chain: { url: string; close: () => Promise<void> };
  let host: AgentNode;
  let next: AgentNode;
  let hostPlan: AgentNodePlan;
  const registered = new Map<string, TestNode>();
  /**
   * Marketplace agents (decimal ids) the host ranks first: one tampered, one rolled back, one whose
   * snapshots lend content, two moved with the chain down (one proven by a root read before, one
   * whose proofs name only epochs never read), one with a newer record an outsider signed.
   */
  let tampered: string, rolledBack: string, lender: string, offline: string, forged: string, dark: string;
  let chainClosed = false;
  /** The records epoch 1's report holds. */
  const reported: SnapshotRecord[] = [];

  const count = async (node: AgentNode, method = "GET", agent = "counter") => {
    const answer = await fetch(`${node.gatewayUrl}/agents/${agent}/`, { method, redirect: "manual" });
    return { status: answer.status, location: answer.headers.get("location"), json: (await answer.json()) as { n?: number; error?: string } };
  };
  const snapshot = (node: AgentNode, agent = "counter") =>
    fetch(`${node.gatewayUrl}/agents/${agent}/_fleek/snapshot`, { method: "POST", headers: { authorization: `Bearer ${node.operatorToken}` } });
  const post = async (node: AgentNode, agent: string, times: number) => {
    for (let i = 0; i < times; i++) expect((await count(node, "POST", agent)).status).to.equal(200);
  };
  /** A record of `agent` the host signs for content it stored (the host's key is the test's). */
  const hostSigns = (agent: string, content: SnapshotRecord, sequence: number): SnapshotRecord =>
    signSnapshot(
      { agent, root: content.root, bytes: content.bytes, sequence, takenAt: Date.now(), nodeKey: host.nodeKey },
      ed25519PrivateKeyFromSeed(hostPlan.key.seed),
    );

  before(async () => {
    s = await registrySuite();
    chain = await serveChain();
    const plans = [await planAgentNode(), await planAgentNode()];
    for (const [i, plan] of plans.entries()) registered.set(plan.nodeKey, await registerAgentNode(s, CHAIN_ID, i, plan));
    // Epoch 1 starts with both active (no committee yet: a forced change).
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    expect((await s.registry.activeSetIds()).length).to.equal(2);

    const first = agentHostOrder(
      "counter",
      plans.map((p) => p.nodeKey),
    )[0];
    const [firstPlan, nextPlan] = plans[0].nodeKey === first ? plans : [plans[1], plans[0]];
    hostPlan = firstPlan;
    const keys = plans.map((p) => p.nodeKey);
    [tampered, rolledBack, lender, offline, forged, dark] = Array.from({ length: 64 }, (_, i) => String(i + 1))
      .filter((id) => agentHostOrder(id, keys)[0] === hostPlan.nodeKey)
      .slice(0, 6);
    const agents = {
      counter: COUNTER_AGENT,
      [tampered]: COUNTER_AGENT,
      [rolledBack]: COUNTER_AGENT,
      [lender]: COUNTER_AGENT,
      [offline]: COUNTER_AGENT,
      [forged]: COUNTER_AGENT,
      [dark]: COUNTER_AGENT,
    };
    // No `nodes` in the config: the set is the registry's.
    const hosting = {
      registry: { rpcUrl: chain.url, chainId: Number(CHAIN_ID), address: await s.registry.getAddress(), pollMs: 200 },
      snapshotEveryMs: 60_000,
      probeMs: 200,
    };
    [host, next] = await Promise.all([
      startAgentNode(agents, { plan: hostPlan, hosting, peers: [nextPlan.gatewayUrl] }),
      startAgentNode(agents, { plan: nextPlan, hosting, peers: [hostPlan.gatewayUrl] }),
    ]);
  });
  after(async () => {
    await next?.stop();
    await host?.stop();
    if (!chainClosed) await chain?.close();
  });

  it("ranks the registry's active nodes: the other node redirects to the host, which hands its record on", async () => {
    const redirected = await count(next, "POST");
    expect(redirected.status).to.equal(307);
    expect(redirected.location).to.equal(`${host.gatewayUrl}/agents/counter/`);
    for (let i = 1; i <= 3; i++) expect((await count(host, "POST")).json).to.deep.equal({ n: i });
    const taken = await snapshot(host);
    expect(taken.status).to.equal(201);
    expect(taken.headers.get("x-fleek-record-kept-by")).to.equal("1");
    expect(((await taken.json()) as SnapshotRecord).nodeKey).to.equal(host.nodeKey);
    // Written after the snapshot: lost when the agent moves.
    expect((await count(host, "POST")).json).to.deep.equal({ n: 4 });
  });

  it("the host hands the next node records other than those it reports", async () => {
    const snapshotted = async (agent: string, keptBy: string) => {
      const taken = await snapshot(host, agent);
      expect(taken.status).to.equal(201);
      expect(taken.headers.get("x-fleek-record-kept-by")).to.equal(keptBy);
      return (await taken.json()) as SnapshotRecord;
    };
    // Stores with n = 5 and n = 6 in the host's blockstore (and the next node's): content for the records below.
    await post(host, lender, 5);
    const five = await snapshotted(lender, "1");
    await post(host, lender, 1);
    const six = await snapshotted(lender, "1");

    // Tampered: the host hands the next node a record of number 1 whose content is the n = 5 store,
    // then snapshots its real state (n = 3) as number 1 too, which the next node does not keep; the report holds the real one.
    const handed = await fetch(`${next.gatewayUrl}/agents/_records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ record: hostSigns(tampered, five, 1) }),
    });
    expect(handed.status).to.equal(202);
    await post(host, tampered, 3);
    const real = await snapshotted(tampered, "0");
    expect(real.sequence).to.equal(1);
    expect(real.root).to.not.equal(five.root);

    // Rolled back: the next node keeps record 1 (n = 2); the host's record 2 (the n = 6 store) is reported but never handed on.
    await post(host, rolledBack, 2);
    expect((await snapshotted(rolledBack, "1")).sequence).to.equal(1);
    // Reported and kept alike (n = 1): moved later with the chain down.
    await post(host, offline, 1);
    // Forged: the report holds record 1 (n = 4); the next node holds a newer record 7, validly
    // signed, but by a key outside the hosting set (written where a kept record goes).
    await post(host, forged, 4);
    const forgedReal = await snapshotted(forged, "1");
    const outsider = generateKeyPairSync("ed25519");
    const outsiderKey = Buffer.from(outsider.publicKey.export({ format: "der", type: "spki" }))
      .subarray(-32)
      .toString("hex");
    const forgedDir = path.join(next.dataDir, "services", "agents", "agents", forged);
    expect(fs.existsSync(path.join(forgedDir, "kept-record.json"))).to.equal(true);
    fs.writeFileSync(
      path.join(forgedDir, "kept-record.json"),
      JSON.stringify(
        signSnapshot({ agent: forged, root: six.root, bytes: six.bytes, sequence: 7, takenAt: Date.now(), nodeKey: outsiderKey }, outsider.privateKey),
      ),
    );
    reported.push(real, hostSigns(rolledBack, six, 2), await snapshotted(offline, "1"), forgedReal);
    // The next node is a committee member of epoch 1 in this story: its reporter writes the report's records at the close.
    await writeReportedAgentSnapshots(reportsDir(path.join(next.dataDir, "app")), 1, reported);
    // And epoch 2 closed with a later record of the rolled-back agent (n = 5), whose report is not on
    // chain: the proof served for that agent does not verify, the previous entry's (epoch 1) does.
    await writeReportedAgentSnapshots(reportsDir(path.join(next.dataDir, "app")), 2, [hostSigns(rolledBack, five, 3)]);
  });

  it("a report jails the host: at the epoch change the next node takes the agent over from the last snapshot record", async () => {
    const jailed = registered.get(host.nodeKey)!;
    const other = registered.get(next.nodeKey)!;
    const measured = (nodeId: number, uptime: number) => ({ nodeId, uptime, latencyMs: 1, bytesServed: 0n, deliveryAcks: 0n, revenue: 0n, reputation: 0 });
    const agentSnapshotsRoot = StandardMerkleTree.of(reported.map(reportLeafOf), REPORT_LEAF_TYPES).root;
    const report = await emptyReport(s, { nodes: [measured(jailed.id, 39), measured(other.id, 100)], agentSnapshotsRoot });
    await submitReport(s, [jailed, other], report);
    expect(await s.registry.epoch()).to.equal(2n);
    expect((await s.registry.activeSetIds()).map(Number)).to.deep.equal([other.id]);

    // The next node sees the new epoch's set within its poll, restores the snapshot (n = 3) and
    // serves. Requests come 4 at a time: they wait for one take-over, not one each.
    const served = await waitFor(
      () => Promise.all([0, 1, 2, 3].map(() => count(next))),
      (r) => r.some((a) => a.status === 200),
    );
    expect(served.map((a) => a.json)).to.deep.equal([{ n: 3 }, { n: 3 }, { n: 3 }, { n: 3 }]);
    expect(next.stderr().match(/agent taken over.*"agent":"counter"/g)).to.have.length(1);
    expect((await count(next, "POST")).json).to.deep.equal({ n: 4 });

    // The jailed node, still up, sends its clients to the new host.
    const moved = await waitFor(
      () => count(host),
      (r) => r.status === 307,
    );
    expect(moved.location).to.equal(`${next.gatewayUrl}/agents/counter/`);
    // The new host keeps serving its own state (the old host's writes after its last snapshot are lost).
    expect((await count(next)).json).to.deep.equal({ n: 4 });
  });

  it("serves a reported record's proof, and refuses a bad or unknown agent id", async () => {
    const proof = await fetch(`${next.gatewayUrl}/agents/_snapshots/${tampered}`);
    expect(proof.status).to.equal(200);
    const served = (await proof.json()) as { epoch: number; record: SnapshotRecord; proof: string[] };
    expect(served.epoch).to.equal(1);
    expect(served.record).to.deep.equal(reported[0]);
    const [event] = await s.registry.queryFilter(s.registry.filters.EpochReported(1));
    expect(StandardMerkleTree.verify(event.args.report.agentSnapshotsRoot, REPORT_LEAF_TYPES, reportLeafOf(served.record), served.proof)).to.equal(true);

    const bad = await fetch(`${next.gatewayUrl}/agents/_snapshots/counter`);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: string }).error).to.match(/marketplace agent id/);
    const unknown = await fetch(`${next.gatewayUrl}/agents/_snapshots/${lender}`);
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as { error: string }).error).to.match(new RegExp(`snapshot record of agent ${lender}\\b`));
  });

  it("refuses a record beside the reported one (its number, other content) and restores the reported one", async () => {
    // The next node kept the host's other record 1 (n = 5): the report's record 1 (n = 3) is restored.
    const tamperedServed = await waitFor(
      () => count(next, "GET", tampered),
      (r) => r.status === 200,
    );
    expect(tamperedServed.json).to.deep.equal({ n: 3 });
    expect(next.stderr()).to.match(new RegExp(`agent snapshot record refused.*"agent":"${tampered}".*a rollback or a tampered record`));
  });

  it("refuses a record older than the reported one, though it is the only one the next node holds", async () => {
    // The next node kept only record 1 (n = 2): the report's record 2 (n = 6) is restored, proven
    // by the entry before epoch 2's, whose report is not on chain.
    const rolledBackServed = await waitFor(
      () => count(next, "GET", rolledBack),
      (r) => r.status === 200,
    );
    expect(rolledBackServed.json).to.deep.equal({ n: 6 });
    expect(next.stderr()).to.match(new RegExp(`agent snapshot record refused.*"agent":"${rolledBack}".*a rollback or a tampered record`));
  });

  it("skips a newer record that fails the signer check and restores the reported one (the take-over goes on)", async () => {
    // Before, the newest record was taken without the check and refused at restore: 403, the agent unserved.
    const served = await waitFor(
      () => count(next, "GET", forged),
      (r) => r.status === 200,
    );
    expect(served.json).to.deep.equal({ n: 4 });
    expect(next.stderr()).to.match(new RegExp(`agent snapshot record refused.*"agent":"${forged}".*not one of the nodes that host agents`));
  });

  it("with the chain down, proves a record by a root read before, though another epoch named cannot be read (one failure drops only its entries)", async () => {
    await chain.close();
    chainClosed = true;
    // Epoch 2 closed with a later record of the agent (its report is not on chain, and the chain is
    // down): the entry of epoch 2 cannot be checked, its previous one (epoch 1, whose root the
    // take-overs above read) proves. The code before dropped every proof at the first chain error.
    const own = (await (await fetch(`${next.gatewayUrl}/agents/_snapshots/${offline}`)).json()) as { record: SnapshotRecord };
    await writeReportedAgentSnapshots(reportsDir(path.join(next.dataDir, "app")), 2, [hostSigns(offline, own.record, 2)]);
    const served = await waitFor(
      () => count(next, "GET", offline),
      (r) => r.status === 200,
    );
    expect(served.json).to.deep.equal({ n: 1 });
    expect(next.stderr()).to.match(new RegExp(`agent taken over.*"agent":"${offline}".*"reportedEpoch":1`));
    expect(next.stderr()).to.match(new RegExp(`the chain did not answer for a reported epoch's root.*"agent":"${offline}".*"epoch":2`));
  });

  it("takes an agent over without its reported record when the chain does not answer (a warning, not a stop)", async () => {
    // Its only entry names an epoch whose root was never read, and the chain is down.
    const lent = (await (await fetch(`${next.gatewayUrl}/agents/_records?agent=${lender}`)).json()) as { record: SnapshotRecord };
    await writeReportedAgentSnapshots(reportsDir(path.join(next.dataDir, "app")), 3, [hostSigns(dark, lent.record, 1)]);
    const served = await waitFor(
      () => count(next, "GET", dark),
      (r) => r.status === 200,
    );
    expect(served.json).to.deep.equal({ n: 0 });
    expect(next.stderr()).to.match(new RegExp(`the chain is unreachable: agent taken over without its reported record.*"agent":"${dark}"`));
  });
});
