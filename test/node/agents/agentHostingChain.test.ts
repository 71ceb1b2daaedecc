/**
 * Issue 20, the hosting set from the chain (docs/agents-runtime.md "Hosting and take-over"): two
 * real `node run` processes whose agents service takes its hosting set from the NodeRegistry on a
 * real Hardhat chain (served over JSON-RPC) instead of the config. Both are registered with their
 * Ed25519 keys and gateways; the agent's host snapshots it, then a report jails the host. At the
 * epoch change the next node drops it from the set and takes the agent over from the last snapshot
 * record (signed by the jailed node while it was a host); the jailed node, still running,
 * redirects to the new host.
 */
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { Wallet } from "ethers";
import { agentHostOrder } from "../../../protocol/agentHosting";
import { signNodeKeyProof } from "../../../protocol/nodeKeyProof";
import type { SnapshotRecord } from "../../../node/agents/agentRecords";
import { planAgentNode, startAgentNode, type AgentNode, type AgentNodePlan } from "../../../testkit/agentNode";
import { emptyReport, MIN_STAKE, registrySuite, submitReport, type RegistrySuite, type TestNode } from "../../../testkit/registry";
import { CHAIN_ID, serveChain } from "../chain/chainNodes";

const COUNTER = {
  config: { name: "Counter" },
  bundle: `export default { async fetch(request, env) {
    let n = (await env.kv.get("n")) ?? 0;
    if (request.method === "POST") { n += 1; await env.kv.put("n", n); }
    return Response.json({ n });
  } }`,
};

/** Registers the planned node on the registry with its key and gateway port (other ports unused here, but non-zero). */
async function register(s: RegistrySuite, i: number, plan: AgentNodePlan): Promise<TestNode> {
  const owner = s.operators[i];
  const signer = new Wallet(Wallet.createRandom().privateKey);
  const gateway = Number(new URL(plan.gatewayUrl).port);
  const ports = { primary: gateway + 1, worker: gateway + 2, mempool: gateway + 3, rpc: gateway + 3, pool: gateway + 3, gateway };
  const proof = await signNodeKeyProof(CHAIN_ID, await s.registry.getAddress(), owner.address, plan.key, signer);
  await s.registry.connect(owner).register(`0x${plan.nodeKey}`, signer.address, { host: "127.0.0.1", ports }, MIN_STAKE, proof.signerProof, proof.keyProof);
  return { id: Number(await s.registry.nodeCount()), owner, signer, key: `0x${plan.nodeKey}` };
}

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
  const registered = new Map<string, TestNode>();

  const count = async (node: AgentNode, method = "GET") => {
    const answer = await fetch(`${node.gatewayUrl}/agents/counter/`, { method, redirect: "manual" });
    return { status: answer.status, location: answer.headers.get("location"), json: (await answer.json()) as { n?: number; error?: string } };
  };
  const snapshot = (node: AgentNode) =>
    fetch(`${node.gatewayUrl}/agents/counter/_fleek/snapshot`, { method: "POST", headers: { authorization: `Bearer ${node.operatorToken}` } });

  before(async () => {
    s = await registrySuite();
    chain = await serveChain();
    const plans = [await planAgentNode(), await planAgentNode()];
    for (const [i, plan] of plans.entries()) registered.set(plan.nodeKey, await register(s, i, plan));
    // Epoch 1 starts with both active (no committee yet: a forced change).
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    expect((await s.registry.activeSetIds()).length).to.equal(2);

    const first = agentHostOrder(
      "counter",
      plans.map((p) => p.nodeKey),
    )[0];
    const [hostPlan, nextPlan] = plans[0].nodeKey === first ? plans : [plans[1], plans[0]];
    // No `nodes` in the config: the set is the registry's.
    const hosting = {
      registry: { rpcUrl: chain.url, chainId: Number(CHAIN_ID), address: await s.registry.getAddress(), pollMs: 200 },
      snapshotEveryMs: 60_000,
      probeMs: 200,
    };
    [host, next] = await Promise.all([
      startAgentNode({ counter: COUNTER }, { plan: hostPlan, hosting, peers: [nextPlan.gatewayUrl] }),
      startAgentNode({ counter: COUNTER }, { plan: nextPlan, hosting, peers: [hostPlan.gatewayUrl] }),
    ]);
  });
  after(async () => {
    await next?.stop();
    await host?.stop();
    await chain?.close();
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

  it("a report jails the host: at the epoch change the next node takes the agent over from the last snapshot record", async () => {
    const jailed = registered.get(host.nodeKey)!;
    const other = registered.get(next.nodeKey)!;
    const measured = (nodeId: number, uptime: number) => ({ nodeId, uptime, latencyMs: 1, bytesServed: 0n, deliveryAcks: 0n, revenue: 0n, reputation: 0 });
    const report = await emptyReport(s, { nodes: [measured(jailed.id, 39), measured(other.id, 100)] });
    await submitReport(s, [jailed, other], report);
    expect(await s.registry.epoch()).to.equal(2n);
    expect((await s.registry.activeSetIds()).map(Number)).to.deep.equal([other.id]);

    // The next node sees the new epoch's set within its poll, restores the snapshot (n = 3) and serves.
    const served = await waitFor(
      () => count(next),
      (r) => r.status === 200,
    );
    expect(served.json).to.deep.equal({ n: 3 });
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
});
