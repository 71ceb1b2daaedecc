/**
 * Runs functions in V8 isolates (isolated-vm): one warm isolate per function root with its own
 * heap limit and one context, locked down once (sandboxLockdown.ts) and reused by all the
 * function's requests, as workerd reuses a worker's globals; an isolate that hit a limit is
 * discarded and rebuilt; the least recently used isolate is disposed beyond `warmIsolates`; V8's
 * compiled code is kept by root so a function whose isolate was evicted compiles from cache.
 * See docs/functions.md ("Isolation" and "Measured": why not a context per request).
 */
import ivm from "isolated-vm";
import { LRUCache } from "lru-cache";
import type { FunctionLimits } from "./functionLimits";
import { outboundFetch, OutboundRefused, type OutboundResponse } from "./outboundFetch";
import { assertIsolatedVmPatched } from "./isolatedVmPatch";
import { preludeEntries, SANDBOX_PRELUDE, type PreludeEntries } from "./sandboxPrelude";
import { hostUrlReference } from "./sandboxUrl";
import { copyIntoIsolate, unanswered } from "./isolateCopy";

/** Isolates kept built for functions that are not warm (`FunctionRuntime.spares`); ~2.4 MiB each. */
const SPARES = 3;
/** A namespace-like object whose handler uses what most functions use, and the request it gets. */
const WARMUP_MODULE = `({ default: { async fetch(request) {
  await request.text();
  Response.json({ warm: true });
  return new Response("", { headers: { "content-type": "text/plain" } });
} } })`;
const WARMUP_REQUEST = { method: "POST", url: "http://warmup/", headers: [["content-type", "text/plain"]], body: new Uint8Array([120]), params: {} };
/** The prelude's script name (its code cache is checked against its source, not its name). */
const PRELUDE_FILENAME = "fleek:prelude";
/** Answers between two reads of a function's heap size. */
const HEAP_CHECK_EVERY = 8;
/** Roots remembered as compiled once, so their next compilation makes a code cache (FunctionRuntime.compile). */
const COMPILED_ONCE_ROOTS = 16_384;
/** How often the CPU clock of a running request is read, ms. */
const CPU_WATCH_MS = 5;
/** Isolates built from the lockdown's plan, once one check passed, between two that also walk to check it. */
const PLAN_CHECK_EVERY = 32;

/** What the lockdown returns (sandboxLockdown.ts): its plan when it walked, whether it checked a plan and what it found unfrozen. */
interface LockdownResult {
  plan?: { ops: number[]; keys: (string | [string])[] };
  checked: boolean;
  missed: number;
}

/** The lockdown's options without a plan to follow: it walks, and returns the plan of its walk when asked for one. */
const WALK_FOR_PLAN = new ivm.ExternalCopy({ wantPlan: true });
const WALK = new ivm.ExternalCopy({});

/** The lockdown's plan, as the scripts that hand it to an isolate with and without the check. */
interface LockdownPlan {
  plain: CachedScript;
  checked: CachedScript;
  /** Isolates built from it once verified (for the period of the checks). */
  followed: number;
  /** Whether a check passed. */
  verified: boolean;
}

/** A script of ours, and V8's code cache of it once made. */
interface CachedScript {
  source: string;
  filename: string;
  cache?: ivm.ExternalCopy<ArrayBuffer>;
}

/** Why a function did not answer: each maps to one HTTP status (functionsService.ts). */
export type FunctionFailure = "cpu" | "wall" | "memory" | "bad-module" | "threw" | "response-too-large";

