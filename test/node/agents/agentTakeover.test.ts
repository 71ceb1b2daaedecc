/**
 * Issue 20, take-over: which node hosts an agent (rendezvous hashing over the nodes offering the
 * agents service, docs/agents-runtime.md "Hosting and take-over"), requests to another node
 * redirected to the host, periodic snapshots handed to the next node, and a host SIGKILLed
 * mid-session: the next node restores the last snapshot and the agent's counter goes on from the
 * snapshot's value. Also: a record signed by a node that may not host agents, or by one of the
 * hosting set that was not the agent's host, or an older record replayed, is refused, and
 * alarms survive a restart of the node (kept in the agent's store).
 */
import { expect } from "chai";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { concat, keccak256, toUtf8Bytes } from "ethers";
import { agentHostOrder } from "../../../protocol/agentHosting";
import { rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";
import { AgentHosting, type HostNode } from "../../../node/agents/agentHosting";
import { committeeProofSources } from "../../../node/agents/agentTakeover";
import { signSnapshot, type SnapshotRecord } from "../../../node/agents/agentRecords";
import { agentsConfigFrom } from "../../../node/agents/agentsConfig";
import { loadConfig } from "../../../node/config";
import { COUNTER_AGENT, planAgentNode, startAgentNode, type AgentNode } from "../../../testkit/agentNode";

const ALARMED = {
  config: { name: "Alarmed" },
  bundle: `export default {
    async fetch(request, env) {
      if (request.method === "POST") await env.setAlarm(Number(request.url.split("ms=")[1]));
      return Response.json({ fired: (await env.kv.get("fired")) ?? 0 });
    },
    async alarm(env) { await env.kv.put("fired", ((await env.kv.get("fired")) ?? 0) + 1); },
  }`,
};

const key = (i: number) => i.toString(16).padStart(64, "0");

/** Waits for `check` to give a value (polled), or fails after `ms` saying what it waited for. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("agent hosting order (issue 20)", () => {
  it("ranks nodes by keccak256(domain ‖ agent ‖ 0x00 ‖ node key), highest first", () => {
    const nodes = [key(1), key(2), key(3), key(4)];
    // The spec's formula, written out here: the order must be the scores sorted high to low.
    const score = (agent: string, node: string) =>
      BigInt(keccak256(concat([toUtf8Bytes("fleek-network/agent-host/v1\0"), toUtf8Bytes(agent), new Uint8Array([0]), "0x" + node])));
    for (const agent of ["counter", "memo", "a"]) {
      const expected = [...nodes].sort((x, y) => (score(agent, y) > score(agent, x) ? 1 : -1));
      expect(agentHostOrder(agent, nodes)).to.deep.equal(expected);
      expect(agentHostOrder(agent, [...nodes].reverse())).to.deep.equal(expected);
    }
  });

  it("moves only a departed node's agents, each to the next node in its own order", () => {
    const nodes = Array.from({ length: 6 }, (_, i) => key(i + 1));
    const agents = Array.from({ length: 300 }, (_, i) => `agent-${i}`);
    const gone = nodes[2];
    let moved = 0;
    const perNode = new Map<string, number>();
    for (const agent of agents) {
      const before = agentHostOrder(agent, nodes);
      perNode.set(before[0], (perNode.get(before[0]) ?? 0) + 1);
      const after = agentHostOrder(
        agent,
        nodes.filter((n) => n !== gone),
      );
      expect(after).to.deep.equal(before.filter((n) => n !== gone));
      if (before[0] === gone) moved++;
    }
    // 300 agents over 6 nodes: each node hosts some (50 on average), and only the departed node's move.
    expect(perNode.size).to.equal(6);
    for (const count of perNode.values()) expect(count).to.be.within(25, 80);
    expect(moved).to.equal(perNode.get(gone));
  });

  it("passes over a node that does not answer, and takes it back when it answers again", async () => {
    const nodes: HostNode[] = [1, 2, 3].map((i) => ({ nodeKey: key(i), gatewayUrl: `http://127.0.0.1:${9000 + i}` }));
    const down = new Set<string>();
    let probes = 0;
    const order = agentHostOrder("counter", [key(1), key(2), key(3)]);
    const last = order[2];
    const hosting = new AgentHosting(
      async () => ({ nodes, left: [{ nodeKey: key(7), atMs: 5_000 }] }),
      100,
      last,
      async (n) => {
        probes++;
        return !down.has(n.nodeKey);
      },
    );
    expect((await hosting.hostOf("counter")).nodeKey).to.equal(order[0]);
    down.add(order[0]);
    // The first node's answer is trusted for probeMs: wait for it to be probed again.
    const second = await waitFor("the second node to host", async () => ((await hosting.hostOf("counter")).nodeKey === order[1] ? true : undefined), 5_000);
    expect(second).to.equal(true);
    down.add(order[1]);
    await waitFor("this node to host", async () => ((await hosting.hostOf("counter")).nodeKey === last ? true : undefined), 5_000);
    down.clear();
    await waitFor("the first node back", async () => ((await hosting.hostOf("counter")).nodeKey === order[0] ? true : undefined), 5_000);
    expect(probes).to.be.greaterThan(3);
    expect(await hosting.isHostNode(key(2))).to.equal(true);
    expect(await hosting.isHostNode(key(9))).to.equal(false);
    // A node that left the set at the last epoch change (at 5,000 ms) signed as a host only before it left.
    expect(await hosting.isHostNode(key(7), 5_000)).to.equal(true);
    expect(await hosting.isHostNode(key(7), 5_001)).to.equal(false);
    expect(await hosting.isHostNode(key(7))).to.equal(false);
  });
});

describe("take-over's proof sources among the committees (issue 20)", () => {
  const node = (n: number): HostNode => ({ nodeKey: n.toString(16).padStart(64, "0"), gatewayUrl: `http://10.0.0.${n}:4220` });
  const keys = (nodes: HostNode[]) => nodes.map((n) => n.nodeKey).sort();

  it("asks the committee that closed the latest report first, then the current one, never a node asked already nor one twice", () => {
    // Node 2 is on both committees; node 1 is among the agent's first nodes, asked anyway.
    const committees = { closedLast: [node(1), node(2), node(3)], current: [node(2), node(4), node(5), node(6), node(7)] };
    const asked = new Set([node(1).nodeKey, node(9).nodeKey]);
    const three = committeeProofSources("7", asked, committees, 3);
    expect(three).to.have.length(3);
    expect(keys(three.slice(0, 2))).to.deep.equal(keys([node(2), node(3)]));
    expect([node(4), node(5), node(6), node(7)].map((n) => n.nodeKey)).to.include(three[2].nodeKey);
    // Enough members of the committee that closed the report: none of the current one's.
    const closing = { closedLast: [3, 4, 5, 6, 7].map(node), current: [10, 11, 12].map(node) };
    const fromClosing = committeeProofSources("7", new Set(), closing, 3);
    expect(fromClosing.every((n) => closing.closedLast.includes(n))).to.equal(true);
    expect(new Set(keys(fromClosing)).size).to.equal(3);
    // Fewer members than asked for: all of them, once.
    expect(keys(committeeProofSources("7", asked, committees, 10))).to.deep.equal(keys([2, 3, 4, 5, 6, 7].map(node)));
    expect(committeeProofSources("7", asked, { closedLast: [], current: [] }, 3)).to.deep.equal([]);
  });
});

describe("agent hosting config (issue 20)", () => {
  const hosting = (h: unknown) => () => agentsConfigFrom({ hosting: h });
  it("takes a node set with defaults and refuses a bad one with the key named", () => {
    const nodes = [{ nodeKey: key(1), gatewayUrl: "http://10.0.0.1:8080/" }];
    expect(agentsConfigFrom({ hosting: { nodes } }).hosting).to.deep.equal({
      nodes: [{ nodeKey: key(1), gatewayUrl: "http://10.0.0.1:8080" }],
      snapshotEveryMs: 600_000,
      probeMs: 5_000,
    });
    expect(hosting({ nodes: [] })).to.throw("config: services.agents.hosting.nodes must list 1-256 nodes");
    expect(hosting({ nodes: [...nodes, ...nodes] })).to.throw("config: services.agents.hosting.nodes names a node twice");
    expect(hosting({ nodes: [{ nodeKey: "AB", gatewayUrl: "http://x" }] })).to.throw(
      "config: services.agents.hosting.nodes[0].nodeKey must be 32 bytes of lower-case hex",
    );
    expect(hosting({ nodes: [{ nodeKey: key(1), gatewayUrl: "ftp://x/y" }] })).to.throw(
      "config: services.agents.hosting.nodes[0].gatewayUrl must be an http(s) origin",
    );
    expect(hosting({ nodes, snapshotEveryMs: 5 })).to.throw("config: services.agents.hosting.snapshotEveryMs must be an integer of at least 100 ms");
    expect(hosting({ nodes, every: 1 })).to.throw("config: unknown key services.agents.hosting.every");
  });

  it("takes the set from a registry instead (not both), with the registry's settings checked", () => {
    const registry = { rpcUrl: "http://127.0.0.1:8545", chainId: 31337, address: `0x${"ab".repeat(20)}` };
    expect(agentsConfigFrom({ hosting: { registry } }).hosting).to.deep.equal({
      registry: { ...registry, pollMs: 5_000 },
      snapshotEveryMs: 600_000,
      probeMs: 5_000,
    });
    expect(hosting({ registry, nodes: [{ nodeKey: key(1), gatewayUrl: "http://x" }] })).to.throw(
      "config: services.agents.hosting takes its nodes from nodes or from registry, one of the two",
    );
    expect(hosting({})).to.throw("config: services.agents.hosting takes its nodes from nodes or from registry, one of the two");
    expect(hosting({ registry: { ...registry, address: "0x12" } })).to.throw(
      "config: services.agents.hosting.registry.address must be the NodeRegistry address",
    );
    expect(hosting({ registry: { ...registry, pollMs: 10 } })).to.throw(
      "config: services.agents.hosting.registry.pollMs must be an integer of at least 100 ms",
    );
    expect(hosting({ registry: { ...registry, url: "x" } })).to.throw("config: unknown key services.agents.hosting.registry.url");
  });

  it("takes the registry's rpcUrl, chainId and address from the node's chain settings when the section leaves them out", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hosting-config-"));
    try {
      const file = path.join(dir, "node.json");
      const committee = { rpcUrl: "http://127.0.0.1:8545", chainId: 8453, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
      const load = (registry: object, from: object = committee) => {
        const services = { agents: { agents: {}, hosting: { registry } } };
        fs.writeFileSync(
          file,
          JSON.stringify({
            keySeed: "11".repeat(32),
            dataDir: "data",
            mempoolPort: 7100,
            committee: from,
            gateway: { port: 4220, blockstore: "blocks" },
            services,
          }),
        );
        return agentsConfigFrom(loadConfig(file).services!.agents).hosting;
      };
      // Written once, in `committee`: the hosting set reads the same chain and registry.
      expect(load({})).to.deep.equal({
        registry: { rpcUrl: "http://127.0.0.1:8545", chainId: 8453, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", pollMs: 5_000 },
        snapshotEveryMs: 600_000,
        probeMs: 5_000,
      });
      // What the section gives stays.
      expect(load({ rpcUrl: "https://rpc.example", pollMs: 1_000 })?.registry).to.deep.equal({
        rpcUrl: "https://rpc.example",
        chainId: 8453,
        address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        pollMs: 1_000,
      });
      // A node that follows no chain must write them.
      fs.writeFileSync(path.join(dir, "committee.json"), "{}");
      expect(() => load({}, { file: "committee.json" })).to.throw(
        "config: services.agents.hosting.registry.rpcUrl must be an http(s) URL (a node that follows the chain takes it from committee.rpcUrl)",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("agent take-over between nodes (issue 20)", function () {
  this.timeout(300_000);
  let host: AgentNode;
  let next: AgentNode;
  let outsider: KeyObject;
  let outsiderKey: string;
  const operator = (node: AgentNode, body?: unknown): RequestInit => ({
    method: "POST",
    headers: { authorization: `Bearer ${node.operatorToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const usage = async (node: AgentNode) =>
    (await (await fetch(`${node.gatewayUrl}/agents/counter/_fleek/usage`, { headers: { authorization: `Bearer ${node.operatorToken}` } })).json()) as {
      lastSnapshot: SnapshotRecord | null;
      keptRecord: SnapshotRecord | null;
      snapshotPasses: number;
    };
  const count = async (node: AgentNode, method = "GET") => {
    const answer = await fetch(`${node.gatewayUrl}/agents/counter/`, { method, redirect: "manual" });
    return { status: answer.status, location: answer.headers.get("location"), json: (await answer.json()) as { n?: number; error?: string } };
  };

  before(async () => {
    const plans = [await planAgentNode(), await planAgentNode()];
    const nodes = plans.map((p) => ({ nodeKey: p.nodeKey, gatewayUrl: p.gatewayUrl }));
    // The agent's host is the first node of its order; the test names the two by role.
    const first = agentHostOrder(
      "counter",
      nodes.map((n) => n.nodeKey),
    )[0];
    const [hostPlan, nextPlan] = plans[0].nodeKey === first ? plans : [plans[1], plans[0]];
    // A third node of the hosting set that ranks last for the agent and never runs: its records were never the host's.
    do {
      outsider = generateKeyPairSync("ed25519").privateKey;
      outsiderKey = rawEd25519PublicKey(outsider).toString("hex");
    } while (agentHostOrder("counter", [...nodes.map((n) => n.nodeKey), outsiderKey])[2] !== outsiderKey);
    const hosting = { nodes: [...nodes, { nodeKey: outsiderKey, gatewayUrl: "http://127.0.0.1:1" }], snapshotEveryMs: 60_000, probeMs: 200 };
    [host, next] = await Promise.all([
      startAgentNode({ counter: COUNTER_AGENT }, { plan: hostPlan, hosting, peers: [nextPlan.gatewayUrl] }),
      startAgentNode({ counter: COUNTER_AGENT }, { plan: nextPlan, hosting: { ...hosting, snapshotEveryMs: 1_000 }, peers: [hostPlan.gatewayUrl] }),
    ]);
    for (const node of [host, next]) {
      const answered = (await (await fetch(`${node.gatewayUrl}/agents/_key`)).json()) as { nodeKey: string };
      expect(answered.nodeKey).to.equal(node.nodeKey);
    }
  });
  after(async () => {
    await next?.stop();
    await host?.stop();
  });

  it("redirects a request to the agent's host; the host's snapshot record is kept by the next node", async () => {
    const redirected = await count(next, "POST");
    expect(redirected.status).to.equal(307);
    expect(redirected.location).to.equal(`${host.gatewayUrl}/agents/counter/`);
    for (let i = 1; i <= 3; i++) expect((await count(host, "POST")).json).to.deep.equal({ n: i });
    const taken = await fetch(`${host.gatewayUrl}/agents/counter/_fleek/snapshot`, operator(host));
    expect(taken.status).to.equal(201);
    expect(taken.headers.get("x-fleek-record-kept-by")).to.equal("1");
    const record = (await taken.json()) as SnapshotRecord;
    expect(record.nodeKey).to.equal(host.nodeKey);
    expect((await usage(next)).keptRecord).to.deep.equal(record);
  });

  it("refuses to restore a record signed by a node that does not host agents", async () => {
    const record = (await usage(next)).keptRecord!;
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const strangerKey = rawEd25519PublicKey(stranger).toString("hex");
    const forged = signSnapshot({ ...record, nodeKey: strangerKey, sequence: record.sequence + 1 }, stranger);
    const restored = await fetch(`${next.gatewayUrl}/agents/counter/_fleek/restore`, operator(next, { record: forged }));
    expect([restored.status, ((await restored.json()) as { error: string }).error]).to.deep.equal([
      403,
      `snapshot refused: signed by node ${strangerKey}, which is not one of the nodes that host agents`,
    ]);
    // Nor is it kept when handed over as a host's record.
    const handed = await fetch(`${next.gatewayUrl}/agents/_records`, { method: "POST", body: JSON.stringify({ record: forged }) });
    expect(handed.status).to.equal(400);
    expect((await usage(next)).keptRecord).to.deep.equal(record);
  });

  it("refuses a record signed by a node of the hosting set that was not the agent's host (the host ranks before it and answers)", async () => {
    const record = (await usage(next)).keptRecord!;
    const notHost = signSnapshot({ ...record, nodeKey: outsiderKey, sequence: record.sequence + 1 }, outsider);
    const restored = await fetch(`${next.gatewayUrl}/agents/counter/_fleek/restore`, operator(next, { record: notHost }));
    expect([restored.status, ((await restored.json()) as { error: string }).error]).to.deep.equal([
      403,
      `snapshot refused: signed by node ${outsiderKey}, which was not the agent's host: node ${host.nodeKey} comes before it in the agent's order and answers`,
    ]);
    const handed = await fetch(`${next.gatewayUrl}/agents/_records`, { method: "POST", body: JSON.stringify({ record: notHost }) });
    expect(handed.status).to.equal(400);
    expect((await usage(next)).keptRecord).to.deep.equal(record);
  });

  it("a host SIGKILLed mid-session: the next node resumes the agent from its last snapshot", async () => {
    // Two more increments after the snapshot (n = 5), then the host dies with one in flight.
    expect((await count(host, "POST")).json).to.deep.equal({ n: 4 });
    expect((await count(host, "POST")).json).to.deep.equal({ n: 5 });
    const inFlight = fetch(`${host.gatewayUrl}/agents/counter/`, { method: "POST" }).catch((error: unknown) => error);
    host.child.kill("SIGKILL");
    await inFlight;
    // The next node finds the host silent, restores the snapshot (n = 3) and counts on from it. A
    // probe that found the host up just before the kill is trusted for probeMs (200 ms): until
    // then the next node still redirects, and a redirected POST counts nothing.
    const resumed = await waitFor("the next node to serve the agent", async () => {
      const answer = await count(next, "POST");
      return answer.status === 307 ? undefined : answer;
    });
    expect(resumed).to.deep.equal({ status: 200, location: null, json: { n: 4 } });
    // Now its host, it snapshots the changed state itself within a period, then no more while nothing changes.
    const own = await waitFor("the next node's own snapshot", async () => {
      const u = await usage(next);
      return u.lastSnapshot?.nodeKey === next.nodeKey ? u : undefined;
    });
    await waitFor("two more snapshot passes", async () => ((await usage(next)).snapshotPasses >= own.snapshotPasses + 2 ? true : undefined));
    expect((await usage(next)).lastSnapshot).to.deep.equal(own.lastSnapshot);
    expect((await count(next)).json).to.deep.equal({ n: 4 });
    // Its record goes on from the restored one's number; the host's record 1, replayed, is refused.
    const hostRecord = (await usage(next)).keptRecord!;
    expect([hostRecord.sequence, own.lastSnapshot!.sequence]).to.deep.equal([1, 2]);
    const replayed = await fetch(`${next.gatewayUrl}/agents/counter/_fleek/restore`, operator(next, { record: hostRecord }));
    expect([replayed.status, ((await replayed.json()) as { error: string }).error]).to.deep.equal([
      409,
      "snapshot refused: record 1 is not newer than the state's record 2",
    ]);
    expect((await count(next)).json).to.deep.equal({ n: 4 });
  });

  it("the first host comes back: it takes the agent back with the newer state the other node holds", async () => {
    await host.restart();
    // Its own last snapshot says n = 3; the other node's newer one (n = 4) wins.
    expect((await count(host, "POST")).json).to.deep.equal({ n: 5 });
    const back = await waitFor("the other node to redirect again", async () => {
      const answer = await count(next);
      return answer.status === 307 ? answer : undefined;
    });
    expect(back.location).to.equal(`${host.gatewayUrl}/agents/counter/`);
    expect((await count(host)).json).to.deep.equal({ n: 5 });
  });
});

describe("agent alarms across a restart (issue 20)", function () {
  this.timeout(300_000);
  let node: AgentNode;
  before(async () => {
    node = await startAgentNode({ alarmed: ALARMED }, { limits: { minAlarmMs: 500 } });
  });
  after(async () => {
    await node?.stop();
  });

  it("an alarm set before a clean restart fires after it (kept in the agent's store)", async () => {
    const set = await fetch(`${node.gatewayUrl}/agents/alarmed/?ms=4000`, { method: "POST" });
    expect(await set.json()).to.deep.equal({ fired: 0 });
    await node.restart();
    const headers = { authorization: `Bearer ${node.operatorToken}` };
    // No request opens the agent: the restarted node wakes it when the alarm is due.
    await waitFor("the agent woken and its alarm run", async () => {
      const u = (await (await fetch(`${node.gatewayUrl}/agents/alarmed/_fleek/usage`, { headers })).json()) as { open: boolean; pendingAlarms: number };
      return u.open && u.pendingAlarms === 0 ? true : undefined;
    });
    expect(await (await fetch(`${node.gatewayUrl}/agents/alarmed/`)).json()).to.deep.equal({ fired: 1 });
  });
});
