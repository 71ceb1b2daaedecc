/**
 * Issue 19, edge functions: a real `node run` process with its gateway and the functions service
 * (its own process), called over HTTP. The contract (`fetch(request)` and `main(params)`), then
 * every abuse the issue names: loops, memory bombs, sandbox escapes, private fetches, oversized
 * bundles and bodies, a crashed service process — each a clear status and reason, the node and
 * other functions serving on, consensus committing throughout.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import { NodeClient } from "../../../node/client/client";
import { SubmitStatus, type CommittedFrame } from "../../../node/client/protocol";
import { signTransaction, transactionPayload } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { startFunctionNode, waitForService, type FunctionNode } from "../../../testkit/functionNode";

/**
 * The functions' CPU limit here: above what a cold request's compile and lockdown cost on a loaded
 * 2-core machine (50 ms was exceeded there by the tampering and fetch cases, which are not about
 * the limit), small enough that the loop case stays quick.
 */
const CPU_MS = 150;
/**
 * The test machine has 2 cores shared with other jobs (load 10+ while this was written): a killed
 * isolate's thread and the HTTP hops wait for a core, longer the longer the run queue. Quiet, the
 * loop answers within the limit + 5 ms + a cold request (docs/functions.md); the slack is 20 ms
 * per core's worth of load (a 2-core machine at load 12: 120 ms), at least 50 ms (a loop resumed
 * after an await answered 44 ms past the limit on a loaded machine, the load read minutes earlier), far below
 * the wall limit at which a loop would end without the CPU limit. Read when asserted: the load
 * when the file loaded says nothing of the load minutes later.
 */
const schedulingSlackMs = () => Math.max(50, (20 * os.loadavg()[0]) / os.cpus().length);
const KIB = 1024;
const WALL_MS = 2_000;

