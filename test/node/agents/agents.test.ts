/**
 * Issue 20, the agent runtime: a real `node run` process (gateway, agents service in its own
 * process, PGlite per agent in its own thread) called over HTTP. The contract (`fetch(request,
 * env)`, env.kv, env.sql, env.config, alarms), the single writer, idle agents closed and reopened
 * with their state, signed receipts, then the abuses the issue names: storage and timer floods, a
 * loop, a memory bomb and a runaway query — each a clear error while other agents keep serving.
 */
import { expect } from "chai";
import { verifyAgentReceipt, type AgentReceipt } from "../../../node/agents/agentRecords";
import { startAgentNode, type AgentNode } from "../../../testkit/agentNode";
import { waitForService } from "../../../testkit/functionNode";

const AGENTS = {
  counter: {
    config: { name: "Counter", greeting: "hi" },
    bundle: `export default { async fetch(request, env) {
      if (request.url.endsWith("/config")) return Response.json(env.config);
      const n = ((await env.kv.get("n")) ?? 0) + 1;
      await env.kv.put("n", n);
      return Response.json({ n });
    } }`,
  },
  notes: {
    config: { name: "Notes" },
    bundle: `export default { async fetch(request, env) {
      await env.sql.query("create table if not exists notes (id serial primary key, body text not null)");
      if (request.method === "POST") await env.sql.query("insert into notes (body) values ($1)", [await request.text()]);
      const { rows } = await env.sql.query("select id, body from notes order by id");
      const keys = await env.kv.list({ prefix: "" });
      return Response.json({ rows, keys: keys.map((k) => k.key) });
    } }`,
  },
  flood: {
    config: {},
    bundle: `export default { async fetch(request, env) {
      // Incompressible (PostgreSQL compresses long values): random printable characters.
      const big = Array.from({ length: 100000 }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join("");
      let written = 0;
      try { for (let i = 0; i < 1000; i++) { await env.kv.put("k" + i, big); written++; } return Response.json({ written, error: null }); }
      catch (e) { return Response.json({ written, error: e.message }); }
    } }`,
  },
  timers: {
    config: {},
    bundle: `export default {
      async fetch(request, env) {
        // The sandbox's WHATWG URL, as functions have it.
        const url = new URL(request.url);
        if (url.pathname.endsWith("/count")) return Response.json({ fired: (await env.kv.get("fired")) ?? 0 });
        const delay = Number(url.searchParams.get("ms"));
        const results = [];
        for (let i = 0; i < Number(url.searchParams.get("n")); i++) {
          try { await env.setAlarm(delay); results.push("set"); } catch (e) { results.push(e.message); }
        }
        return Response.json(results);
      },
      async alarm(env) { await env.kv.put("fired", ((await env.kv.get("fired")) ?? 0) + 1); },
    }`,
  },
  tally: {
    config: {},
    bundle: `export default { async fetch(request, env) {
      if (request.url.endsWith("/nul")) { try { await env.kv.put("a\\u0000b", 1); } catch (e) { return new Response(e.message); } }
      const n = ((await env.kv.get("n")) ?? 0) + 1;
      await env.kv.put("n", n);
      return Response.json({ n });
    } }`,
  },
  loop: { config: {}, bundle: `export default { async fetch(request, env) { if (request.url.endsWith("/after-kv")) await env.kv.get("x"); for (;;) {} } }` },
  // Host calls answered after its request ended: their code used to resume unwatched, and the loop held the isolate.
  leaver: {
    config: {},
    bundle: `export default { fetch(request, env) {
      if (request.url.endsWith("/leave")) {
        env.kv.get("never-cached").then(() => { for (;;) {} });
        fetch("http://10.0.0.1/").catch(() => { for (;;) {} });
        return new Response("left");
      }
      return new Response("here");
    } }`,
  },
  bomb: { config: {}, memoryMiB: 16, bundle: `export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e6).fill(0.5)); } }` },
  query: {
    config: {},
    bundle: `export default { async fetch(request, env) {
      if (request.url.endsWith("/runaway")) {
        try { await env.sql.query("with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r"); return new Response("finished"); }
        catch (e) { return new Response("refused: " + e.message); }
      }
      const n = ((await env.kv.get("n")) ?? 0) + 1;
      await env.kv.put("n", n);
      return Response.json({ n });
    } }`,
  },
};

