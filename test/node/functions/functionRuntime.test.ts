/**
 * The isolate runtime on its own (no HTTP), for what the node test cannot pin down under its
 * 50 ms CPU limit: the 128 MiB heap limit alone stops a heap bomb, and the next request on the
 * same function gets a new isolate. Also the outbound address rules on literal addresses.
 */
import { expect } from "chai";
import fc from "fast-check";
import ivm from "isolated-vm";
import { DEFAULT_FUNCTION_LIMITS, effectiveLimits, functionLimitsFrom } from "../../../node/functions/functionLimits";
import { FunctionError, FunctionRuntime, type FunctionRequest } from "../../../node/functions/functionRuntime";
import { refusalOf } from "../../../node/functions/outboundFetch";
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

  it("builds main(params) off the function's clock: a 1 MB body of 'é' to main is not charged its decoding", async () => {
    const runtime = new FunctionRuntime(DEFAULT_FUNCTION_LIMITS);
    const source = `export function main(params) { return Response.json({ chars: params.body.length, first: params.body[0], query: params.query }); }`;
    const body = new TextEncoder().encode("é".repeat(500_000)); // 1,000,000 bytes, 500,000 characters
    try {
      for (let i = 0; i < 3; i++) {
        const answer = await runtime.run("main", source, { ...REQUEST, method: "POST", url: "http://fn/?a=1", body, params: { path: "/", search: "?a=1" } });
        expect(JSON.parse(Buffer.from(answer.body).toString())).to.deep.equal({ chars: 500_000, first: "é", query: { a: "1" } });
        // The function's own CPU (a finished run's reading is its thread's): decoding the body in
        // the isolate took 9-15 ms; the handler alone takes well under 4.
        expect(answer.cpuUs, `run ${i}`).to.be.below(4_000);
      }
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
      const texts = fc.sample(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }), 300);
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

      const locked: number[] = [];
      for (let i = 0; i < 8; i++)
        locked.push((await runtime.run("stores", `${loop} export default { fetch() { return new Response(String(work())); } }`, REQUEST)).cpuUs);
      const context = bare.createContextSync();
      const work = bare.compileScriptSync(`${loop} work`).runSync(context, { reference: true }) as ivm.Reference<() => number>;
      const reference: number[] = [];
      for (let i = 0; i < 8; i++) {
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