const FUNCTIONS = {
  hello: `export default { async fetch(request) { return new Response("hello " + request.method + " " + request.url) } }`,
  main: `export function main(params) { return { method: params.method, path: params.path, query: params.query, body: params.body ?? null, header: params.headers["x-test"] ?? null } }`,
  transform: `export default { async fetch(request) { const x = await request.json(); return Response.json({ sum: x.a + x.b, keys: Object.keys(x).sort() }) } }`,
  coldOnly: `export default { fetch() { return new Response("first") } }`,
  loop: `export default { fetch() { for (;;) {} } }`,
  loopAfterAwait: `export default { async fetch() { await Promise.resolve(); for (;;) {} } }`,
  loopAfterFetch: `export default { async fetch() { try { await fetch("http://10.0.0.1/"); } catch {} for (;;) {} } }`,
  heapBomb: `export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e7).fill(0.5)); } }`,
  bufferBomb: `export default { fetch() { const hoard = []; for (;;) hoard.push(new Float64Array(2 ** 25)); } }`,
  // Records what the shared built-ins look like when it starts, then tries to change each of them
  // (every attempt on its own: a module is strict code, so a refused assignment throws).
  tamper: `export default { async fetch() {
    const seen = {
      polluted: ({}).polluted ?? null,
      arrayMap: [1].map((x) => x + 1)[0],
      functionCall: typeof Function.prototype.call === "function" && Function.prototype.call.name,
      jsonParse: JSON.parse("[7]")[0],
      promiseThen: await Promise.resolve(3).then((x) => x * 2),
      fetch: fetch.name,
      response: typeof Response.json,
      errorPrepare: typeof Error.prepareStackTrace,
    };
    const attempts = {
      objectPrototype: () => { Object.prototype.polluted = "yes"; },
      arrayPrototype: () => { Array.prototype.map = () => "hijacked"; },
      functionPrototype: () => { Function.prototype.call = () => "hijacked"; },
      jsonParse: () => { JSON.parse = () => ["hijacked"]; },
      promiseThen: () => { Promise.prototype.then = function () { return "hijacked"; }; },
      fetch: () => { globalThis.fetch = () => "hijacked"; },
      response: () => { globalThis.Response = { json: "hijacked" }; },
      redefine: () => { Object.defineProperty(globalThis, "fetch", { value: () => "hijacked" }); },
      deleteGlobal: () => { delete globalThis.JSON; },
      prototypeSwap: () => { Object.setPrototypeOf(Array.prototype, { polluted: "yes" }); },
      viaProto: () => { ({}).__proto__.polluted = "yes"; },
      errorPrepare: () => { Error.prepareStackTrace = () => "hijacked"; },
    };
    const refused = {};
    for (const [name, attempt] of Object.entries(attempts)) {
      try { attempt(); refused[name] = false; } catch (e) { refused[name] = e instanceof TypeError; }
    }
    return Response.json({ seen, refused });
  } }`,
  // A realistic prototype pollution: a naive deep merge of the client's JSON (CVE-2019-10744 style).
  merge: `export default { async fetch(request) {
    const merge = (target, source) => {
      for (const key of Object.keys(source)) {
        if (source[key] && typeof source[key] === "object") merge(target[key] ??= {}, source[key]);
        else target[key] = source[key];
      }
      return target;
    };
    const settings = {};
    let error = null;
    try { merge(settings, JSON.parse(await request.text())); } catch (e) { error = e.constructor.name; }
    return Response.json({ isAdmin: ({}).isAdmin ?? null, error });
  } }`,
  // The contract: the function's own module-scope state and new globals persist between its
  // requests; common code that shadows a frozen built-in property on its own objects still works.
  stateful: `let served = 0;
  class NotFound extends Error { constructor(m) { super(m); this.name = "NotFound"; } }
  function Point(x) { this.x = x; }
  Point.prototype.toString = function () { return "P" + this.x; };
  export default { fetch() {
    served++;
    globalThis.seenByGlobal = (globalThis.seenByGlobal ?? 0) + 1;
    return Response.json({ served, seenByGlobal: globalThis.seenByGlobal, error: String(new NotFound("x")), point: String(new Point(3)) });
  } }`,
  escape: `export default { fetch() {
    const viaFunction = (() => { try { return Function("return typeof process")(); } catch (e) { return "threw"; } })();
    const viaConstructor = (() => { try { return ({}).constructor.constructor("return typeof require")(); } catch (e) { return "threw"; } })();
    return Response.json({ process: typeof process, require: typeof require, module: typeof module, global: typeof global, Buffer: typeof Buffer, viaFunction, viaConstructor });
  } }`,
  fetcher: `export default { async fetch(request) {
    const target = await request.text();
    try { const answer = await fetch(target); return new Response("reached " + answer.status); }
    catch (e) { return new Response("failed: " + e.message); }
  } }`,
  manyFetches: `export default { async fetch() {
    const errors = [];
    for (let i = 0; i < 60; i++) { try { await fetch("http://10.0.0.1/"); } catch (e) { errors.push(e.message); } }
    return Response.json({ first: errors[0], last: errors[59] });
  } }`,
  never: `export default { fetch() { return new Promise(() => {}); } }`,
  throws: `export default { fetch() { throw new Error("boom at " + 42) } }`,
  oversized: `export default { fetch() { return new Response("never") } }\n//${"x".repeat(70 * KIB)}`,
  bigAnswer: `export default { fetch(request) { return new Response("x".repeat(64 * 1024 + (request.url.endsWith("/fits") ? 0 : 1))) } }`,
  importer: `import fs from "node:fs"; export default { fetch() { return new Response(typeof fs) } }`,
  broken: `export default { fetch( {`,
};
const NAMES = Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[];