const LIMITS = { cpuMs: 250, queryMs: 2_000, storageMiB: 1, alarms: 4, minAlarmMs: 500, idleMs: 3_000, maxOpen: 4 };

describe("agents (issue 20)", function () {
  this.timeout(240_000);
  let node: AgentNode;
  const call = async (id: string, path = "/", init: RequestInit = {}) => {
    const answer = await fetch(`${node.gatewayUrl}/agents/${id}${path}`, init);
    const text = await answer.text();
    return { status: answer.status, text, json: () => JSON.parse(text) as Record<string, unknown>, headers: answer.headers };
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
    node = await startAgentNode(AGENTS, { limits: LIMITS });
  });
  after(async () => node?.stop());

  it("runs fetch(request, env) with a durable key-value store, env.config and a signed receipt per request", async () => {
    const first = await call("counter");
    expect(first.status, first.text).to.equal(200);
    expect(first.json()).to.deep.equal({ n: 1 });
    expect((await call("counter")).json()).to.deep.equal({ n: 2 });
    expect((await call("counter", "/config")).json()).to.deep.equal({ name: "Counter", greeting: "hi" });
    const key = (await (await fetch(`${node.gatewayUrl}/agents/_key`)).json()) as { nodeKey: string; sealingKey: string };
    const third = await call("counter");
    expect(third.json()).to.deep.equal({ n: 3 });
    expect(third.headers.get("x-fleek-agent-meter")).to.equal(null);
    const receipt = JSON.parse(third.headers.get("x-fleek-receipt")!) as AgentReceipt;
    expect(receipt.agent).to.equal("counter");
    expect(receipt.nodeKey).to.equal(key.nodeKey);
    expect(receipt.bundleRoot).to.equal(node.roots.counter.bundle);
    expect(receipt.egressBytes).to.equal(Buffer.byteLength(third.text));
    expect(receipt.cpuUs).to.be.greaterThan(0);
    expect(verifyAgentReceipt(receipt)).to.equal(true);
    expect(verifyAgentReceipt({ ...receipt, cpuUs: receipt.cpuUs - 1 })).to.equal(false);
  });

  it("gives each agent a SQL store of its own (kv and SQL in one database), and 404 for an agent the node does not host", async () => {
    expect((await call("notes", "/", { method: "POST", body: "first" })).json()).to.deep.equal({ rows: [{ id: 1, body: "first" }], keys: [] });
    expect((await call("notes", "/", { method: "POST", body: "second" })).json()).to.deep.equal({
      rows: [
        { id: 1, body: "first" },
        { id: 2, body: "second" },
      ],
      keys: [],
    });
    const missing = await call("nobody");
    expect(missing.status).to.equal(404);
    expect(missing.json().error).to.equal('no agent "nobody" on this node');
  });

  it("serializes an agent's requests (single writer): 40 concurrent read-modify-writes count to 40", async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, () => call("query")));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(40).fill(200));
    expect(answers.map((a) => a.json().n as number).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("closes an idle agent's isolate and store, and reopens it with its state on the next request", async () => {
    expect((await call("counter")).status).to.equal(200);
    const status = async () => ((await (await fetch(`${node.gatewayUrl}/agents/`)).json()) as { agents: { id: string; open: boolean }[] }).agents;
    expect((await status()).find((a) => a.id === "counter")!.open).to.equal(true);
    await waitFor(status, (agents) => agents.find((a) => a.id === "counter")!.open === false);
    const after = await call("counter");
    expect(after.json()).to.deep.equal({ n: 5 });
  });

  it("fires alarms into alarm(env); refuses a delay under the minimum and alarms beyond the limit (timer flood)", async () => {
    const flood = await call("timers", "/set?ms=1000&n=6");
    expect(flood.json()).to.deep.equal([
      "set",
      "set",
      "set",
      "set",
      "setAlarm refused: 4 alarms are already pending (the limit)",
      "setAlarm refused: 4 alarms are already pending (the limit)",
    ]);
    expect((await call("timers", "/set?ms=10&n=1")).json()).to.deep.equal(["setAlarm refused: the delay must be an integer from 500 ms to one day"]);
    await waitFor(
      async () => (await call("timers", "/count")).json().fired,
      (fired) => fired === 4,
    );
    // Once they fired, alarms can be set again.
    expect((await call("timers", "/set?ms=600&n=1")).json()).to.deep.equal(["set"]);
  });

  it("refuses writes past the storage quota with a clear error; the agent still answers and other agents serve", async () => {
    const flood = await call("flood");
    expect(flood.status, flood.text).to.equal(200);
    const { written, error } = flood.json() as { written: number; error: string };
    expect(error).to.match(/^the agent's storage quota is used up \(\d+ of 1048576 bytes\): delete data to write again$/);
    // 1 MiB of quota holds about ten 100 kB values, never the thousand tried.
    expect(written).to.be.greaterThan(0).and.lessThan(1000);
    expect((await call("counter")).status).to.equal(200);
  });

  it("stops an infinite loop at the CPU limit (also after a host call) and serves the agent's next request with its state", async () => {
    for (const path of ["/", "/after-kv"]) {
      const started = Date.now();
      const loop = await call("loop", path);
      expect(loop.status, loop.text).to.equal(503);
      expect(loop.json().error).to.equal("the agent ran over its CPU time limit (250 ms)");
      expect(loop.headers.get("x-fleek-agent-error")).to.equal("cpu");
      expect(Date.now() - started).to.be.lessThan(30_000);
    }
    expect((await call("counter")).status).to.equal(200);
  });

  it("never resumes an agent after its request ended: loops left behind in host calls' answers cannot hold it", async () => {
    const left = await call("leaver", "/leave");
    expect([left.status, left.text]).to.deep.equal([200, "left"]);
    // Time for the host's answers to come back (a few ms): nothing can be awaited for what must not happen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const next = await call("leaver");
    expect([next.status, next.text]).to.deep.equal([200, "here"]);
  });

  it("kills a memory bomb at its heap limit while other agents keep serving", async () => {
    const bombs = await Promise.all([call("bomb"), call("counter"), call("bomb")]);
    // Near its heap limit V8 collects again and again on the agent's own CPU time, so whichever
    // limit comes first stops it (docs/functions.md "Heap bombs and CPU"); both are 503.
    const stopped = ["the agent ran out of memory (limit 16 MiB)", "the agent ran over its CPU time limit (250 ms)"];
    expect(bombs[0].status).to.equal(503);
    expect(stopped).to.include(bombs[0].json().error);
    expect(bombs[1].status).to.equal(200);
    expect(bombs[2].status).to.equal(503);
    expect(stopped).to.include(bombs[2].json().error);
    // A run a limit stopped is still receipted with the CPU it used (the handler runs on the
    // service's thread: a heap kill there is charged the call's duration).
    for (const bomb of [bombs[0], bombs[2]]) {
      const receipt = JSON.parse(bomb.headers.get("x-fleek-receipt")!) as AgentReceipt;
      expect(receipt.cpuUs).to.be.greaterThan(0);
      expect(verifyAgentReceipt(receipt)).to.equal(true);
    }
    expect((await call("notes")).status).to.equal(200);
  });

  it("stops a runaway query at the query time limit, then serves the agent again from its data folder", async () => {
    const before = (await call("query")).json().n as number;
    const runaway = await call("query", "/runaway");
    expect(runaway.text).to.equal("refused: the agent's query ran over its time limit (2000 ms); its store was stopped");
    expect((await call("query")).json()).to.deep.equal({ n: before + 1 });
  });

  it("answers a request only once its kv writes are committed: 60 concurrent increments, the service killed at once, all 60 kept", async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, () => call("tally")));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(60).fill(200));
    expect(answers.map((a) => a.json().n as number).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
    const { pid } = (await waitForService(node.gatewayUrl, "agents", (s) => s?.state === "running"))!;
    process.kill(pid!, "SIGKILL");
    await waitForService(node.gatewayUrl, "agents", (s) => s?.state === "running" && s.pid !== pid, 60_000);
    expect((await call("tally")).json()).to.deep.equal({ n: 61 });
    // A key with a NUL (PostgreSQL text cannot hold one) is refused, and nothing else is lost.
    expect((await call("tally", "/nul")).text).to.equal("a key is a non-empty string of at most 512 bytes, without NUL");
    expect((await call("tally")).json()).to.deep.equal({ n: 62 });
  });
});
