/**
 * The functions service's runtime threads (functionThreads.ts): answers and failures cross the
 * thread boundary whole, a function stays on the thread that holds it warm, and one function's
 * synchronous run holds only its own thread.
 */
import { expect } from "chai";
import { DEFAULT_FUNCTION_LIMITS, runtimeThreadsFrom, type FunctionLimits } from "../../../node/functions/functionLimits";
import { FunctionError, type FunctionRequest } from "../../../node/functions/functionRuntime";
import { FunctionThreads } from "../../../node/functions/functionThreads";
import { checkServicesConfig } from "../../../node/services/serviceCatalog";

const REQUEST: FunctionRequest = {
  method: "POST",
  url: "http://fn/",
  headers: [["x-a", "1"]],
  body: new Uint8Array([104, 105]),
  params: { path: "/", search: "" },
};
const QUIET = { onPlanDropped: () => undefined, onThreadFailed: (reason: string) => expect.fail(`a thread stopped: ${reason}`) };

describe("function runtime threads (issue 19)", function () {
  this.timeout(60_000);
  let threads: FunctionThreads | undefined;
  afterEach(async () => {
    await threads?.close();
    threads = undefined;
  });

  async function start(count: number, limits: FunctionLimits = DEFAULT_FUNCTION_LIMITS): Promise<FunctionThreads> {
    threads = await FunctionThreads.start(limits, [], QUIET, count);
    return threads;
  }

  async function failureOf(run: Promise<unknown>): Promise<FunctionError> {
    const error = await run.then(
      () => expect.fail("the run answered"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FunctionError);
    return error as FunctionError;
  }

  it("answers with the function's status, headers, body and CPU time from another thread", async () => {
    const pool = await start(2);
    expect(pool.size).to.equal(2);
    const source = `export default { async fetch(request) {
      return new Response(request.method + " " + request.headers.get("x-a") + " " + await request.text(), { status: 201, headers: { "x-b": "2" } });
    } }`;
    const answer = await pool.run("echo", source, REQUEST, DEFAULT_FUNCTION_LIMITS);
    expect(answer.status).to.equal(201);
    expect(answer.headers).to.deep.include(["x-b", "2"]);
    expect(Buffer.from(answer.body).toString()).to.equal("POST 1 hi");
    expect(answer.cpuUs)
      .to.be.a("number")
      .and.be.greaterThan(0)
      .and.at.most(DEFAULT_FUNCTION_LIMITS.cpuMs * 1000);
  });

  it("rejects with the runtime's FunctionError, its kind, message and the CPU time a stopped run used", async () => {
    const pool = await start(2);
    const threw = await failureOf(pool.run("throws", `export default { fetch() { throw new Error("boom"); } }`, REQUEST, DEFAULT_FUNCTION_LIMITS));
    expect(threw.failure).to.equal("threw");
    expect(threw.message).to.equal("the function threw: boom");
    const looped = await failureOf(pool.run("loops", `export default { fetch() { for (;;); } }`, REQUEST, DEFAULT_FUNCTION_LIMITS));
    expect(looped.failure).to.equal("cpu");
    expect(looped.message).to.equal("the function ran over its CPU time limit (50 ms)");
    // What a receipt charges for the stopped run: up to the limit, and most of it.
    expect(looped.cpuUs).to.be.at.least(25_000).and.at.most(50_000);
    // Its isolate was discarded: the thread asks for the source again, which the call left out.
    expect((await failureOf(pool.run("loops", `export default { fetch() { for (;;); } }`, REQUEST, DEFAULT_FUNCTION_LIMITS))).failure).to.equal("cpu");
    const bad = await failureOf(pool.run("bad", `export default {`, REQUEST, DEFAULT_FUNCTION_LIMITS));
    expect(bad.failure).to.equal("bad-module");
  });

  it("keeps a function on the thread that holds it warm, however busy that thread is", async () => {
    const pool = await start(2);
    const counter = `let served = 0; export default { fetch(request) {
      // A function's clock stands still while it runs (docs/functions.md "Clock"): slow by work, not by Date.
      if (request.url.endsWith("/slow")) { let n = 0; for (let i = 0; i < 1e8; i++) n += i; return new Response("slow " + n); }
      return new Response(String(++served));
    } }`;
    const limits = { ...DEFAULT_FUNCTION_LIMITS, cpuMs: 5_000 };
    const count = async () => Buffer.from((await pool.run("counter", counter, REQUEST, limits)).body).toString();
    const counts = [await count()];
    for (let i = 0; i < 5; i++) {
      // Its thread is busy with its slow request, the other idle: a new root would go there.
      const busy = pool.run("counter", counter, { ...REQUEST, url: "http://fn/slow" }, limits);
      counts.push(await count());
      await busy;
    }
    // One isolate served all six: its module's state counted them.
    expect(counts).to.deep.equal(["1", "2", "3", "4", "5", "6"]);
  });

  it("serves other functions while one runs synchronously for a long while (2e8 additions)", async () => {
    const pool = await start(2);
    const limits = { ...DEFAULT_FUNCTION_LIMITS, cpuMs: 5_000 };
    const hello = `export default { fetch() { return new Response("hello"); } }`;
    await pool.run("hello", hello, REQUEST, limits);
    const spin = `export default { fetch() { let n = 0; for (let i = 0; i < 2e8; i++) n += i; return new Response("spun " + n); } }`;
    const started = performance.now();
    let spun = 0;
    const spinning = pool.run("spin", spin, REQUEST, limits).then(() => (spun = performance.now() - started));
    // "hello" is warm on the other thread: one runtime would answer it only after the spin.
    const answered: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect(Buffer.from((await pool.run("hello", hello, REQUEST, limits)).body).toString()).to.equal("hello");
      answered.push(performance.now() - started);
    }
    await spinning;
    // Five answers came while the spin ran (a hundred milliseconds and more).
    expect(spun).to.be.at.least(100);
    expect(Math.max(...answered)).to.be.below(spun);
  });

  it("shares the node's warm isolates among the threads", async () => {
    // Two threads and four warm isolates: two each, so a third function on a thread evicts its first.
    const pool = await start(2, { ...DEFAULT_FUNCTION_LIMITS, warmIsolates: 4 });
    const counter = `let served = 0; export default { fetch() { return new Response(String(++served)); } }`;
    const count = async (root: string) => Buffer.from((await pool.run(root, counter, REQUEST, DEFAULT_FUNCTION_LIMITS)).body).toString();
    // New roots alternate between the idle threads: a, c, e on one; b, d, f on the other.
    for (const root of ["a", "b", "c", "d"]) expect(await count(root)).to.equal("1");
    expect(await count("a")).to.equal("2");
    for (const root of ["e", "f"]) expect(await count(root)).to.equal("1");
    // "c" was its thread's least recently used when "e" came: evicted, it starts over; "a" stayed.
    expect(await count("a")).to.equal("3");
    expect(await count("c")).to.equal("1");
  });

  it("closes with requests in flight: they are refused, a function awaiting forever does not hold the close, and later calls are refused", async () => {
    const pool = await start(2);
    const forever = pool.run("forever", `export default { fetch() { return new Promise(() => {}); } }`, REQUEST, DEFAULT_FUNCTION_LIMITS);
    // A cold root whose isolate is still being built when the close arrives.
    const building = pool.run("building", `export default { fetch() { return new Response("x"); } }`, REQUEST, { ...DEFAULT_FUNCTION_LIMITS, memoryMiB: 64 });
    const started = performance.now();
    const closing = pool.close();
    expect(pool.close()).to.equal(closing);
    for (const run of [forever, building]) {
      const error = await run.then(
        () => expect.fail("answered"),
        (e: unknown) => e as Error,
      );
      expect(error.message).to.equal("the functions service closed");
    }
    await closing;
    // The thread whose run never ends is terminated after its grace (2 s), well before the 15 s wall limit.
    expect(performance.now() - started).to.be.below(10_000);
    const late = await pool.run("late", `export default { fetch() { return new Response("x"); } }`, REQUEST, DEFAULT_FUNCTION_LIMITS).then(
      () => "answered",
      (e: unknown) => (e as Error).message,
    );
    expect(late).to.equal("the functions service closed");
  });

  it("takes its thread count from the config: 1 to 16, one by default", () => {
    expect(runtimeThreadsFrom(undefined)).to.equal(1);
    expect(runtimeThreadsFrom(1)).to.equal(1);
    expect(runtimeThreadsFrom(16)).to.equal(16);
    for (const bad of [0, 17, 1.5, "2", -1, null])
      expect(() => runtimeThreadsFrom(bad)).to.throw("config: services.functions.threads must be an integer from 1 to 16");
    expect(() => checkServicesConfig({ functions: { threads: 0 } })).to.throw("services.functions.threads");
    expect(checkServicesConfig({ functions: { threads: 2, limits: { cpuMs: 10 } } })).to.deep.equal({ functions: { threads: 2, limits: { cpuMs: 10 } } });
  });
});
