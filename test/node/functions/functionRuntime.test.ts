/**
 * The isolate runtime on its own (no HTTP), for what the node test cannot pin down under its
 * 50 ms CPU limit: the 128 MiB heap limit alone stops a heap bomb, and the next request on the
 * same function gets a new isolate. Also the outbound address rules on literal addresses.
 */
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import ivm from "isolated-vm";
import { DEFAULT_FUNCTION_LIMITS, effectiveLimits, functionLimitsFrom } from "../../../node/functions/functionLimits";
import { FunctionError, FunctionRuntime, type FunctionRequest } from "../../../node/functions/functionRuntime";
import { copyIntoIsolate } from "../../../node/functions/isolateCopy";
import { OutboundRefused, outboundFetch, refusalOf } from "../../../node/functions/outboundFetch";
import { SANDBOX_PRELUDE } from "../../../node/functions/sandboxPrelude";

const REQUEST: FunctionRequest = { method: "GET", url: "http://fn/", headers: [], body: null, params: { method: "GET", path: "/", query: {}, headers: {} } };

describe("function runtime (issue 19)", function () {
  this.timeout(60_000);

  it("stops a heap bomb at the 128 MiB heap limit and serves the same function again", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const bomb = `export default { fetch(request) {
      if (request.url.endsWith("/calm")) return new Response("calm");
      const hoard = []; for (;;) hoard.push(new Array(1e6).fill(0.5));
    } }`;
    try {
      for (let i = 0; i < 3; i++) {
        const failure = await runtime.run("bomb", bomb, REQUEST).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failure).to.be.instanceOf(FunctionError);
        expect((failure as FunctionError).message).to.equal("the function ran out of memory (limit 128 MiB)");
        const calm = await runtime.run("bomb", bomb, { ...REQUEST, url: "http://fn/calm" });
        expect(Buffer.from(calm.body).toString()).to.equal("calm");
      }
    } finally {
      runtime.close();
    }
  });

  it("gives functions no WebAssembly (its memory lies outside the heap limit: a module growing one by 64 MiB a request is refused), FinalizationRegistry, Atomics or SharedArrayBuffer", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    // Held in module scope across requests: 8 requests held 512 MiB past a 128 MiB limit.
    const grower = `let memory; export default { fetch() {
      memory ??= new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      memory.grow(1024);
      return new Response(String(memory.buffer.byteLength));
    } };`;
    const probe = `export default { fetch() { return Response.json({
      global: typeof WebAssembly,
      viaFunction: Function("return typeof WebAssembly")(),
      others: [typeof FinalizationRegistry, typeof Atomics, typeof SharedArrayBuffer],
    }); } };`;
    try {
      for (let i = 0; i < 3; i++) {
        const failure = await runtime.run("grower", grower, REQUEST).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failure).to.be.instanceOf(FunctionError);
        expect((failure as FunctionError).message).to.equal("the function threw: WebAssembly is not defined");
      }
      const seen = JSON.parse(Buffer.from((await runtime.run("probe", probe, REQUEST)).body).toString());
      expect(seen).to.deep.equal({ global: "undefined", viaFunction: "undefined", others: ["undefined", "undefined", "undefined"] });
    } finally {
      runtime.close();
    }
  });

  it("stops the function's clock while it runs and moves it when it waits: Date, the Date a Date's constructor gives, and Intl's now", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const source = `const loaded = Date.now();
    export default { async fetch() {
      const start = Date.now();
      let n = 0;
      for (let i = 0; i < 3e7; i++) n += i;
      const format = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3 });
      const seen = {
        loaded,
        start,
        afterWork: Date.now(),
        constructed: new Date().getTime(),
        called: Date() === new Date(start).toString(),
        viaConstructor: new (Object.getPrototypeOf(new Date()).constructor)().getTime(),
        subclassed: new (class extends Date {})().getTime(),
        formatted: format.format() === format.format(start) && format.format === format.format,
        parts: JSON.stringify(format.formatToParts()) === JSON.stringify(format.formatToParts(start)),
        given: new Date(86_400_000).toISOString(),
        isDate: new Date() instanceof Date && Object.prototype.toString.call(new Date()) === "[object Date]",
        work: n > 0,
      };
      await fetch("http://127.0.0.1/").catch(() => undefined);
      seen.afterWait = Date.now();
      return Response.json(seen);
    } };`;
    try {
      const before = Date.now();
      const first = JSON.parse(Buffer.from((await runtime.run("clock", source, REQUEST)).body).toString());
      const after = Date.now();
      expect(first.loaded).to.be.within(before, after);
      expect(first.start).to.be.within(first.loaded, after);
      for (const still of ["afterWork", "constructed", "viaConstructor", "subclassed"]) expect(first[still], still).to.equal(first.start);
      expect([first.called, first.formatted, first.parts, first.isDate, first.work]).to.deep.equal([true, true, true, true, true]);
      expect(first.given).to.equal("1970-01-02T00:00:00.000Z");
      // A refused subrequest is no wait: ticking on it gave the clock back to the millisecond, 50
      // refusals a request (review). The work took real time (tens of ms), which the next request shows.
      expect(first.afterWait).to.equal(first.start);
      const second = JSON.parse(Buffer.from((await runtime.run("clock", source, REQUEST)).body).toString());
      expect(second.start).to.be.at.least(first.start + 5);
      expect(second.loaded).to.equal(first.loaded);
    } finally {
      runtime.close();
    }
  });

  it("gives functions the WHATWG URL and URLSearchParams, parsed by the host, frozen and bounded", async () => {
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    const source = `export default { async fetch(request) {
      const u = new URL(request.url);
      const out = { host: u.host, pathname: u.pathname, q: u.searchParams.get("q"), all: [...u.searchParams] };
      u.searchParams.append("z", "a b&c");
      out.appended = u.href;
      u.pathname = "/new path";
      out.renamed = u.href;
      u.search = "?only=1";
      out.params = [...u.searchParams];
      out.relative = new URL("../c?d#e", "https://example.com/a/b/").href;
      out.normal = new URL("HTTPS://EXAMPLE.com:443/%7Efoo/./bar/..").href;
      out.idn = new URL("http://münchen.de/").hostname;
      out.ipv4 = new URL("http://0x7f.1/").host;
      out.origin = new URL("blob:https://a.example:8080/x").origin;
      out.form = new URLSearchParams({ a: "1", b: "é ~" }).toString();
      const sorted = new URLSearchParams("c=3&a=2&b=1&a=1"); sorted.sort();
      out.sorted = sorted.toString();
      try { new URL("no scheme"); } catch (e) { out.invalid = e instanceof TypeError && e.message; }
      out.canParse = [URL.canParse("http://x"), URL.canParse("/path"), URL.canParse("/path", "http://x")];
      out.oversized = URL.canParse("http://x/" + "a".repeat(1024 * 1024));
      out.frozen = Object.isFrozen(URL.prototype) && Object.isFrozen(URLSearchParams.prototype);
      out.reached = u.constructor.constructor("return typeof process")();
      return Response.json(out);
    } };`;
    try {
      const answer = await runtime.run("url", source, { ...REQUEST, url: "http://fn.example/a/b?q=%20x&q=2" });
      // Expected values per the URL Standard (url.spec.whatwg.org), not computed by the host.
      expect(JSON.parse(Buffer.from(answer.body).toString())).to.deep.equal({
        host: "fn.example",
        pathname: "/a/b",
        q: " x",
        all: [
          ["q", " x"],
          ["q", "2"],
        ],
        appended: "http://fn.example/a/b?q=+x&q=2&z=a+b%26c",
        renamed: "http://fn.example/new%20path?q=+x&q=2&z=a+b%26c",
        params: [["only", "1"]],
        relative: "https://example.com/a/c?d#e",
        normal: "https://example.com/%7Efoo/",
        idn: "xn--mnchen-3ya.de",
        ipv4: "127.0.0.1",
        origin: "https://a.example:8080",
        form: "a=1&b=%C3%A9+%7E",
        sorted: "a=2&a=1&b=1&c=3",
        invalid: "Invalid URL: no scheme",
        canParse: [true, false, true],
        oversized: false,
        frozen: true,
        reached: "undefined",
      });
    } finally {
      runtime.close();
    }
  });

  it("runs a function under the limits given for it (a registered 16 MiB heap) and reports the CPU a stopped run used", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const bomb = `export default { fetch() { const hoard = []; for (;;) hoard.push(new Array(1e6).fill(0.5)); } }`;
    const loop = `export default { fetch() { for (;;) {} } }`;
    try {
      const limits = effectiveLimits({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 }, { memoryMiB: 16 });
      const bombed = (await runtime.run("bomb", bomb, REQUEST, limits).then(
        () => undefined,
        (e: unknown) => e,
      )) as FunctionError;
      expect(bombed.message).to.equal("the function ran out of memory (limit 16 MiB)");
      expect(bombed.cpuUs, "CPU of the run until the heap filled").to.be.greaterThan(0);
      const processCpuBefore = process.cpuUsage();
      const started = performance.now();
      // A registered heap of its own (64 MiB), so the loop's isolate is built in this window rather
      // than taken from the spares: on a loaded machine isolated-vm's clock reads more than the
      // process's threads used for a run that a pre-built spare serves (35.8 ms against 26.1 by
      // /proc schedstat, 2026-12-04, the code before the spares' changes too), and the bound below
      // held only with a build in the window.
      const looped = (await runtime.run("loop", loop, REQUEST, effectiveLimits(DEFAULT_FUNCTION_LIMITS, { cpuMs: 20, memoryMiB: 64 })).then(
        () => undefined,
        (e: unknown) => e,
      )) as FunctionError;
      const wallUs = (performance.now() - started) * 1_000;
      const processCpu = process.cpuUsage(processCpuBefore);
      expect(looped.message).to.equal("the function ran over its CPU time limit (20 ms)");
      // The isolate runs on this process's threads, the loop on one of them: what the run reports
      // is at most what the process used meanwhile and at most the run's wall time. Both bounds are
      // measured on this run, so a loaded machine that stops the loop late widens them alike. The
      // process's user and system times are the kernel's precise runtime split by tick samples,
      // which can lag a thread's own CPU clock by a few ticks (26.6 ms against 23.8 once in CI).
      expect(looped.cpuUs)
        .to.be.greaterThan(5_000)
        .and.at.most(20_000) // charged at most its limit
        .and.at.most(processCpu.user + processCpu.system + 10_000)
        .and.at.most(wallUs);
    } finally {
      runtime.close();
    }
  });

  it("builds main(params) off the function's clock: a 1 MB body of 'é' to main is charged well under its decoding in the function", async () => {
    // Charges, not the limit, are measured: V8's timeout counts wall time, and on a loaded machine
    // it stopped the decoder's 7-17 ms at the default 50 (CI, 2026-12-05).
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const main = `export function main(params) { return Response.json({ chars: params.body.length, first: params.body[0], query: params.query }); }`;
    // What the first main(params) was charged: the body decoded in the isolate, on its clock.
    const decoder = `export default { async fetch(request) { const text = await request.text(); return Response.json({ chars: text.length }); } }`;
    const body = new TextEncoder().encode("é".repeat(500_000)); // 1,000,000 bytes, 500,000 characters
    const post = { ...REQUEST, method: "POST", url: "http://fn/?a=1", body, params: { path: "/", search: "?a=1" } };
    const charged = { main: [] as number[], decoder: [] as number[] };
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await runtime.run("main", main, post);
        expect(JSON.parse(Buffer.from(answer.body).toString())).to.deep.equal({ chars: 500_000, first: "é", query: { a: "1" } });
        charged.main.push(answer.cpuUs);
        const decoded = await runtime.run("decoder", decoder, post);
        expect(JSON.parse(Buffer.from(decoded.body).toString())).to.deep.equal({ chars: 500_000 });
        charged.decoder.push(decoded.cpuUs);
      }
      // Side by side in the same seconds, so a loaded machine stretches both (quiet: ~0.2 ms
      // against 7-17; 4.5-6 before the body went in as an argument of its own, 9-15 before main's
      // params were built on the host); the least of three readings of each drops one spike.
      expect(Math.min(...charged.main), JSON.stringify(charged)).to.be.below(Math.min(...charged.decoder) / 4);
      expect([...body.subarray(0, 2)], "the caller's bytes are its own still").to.deep.equal([0xc3, 0xa9]);
    } finally {
      runtime.close();
    }
  });

  it("fixes a module's handler when it is evaluated: default.fetch before main, and main's params built only for main", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const both = `export function main() { return "main"; } export default { fetch() { return new Response("fetch"); } };`;
    const mainOnly = `export function main(params) { return String(params.body.length); }`;
    // A getter is the module's code: read once as the module is evaluated, then once by each call.
    const getter = `let reads = 0; export default { get fetch() { reads++; return () => new Response(String(reads)); } };`;
    const body = new Uint8Array(777_777).fill(0x61);
    const post = { ...REQUEST, method: "POST", body, params: { path: "/", search: "" } };
    // Decoding main's body on the host is uncharged work: counted here by its one call.
    const toString = Buffer.prototype.toString;
    let decodes = 0;
    Buffer.prototype.toString = function (this: Buffer, ...args: unknown[]) {
      if (this.byteLength === body.byteLength) decodes++;
      return toString.apply(this, args as Parameters<typeof toString>);
    } as typeof toString;
    const text = async (root: string, source: string) => Buffer.from((await runtime.run(root, source, post)).body).toString();
    try {
      expect(await text("both", both)).to.equal("fetch");
      expect(await text("both", both)).to.equal("fetch");
      expect(decodes, "main's params built for a module fetch serves").to.equal(0);
      expect(await text("main", mainOnly)).to.equal("777777");
      expect(decodes, "main's body decoded once for main").to.equal(1);
      expect([await text("getter", getter), await text("getter", getter)]).to.deep.equal(["2", "3"]);
    } finally {
      Buffer.prototype.toString = toString;
      runtime.close();
    }
  });

  it("bounds the module's evaluation and its handler's choice by one CPU limit: a getter on default.fetch that never returns fails the request", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 50 });
    // Some of the limit at the top level (3e7 additions, ~30 ms; the function's clock stands still,
    // so by work), then a getter that never returns: the choice gets what is left, not a limit of
    // its own (which stopped it at ~80 ms). V8's timeout counts wall time, so the wall time shows
    // it; the least of three drops a spike of the machine.
    const looping = (n: number) => `let s = 0; for (let i = 0; i < 3e7; i++) s += i; export default { get fetch() { for (;;) {} } }; // ${n}`;
    try {
      const took: number[] = [];
      for (let n = 0; n < 3; n++) {
        const started = performance.now();
        const failure = await runtime.run(`looping${n}`, looping(n), REQUEST).then(
          () => undefined,
          (e: unknown) => e,
        );
        took.push(performance.now() - started);
        expect(failure).to.be.instanceOf(FunctionError);
        expect((failure as FunctionError).failure).to.equal("cpu");
      }
      expect(Math.min(...took), took.join(", ")).to.be.below(66);
      const calm = await runtime.run("calm", `export default { fetch() { return new Response("calm"); } };`, REQUEST);
      expect(Buffer.from(calm.body).toString()).to.equal("calm");
    } finally {
      runtime.close();
    }
  });

  it("never lets a thrown value or an answer run the function's code outside its limits: each such module fails and the next function serves", async () => {
    // isolated-vm reads a thrown value (and an unhandled rejection's) and copies an answer on the
    // thread that called into the isolate, after V8's timeout ended: a getter or a Proxy trap that
    // never returned held that thread for good (each case below did, before the patch and the
    // prelude's own answer). So each runs in a process of its own, killed if it does not answer.
    const looping = `const e = new Error("x"); Object.defineProperty(e, "message", { get() { for (;;) {} } });`;
    const cases: Record<string, string> = {
      "top level": `${looping} throw e; export default {};`,
      "top level, a Proxy": `throw new Proxy(new Error("x"), { get() { for (;;) {} } }); export default {};`,
      "top level, a rejection nobody handles": `${looping} Promise.reject(e); export default { fetch() { return new Response("ok"); } };`,
      "a getter on default.fetch": `${looping} export default { get fetch() { throw e; } };`,
      "the handler": `${looping} export default { fetch() { throw e; } };`,
      "the handler after an await": `${looping} export default { async fetch() { await null; throw e; } };`,
      "the handler, a rejection nobody handles": `${looping} export default { fetch() { Promise.reject(e); return new Response("ok"); } };`,
      "a message whose string never ends": `export default { fetch() { throw { message: { toString() { for (;;) {} } } }; } };`,
      "a stack getter": `const e = new Error("x"); Object.defineProperty(e, "stack", { get() { for (;;) {} } }); export default { fetch() { throw e; } };`,
      "an answer whose status has a getter": `export default { fetch() { const r = new Response("x"); r.status = { get x() { for (;;) {} } }; return r; } };`,
      // isolated-vm ended the process (std::terminate) on a timed waitAsync; its wake-up, and a
      // FinalizationRegistry's cleanup, ran as tasks after the answer, under no limit.
      "Atomics.waitAsync with a time limit": `export default { fetch() { Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1e9); return new Response("x"); } };`,
      "an answer whose header is 64 MiB": `export default { fetch() { return new Response("x", { headers: { big: "x".repeat(2 ** 26) } }); } };`,
      "an answer whose headers never end": `export default { fetch() { const r = new Response("x"); r.headers = { *[Symbol.iterator]() { for (;;) {} } }; return r; } };`,
    };
    const script = path.join(__dirname, "../../../testkit/functionCase.ts");
    const seen = await Promise.all(
      Object.entries(cases).map(
        ([name, source]) =>
          new Promise<[string, string]>((resolve) => {
            execFile(process.execPath, ["--import", "tsx", script, source, "50"], { timeout: 20_000, killSignal: "SIGKILL" }, (error, stdout) =>
              resolve([name, error ? `held: ${error.signal ?? error.message}` : stdout.trim()]),
            );
          }),
      ),
    );
    for (const [name, line] of seen) {
      expect(line, name).to.match(/^\{/);
      const { outcome, calm } = JSON.parse(line) as { outcome: { failure?: string }; calm: string };
      expect(["cpu", "threw"], `${name}: ${line}`).to.include(outcome.failure);
      expect(calm, name).to.equal("calm");
    }
  });

  it("moves a body into an isolate intact, leaving the caller's bytes and a Node Buffer's shared pool whole", () => {
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    try {
      const context = isolate.createContextSync();
      const read = context.evalSync(
        `(v) => (v.body ? [v.status, v.body instanceof Uint8Array, v.body.byteLength, Array.from(v.body.subarray(0, 3)), v.body[v.body.byteLength - 1]] : [v.status, false])`,
        {
          reference: true,
        },
      ) as ivm.Reference;
      // Two small Buffers share Node's pool: a transfer of the first's buffer would detach the second.
      const pooled = Buffer.from([1, 2, 3, 4]);
      const neighbour = Buffer.from([9, 8, 7]);
      expect(pooled.buffer).to.equal(neighbour.buffer);
      const large = new Uint8Array(1_000_000).fill(5);
      for (const [body, expected] of [
        [pooled, [200, true, 4, [1, 2, 3], 4]],
        [pooled.subarray(1), [200, true, 3, [2, 3, 4], 4]],
        [large, [200, true, 1_000_000, [5, 5, 5], 5]],
        [new Uint8Array(0), [200, true, 0, [], undefined]],
        [pooled.subarray(0, 0), [200, true, 0, [], undefined]],
      ] as const) {
        expect(read.applySync(undefined, [copyIntoIsolate({ status: 200, body })], { result: { copy: true } })).to.deep.equal(expected);
      }
      expect([...pooled, ...neighbour, large.byteLength, large[999_999]]).to.deep.equal([1, 2, 3, 4, 9, 8, 7, 1_000_000, 5]);
      expect(read.applySync(undefined, [copyIntoIsolate({ status: 204, body: null })], { result: { copy: true } })).to.deep.equal([204, false]);
      // An empty view of the pool carries no pool bytes in.
      const backing = context.evalSync(`(v) => v.body.buffer.byteLength`, { reference: true }) as ivm.Reference;
      expect(backing.applySync(undefined, [copyIntoIsolate({ body: pooled.subarray(0, 0) })])).to.equal(0);
    } finally {
      isolate.dispose();
    }
  });

  it("answers a body that is a view of a larger buffer with the view's bytes alone, copied on the function's clock", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const source = `export default { fetch(request) {
      const big = new Uint8Array(64 << 20); big[7] = 42;
      const view = request.url.endsWith("/fake") ? Object.create(Uint8Array.prototype) : big.subarray(7, 9);
      return new Response(view);
    } }`;
    try {
      const answer = await runtime.run("view", source, REQUEST);
      expect([...answer.body]).to.deep.equal([42, 0]);
      // Not the 64 MiB buffer under the view: the host copied that out of the isolate, off the clock.
      expect(answer.body.buffer.byteLength).to.be.below(1024);
      // Something that only claims Uint8Array's prototype is the function's own error.
      const fake = await runtime.run("view", source, { ...REQUEST, url: "http://fn/fake" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(fake).to.be.instanceOf(FunctionError);
      expect((fake as FunctionError).failure).to.equal("threw");
    } finally {
      runtime.close();
    }
  });

  it("shares an isolate's CPU among the requests it serves at once: four overlapping requests are charged their own work, not each other's", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    // Works, then awaits a subrequest the host refuses at once, five times: requests sent together
    // interleave on the isolate.
    const source = `export default { async fetch() {
      let sum = 0;
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 1e6; j++) sum += j % 7;
        try { await fetch("http://10.0.0.1/"); } catch {}
      }
      return new Response(String(sum));
    } }`;
    const one = async () => {
      const answer = await runtime.run("shared", source, REQUEST);
      expect(Buffer.from(answer.body).toString()).to.equal("14999985"); // 5 × (142,857 × (0+1+…+6) + 0): 10⁶ = 142,857 × 7 + 1
      return answer.cpuUs;
    };
    try {
      await one(); // compiles the module
      const alone = Math.min(await one(), await one(), await one());
      const together = await Promise.all([one(), one(), one(), one()]);
      const sum = together.reduce((a, b) => a + b, 0);
      // Charging each request its isolate's whole clock while it ran made each pay about all four's
      // work (16 times one's work in all); shared out, they pay it once, each near its own part.
      // A loaded machine stretches the clock read after an await (wall time since the code
      // resumed): 7 times one's work was seen at load 7.
      expect(sum, `alone ${alone} µs, together ${together.join(", ")} µs`).to.be.at.most(4 * alone * 2.5);
      for (const charged of together) expect(charged, `alone ${alone} µs, together ${together.join(", ")} µs`).to.be.at.least(alone * 0.4);
    } finally {
      runtime.close();
    }
  });

  it("charges a request's own synchronous run to it alone: a heavy request run amid a light one's awaits is not shared with it", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    // light: ten slices of work, each followed by a subrequest the host refuses at once; heavy: one
    // synchronous block thirty times a slice, run while light awaits.
    const source = `const work = (n) => { let sum = 0; for (let j = 0; j < n; j++) sum += j % 7; return sum; };
      export default { async fetch(request) {
        if (request.url.endsWith("/heavy")) return new Response(String(work(3e7)));
        let sum = 0;
        for (let i = 0; i < 10; i++) { sum += work(1e6); try { await fetch("http://10.0.0.1/"); } catch {} }
        return new Response(String(sum));
      } }`;
    const run = async (name: "light" | "heavy") => (await runtime.run("mixed", source, { ...REQUEST, url: `http://fn/${name}` })).cpuUs;
    try {
      await run("light"); // compiles the module
      const alone = { light: Math.min(await run("light"), await run("light")), heavy: Math.min(await run("heavy"), await run("heavy")) };
      const light = run("light");
      await new Promise((resolve) => setTimeout(resolve, 3)); // light is between its slices
      const together = { heavy: await run("heavy"), light: await light };
      const seen = JSON.stringify({ alone, together });
      // Shared equally, heavy paid about half its run and light the other half (a request with
      // little work could push its cost onto its neighbours); charged whole to each, light paid both.
      expect(together.heavy, seen).to.be.at.least(alone.heavy * 0.7);
      expect(together.light, seen).to.be.at.most(alone.light * 1.5 + alone.heavy * 0.2);
    } finally {
      runtime.close();
    }
  });

  it("never resumes a function after its request ended: a loop left behind in a subrequest's answer cannot hold the isolate", async () => {
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    // Refused at once by the host, so answered after the request: the catch used to run unwatched,
    // and its loop held the isolate, so the next request's call blocked this thread for good.
    const source = `let resumed = 0;
      export default { fetch(request) {
        if (request.url.endsWith("/leave")) {
          fetch("http://10.0.0.1/").catch(() => { resumed++; for (;;) {} });
          fetch("http://10.0.0.1/").then(() => {}, () => { resumed++; fetch("http://10.0.0.1/").catch(() => resumed++); });
          return new Response("left");
        }
        return Response.json({ resumed });
      } }`;
    const run = async (path: string) => Buffer.from((await runtime.run("leaves", source, { ...REQUEST, url: `http://fn${path}` })).body).toString();
    try {
      expect(await run("/leave")).to.equal("left");
      // Time for the host's refusals to come back (a few ms): nothing can be awaited for what must not happen.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(JSON.parse(await run("/"))).to.deep.equal({ resumed: 0 });
    } finally {
      runtime.close();
    }
  });

  it("caps registered limits by the node's and ignores malformed ones", () => {
    const node = { ...DEFAULT_FUNCTION_LIMITS, cpuMs: 50 };
    expect(effectiveLimits(node, { memoryMiB: 512, cpuMs: 10, wallMs: 0, bundleBytes: -1 })).to.deep.equal({ ...node, cpuMs: 10 });
    expect(effectiveLimits(node, { memoryMiB: 1 }).memoryMiB).to.equal(8);
    expect(effectiveLimits(node, undefined)).to.deep.equal(node);
  });

  it("evaluates a module once for the requests that arrive together, and rebuilds its context after a limit", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 50 });
    const counter = `let evaluated = 0, served = 0; evaluated++;
      export default { fetch(request) {
        if (request.url.endsWith("/loop")) for (;;) {}
        served++;
        return Response.json({ evaluated, served });
      } }`;
    const served = async (url = "http://fn/") =>
      JSON.parse(Buffer.from((await runtime.run("counter", counter, { ...REQUEST, url })).body).toString()) as { evaluated: number; served: number };
    try {
      const together = await Promise.all(Array.from({ length: 20 }, () => served()));
      expect(together.map((a) => a.evaluated)).to.deep.equal(Array(20).fill(1));
      expect(together.map((a) => a.served).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
      const failure = await served("http://fn/loop").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((failure as FunctionError).failure).to.equal("cpu");
      // The looping request's context is gone with its state: a new module instance serves.
      expect(await served()).to.deep.equal({ evaluated: 1, served: 1 });
      expect(await served()).to.deep.equal({ evaluated: 1, served: 2 });
    } finally {
      runtime.close();
    }
  });

  it("ends a request that never answers at its wall limit on the monotonic clock, whichever way the wall clock steps meanwhile", async () => {
    const wallMs = 300;
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, wallMs });
    const never = `export default { fetch() { return new Promise(() => {}); } }`;
    const realNow = Date.now;
    try {
      // An NTP step of 10 s either way while the request runs: a deadline on Date.now() ended the
      // request at once (forward) or held it 10 s past its limit (back).
      for (const step of [10_000, -10_000]) {
        const started = performance.now();
        const ended = runtime.run("never", never, REQUEST).then(
          () => undefined,
          (e: unknown) => e,
        );
        Date.now = () => realNow() + step;
        const failure = await ended;
        Date.now = realNow;
        const ms = performance.now() - started;
        expect(failure, `step ${step}`).to.be.instanceOf(FunctionError);
        expect((failure as FunctionError).message).to.equal(`the function ran over its wall time limit (${wallMs} ms)`);
        // Above: a 5 ms watchdog that a spare's build or a collection may hold up; a step followed
        // would have ended it at once or 10 s late.
        expect(ms, `step ${step}`).to.be.within(wallMs, wallMs + 1_000);
      }
    } finally {
      Date.now = realNow;
      runtime.close();
    }
  });

  it("never lets one function see another's globals or state, pre-built spare isolates included", async () => {
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    const source = (name: string) => `let mine = 0;
      export default { fetch() {
        const seen = Object.keys(globalThis).filter((k) => k.startsWith("owner_"));
        globalThis["owner_${name}"] = ++mine;
        return Response.json({ seen, mine });
      } }`;
    const run = async (name: string) =>
      JSON.parse(Buffer.from((await runtime.run(name, source(name), REQUEST)).body).toString()) as { seen: string[]; mine: number };
    try {
      for (const name of ["a", "b", "c"]) {
        for (let i = 1; i <= 2; i++) expect(await run(name), `${name} #${i}`).to.deep.equal({ seen: i === 1 ? [] : [`owner_${name}`], mine: i });
      }
      // More functions than spares, two cold starts at a time: spares taken while others are being
      // (re)built, built ones before older unbuilt ones, and isolates built from the prelude's
      // complete code cache (remade in the first spare after its warm-up).
      const names = ["d", "e", "f", "g", "h", "i", "j", "k"];
      for (let i = 0; i < names.length; i += 2) {
        const answers = await Promise.all(names.slice(i, i + 2).map(run));
        for (const answer of answers) expect(answer).to.deep.equal({ seen: [], mine: 1 });
      }
    } finally {
      runtime.close();
    }
  });

  it("builds its 3 spare isolates as it starts, keeps no more however many cold starts arrive at once, and none after close", async () => {
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    const source = (name: string) => `export default { fetch() { return new Response("${name}") } }`;
    const allBuilt = async () => {
      while (runtime.spareCount.built < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    };
    try {
      // No request yet: the first cold start must not build its isolate itself.
      await allBuilt();
      expect(runtime.spareCount).to.deep.equal({ kept: 3, built: 3 });
      const names = Array.from({ length: 10 }, (_, i) => `fn${i}`);
      const answers = await Promise.all(names.map((name) => runtime.run(name, source(name), REQUEST)));
      expect(answers.map((a) => Buffer.from(a.body).toString())).to.deep.equal(names);
      expect(runtime.spareCount.kept).to.be.at.most(3);
      await allBuilt();
      expect(runtime.spareCount).to.deep.equal({ kept: 3, built: 3 });
    } finally {
      runtime.close();
    }
    expect(runtime.spareCount).to.deep.equal({ kept: 0, built: 0 });
    // Closed before its first spares were started: none is built after.
    const closed = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    closed.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed.spareCount).to.deep.equal({ kept: 0, built: 0 });
  });

  it("remakes the prelude's code cache once a spare ran the prelude and its warm-up, with the code they compiled", async () => {
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    const cache = () => (runtime as unknown as { preludeCache?: { data: ivm.ExternalCopy<ArrayBuffer>; complete: boolean } }).preludeCache;
    try {
      while (!cache()?.complete) await new Promise((resolve) => setTimeout(resolve, 1));
      // The cache of a bare compilation: only what V8 compiles eagerly.
      const bare = new ivm.Isolate({ memoryLimit: 32 });
      try {
        const script = await bare.compileScript(SANDBOX_PRELUDE, { filename: "fleek:prelude", produceCachedData: true });
        const first = (script as unknown as ivm.CachedDataResult).cachedData!.copy().byteLength;
        expect(cache()!.data.copy().byteLength).to.be.greaterThan(first * 1.5);
        // V8 accepts it for the prelude's source in a new isolate.
        const again = await bare.compileScript(SANDBOX_PRELUDE, { filename: "fleek:prelude", cachedData: cache()!.data });
        expect((again as unknown as { cachedDataRejected?: boolean }).cachedDataRejected).to.equal(false);
      } finally {
        bare.dispose();
      }
      const answer = await runtime.run("r", `export default { async fetch(request) { return Response.json({ text: await request.text() }); } }`, {
        ...REQUEST,
        method: "POST",
        body: new TextEncoder().encode("ping"),
      });
      expect(JSON.parse(Buffer.from(answer.body).toString())).to.deep.equal({ text: "ping" });
    } finally {
      runtime.close();
    }
  });

  it("encodes and decodes UTF-8 as the web's TextEncoder and TextDecoder do", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const source = `export default { async fetch(request) {
      const cases = await request.json();
      const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      const unhex = (h) => new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
      return Response.json({
        decoded: cases.decode.map((h) => new TextDecoder().decode(unhex(h))),
        encoded: cases.encode.map((t) => hex(new TextEncoder().encode(t))),
      });
    } }`;
    const run = async (decode: string[], encode: string[]) => {
      const body = new Uint8Array(Buffer.from(JSON.stringify({ decode, encode })));
      const answer = await runtime.run("utf8", source, { ...REQUEST, method: "POST", body });
      return JSON.parse(Buffer.from(answer.body).toString()) as { decoded: string[]; encoded: string[] };
    };
    try {
      // Known answers (WHATWG Encoding: one U+FFFD per maximal malformed subpart; lone surrogates encode as U+FFFD).
      const known = await run(
        ["c3a9e282acf09f9880", "ff", "c080", "e282", "e282ac41", "e24142", "eda080", "f4908080", "f09f98"],
        ["é€😀", "\ud800x", "\udc00\ud83d", "a".repeat(5000) + "é"],
      );
      expect(known.decoded).to.deep.equal([
        "é€😀",
        "\ufffd",
        "\ufffd\ufffd",
        "\ufffd",
        "€A",
        "\ufffdAB",
        "\ufffd\ufffd\ufffd",
        "\ufffd\ufffd\ufffd\ufffd",
        "\ufffd",
      ]);
      expect(known.encoded).to.deep.equal(["c3a9e282acf09f9880", "efbfbd78", "efbfbdefbfbd", "61".repeat(5000) + "c3a9"]);
      // Random bytes (biased to lead and continuation bytes) and random UTF-16 (lone surrogates
      // included) against Node's own TextDecoder and TextEncoder.
      const bytes = fc.sample(
        fc.uint8Array({ maxLength: 40 }).map((b) => b.map((x) => [x, 0x80 | (x & 0x3f), 0xc0 | (x & 0x3f), 0xe0 | (x & 0xf), 0xf0 | (x & 7), x & 0x7f][x % 6])),
        300,
      );
      // Half the units surrogates: uniform units made 25-50 of 300 strings hold one (a run once
      // counted 19, under the floor below).
      const unit = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })).map((c) => String.fromCharCode(c));
      const texts = fc.sample(fc.string({ unit, maxLength: 40 }), 300);
      const random = await run(
        bytes.map((b) => Buffer.from(b).toString("hex")),
        texts,
      );
      expect(random.decoded).to.deep.equal(bytes.map((b) => new TextDecoder().decode(b)));
      expect(random.encoded).to.deep.equal(texts.map((t) => Buffer.from(new TextEncoder().encode(t)).toString("hex")));
      // A large text mixing ASCII and not decodes within the heap limit (built a piece per character,
      // 8 MiB of "aé" ran a 128 MiB isolate out of memory).
      const large = await runtime.run("utf8-large", `export default { async fetch(request) { return new Response(String((await request.text()).length)); } }`, {
        ...REQUEST,
        method: "POST",
        body: new Uint8Array(Buffer.from("aé".repeat((8 * 2 ** 20) / 3))),
      });
      expect(Buffer.from(large.body).toString()).to.equal(String(2 * Math.floor((8 * 2 ** 20) / 3)));
      // The samples did reach the malformed and the surrogate cases.
      expect(random.decoded.filter((d) => d.includes("\ufffd")).length).to.be.greaterThan(20);
      expect(texts.filter((t) => /[\ud800-\udfff]/.test(t)).length).to.be.greaterThan(20);
    } finally {
      runtime.close();
    }
  });

  /**
   * A function that walks, with its own code (not the lockdown's), everything reachable from its
   * global object and the intrinsics no global names, and answers how many objects it reached and
   * which of them are not frozen, and which of the global object's bindings stay configurable.
   */
  const FROZEN_WALK = `export default { fetch() {
    const hidden = [function* () {}, async function () {}, async function* () {}, [][Symbol.iterator](), new Map()[Symbol.iterator](),
      new Set()[Symbol.iterator](), ""[Symbol.iterator](), "a".matchAll(/a/g), Uint8Array].map((v) => Object.getPrototypeOf(v));
    if (typeof Intl === "object" && typeof Intl.Segmenter === "function") {
      const segments = new Intl.Segmenter().segment("a");
      hidden.push(Object.getPrototypeOf(segments), Object.getPrototypeOf(segments[Symbol.iterator]()));
    }
    const seen = new Set();
    const stack = [...hidden, globalThis];
    const open = [];
    while (stack.length > 0) {
      const o = stack.pop();
      if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o)) continue;
      seen.add(o);
      if (o !== globalThis && !Object.isFrozen(o)) open.push(typeof o === "function" ? "function " + o.name : Object.prototype.toString.call(o));
      stack.push(Object.getPrototypeOf(o));
      for (const key of Reflect.ownKeys(o)) {
        const d = Object.getOwnPropertyDescriptor(o, key);
        stack.push(d.value, d.get, d.set);
        // What an accessor hands out is reachable too: the lockdown's shadowing accessors return the built-in they replaced.
        if (d.get) try { stack.push(d.get.call(o)); } catch {}
      }
    }
    const configurable = Reflect.ownKeys(globalThis).filter((k) => Object.getOwnPropertyDescriptor(globalThis, k).configurable).map(String);
    return Response.json({ reached: seen.size, open, configurable });
  } }`;
  type Walked = { reached: number; open: string[]; configurable: string[] };
  // The walk takes ~10-20 ms of CPU; V8's timeout is a wall-clock timer, which a loaded machine stretches.
  const WALK_LIMITS = { ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 };
  const walked = async (runtime: FunctionRuntime, root: string): Promise<Walked> =>
    JSON.parse(Buffer.from((await runtime.run(root, `${FROZEN_WALK}// ${root}\n`, REQUEST)).body).toString()) as Walked;
  type PlanState = { verified: boolean; followed: number; plain: { source: string } } | null | undefined;
  const planOf = (runtime: FunctionRuntime) => (runtime as unknown as { lockdownPlan: PlanState }).lockdownPlan;
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
  };

  it("builds isolates from the lockdown's plan once a check passed, as frozen as the walk leaves them", async () => {
    const missed: number[] = [];
    const runtime = new FunctionRuntime(WALK_LIMITS, new Set(), (m) => missed.push(m));
    try {
      // The spares built as the runtime starts walk; the first of them made the plan.
      await until(() => runtime.spareCount.built === 3);
      expect(planOf(runtime)?.verified).to.equal(false);
      const walkedFirst = await walked(runtime, "walked");
      expect(walkedFirst.open).to.deep.equal([]);
      expect(walkedFirst.reached).to.be.above(700);
      // Cold starts consume spares; their replacements follow the plan, checked until a check passed.
      for (let i = 0; i < 3; i++) await walked(runtime, `consume-${i}`);
      await until(() => planOf(runtime)?.verified === true && runtime.spareCount.built === 3);
      // From here on no build is checked (the 32nd would be); the three spares built before are used up.
      planOf(runtime)!.followed = 1;
      for (let i = 0; i < 3; i++) await walked(runtime, `checked-${i}`);
      await until(() => runtime.spareCount.built === 3);
      // Isolates built from the plan alone reach the same objects, all frozen.
      for (let i = 0; i < 3; i++) {
        const followed = await walked(runtime, `planned-${i}`);
        expect(followed, `planned-${i}`).to.deep.equal({ reached: walkedFirst.reached, open: [], configurable: [] });
      }
      expect(planOf(runtime)!.followed).to.be.at.least(4);
      expect(missed).to.deep.equal([]);
    } finally {
      runtime.close();
    }
  });

  it("keeps the built-ins its shadowing accessors replaced frozen, in isolates that walked and that followed the plan", async () => {
    // Object.prototype.hasOwnProperty and the others are assignable on a function's own objects
    // through accessors; the functions they replaced stay frozen, or one request could make
    // \`Object.prototype.hasOwnProperty.call(...)\` in the next return what it likes (review).
    const attempt = `export default { fetch() {
      const originals = [Object.prototype.hasOwnProperty, Object.prototype.toString, Object.prototype.valueOf, Object.prototype.isPrototypeOf,
        Object.prototype.propertyIsEnumerable, Object.prototype.toLocaleString, Function.prototype.toString, Error.prototype.toString];
      const refused = originals.map((f) => { try { Object.defineProperty(f, "call", { value: () => true }); return false; } catch (e) { return e instanceof TypeError; } });
      return Response.json({ refused, own: Object.prototype.hasOwnProperty.call({}, "secret") });
    } }`;
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    try {
      for (let i = 0; i < 8; i++) {
        const answer = JSON.parse(Buffer.from((await runtime.run(`shadowed-${i}`, `${attempt}// ${i}\n`, REQUEST)).body).toString()) as {
          refused: boolean[];
          own: boolean;
        };
        expect(answer, `function ${i}`).to.deep.equal({ refused: Array(8).fill(true), own: false });
      }
      // The later ones ran in isolates built from the plan.
      expect(planOf(runtime)?.verified).to.equal(true);
    } finally {
      runtime.close();
    }
  });

  it("removes RegExp's legacy statics, which would hand one request the last match of the one before", async () => {
    const source = `export default { fetch(request) {
      if (request.url.endsWith("/match")) return new Response(String(/tok=(\\w+)/.exec("tok=s3cr3t")[1]));
      return Response.json([RegExp.$1, RegExp.input, RegExp.lastMatch, RegExp.leftContext].map((v) => v === undefined ? null : v));
    } }`;
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    try {
      // In the walked isolates and, later, in ones built from the plan.
      for (let i = 0; i < 6; i++) {
        const root = `statics-${i}`;
        expect(Buffer.from((await runtime.run(root, source, { ...REQUEST, url: "http://fn/match" })).body).toString()).to.equal("s3cr3t");
        const seen = JSON.parse(Buffer.from((await runtime.run(root, source, { ...REQUEST, url: "http://fn/read" })).body).toString()) as unknown[];
        expect(seen, root).to.deep.equal([null, null, null, null]);
      }
    } finally {
      runtime.close();
    }
  });

  it("drops a plan that does not fit an isolate, without failing a request: a step that meets a getter refusing its prototype", async () => {
    const dropped: number[] = [];
    const runtime = new FunctionRuntime(WALK_LIMITS, new Set(), (m) => dropped.push(m));
    try {
      await until(() => runtime.spareCount.built === 3 && planOf(runtime) !== undefined);
      // Map, Map.prototype, then Map.prototype.size read as data: its getter throws on the prototype (review).
      (runtime as unknown as { lockdownPlan: PlanState }).lockdownPlan = undefined;
      (runtime as unknown as { learnLockdown(r: unknown, f: undefined): void }).learnLockdown(
        { plan: { ops: [2, -1, 0, 2, 0, 1, 2, 1, 2], keys: ["Map", "prototype", "size"] }, checked: false, missed: 0 },
        undefined,
      );
      for (let i = 0; i < 6; i++) expect((await walked(runtime, `unfit-${i}`)).open, `unfit-${i}`).to.deep.equal([]);
      expect(planOf(runtime)).to.equal(null);
      expect(dropped).to.have.length(1);
      // It missed everything the walk then found.
      expect(dropped[0]).to.be.above(700);
    } finally {
      runtime.close();
    }
  });

  it("drops a plan a check finds incomplete, with the isolates built from it, and walks again", async () => {
    const missed: number[] = [];
    const runtime = new FunctionRuntime(WALK_LIMITS, new Set(), (m) => missed.push(m));
    const learn = (plan: unknown) =>
      (runtime as unknown as { learnLockdown(r: unknown, f: undefined): void }).learnLockdown({ plan, checked: false, missed: 0 }, undefined);
    try {
      await until(() => runtime.spareCount.built === 3 && planOf(runtime) !== undefined);
      // A plan that misses the last 50 objects of the walk's (3 numbers each), trusted as if a check had passed.
      const good = JSON.parse(/plan: (.*), check: false };$/.exec(planOf(runtime)!.plain.source)![1]) as { ops: number[]; keys: unknown[] };
      (runtime as unknown as { lockdownPlan: PlanState }).lockdownPlan = undefined;
      learn({ ops: good.ops.slice(0, -150), keys: good.keys });
      const bad = planOf(runtime)!;
      Object.assign(bad, { verified: true, followed: 1 });
      // The three spares built before are used up; their replacements follow the bad plan unchecked.
      for (let i = 0; i < 3; i++) await walked(runtime, `before-${i}`);
      await until(() => runtime.spareCount.built === 3);
      // The next isolate built from it is checked.
      bad.followed = 32;
      // The walk of the function's own code sees what the plan left open (so the test above can
      // fail): most of the 50 objects (a few are frozen by the language itself, %ThrowTypeError%).
      const exposed = await walked(runtime, "exposed");
      expect(exposed.open.length).to.be.at.least(40);
      // The check dropped the plan, the spares built from it and the warm function built from it.
      await until(() => planOf(runtime) === null && runtime.spareCount.built === 3);
      expect(missed).to.have.length(1);
      expect(missed[0]).to.be.at.least(exposed.open.length);
      const again = await walked(runtime, "exposed");
      expect(again.open).to.deep.equal([]);
      expect(again.reached).to.equal(exposed.reached);
      // Every isolate walks from now on.
      for (let i = 0; i < 4; i++) expect((await walked(runtime, `after-${i}`)).open, `after-${i}`).to.deep.equal([]);
      expect(planOf(runtime)).to.equal(null);
    } finally {
      runtime.close();
    }
  });

  it("keeps typed array and array stores at full speed under the lockdown, which still freezes their prototypes", async () => {
    // V8 sends an element store down its slow path when a prototype in the receiver's chain has the
    // frozen elements kind Object.freeze gives (endojs/endo#1563): the CPU of the same loop in a
    // bare isolate is the reference. The ratio was 10-15 with every prototype frozen.
    const loop = `const work = () => {
      let t = 0;
      for (let r = 0; r < 200; r++) {
        const bytes = new Uint8Array(4096);
        for (let i = 0; i < bytes.length; i++) bytes[i] = i;
        const list = [];
        for (let i = 0; i < 512; i++) list[list.length] = i;
        const table = {};
        for (let i = 0; i < 512; i++) table[i] = i;
        t += bytes[100] + list.length + table[7];
      }
      return t;
    };`;
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, cpuMs: 10_000 });
    const bare = new ivm.Isolate({ memoryLimit: 128 });
    try {
      const intrinsics = await runtime.run(
        "frozen",
        `${loop} export default { fetch() { const p = Object.getPrototypeOf(Uint8Array.prototype);
          return Response.json([Object.prototype, Array.prototype, p, Uint8Array.prototype, Float64Array.prototype].map((o) => Object.isFrozen(o))
            .concat([() => { p.fill = null; }, () => { Uint8Array.prototype[0] = 1; }, () => { Array.prototype.push = null; }, () => { Object.prototype.x = 1; }]
              .map((attempt) => { try { attempt(); return false; } catch (e) { return e instanceof TypeError; } }))); } }`,
        REQUEST,
      );
      expect(JSON.parse(Buffer.from(intrinsics.body).toString())).to.deep.equal([true, true, true, true, true, true, true, true, true]);

      const context = bare.createContextSync();
      const work = bare.compileScriptSync(`${loop} work`).runSync(context, { reference: true }) as ivm.Reference<() => number>;
      // In turn, so a load spike (the other shard's system tests, CI 2026-12-05: 6.4 ms against
      // 1.6) stretches both series alike.
      const locked: number[] = [];
      const reference: number[] = [];
      for (let i = 0; i < 8; i++) {
        locked.push((await runtime.run("stores", `${loop} export default { fetch() { return new Response(String(work())); } }`, REQUEST)).cpuUs);
        const before = bare.cpuTime;
        work.applySync(undefined, []);
        reference.push(Number((bare.cpuTime - before) / 1_000n));
      }
      // The fastest of each (after V8 optimized the loop): CPU time, which another process's load does not inflate much.
      const ratio = Math.min(...locked) / Math.min(...reference);
      expect(ratio, `locked-down ${Math.min(...locked)} µs, bare ${Math.min(...reference)} µs`).to.be.below(3);
    } finally {
      runtime.close();
      bare.dispose();
    }
  });

  it("keeps at most warmIsolates isolates, evicting the least recently used, whose function still serves", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, warmIsolates: 2 });
    const source = (name: string) => `export default { fetch() { return new Response("${name}") } }`;
    try {
      for (const name of ["a", "b", "c", "a", "d", "b"]) {
        const answer = await runtime.run(name, source(name), REQUEST);
        expect(Buffer.from(answer.body).toString()).to.equal(name);
        expect(runtime.warmCount).to.be.at.most(2);
      }
      expect(runtime.warmCount).to.equal(2);
    } finally {
      runtime.close();
    }
  });

  it("makes a root's code cache on its second compilation, not its first, and compiles from it after that", async () => {
    const runtime = new FunctionRuntime({ ...DEFAULT_FUNCTION_LIMITS, warmIsolates: 1 });
    const cached = () => [...(runtime as unknown as { codeCache: Map<string, unknown> }).codeCache.keys()].sort();
    const source = (name: string) => `export default { fetch() { return new Response("${name}") } }`;
    try {
      // One warm isolate: each run of the other root evicts this one, so every run compiles.
      const runs: [string, string[]][] = [
        ["a", []],
        ["b", []],
        ["a", ["a"]],
        ["b", ["a", "b"]],
        ["a", ["a", "b"]],
      ];
      for (const [name, expected] of runs) {
        const answer = await runtime.run(name, source(name), REQUEST);
        expect(Buffer.from(answer.body).toString()).to.equal(name);
        expect(cached(), `after running ${name}`).to.deep.equal(expected);
      }
    } finally {
      runtime.close();
    }
  });

  it("refuses a host name that resolves to a refused address when it connects, before any byte is sent", async () => {
    // The machine's own name resolves (through /etc/hosts) to its own or a loopback address: a
    // name no literal check catches, as a rebinding name would be.
    const name = os.hostname();
    const addresses = await lookup(name, { all: true });
    expect(
      addresses.every((a) => refusalOf(a.address) !== undefined),
      `${name} resolves to ${addresses.map((a) => a.address).join(", ")}: this test needs the machine's name to resolve to its own address`,
    ).to.equal(true);
    let reached = 0;
    const server = createServer((_req, res) => {
      reached++;
      res.end("reached");
    });
    await new Promise<void>((resolve) => server.listen(0, resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const policy = { maxResponseBytes: 1024, deadline: performance.now() + 5_000, refusedHosts: new Set<string>() };
      const refused = await outboundFetch(`http://${name}:${port}/`, "GET", [], null, policy).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).to.be.instanceOf(OutboundRefused);
      expect((refused as Error).message).to.match(new RegExp(`^fetch refused: ${name} resolves to an address that is `));
      // The same server, named by an address the operator allowed, is reached: the refusal was the name's.
      const allowed = await outboundFetch(`http://127.0.0.1:${port}/`, "GET", [], null, { ...policy, allowPrivate: true });
      expect(Buffer.from(allowed.body).toString()).to.equal("reached");
      expect(reached).to.equal(1);
    } finally {
      server.close();
    }
  });

  it("refuses loopback, private, link-local, CGNAT, mapped and reserved addresses, and allows public ones", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.0.9",
      "10.0.0.1",
      "172.31.255.255",
      "192.168.0.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fd12::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
    ]) {
      expect(refusalOf(address), address).to.be.a("string");
    }
    for (const address of ["1.1.1.1", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111"]) {
      expect(refusalOf(address), address).to.equal(undefined);
    }
  });

  it("reads limits from the config and refuses bad ones", () => {
    expect(functionLimitsFrom(undefined)).to.deep.equal({
      memoryMiB: 128,
      cpuMs: 50,
      wallMs: 15_000,
      bundleBytes: 1_048_576,
      requestBytes: 1_048_576,
      responseBytes: 10_485_760,
      subrequests: 50,
      warmIsolates: 64,
      codeCacheBytes: 67_108_864,
    });
    expect(functionLimitsFrom({ cpuMs: 10 }).cpuMs).to.equal(10);
    expect(() => functionLimitsFrom({ cpuMs: 0 })).to.throw("function limit cpuMs must be a positive integer");
    expect(() => functionLimitsFrom({ memoryMiB: 4 })).to.throw("at least 8");
    expect(() => functionLimitsFrom({ heap: 1 })).to.throw("unknown function limit heap");
  });
});
