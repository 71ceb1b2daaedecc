/**
 * Issue 20, hosting as a lease (docs/agents.md "Hosting lease", docs/agents-runtime.md "Lease"): a
 * real `node run` process whose agents service reads AgentMarketplace on a real Hardhat chain
 * (served over JSON-RPC). An agent with an empty lease is refused (402); funded, it serves; when the
 * chain's time passes the lease's end it is refused with 402 and its isolate closed; funded again it
 * resumes with its key-value state intact. Paused by its owner it is refused with 423. A request in
 * flight when the lease ends finishes with its answer (it was admitted while funded).
 */
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite } from "../../../testkit/deploy";
import { startAgentNode, type AgentNode } from "../../../testkit/agentNode";
import { serveChain } from "../chain/chainNodes";

const COUNTER = {
  config: { name: "Counter" },
  bundle: `export default { async fetch(request, env) {
    if (request.url.includes("/slow")) {
      // In flight for the wall time the query names (no timers in the sandbox): a query that
      // sleeps, which the handler awaits (a busy loop would hold the service's thread meanwhile).
      const ms = Number(request.url.split("ms=")[1]);
      await env.sql.query("select pg_sleep($1)", [ms / 1000]);
      return Response.json({ slow: "finished" });
    }
    const n = ((await env.kv.get("n")) ?? 0) + 1;
    await env.kv.put("n", n);
    return Response.json({ n });
  } }`,
};

/** Sets an alarm on POST `?ms=`; its handler counts runs and keeps the last run's time. */
const ALARMED = {
  config: { name: "Alarmed" },
  bundle: `export default {
    async fetch(request, env) {
      if (request.method === "POST") await env.setAlarm(Number(request.url.split("ms=")[1]));
      return Response.json({ fired: (await env.kv.get("fired")) ?? 0, firedAt: (await env.kv.get("firedAt")) ?? null });
    },
    async alarm(env) {
      await env.kv.put("fired", ((await env.kv.get("fired")) ?? 0) + 1);
      await env.kv.put("firedAt", Date.now());
    },
  }`,
};

interface Status {
  id: string;
  open: boolean;
  busy: number;
  refused: number | null;
  paused?: boolean;
}