/** A function that failed, with the reason the client is told. */
export class FunctionError extends Error {
  /** CPU µs the request used before it was stopped (set by {@link FunctionRuntime.run}: what a receipt charges). */
  cpuUs?: number;
  constructor(
    readonly failure: FunctionFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Fleek's `main(params)` object. */
export interface MainParams {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
}

/** What a function receives: the web Request's parts, and Fleek's `main(params)` object or what it is built from. */
export interface FunctionRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
  /**
   * The `main(params)` object, or the path and query string the runtime builds it from (with the
   * method, headers and body above) only when `main` serves the module (it exports `main` and no
   * `default.fetch`): a `fetch` module, the common case, never pays for building and copying it.
   */
  params: MainParams | { path: string; search: string };
}

/** What a function answered. */
export interface FunctionResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** What a function answered, with the CPU time its isolate spent on the request (the receipt's figure). */
export interface MeteredResponse extends FunctionResponse {
  /**
   * Microseconds of the isolate's CPU clock from the request's start to its answer: the module's
   * evaluation on a cold request included, the context's construction not. Requests a function
   * serves at once share the clock, so each is charged the isolate's time meanwhile (exact for
   * one at a time, never less than what it used).
   */
  cpuUs: number;
}

/** What one request may still spend on subrequests, and until when. */
interface RequestBudget {
  /** On `performance.now()`'s monotonic clock, as every wall deadline here (outboundFetch.ts). */
  deadline: number;
  subrequests: number;
}

/** A running request as the watchdog sees it (FunctionRuntime.watch). */
interface Watch {
  warm: WarmFunction;
  limits: FunctionLimits;
  deadline: number;
  /** The request's share of the isolate's CPU (`WarmFunction.clocked`); unset while its module is prepared. */
  clock?: { ns: bigint };
  cpuNow: () => bigint | undefined;
  stop: (failure: FunctionError) => void;
}

/** One function's isolate with its locked-down context, its module and the entry the host calls. */
class WarmFunction {
  inflight = 0;
  /** Requests answered, for the heap check's period. */
  served = 0;
  retired = false;
  /** Set once `base` is built: a cold request takes a built spare before one still building. */
  built = false;
  /** The requests running now: their subrequests are charged to them (see `hostFetch`). */
  readonly running = new Set<RequestBudget>();
  /** The running requests whose clock started, each with its share of the isolate's CPU so far (ns). */
  readonly clocked = new Set<{ ns: bigint }>();
  /** The isolate's CPU clock when it was last shared out (`shareClock`). */
  private clockMark = 0n;
  /** The locked-down context and the prelude's entries, built before the function is known. */
  base!: Promise<{ context: ivm.Context } & PreludeEntries>;
  /** Settles once the function's module is evaluated in `base`. */
  ready?: Promise<PreparedModule>;
  /** The lockdown plan its context followed, if any (the isolate is dropped with the plan). */
  plan?: LockdownPlan;
  constructor(
    readonly isolate: ivm.Isolate,
    /** The heap limit it was made with: a function registered with another limit gets its own. */
    readonly memoryMiB: number,
  ) {}

  /**
   * Shares the isolate's CPU since the last reading equally among the requests whose clock runs:
   * code resumed after an await (a subrequest's answer) runs for whichever request awaited, which
   * the host cannot tell. A request's own synchronous run is its own (`ownRun`). Requests a
   * function serves at once share one clock: charging each the whole of it while it ran charged
   * overlapping requests each other's CPU.
   */
  shareClock(reading: bigint | undefined): void {
    if (reading === undefined || reading <= this.clockMark) return;
    if (this.clocked.size > 0) {
      const share = (reading - this.clockMark) / BigInt(this.clocked.size);
      for (const clock of this.clocked) clock.ns += share;
    }
    this.clockMark = reading;
  }

  /**
   * Charges `clock` the CPU of a synchronous run from `from` to `to`, past what was shared out
   * already: a reading taken while code ran elsewhere is wall time since it resumed (isolated-vm's
   * executor.cc), so the mark can stand above a later reading, and the clock never moves it back.
   */
  ownRun(clock: { ns: bigint }, from: bigint, to: bigint): void {
    const start = from > this.clockMark ? from : this.clockMark;
    if (to <= start) return;
    clock.ns += to - start;
    this.clockMark = to;
  }

  /** What `clock` has been charged, with its share of the CPU not shared out yet (at `reading`). */
  shareOf(clock: { ns: bigint }, reading: bigint): bigint {
    const unshared = reading > this.clockMark && this.clocked.size > 0 ? (reading - this.clockMark) / BigInt(this.clocked.size) : 0n;
    return clock.ns + unshared;
  }

  /** Disposes the isolate now, or once its last request finished. */
  retire(): void {
    this.retired = true;
    // After the answer went out: freeing a large heap takes milliseconds nobody should wait for.
    if (this.inflight === 0) setImmediate(() => this.isolate.isDisposed || this.isolate.dispose());
  }
}

/** The functions' sandbox. */
export class FunctionRuntime {
  private readonly warm: LRUCache<string, WarmFunction>;
  /**
   * Isolates with their context locked down, built between requests (the first ones as the runtime
   * starts), for the next functions that are not warm: their first request then pays only for
   * compiling and evaluating the module. Three, so a cold request right after another finds one
   * built while the two it and its predecessor used are rebuilt, one per core.
   */
  private readonly spares: WarmFunction[] = [];
  private sparesScheduled = false;
  private readonly watched = new Set<Watch>();
  private watchdog?: NodeJS.Timeout;
  private closed = false;
  /** V8's code cache of the prelude (compilePrelude), `complete` once remade after a warm-up (recachePrelude). */
  private preludeCache?: { data: ivm.ExternalCopy<ArrayBuffer>; complete: boolean };
  private readonly codeCache: LRUCache<string, { data: ivm.ExternalCopy<ArrayBuffer>; bytes: number }>;
  /** Roots compiled once without a code cache (see compile). */
  private readonly compiledOnce = new LRUCache<string, true>({ max: COMPILED_ONCE_ROOTS });
  /**
   * The lockdown's plan (sandboxLockdown.ts); unset until a walk made one, `null` once a check
   * found an object it missed or a walk could not make one: every isolate walks then.
   */
  private lockdownPlan?: LockdownPlan | null;

  constructor(
    private readonly limits: FunctionLimits,
    /** Hosts a function may not fetch from besides non-public addresses (the node's own names). */
    private readonly refusedHosts: ReadonlySet<string> = new Set(),
    /** Told when the lockdown's plan is dropped, with how many objects a check found it missed (0: the prelude failed with it). */
    private readonly onPlanDropped: (missed: number) => void = () => undefined,
  ) {
    assertIsolatedVmPatched();
    this.warm = new LRUCache({ max: limits.warmIsolates, dispose: (w) => w.retire() });
    this.codeCache = new LRUCache({ maxSize: limits.codeCacheBytes, sizeCalculation: (c) => Math.max(1, c.bytes) });
    // Built now rather than after the first request: a node's first cold start finds one ready.
    this.keepSpares();
  }

  /** Spare isolates kept, and how many of them are built (for tests). */
  get spareCount(): { kept: number; built: number } {
    return { kept: this.spares.length, built: this.spares.filter((s) => s.built).length };
  }

  /** Number of warm isolates (for status and tests). */
  get warmCount(): number {
    return this.warm.size;
  }

  /**
   * Whether a request for `root` with a `memoryMiB` heap would find the function's isolate, its
   * module prepared or being prepared: {@link run} would not read its source.
   */
  holds(root: string, memoryMiB: number): boolean {
    return serves(this.warm.peek(root), memoryMiB);
  }

  /**
   * Runs the module `source` (content root `root`) on `request` under `limits` (the node's, or
   * those registered for the function: functionLimits.ts effectiveLimits); rejects with
   * {@link FunctionError}, which carries the CPU time used when a limit stopped the run.
   */
  async run(root: string, source: string, request: FunctionRequest, limits: FunctionLimits = this.limits): Promise<MeteredResponse> {
    const warm = this.warmFunction(root, limits.memoryMiB);
    warm.inflight++;
    const budget: RequestBudget = { deadline: performance.now() + limits.wallMs, subrequests: limits.subrequests };
    warm.running.add(budget);
    let finished = false;
    let watch: Watch | undefined;
    // The request's share of its isolate's CPU clock, from when its own time started: its module's
    // evaluation for the request that prepares it, else its call; the clock's latest reading: a
    // disposed isolate (memory) can no longer be read.
    const clock = { ns: 0n };
    let cpuSeen: bigint | undefined;
    const cpuNow = () => {
      if (!warm.isolate.isDisposed) cpuSeen = warm.isolate.cpuTime;
      return cpuSeen;
    };
    let clockStarted = false;
    // Once: a request that ended while its isolate was built never starts it (it would stay in `clocked`).
    const startClock = () => {
      if (clockStarted || finished) return;
      warm.shareClock(cpuNow());
      warm.clocked.add(clock);
      watch!.clock = clock;
      clockStarted = true;
    };
    /** The request's CPU (µs); its clock stops at the first call. */
    const stopClock = () => {
      if (warm.clocked.has(clock)) {
        warm.shareClock(cpuNow());
        warm.clocked.delete(clock);
      }
      return Number(clock.ns / 1_000n);
    };
    try {
      const stopped = new Promise<never>((_, reject) => {
        watch = { warm, limits, deadline: budget.deadline, cpuNow, stop: reject };
        this.watch(watch);
      });
      const answered = (async () => {
        // Building the context (our prelude and lockdown) is not the function's CPU time; its
        // module's top level is, under V8's timeout in prepare(), for the request that prepares it.
        if (!warm.ready) {
          // The prelude and lockdown are ours: the clock starts after them, before the module.
          warm.ready = this.prepare(warm, root, source, limits, startClock);
        }
        const { run, namespace, handler } = await warm.ready;
        if (finished) throw new FunctionError("wall", "the request ended before its function was ready");
        startClock();
        // On the host, before the function's clock: building it in the isolate (decoding a 1 MiB
        // body there) charged the client up to 15 ms of CPU a request, and counted to its limit.
        // Its body goes as a string argument of its own: inside the copied object V8 deserialized
        // it on the function's clock (1.5-5 ms for 1 MB), as an argument the host copies it.
        const main = handler === "main" && !("query" in request.params) ? mainParamsOf(request, request.params) : undefined;
        const call = main ? { ...request, params: main.params } : request;
        const callClock = (cpuSeen = warm.isolate.cpuTime);
        warm.shareClock(callClock);
        // Synchronous on this thread until the handler returns or awaits (then its promise is
        // proxied): the asynchronous apply hands every call to isolated-vm's thread pool and back,
        // which cost more than a trivial function's whole run (docs/functions.md "Measured").
        // V8's timeout bounds the synchronous part as it bounded the asynchronous call.
        const callStarted = performance.now();
        let pending: Promise<FunctionResponse>;
        try {
          pending = run.applySync(undefined, [namespace.derefInto(), copyIntoIsolate(call), main?.body, handler], {
            // What is left of the limit: a first request's module evaluation came out of it.
            timeout: Math.max(1, Math.ceil(limits.cpuMs - Number(clock.ns) / 1e6)),
            result: { promise: true, copy: true },
          }) as unknown as Promise<FunctionResponse>;
        } catch (error) {
          // A heap kill disposes the isolate during the call, before the watchdog could read its
          // clock: the call held this thread, so its duration is charged (process.cpuUsage, a
          // system call, would cost every request more than the hop it replaces).
          if (warm.isolate.isDisposed && cpuSeen === callClock) cpuSeen = callClock + BigInt(Math.round((performance.now() - callStarted) * 1e6));
          throw error;
        } finally {
          // The synchronous run held the isolate and this thread: all of it is this request's.
          warm.ownRun(clock, callClock, cpuNow() ?? callClock);
        }
        const answer = await pending;
        // At most the limit, which the gateway's admission reserved: the share shared out after
        // the watchdog's last look can take it above.
        return { ...answer, cpuUs: Math.min(stopClock(), limits.cpuMs * 1_000) };
      })();
      const response = await Promise.race([answered, stopped]);
      // A heap past half its limit after a request (the function's state, or garbage V8 put off
      // collecting) is replaced, so what accumulated never reads as the next request's memory bomb.
      // Read every HEAP_CHECK_EVERY requests (a synchronous call into the isolate, ~13 µs): what one
      // request allocates past the limit is the heap limit's to stop, this is for slow growth.
      if (++warm.served % HEAP_CHECK_EVERY === 0 && warm.isolate.getHeapStatisticsSync().used_heap_size > (limits.memoryMiB * 2 ** 20) / 2) {
        this.drop(root, warm);
      }
      if (response.body.byteLength > limits.responseBytes) {
        throw new FunctionError("response-too-large", `the function's response body is over ${limits.responseBytes} bytes`);
      }
      return response;
    } catch (error) {
      const failure = this.failureOf(warm, limits, error);
      // Read before the isolate is dropped: what the stopped run used is still charged, at most its
      // CPU limit: read mid-run, isolated-vm's clock is wall time since the run last resumed (it
      // cannot read another thread's CPU clock), which a loaded machine stretches.
      if (clockStarted) failure.cpuUs = Math.min(stopClock(), limits.cpuMs * 1_000);
      // Execution stopped mid-run (a limit, a termination) may leave the context in any state: the
      // next request gets a new isolate. An exception the function threw leaves it as it was.
      if (failure.failure === "cpu" || failure.failure === "wall" || failure.failure === "memory") this.drop(root, warm);
      throw failure;
    } finally {
      finished = true;
      warm.clocked.delete(clock);
      this.watched.delete(watch!);
      warm.running.delete(budget);
      warm.inflight--;
      this.keepSpares();
      if (warm.retired) warm.retire();
    }
  }

  /** Disposes every isolate. */
  close(): void {
    this.closed = true;
    this.warm.clear();
    for (const spare of this.spares.splice(0)) spare.retire();
  }

  /**
   * Watches a request until its answer: its wall deadline, and its isolate's CPU clock once its
   * call started (V8's timeout bounds each run the host starts; code resumed after a subrequest
   * runs outside it). One interval for all running requests, stopped when none runs: two timers
   * set and cleared per request cost more than the checks.
   */
  private watch(watch: Watch): void {
    this.watched.add(watch);
    this.watchdog ??= setInterval(() => this.checkWatched(), CPU_WATCH_MS);
  }

  private checkWatched(): void {
    if (this.watched.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      return;
    }
    const now = performance.now();
    for (const w of this.watched) {
      if (now >= w.deadline) {
        w.stop(new FunctionError("wall", `the function ran over its wall time limit (${w.limits.wallMs} ms)`));
        continue;
      }
      if (w.clock === undefined) continue;
      const cpu = w.cpuNow();
      if (w.warm.isolate.isDisposed || cpu === undefined) continue;
      // Its own share: another request's synchronous run is that request's, not this one's.
      if (Number(w.warm.shareOf(w.clock, cpu)) / 1e6 > w.limits.cpuMs) {
        w.stop(new FunctionError("cpu", `the function ran over its CPU time limit (${w.limits.cpuMs} ms)`));
      }
    }
  }

  private warmFunction(root: string, memoryMiB: number): WarmFunction {
    const existing = this.warm.get(root);
    if (serves(existing, memoryMiB)) return existing;
    if (existing) this.drop(root, existing);
    // Spares have the node's heap limit; a function registered with a smaller one gets its own.
    const warm = memoryMiB === this.limits.memoryMiB ? (this.takeSpare() ?? this.newWarmFunction(memoryMiB)) : this.newWarmFunction(memoryMiB);
    this.warm.set(root, warm);
    return warm;
  }

  /** A built spare if one is (builds run in parallel and may end out of order), else the oldest, the likeliest to be built next. */
  private takeSpare(): WarmFunction | undefined {
    const built = this.spares.findIndex((s) => s.built);
    return built >= 0 ? this.spares.splice(built, 1)[0] : this.spares.shift();
  }

  /**
   * Tops the spares up once the current answer went out: `new Isolate` takes ~1.7 ms of this
   * thread, which a request should not wait for (the rest of the build runs on the isolate's).
   */
  private keepSpares(): void {
    if (this.sparesScheduled || this.spares.length >= SPARES) return;
    this.sparesScheduled = true;
    setImmediate(() => {
      this.sparesScheduled = false;
      while (!this.closed && this.spares.length < SPARES) this.spares.push(this.newWarmFunction());
    });
  }

  /** A new isolate whose context (host fetch, prelude, lockdown) starts building now. */
  private newWarmFunction(memoryMiB = this.limits.memoryMiB): WarmFunction {
    const warm = new WarmFunction(new ivm.Isolate({ memoryLimit: memoryMiB }), memoryMiB);
    warm.base = (async () => {
      // The short steps synchronously, on this thread: each asynchronous call is a hop to the
      // isolate's thread and back, which cost more than the step (the context and its two
      // references: ~0.5 ms of CPU asynchronously, ~0.3 synchronously; docs/functions.md "Cold
      // start, fifth pass"). The prelude's run and the warm-up request, the long ones, stay off it.
      const context = warm.isolate.createContextSync();
      context.global.setSync("__fleekHostFetch", this.hostFetch(warm));
      context.global.setSync("__fleekHostUrl", hostUrlReference());
      const plan = this.lockdownPlan ?? undefined;
      warm.plan = plan;
      if (plan) this.compileCached(warm.isolate, this.planScript(plan)).runSync(context);
      else context.global.setSync("__fleekLockdown", (this.lockdownPlan === undefined ? WALK_FOR_PLAN : WALK).copyInto());
      const prelude = this.compilePrelude(warm.isolate);
      let entries: PreludeEntries;
      try {
        entries = preludeEntries((await prelude.run(context, { reference: true })) as ivm.Reference);
      } catch (error) {
        // A plan that made the prelude fail is not this isolate's (nor any later one's, then).
        if (plan && !warm.isolate.isDisposed) this.dropPlan(plan);
        throw error;
      }
      // Read and deleted before any code of a function runs here.
      this.learnLockdown(context.global.getSync("__fleekLockdown", { copy: true }) as LockdownResult, plan);
      context.global.deleteSync("__fleekLockdown");
      // One request through the prelude's own code (Request, Headers, Response, the body readers)
      // so V8 compiles it now rather than during the function's first request (~0.5 ms of it).
      const warmup = context.evalSync(WARMUP_MODULE, { reference: true }) as ivm.Reference;
      await entries.run.apply(undefined, [warmup.derefInto(), new ivm.ExternalCopy(WARMUP_REQUEST).copyInto()], { result: { promise: true, copy: true } });
      warmup.release();
      if (!this.preludeCache?.complete) this.recachePrelude(warm.isolate);
      warm.built = true;
      return { context, ...entries };
    })();
    // A spare disposed before use rejects here with nobody waiting; a used one is awaited in prepare().
    warm.base.catch(() => undefined);
    return warm;
  }

  /**
   * The script that gives an isolate's lockdown `plan`: with the check until one check passed, then
   * for every {@link PLAN_CHECK_EVERY}th isolate. A script rather than a copy: its literal's strings
   * are internalized as it compiles (from its code cache); copied keys made the lockdown's look-ups
   * slower (measured: ~0.6 ms more of each isolate's build).
   */
  private planScript(plan: LockdownPlan): CachedScript {
    return !plan.verified || plan.followed++ % PLAN_CHECK_EVERY === 0 ? plan.checked : plan.plain;
  }

  /**
   * Keeps the first plan a walk made. A check that passed lets isolates follow the plan without
   * it; one that found an object the plan missed drops the plan.
   */
  private learnLockdown(result: LockdownResult, followed: LockdownPlan | undefined): void {
    if (followed) {
      if (this.lockdownPlan !== followed) return;
      if (result.missed > 0) this.dropPlan(followed, result.missed);
      else if (result.checked) followed.verified = true;
      return;
    }
    if (this.lockdownPlan !== undefined) return;
    const script = (check: boolean): CachedScript => ({
      source: `globalThis.__fleekLockdown = { plan: ${JSON.stringify(result.plan)}, check: ${check} };`,
      filename: "fleek:lockdown-plan",
    });
    this.lockdownPlan = result.plan ? { plain: script(false), checked: script(true), followed: 0, verified: false } : null;
  }

  /**
   * Drops `plan`, and every isolate built from it, spares and warm functions, the one whose check
   * found what it missed included (requests running in one finish there): every isolate walks from now on.
   */
  private dropPlan(plan: LockdownPlan, missed = 0): void {
    if (this.lockdownPlan !== plan) return;
    this.lockdownPlan = null;
    this.onPlanDropped(missed);
    for (const spare of this.spares.filter((s) => s.plan === plan)) {
      this.spares.splice(this.spares.indexOf(spare), 1);
      spare.retire();
    }
    for (const [root, warm] of [...this.warm.entries()]) if (warm.plan === plan) this.drop(root, warm);
    this.keepSpares();
  }

  /** Compiles `script` in `isolate` from its code cache, made by its first compilation. */
  private compileCached(isolate: ivm.Isolate, script: CachedScript): ivm.Script {
    const { compiled, made } = compileScript(isolate, script.source, script.filename, script.cache);
    script.cache ??= made;
    return compiled;
  }

  /**
   * Builds the function in its isolate once: the locked-down context (`base`), then the module,
   * evaluated under the CPU limit. A module that fails to build drops the isolate, so the next
   * request tries again from scratch.
   */
  private async prepare(warm: WarmFunction, root: string, source: string, limits: FunctionLimits, baseReady: () => void): Promise<PreparedModule> {
    try {
      const { context, run, handlerOf, tick } = await warm.base;
      baseReady();
      // Synchronous on this thread, as the request's call (run()): each asynchronous step is a hop
      // to isolated-vm's thread pool and back, and three of them cost more than a small module's
      // compilation and evaluation (docs/functions.md "Measured"). V8's timeout bounds the evaluation.
      const module = this.compile(warm.isolate, root, source);
      module.instantiateSync(context, (specifier) => {
        throw new Error(`imports are not supported (${JSON.stringify(specifier)}): bundle the function into one module`);
      });
      // The context's clock stood still since the spare was built: now, for the module's top level.
      tick.applySync(undefined, []);
      const evaluationStart = warm.isolate.cpuTime;
      module.evaluateSync({ timeout: limits.cpuMs });
      // Under what is left of the same limit: a getter on `default.fetch` is the module's code.
      const left = limits.cpuMs - Number(warm.isolate.cpuTime - evaluationStart) / 1e6;
      const handler = handlerOf.applySync(undefined, [module.namespace.derefInto()], { timeout: Math.max(1, Math.ceil(left)) }) as ModuleHandler;
      return { run, namespace: module.namespace, handler };
    } catch (error) {
      this.drop(root, warm);
      throw error;
    }
  }

  private drop(root: string, warm: WarmFunction): void {
    if (this.warm.peek(root) === warm) this.warm.delete(root);
    else warm.retire();
  }

  /**
   * The prelude is the same in every isolate: V8's code cache of its first compilation spares the
   * next ones the parse (measured ~2.7 ms → ~0.2 ms of every new isolate's construction).
   */
  private compilePrelude(isolate: ivm.Isolate): ivm.Script {
    const { compiled, made } = compileScript(isolate, SANDBOX_PRELUDE, PRELUDE_FILENAME, this.preludeCache?.data);
    if (made) this.preludeCache ??= { data: made, complete: false };
    return compiled;
  }

  /**
   * Remakes the prelude's code cache in an isolate that ran the prelude, its lockdown and the
   * warm-up request, before any function ran there: compiling the same source again finds the
   * script in the isolate's compilation cache with the functions those runs compiled lazily, so
   * the cache holds their bytecode too (~10 → ~24 KB) and the next isolates do not compile them
   * (measured 2026-12-04: ~0.7 ms less of each spare's build, docs/functions.md "Cold start, fifth
   * pass"). It is compiled code of our own constant source only, never data of a function: V8
   * checks it against its version, its flags and the source's length (not the content, which is
   * why the prelude's cache never serves another source; function caches are keyed by content root).
   */
  private recachePrelude(isolate: ivm.Isolate): void {
    const { compiled, made } = compileScript(isolate, SANDBOX_PRELUDE, PRELUDE_FILENAME);
    compiled.release();
    if (made && !this.preludeCache?.complete) this.preludeCache = { data: made, complete: true };
  }

  /**
   * Compiles the module, from V8's code cache when this root was compiled before. The cache is
   * made on a root's second compilation, not its first: producing it costs a cold start as much
   * as the compilation again (measured 2026-12-03: the 50 KB bundle ~1.6 → ~3.3 ms of CPU), and
   * most roots are compiled once, their isolate staying warm.
   */
  private compile(isolate: ivm.Isolate, root: string, source: string): ivm.Module {
    const cached = this.codeCache.get(root);
    const filename = `fleek:fn/${root}`;
    try {
      if (cached) return isolate.compileModuleSync(source, { filename, cachedData: cached.data });
      if (!this.compiledOnce.has(root)) {
        this.compiledOnce.set(root, true);
        return isolate.compileModuleSync(source, { filename });
      }
      const module = isolate.compileModuleSync(source, { filename, produceCachedData: true });
      const data = (module as unknown as ivm.CachedDataResult).cachedData;
      if (data) this.codeCache.set(root, { data, bytes: data.copy().byteLength });
      return module;
    } catch (error) {
      if (isolate.isDisposed) throw error;
      throw new FunctionError("bad-module", `the function's module does not compile: ${messageOf(error)}`);
    }
  }

  /**
   * The reference the prelude's `fetch` calls, one per context. A shared context cannot tell which
   * of the requests it serves at once made a call, so each call is charged to the first running
   * request with subrequests left, and bounded by its deadline: exact for one request at a time,
   * never more than the running requests' total. A call when none runs (a promise the function
   * left behind), or an answer once its request ended, is never answered ({@link unanswered}). It
   * never rejects, so a rejection nobody awaits never surfaces in the host as an unhandled
   * rejection: failures are answered as `{ error }` and thrown inside.
   */
  private hostFetch(warm: WarmFunction): ivm.Reference {
    return new ivm.Reference(
      async (url: string, method: string, headers: [string, string][], body: Uint8Array | null): Promise<ivm.Copy<OutboundResponse | { error: string }>> => {
        let budget: RequestBudget | undefined;
        for (const running of warm.running) {
          if (running.subrequests > 0) {
            budget = running;
            break;
          }
        }
        if (!budget) {
          if (warm.running.size === 0) return unanswered();
          return new ivm.ExternalCopy({ error: `fetch refused: over ${this.limits.subrequests} subrequests in one request` }).copyInto();
        }
        budget.subrequests--;
        try {
          const response = await outboundFetch(url, method, headers, body, {
            deadline: budget.deadline,
            maxResponseBytes: this.limits.responseBytes,
            refusedHosts: this.refusedHosts,
          });
          return warm.running.has(budget) ? copyIntoIsolate(response) : unanswered();
        } catch (error) {
          if (!warm.running.has(budget)) return unanswered();
          // Only the message crosses into the isolate, never a host object.
          return new ivm.ExternalCopy({ error: error instanceof OutboundRefused ? error.message : `fetch failed: ${messageOf(error)}` }).copyInto();
        }
      },
    );
  }

  private failureOf(warm: WarmFunction, limits: FunctionLimits, error: unknown): FunctionError {
    if (error instanceof FunctionError) return error;
    const message = messageOf(error);
    if (/memory limit|allocation failed/i.test(message) || (warm.isolate.isDisposed && !warm.retired)) {
      return new FunctionError("memory", `the function ran out of memory (limit ${limits.memoryMiB} MiB)`);
    }
    if (/timed out/i.test(message)) return new FunctionError("cpu", `the function ran over its CPU time limit (${limits.cpuMs} ms)`);
    return new FunctionError("threw", `the function threw: ${message.slice(0, 500)}`);
  }
}

/** Compiles a script of ours from V8's code cache `cache`, or, without one, making its code cache (`made`). */
function compileScript(
  isolate: ivm.Isolate,
  source: string,
  filename: string,
  cache?: ivm.ExternalCopy<ArrayBuffer>,
): { compiled: ivm.Script; made?: ivm.ExternalCopy<ArrayBuffer> } {
  if (cache) return { compiled: isolate.compileScriptSync(source, { filename, cachedData: cache }) };
  const compiled = isolate.compileScriptSync(source, { filename, produceCachedData: true });
  return { compiled, made: (compiled as unknown as ivm.CachedDataResult).cachedData };
}

/** Whether `warm`, a root's kept isolate, serves its next request with a `memoryMiB` heap (else it is replaced). */
function serves(warm: WarmFunction | undefined, memoryMiB: number): warm is WarmFunction {
  return warm !== undefined && !warm.isolate.isDisposed && warm.memoryMiB === memoryMiB;
}

/** An error's message, or the thrown value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Which of a module's exports serves its requests: `default.fetch`, else `main`, else none (each request fails). */
type ModuleHandler = "fetch" | "main" | "none";

/** A function's module evaluated in its context: the prelude's `run`, the module's namespace, and the handler fixed when it was evaluated. */
interface PreparedModule {
  run: ivm.Reference;
  namespace: ivm.Reference;
  handler: ModuleHandler;
}

/** Fleek's `main(params)` object of `request`, which came with only its path and query string. */
function mainParamsOf(request: FunctionRequest, { path, search }: { path: string; search: string }): { params: MainParams; body?: string } {
  const params = { method: request.method, path, query: Object.fromEntries(new URLSearchParams(search)), headers: Object.fromEntries(request.headers) };
  if (request.body === null || request.body.length === 0) return { params };
  return { params, body: Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString("utf8") };
}