describe("edge functions (issue 19)", function () {
  this.timeout(120_000);
  let node: FunctionNode;
  const root = (name: keyof typeof FUNCTIONS) => node.roots[NAMES.indexOf(name)];
  const call = async (name: keyof typeof FUNCTIONS, init: RequestInit = {}, path = "/") => {
    const started = performance.now();
    const answer = await fetch(`${node.gatewayUrl}/fn/blake3/${root(name)}${path}`, init);
    const text = await answer.text();
    return { status: answer.status, text, headers: answer.headers, ms: performance.now() - started };
  };

  before(async () => {
    node = await startFunctionNode(Object.values(FUNCTIONS), {
      cpuMs: CPU_MS,
      wallMs: WALL_MS,
      bundleBytes: 64 * KIB,
      requestBytes: 64 * KIB,
      responseBytes: 64 * KIB,
    });
  });
  after(async () => node?.stop());

  describe("contract", () => {
    it("runs export default { fetch(request) } with the path and query after the root", async () => {
      const answer = await call("hello", {}, "/some/path?x=1");
      expect(answer.status).to.equal(200);
      expect(answer.text).to.equal(`hello GET ${node.gatewayUrl}/some/path?x=1`);
      expect(answer.headers.get("content-type")).to.equal("text/plain;charset=UTF-8");
      expect(answer.headers.get("x-fleek-function")).to.equal(root("hello"));
      // An unpaid node (no chain) passes neither the service's meter nor a receipt on.
      expect([answer.headers.get("x-fleek-meter"), answer.headers.get("x-fleek-receipt")]).to.deep.equal([null, null]);
    });

    it("runs Fleek's main(params) and answers its object as JSON", async () => {
      // Built in the isolate for a main module (sandboxPrelude.ts): a repeated key keeps its last
      // value, "+" and percent escapes decode, the body is UTF-8 text.
      const answer = await call("main", { method: "POST", body: "payload é", headers: { "x-test": "yes" } }, "/p?y=2&y=3&z=a+b%20c");
      expect(answer.status).to.equal(200);
      expect(JSON.parse(answer.text)).to.deep.equal({ method: "POST", path: "/p", query: { y: "3", z: "a b c" }, body: "payload é", header: "yes" });
      const get = await call("main", {}, "/q");
      expect(JSON.parse(get.text)).to.deep.equal({ method: "GET", path: "/q", query: {}, body: null, header: null });
    });

    it("reads a JSON body and answers Response.json", async () => {
      const answer = await call("transform", { method: "POST", body: JSON.stringify({ b: 2, a: 40 }), headers: { "content-type": "application/json" } });
      expect(answer.status).to.equal(200);
      expect(answer.headers.get("content-type")).to.equal("application/json");
      expect(JSON.parse(answer.text)).to.deep.equal({ sum: 42, keys: ["a", "b"] });
    });

    it("is also reachable as /services/functions/fn/...", async () => {
      const answer = await fetch(`${node.gatewayUrl}/services/functions/fn/blake3/${root("hello")}/x`);
      expect(answer.status).to.equal(200);
      expect(await answer.text()).to.equal(`hello GET ${node.gatewayUrl}/x`);
    });

    it("runs a function by its BLAKE3 raw CID; refuses unknown roots, bad roots and CIDs, sha2-256 CIDs and modules that do not compile or import", async () => {
      const unknown = await fetch(`${node.gatewayUrl}/fn/blake3/${"ab".repeat(32)}/`);
      expect(unknown.status).to.equal(404);
      expect(await unknown.text()).to.contain("no function with root");
      const bad = await fetch(`${node.gatewayUrl}/fn/blake3/not-a-root/`);
      expect(bad.status).to.equal(400);
      // The hello bundle by its CIDv1 raw BLAKE3 CID (multihash 0x1e over its b3sum; base32 by
      // Python's base64.b32encode): the same function, read and verified by root.
      const byCid = await fetch(`${node.gatewayUrl}/fn/ipfs/bafkr4ifvlx3qp7iu6blqg4vmjlewfebdgab3jhfki7en6wp3milu2xkatq/x`);
      expect(await byCid.text()).to.equal(`hello GET ${node.gatewayUrl}/x`);
      expect(root("hello")).to.equal("b55df707fd14f0570372ac4ac96290233003b49caa47c8df59fb62174d5d409c");
      // The same bytes by their sha2-256 raw CID: not indexed by the blockstore, 501 with the way round it.
      const bySha = await fetch(`${node.gatewayUrl}/fn/ipfs/bafkreif352d3a4s44t2zliquxwlsi4xgvf4jlexy5ezuullk6nr6fcgwga/x`);
      expect(bySha.status).to.equal(501);
      expect(await bySha.text()).to.contain("BLAKE3 multihash");
      expect((await fetch(`${node.gatewayUrl}/fn/ipfs/not-a-cid/x`)).status).to.equal(400);
      const broken = await call("broken");
      expect(broken.status).to.equal(422);
      expect(broken.text).to.contain("does not compile");
      const importer = await call("importer");
      expect(importer.status).to.equal(500);
      expect(importer.text).to.contain("imports are not supported");
      const thrower = await call("throws");
      expect(thrower.status).to.equal(500);
      expect(JSON.parse(thrower.text).error).to.equal("the function threw: boom at 42");
    });
  });

  describe("abuse", () => {
    it("kills an infinite loop at the CPU limit (+5 ms beyond a cold trivial request, + the shared machine's scheduling slack) and serves the next request", async () => {
      const cold = await call("coldOnly"); // its first request: a new isolate, the same set-up cost each loop pays
      for (const name of ["loop", "loopAfterAwait", "loopAfterFetch"] as const) {
        const answer = await call(name);
        expect(answer.status, answer.text).to.equal(503);
        expect(JSON.parse(answer.text).error).to.equal(`the function ran over its CPU time limit (${CPU_MS} ms)`);
        expect(answer.ms).to.be.at.least(CPU_MS);
        console.log(`      ${name}: answered after ${answer.ms.toFixed(1)} ms (cold trivial request ${cold.ms.toFixed(1)} ms)`);
        expect(answer.ms, `loop answered after ${answer.ms.toFixed(1)} ms, a cold trivial request took ${cold.ms.toFixed(1)} ms`).to.be.at.most(
          CPU_MS + 5 + cold.ms + schedulingSlackMs(),
        );
        expect((await call("transform", { method: "POST", body: '{"a":1,"b":2}' })).status).to.equal(200);
      }
    });

    it("answers 504 for a function that never answers, at the wall limit, and serves the next request", async () => {
      const answer = await call("never");
      expect(answer.status).to.equal(504);
      expect(JSON.parse(answer.text).error).to.equal(`the function ran over its wall time limit (${WALL_MS} ms)`);
      expect(answer.ms).to.be.within(WALL_MS, WALL_MS + 500);
      expect((await call("hello")).status).to.equal(200);
    });

    it("survives ten memory bombs in a row (heap and buffers) while another function keeps serving", async () => {
      let bombing = true;
      const others: number[] = [];
      const meanwhile = (async () => {
        while (bombing) others.push((await call("hello")).status);
      })();
      for (let i = 0; i < 10; i++) {
        const answer = await call(i % 2 ? "heapBomb" : "bufferBomb");
        expect(answer.status, answer.text).to.equal(503);
        // Near the heap limit V8 collects garbage again and again on the function's CPU time: whichever
        // limit it reaches first stops it (the heap limit alone is shown in functionRuntime.test.ts).
        const reasons = ["the function ran out of memory (limit 128 MiB)", `the function ran over its CPU time limit (${CPU_MS} ms)`];
        expect(reasons).to.include(JSON.parse(answer.text).error);
      }
      bombing = false;
      await meanwhile;
      expect(others.length).to.be.greaterThan(0);
      expect(
        others.every((s) => s === 200),
        `statuses meanwhile: ${others.join(",")}`,
      ).to.equal(true);
      expect((await call("hello")).status).to.equal(200);
    });

    it("gives the function no process, require, module or host global, even through the Function constructor", async () => {
      const answer = await call("escape");
      expect(answer.status).to.equal(200);
      expect(JSON.parse(answer.text)).to.deep.equal({
        process: "undefined",
        require: "undefined",
        module: "undefined",
        global: "undefined",
        Buffer: "undefined",
        viaFunction: "undefined",
        viaConstructor: "undefined",
      });
    });

    it("keeps no globalThis tampering or prototype pollution from one request to the next", async () => {
      const originals = {
        polluted: null,
        arrayMap: 2,
        functionCall: "call",
        jsonParse: 7,
        promiseThen: 6,
        fetch: "fetch",
        response: "function",
        errorPrepare: "undefined",
      };
      for (let i = 0; i < 3; i++) {
        const answer = await call("tamper");
        expect(answer.status, answer.text).to.equal(200);
        const { seen, refused } = JSON.parse(answer.text) as { seen: unknown; refused: Record<string, boolean> };
        expect(seen, `request ${i}`).to.deep.equal(originals);
        // Each attempt failed with a TypeError the function itself saw.
        expect(
          Object.values(refused).every((r) => r === true),
          JSON.stringify(refused),
        ).to.equal(true);
      }
      // The other functions of the node were never in this context.
      expect((await call("hello")).status).to.equal(200);
    });

    it("refuses a prototype pollution through a client's JSON, so the next client is not affected", async () => {
      const attack = await call("merge", { method: "POST", body: JSON.stringify({ ["__proto__"]: { isAdmin: true } }) });
      expect(attack.status, attack.text).to.equal(200);
      expect(JSON.parse(attack.text)).to.deep.equal({ isAdmin: null, error: "TypeError" });
      const next = await call("merge", { method: "POST", body: JSON.stringify({ theme: "dark" }) });
      expect(JSON.parse(next.text)).to.deep.equal({ isAdmin: null, error: null });
    });

    it("keeps a function's own module state and globals between its requests, as Workers do", async () => {
      for (let i = 1; i <= 3; i++) {
        const answer = await call("stateful");
        expect(answer.status, answer.text).to.equal(200);
        expect(JSON.parse(answer.text)).to.deep.equal({ served: i, seenByGlobal: i, error: "NotFound: x", point: "P3" });
      }
    });

    it("refuses fetches to loopback, private, link-local, mapped and the node's own addresses", async () => {
      const port = new URL(node.gatewayUrl).port;
      for (const target of [
        `http://127.0.0.1:${port}/health`,
        `http://localhost:${port}/health`,
        `http://[::1]:${port}/health`,
        `http://[::ffff:127.0.0.1]:${port}/health`,
        `http://2130706433:${port}/health`,
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
      ]) {
        const answer = await call("fetcher", { method: "POST", body: target });
        expect(answer.status).to.equal(200);
        expect(answer.text, target).to.match(/^failed: fetch( refused|: only http)/);
      }
    });

    it("stops subrequests past the limit of one request", async () => {
      const answer = await call("manyFetches");
      expect(answer.status, answer.text).to.equal(200);
      const { first, last } = JSON.parse(answer.text) as { first: string; last: string };
      expect(first).to.equal("fetch refused: 10.1.2.3 is not a public address".replace("10.1.2.3", "10.0.0.1"));
      expect(last).to.equal("fetch refused: over 50 subrequests in one request");
    });

    it("refuses an oversized bundle (422), an oversized body (413) and an oversized answer (502), then serves", async () => {
      const bundle = await call("oversized");
      expect(bundle.status).to.equal(422);
      expect(JSON.parse(bundle.text).error).to.match(/^the function's bundle is \d+ bytes, over the 65536-byte limit$/);
      const body = await call("transform", { method: "POST", body: "x".repeat(64 * KIB + 1) });
      expect(body.status).to.equal(413);
      expect(JSON.parse(body.text).error).to.equal(`request body is ${64 * KIB + 1} bytes, over the ${64 * KIB}-byte limit`);
      const answer = await call("bigAnswer");
      expect(answer.status).to.equal(502);
      expect(JSON.parse(answer.text).error).to.equal(`the function's response body is over ${64 * KIB} bytes`);
      const fits = await call("bigAnswer", {}, "/fits");
      expect([fits.status, fits.text.length]).to.deep.equal([200, 64 * KIB]);
      expect((await call("hello")).status).to.equal(200);
    });
  });

  describe("service framework", () => {
    it("restarts a crashed service process while consensus keeps committing", async () => {
      const committed = new Set<string>();
      const subscriber = await NodeClient.connect("127.0.0.1", node.mempoolPort);
      const client = await NodeClient.connect("127.0.0.1", node.mempoolPort);
      subscriber.subscribe(1, (frame: CommittedFrame) => {
        for (const tx of frame.txs) committed.add(transactionPayload(tx).toString());
      });
      const signer = KeyPair.generate();
      const submit = async (tag: string) => {
        const answer = await client.submit([signTransaction(Buffer.from(tag), signer)]);
        expect(answer.status).to.equal(SubmitStatus.Ok);
      };
      const committedSoon = async (tag: string) => {
        const end = Date.now() + 20_000;
        while (!committed.has(tag)) {
          if (Date.now() > end) throw new Error(`${tag} not committed`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      try {
        const before = (await waitForService(node.gatewayUrl, "functions", (s) => s?.state === "running"))!;
        await submit("before-crash");
        await committedSoon("before-crash");
        process.kill(before.pid!, "SIGKILL");
        await submit("during-crash");
        const down = await fetch(`${node.gatewayUrl}/fn/blake3/${root("hello")}/`);
        // Either the request reached the dying process (502) or the supervisor already saw it go (503).
        expect([502, 503]).to.include(down.status);
        expect(await down.text()).to.match(/service functions (is restarting|failed while answering)/);
        await committedSoon("during-crash");
        const after = (await waitForService(node.gatewayUrl, "functions", (s) => s?.state === "running" && s.pid !== before.pid))!;
        expect(after.restarts).to.equal(before.restarts + 1);
        // Restarted with its malloc settings (serviceSupervisor.ts mallocSettings): huge pages for its arenas.
        if (process.platform === "linux") {
          const environment = readFileSync(`/proc/${after.pid}/environ`, "utf8").split("\0");
          expect(environment.find((e) => e.startsWith("GLIBC_TUNABLES="))).to.match(/glibc\.malloc\.hugetlb=1/);
        }
        await submit("after-restart");
        await committedSoon("after-restart");
        expect((await call("hello")).status).to.equal(200);
      } finally {
        subscriber.close();
        client.close();
      }
    });

    it("kills and restarts a service that stops answering (its process stopped, as a held event loop would be)", async () => {
      const before = (await waitForService(node.gatewayUrl, "functions", (s) => s?.state === "running"))!;
      const stoppedAt = Date.now();
      process.kill(before.pid!, "SIGSTOP");
      try {
        const after = (await waitForService(node.gatewayUrl, "functions", (s) => s?.state === "running" && s.pid !== before.pid, 20_000))!;
        // Pinged every second, killed after 5 s without an answer (serviceSupervisor.ts).
        expect(Date.now() - stoppedAt).to.be.at.least(5_000);
        expect(after.restarts).to.equal(before.restarts + 1);
        expect(node.stderr()).to.contain("service stopped answering, killing it");
        expect((await call("hello")).status).to.equal(200);
      } finally {
        // Killed by the supervisor already; a SIGCONT to a process that is gone is refused.
        try {
          process.kill(before.pid!, "SIGCONT");
        } catch {
          // gone
        }
      }
    });

    it("removes and adds services on SIGHUP, and keeps them on a bad config", async () => {
      node.reloadServices({});
      await waitForService(node.gatewayUrl, "functions", (s) => s === undefined);
      const gone = await fetch(`${node.gatewayUrl}/fn/blake3/${root("hello")}/`);
      expect(gone.status).to.equal(404);
      expect(await gone.text()).to.contain('no service \\"functions\\"');
      node.reloadServices({
        functions: { limits: { cpuMs: CPU_MS, wallMs: WALL_MS, bundleBytes: 64 * KIB, requestBytes: 64 * KIB, responseBytes: 64 * KIB } },
      });
      await waitForService(node.gatewayUrl, "functions", (s) => s?.state === "running");
      expect((await call("hello")).status).to.equal(200);
      node.reloadServices({ functions: { limits: { cpuMs: -1 } } });
      const end = Date.now() + 10_000;
      while (!node.stderr().includes("config reload refused")) {
        if (Date.now() > end) throw new Error("the bad reload was not refused");
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await call("hello")).status).to.equal(200);
    });
  });
});