describe("agents: hosting lease on a real chain (issue 20)", function () {
  this.timeout(300_000);
  let node: AgentNode;
  let chain: { url: string; close: () => Promise<void> };
  let suite: Awaited<ReturnType<typeof deploySuite>>;

  /** The counter's last value served: a call made while the node has not yet seen a chain change is still served and counted. */
  let served = 0;
  const call = async (path = "/") => {
    const answer = await fetch(`${node.gatewayUrl}/agents/1${path}`);
    const text = await answer.text();
    if (answer.status === 200 && path === "/") served = (JSON.parse(text) as { n: number }).n;
    return { status: answer.status, text };
  };
  const status = async (): Promise<Status | undefined> => {
    const all = (await (await fetch(`${node.gatewayUrl}/agents/`)).json()) as { agents: Status[] };
    return all.agents.find((a) => a.id === "1");
  };
  const waitFor = async <T>(read: () => Promise<T>, until: (v: T) => boolean, ms = 60_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const value = await read();
      if (until(value)) return value;
      if (Date.now() > end) throw new Error(`condition not reached; last value ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    suite = await deploySuite();
    chain = await serveChain();
    node = await startAgentNode(
      { counter: COUNTER, alarmed: ALARMED },
      {
        limits: { cpuMs: 20_000, queryMs: 20_000, idleMs: 600_000 },
        marketplace: { rpcUrl: chain.url, address: await suite.agentMarketplace.getAddress(), ttlMs: 100 },
      },
    );
  });
  after(async () => {
    await node?.stop();
    await chain?.close();
  });

  it("refuses an unfunded agent (402), serves it funded, refuses it once the lease runs out and resumes it funded again with its state", async () => {
    const [, alice] = await hre.ethers.getSigners();
    const m = suite.agentMarketplace.connect(alice);
    await suite.usdc.mint(alice.address, 100_000n);
    await suite.usdc.connect(alice).approve(await m.getAddress(), hre.ethers.MaxUint256);
    const roots = node.roots.counter;
    await m.register("counter", `0x${roots.config}`, `0x${roots.bundle}`, 256, 0);

    // Registered with an empty lease: ended at once.
    const unfunded = await call();
    expect(unfunded.status, unfunded.text).to.equal(402);
    expect(unfunded.text).to.contain("hosting lease has run out");

    // 3,500 units: two hours at 1,750 an hour (256 MiB at 7,000 per GiB-hour).
    await m.fundLease(1, 3_500);
    const first = await waitFor(call, (r) => r.status !== 402);
    expect(first.status, first.text).to.equal(200);
    expect(JSON.parse(first.text)).to.deep.equal({ n: 1 });
    expect(JSON.parse((await call()).text)).to.deep.equal({ n: 2 });

    // Two hours and a second later on the chain: refused, closed, its state kept.
    await time.increase(7_201);
    const ended = await waitFor(call, (r) => r.status === 402);
    expect(ended.text).to.contain("resumes once the lease is funded");
    await waitFor(status, (s) => s?.open === false && s.refused === 402);

    // Funded again: it resumes where it was (calls served before the node saw the end counted too).
    const before = served;
    expect(before).to.be.at.least(2);
    await m.fundLease(1, 1_750);
    const resumed = await waitFor(call, (r) => r.status !== 402);
    expect(resumed.status, resumed.text).to.equal(200);
    expect(JSON.parse(resumed.text)).to.deep.equal({ n: before + 1 });

    // Paused by its owner: 423, the lease not charged; resumed: served with its state.
    await m.setPaused(1, true);
    const paused = await waitFor(call, (r) => r.status === 423);
    expect(paused.text).to.contain("paused by its owner");
    const beforePause = served;
    await m.setPaused(1, false);
    const back = await waitFor(call, (r) => r.status === 200);
    expect(JSON.parse(back.text)).to.deep.equal({ n: beforePause + 1 });
  });

  it("lets a request in flight when the lease expires finish with its answer, and refuses the next one", async () => {
    const [, alice] = await hre.ethers.getSigners();
    const m = suite.agentMarketplace.connect(alice);
    await m.fundLease(1, 1_750); // an hour more
    await waitFor(call, (r) => r.status === 200);
    let finished = false;
    const slow = call("/slow?ms=8000").then((r) => {
      finished = true;
      return r;
    });
    await waitFor(status, (s) => (s?.busy ?? 0) > 0);
    await time.increase(3 * 3_600);
    // The end is seen (the agent is refused) while the slow request still runs...
    await waitFor(status, (s) => s?.refused === 402);
    expect(finished, "the slow request finished before the end was seen: no request was in flight").to.equal(false);
    expect((await call()).status).to.equal(402);
    // ...and it finishes with its answer; the isolate is closed after it.
    const answer = await slow;
    expect(answer.status, answer.text).to.equal(200);
    expect(JSON.parse(answer.text)).to.deep.equal({ slow: "finished" });
    await waitFor(status, (s) => s?.open === false && s.busy === 0);
  });

  it("keeps a parked agent's alarms: none runs while it is paused, and once resumed the one due meanwhile runs without a request", async () => {
    const [, alice] = await hre.ethers.getSigners();
    const m = suite.agentMarketplace.connect(alice);
    const roots = node.roots.alarmed;
    await m.register("alarmed", `0x${roots.config}`, `0x${roots.bundle}`, 256, 0); // marketplace id 2
    await m.fundLease(2, 3_500);
    const get = async (init?: RequestInit) => {
      const answer = await fetch(`${node.gatewayUrl}/agents/2/?ms=6000`, init);
      return { status: answer.status, text: await answer.text() };
    };
    const usage = async () =>
      (await (await fetch(`${node.gatewayUrl}/agents/2/_fleek/usage`, { headers: { authorization: `Bearer ${node.operatorToken}` } })).json()) as {
        open: boolean;
        pendingAlarms: number;
      };
    const set = await waitFor(
      () => get({ method: "POST" }),
      (r) => r.status !== 402,
    );
    expect(set.status, set.text).to.equal(200);
    const due = Date.now() + 6_000;
    expect(JSON.parse(set.text)).to.deep.equal({ fired: 0, firedAt: null });

    // Paused before the alarm is due: parked, its isolate closed and its alarm's timer dropped (the row stays stored).
    await m.setPaused(2, true);
    await waitFor(get, (r) => r.status === 423);
    await waitFor(usage, (u) => !u.open && u.pendingAlarms === 0);
    // The due time passes while it is parked.
    await waitFor(
      async () => Date.now(),
      (now) => now > due + 1_000,
      30_000,
    );
    const resumedAt = Date.now();
    await m.setPaused(2, false);
    // No request: the node's sweep sees it served again and wakes it, which runs the alarm due meanwhile.
    await waitFor(usage, (u) => u.open);
    const fired = await waitFor(get, (r) => r.status === 200 && (JSON.parse(r.text) as { fired: number }).fired > 0);
    const after = JSON.parse(fired.text) as { fired: number; firedAt: number };
    expect(after.fired).to.equal(1);
    expect(after.firedAt, "the alarm ran while the agent was paused").to.be.at.least(resumedAt);
  });
});
