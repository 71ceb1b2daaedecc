/**
 * One hosted agent (docs/agents-runtime.md "Runtime"): a V8 isolate with the functions' locked-down
 * context (functions/sandboxPrelude.ts) plus the agent's `env`, and its store (agentStore.ts).
 * Every request and alarm of the agent runs through one queue, so the agent has a single writer:
 * a handler's read-modify-write of its store is never interleaved with another's. The isolate and
 * the store are opened on demand and closed when the agent is idle; its data folder stays.
 */
import * as fs from "node:fs";
import ivm from "isolated-vm";
import type { FunctionRequest, FunctionResponse } from "../functions/functionRuntime";
import { copyIntoIsolate, unanswered } from "../functions/isolateCopy";
import { outboundFetch, OutboundRefused, type OutboundResponse } from "../functions/outboundFetch";
import { assertIsolatedVmPatched } from "../functions/isolatedVmPatch";
import { preludeEntries, sandboxPrelude } from "../functions/sandboxPrelude";
import { hostUrlReference } from "../functions/sandboxUrl";
import type { AgentEntry } from "./agentDirectory";
import { AGENT_ENV } from "./agentEnv";
import { nextAlarmDue, removeAlarm, storeAlarm, storedAlarms, writeWakeHint } from "./agentAlarms";
import { AgentStore, StoreError } from "./agentStore";
import type { AgentLimits } from "./agentsConfig";
import { llmOfAgentConfig, type ChatRequest, type ChatUsage } from "./agentLlm";

const PRELUDE = sandboxPrelude(AGENT_ENV);
/** How often code resumed after a host call (outside V8's timeout) has its CPU clock read, ms. */
const CPU_WATCH_MS = 5;

/** Why a request or alarm failed; each maps to one HTTP status (agentsService.ts). */
export type AgentFailure = "cpu" | "wall" | "memory" | "threw" | "bad-module" | "response-too-large" | "unavailable";

/** A failed request or alarm, with the reason the client is told. */
export class AgentError extends Error {
  /** CPU µs used before it stopped (for the receipt). */
  cpuUs?: number;
  constructor(
    readonly kind: AgentFailure,
    message: string,
  ) {
    super(message);
  }
}

/** What one request or alarm used: the receipt's figures. */
export interface AgentUsage {
  cpuUs: number;
  wallMs: number;
  promptTokens: number;
  completionTokens: number;
}

/** What the host needs besides the agent itself. */
export interface AgentHostDeps {
  limits: AgentLimits;
  /** The agent's data folder (its PGlite database, its last snapshot's record). */
  dataDir: string;
  /** An empty database to copy for a new agent, and its size. */
  template: () => Promise<{ dir: string; baseline: number }>;
  /** Content by root through the gateway (verified by the blockstore), bounded. */
  content: (root: string, maxBytes: number) => Promise<Buffer>;
  /** This node's agent-sealing public key (hex): picks the owner's key sealed to it in the agent's config file. */
  sealingKeyHex?: string;
  /** `env.llm.chat` for this agent (agentLlm.ts), bounded by the request's deadline. */
  chat: (entry: AgentEntry, request: ChatRequest, deadline: number) => Promise<{ answer: unknown; usage: ChatUsage }>;
  refusedHosts: ReadonlySet<string>;
  /** Called when an alarm's handler failed (logged: nobody waits for an alarm's answer). */
  alarmFailed: (id: string, error: Error) => void;
  /**
   * Whether a due alarm may run now; false while the agent is parked (paused, lease ended): the
   * alarm's row stays stored and runs once the agent is served again.
   */
  alarmAllowed: () => Promise<boolean>;
}

/** What the running request or alarm may still spend. */
interface Budget {
  /** On `performance.now()`'s monotonic clock (outboundFetch.ts). */
  deadline: number;
  subrequests: number;
  usage: AgentUsage;
}

/** The open isolate and store. */
interface OpenAgent {
  isolate: ivm.Isolate;
  entry: ivm.Reference;
  namespace: ivm.Reference;
  store: AgentStore;
}

/** One agent: its queue, its open parts, its alarms. */
export class AgentHost {
  private opened: Promise<OpenAgent> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private budget: Budget | undefined;
  /** The owner's LLM endpoint, read when the agent opens (agentLlm.ts `llmOfAgentConfig`). */
  private llm: AgentEntry["llm"];
  /** The quota measure a synchronous `kv.put` made due, awaited by the isolate's next call (`kv.measured`). */
  private measuring: Promise<void> | undefined;
  /** Pending alarms by their row in the store's `fleek_alarms` (agentAlarms.ts). */
  private readonly alarms = new Map<number, NodeJS.Timeout>();
  /** Store calls that may have changed the agent's state since it started here (snapshots are taken when it moved). */
  writes = 0;
  /** Requests and alarms queued or running. */
  busy = 0;
  lastUsed = Date.now();

  constructor(
    readonly agent: AgentEntry,
    private readonly deps: AgentHostDeps,
  ) {}

  /** Whether the isolate and store are open. */
  get isOpen(): boolean {
    return this.opened !== undefined;
  }

  /** Alarms pending. */
  get pendingAlarms(): number {
    return this.alarms.size;
  }

  /**
   * Runs one request (after the agent's earlier ones: single writer). The next request may run as
   * soon as this one's handler answered; this one is answered once its kv writes, and those it
   * may have read, are committed (the store's group commit, agentStore.ts).
   */
  async request(request: FunctionRequest): Promise<{ response: FunctionResponse; usage: AgentUsage }> {
    const { response, usage, committed } = await this.serialized(() => this.run(request));
    try {
      await committed;
    } catch (error) {
      const failure = new AgentError("unavailable", messageOf(error));
      failure.cpuUs = usage.cpuUs;
      throw failure;
    }
    return { response, usage };
  }

  /** Runs `task` with the agent's store, in the agent's queue (snapshots, restores). */
  withStore<T>(task: (store: AgentStore | undefined, close: () => Promise<void>) => Promise<T>): Promise<T> {
    return this.serialized(async () => {
      const open = await this.opened?.catch(() => undefined);
      return task(open?.store, () => this.closeNow());
    });
  }

  /** Closes the isolate and the store (idle, or the node closing); alarms stay set. */
  close(): Promise<void> {
    return this.serialized(() => this.closeNow());
  }

  /** Closes and cancels the alarms' timers (their rows stay in the store): the agent is no longer hosted here. */
  async stop(): Promise<void> {
    this.dropAlarmTimers();
    await this.close();
  }

  /** Forgets the alarms' timers; the next open schedules them again from the store (after a restore, a restart). */
  dropAlarmTimers(): void {
    for (const timer of this.alarms.values()) clearTimeout(timer);
    this.alarms.clear();
  }

  /** Opens the agent (which schedules its stored alarms) without a request: a restarted node's wake-up for a due alarm. */
  wake(): Promise<void> {
    return this.serialized(async () => void (await this.openForUse()));
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    this.busy++;
    const run = this.queue.then(task);
    this.queue = run
      .catch(() => undefined)
      .finally(() => {
        this.busy--;
        this.lastUsed = Date.now();
      });
    return run;
  }

  private async closeNow(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    const open = await opened?.catch(() => undefined);
    if (!open) return;
    if (!open.isolate.isDisposed) open.isolate.dispose();
    await open.store.close();
  }

  private async run(request: FunctionRequest | { alarm: true }): Promise<{ response: FunctionResponse; usage: AgentUsage; committed: Promise<void> }> {
    const limits = this.deps.limits;
    const started = Date.now();
    const usage: AgentUsage = { cpuUs: 0, wallMs: 0, promptTokens: 0, completionTokens: 0 };
    const open = await this.openForUse();
    // From here, as the wall timer below: opening the agent (its database, on a first request) is
    // the node's time, and on a loaded machine it once left a request's LLM call no time at all.
    const budget: Budget = { deadline: performance.now() + limits.wallMs, subrequests: limits.subrequests, usage };
    this.budget = budget;
    const isolate = open.isolate;
    const cpuAtStart = isolate.cpuTime;
    let cpuSeen = cpuAtStart;
    let wallTimer: NodeJS.Timeout | undefined;
    let cpuWatch: NodeJS.Timeout | undefined;
    try {
      const stopped = new Promise<never>((_, reject) => {
        wallTimer = setTimeout(() => reject(new AgentError("wall", `the agent ran over its wall time limit (${limits.wallMs} ms)`)), limits.wallMs);
        cpuWatch = setInterval(() => {
          if (isolate.isDisposed) return;
          cpuSeen = isolate.cpuTime;
          if (Number(cpuSeen - cpuAtStart) / 1e6 > limits.cpuMs) reject(new AgentError("cpu", `the agent ran over its CPU time limit (${limits.cpuMs} ms)`));
        }, CPU_WATCH_MS);
      });
      // Synchronous on this thread until the handler returns or awaits a host call, as functions
      // run (functionRuntime.ts): the asynchronous apply ran it on isolated-vm's thread, and each
      // `env.kv` call then crossed back to this thread and waited for its event loop (measured,
      // bench/RESULTS.md "Agents"); here a cached `kv.get` and a `kv.put` are plain calls. V8's
      // timeout bounds the synchronous part as it bounded the asynchronous call.
      const callStarted = performance.now();
      const answered = (async () => {
        try {
          return (await open.entry.applySync(undefined, [open.namespace.derefInto(), copyIntoIsolate(request)], {
            timeout: limits.cpuMs,
            result: { promise: true, copy: true },
          })) as FunctionResponse;
        } catch (error) {
          // A heap kill disposes the isolate during the call, before its clock could be read: the
          // call held this thread, so its duration is charged.
          if (isolate.isDisposed && cpuSeen === cpuAtStart) cpuSeen = cpuAtStart + BigInt(Math.round((performance.now() - callStarted) * 1e6));
          throw error;
        }
      })();
      const response = await Promise.race([answered, stopped]);
      if (!isolate.isDisposed) cpuSeen = isolate.cpuTime;
      usage.cpuUs = Number((cpuSeen - cpuAtStart) / 1_000n);
      usage.wallMs = Date.now() - started;
      if (response.body.byteLength > limits.responseBytes)
        throw new AgentError("response-too-large", `the agent's response body is over ${limits.responseBytes} bytes`);
      const committed = open.store.flush();
      committed.catch(() => undefined); // awaited by request(), or by the alarm's chain
      return { response, usage, committed };
    } catch (error) {
      const failure = this.failureOf(isolate, error);
      if (!isolate.isDisposed) cpuSeen = isolate.cpuTime;
      failure.cpuUs = Number((cpuSeen - cpuAtStart) / 1_000n);
      // Stopped mid-run, the context may be in any state: the next request builds a new isolate
      // (the store, the agent's durable state, is kept).
      if (failure.kind === "cpu" || failure.kind === "wall" || failure.kind === "memory") {
        if (!isolate.isDisposed) isolate.dispose();
        this.opened = undefined;
        await open.store.close();
      }
      throw failure;
    } finally {
      clearTimeout(wallTimer);
      clearInterval(cpuWatch);
      this.budget = undefined;
      this.measuring = undefined;
    }
  }

  private async openForUse(): Promise<OpenAgent> {
    try {
      let open = await (this.opened ??= this.open());
      if (open.store.closed) {
        // Its store thread was stopped (a query over its time): reopen both before serving on.
        await this.closeNow();
        open = await (this.opened = this.open());
      }
      return open;
    } catch (error) {
      this.opened = undefined;
      throw error instanceof AgentError ? error : new AgentError("unavailable", `the agent could not start: ${messageOf(error)}`);
    }
  }

  /** Opens the store and builds the isolate: prelude with env, lockdown, the agent's module. */
  private async open(): Promise<OpenAgent> {
    const limits = this.deps.limits;
    const [source, configText] = await Promise.all([
      this.deps.content(this.agent.bundleRoot, limits.bundleBytes),
      this.deps.content(this.agent.configRoot, limits.bundleBytes),
    ]);
    let config: unknown;
    try {
      config = JSON.parse(configText.toString("utf8"));
    } catch {
      throw new AgentError("bad-module", `the agent's config ${this.agent.configRoot} is not JSON`);
    }
    // The node's config names the endpoint of config agents; listed agents name theirs in their config file.
    try {
      this.llm = this.agent.llm ?? llmOfAgentConfig(config, this.deps.sealingKeyHex);
    } catch (error) {
      throw new AgentError("bad-module", `the agent's config ${this.agent.configRoot}: ${messageOf(error)}`);
    }
    fs.mkdirSync(this.deps.dataDir, { recursive: true });
    const template = await this.deps.template();
    const store = await AgentStore.open(`${this.deps.dataDir}/db`, storeLimits(limits), { template: template.dir, baseline: template.baseline });
    try {
      for (const alarm of await storedAlarms(store, limits.alarms)) if (!this.alarms.has(alarm.id)) this.schedule(alarm.id, alarm.due);
    } catch (error) {
      await store.close();
      throw new AgentError("unavailable", `the agent's alarms could not be read: ${messageOf(error)}`);
    }
    assertIsolatedVmPatched();
    const isolate = new ivm.Isolate({ memoryLimit: this.agent.memoryMiB });
    try {
      const context = await isolate.createContext();
      await context.global.set("__fleekHostFetch", this.hostFetch());
      await context.global.set("__fleekHostUrl", hostUrlReference());
      await context.global.set("__fleekAgentHost", this.hostCall(store));
      await context.global.set("__fleekAgentHostSync", this.hostCallSync(store));
      await context.global.set("__fleekAgentConfig", new ivm.ExternalCopy(config).copyInto());
      const prelude = await isolate.compileScript(PRELUDE, { filename: "fleek:prelude" });
      // An agent's handler is read per request (the choice is the functions', functionRuntime.ts);
      // its clock was set as the prelude ran, just now.
      const { run: entry, handlerOf, tick } = preludeEntries((await prelude.run(context, { reference: true })) as ivm.Reference);
      handlerOf.release();
      tick.release();
      let module: ivm.Module;
      try {
        module = await isolate.compileModule(source.toString("utf8"), { filename: `fleek:agent/${this.agent.id}` });
      } catch (error) {
        throw new AgentError("bad-module", `the agent's module does not compile: ${messageOf(error)}`);
      }
      await module.instantiate(context, (specifier) => {
        throw new Error(`imports are not supported (${JSON.stringify(specifier)}): bundle the agent into one module`);
      });
      await module.evaluate({ timeout: limits.cpuMs });
      return { isolate, entry, namespace: module.namespace, store };
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      await store.close();
      throw error instanceof AgentError ? error : new AgentError("bad-module", `the agent's module failed to load: ${messageOf(error)}`);
    }
  }

  /**
   * The one reference `env` calls. It never rejects: failures are answered as `{error}` (thrown
   * inside the isolate), so nothing the agent leaves unawaited surfaces in the host. A call with
   * no request or alarm running (a promise left behind), or an answer once its request ended, is
   * never answered ({@link unanswered}).
   */
  private hostCall(store: AgentStore): ivm.Reference {
    return new ivm.Reference(async (op: string, args: unknown[]): Promise<ivm.Copy<{ value?: unknown; error?: string }>> => {
      const budget = this.budget;
      // Once the request or alarm ended, nothing (unanswered): a resumed loop held the isolate.
      const reply = (v: { value?: unknown; error?: string }) =>
        this.budget === budget ? new ivm.ExternalCopy(v).copyInto() : unanswered<ivm.Copy<typeof v>>();
      if (!budget) return unanswered();
      try {
        return reply({ value: (await this.hostOp(store, budget, op, args)) ?? null });
      } catch (error) {
        return reply({
          error:
            error instanceof StoreError || error instanceof AgentError || error instanceof OutboundRefused
              ? error.message
              : `${op} failed: ${messageOf(error)}`,
        });
      }
    });
  }

  /**
   * The reference `env.kv` calls first, synchronously (the isolate waits for the service's event
   * loop, but no promise crosses back into it; measured, bench/RESULTS.md "Agents"): a cached
   * `kv.get` is answered (`{miss: true}`: not cached, ask {@link hostCall}), a `kv.put` is queued as
   * by `store.put`, and `{measure: true}` says a quota measure is due, which the isolate then awaits
   * through {@link hostCall}'s `kv.measured` before its `put` resolves. Same answers and refusals
   * as {@link hostCall}.
   */
  private hostCallSync(store: AgentStore): ivm.Reference {
    return new ivm.Reference((op: string, args: unknown[]): { value?: unknown; error?: string; miss?: true; measure?: true } => {
      if (!this.budget) return { error: `${op} refused: no request of this agent is running` };
      try {
        if (op === "kv.get") {
          const cached = store.cached(args[0] as string);
          return cached ? { value: cached.value } : { miss: true };
        }
        if (op !== "kv.put") return { error: `unknown host call ${op}` };
        this.writes++;
        const measured = store.queuePut(args[0] as string, args[1] as string);
        if (!measured) return { value: null };
        // Awaited by kv.measured, which the isolate calls next (with an earlier put's, if not awaited yet).
        const measuring = this.measuring ? Promise.all([this.measuring, measured]).then(() => undefined) : measured;
        measuring.catch(() => undefined);
        this.measuring = measuring;
        return { measure: true };
      } catch (error) {
        return { error: error instanceof StoreError ? error.message : `${op} failed: ${messageOf(error)}` };
      }
    });
  }

  private async hostOp(store: AgentStore, budget: Budget, op: string, args: unknown[]): Promise<unknown> {
    switch (op) {
      case "kv.get":
        return store.get(args[0] as string);
      case "kv.measured": {
        const measuring = this.measuring;
        await measuring;
        if (this.measuring === measuring) this.measuring = undefined;
        return null;
      }
      case "kv.put":
        this.writes++;
        return store.put(args[0] as string, args[1] as string);
      case "kv.delete":
        this.writes++;
        return store.delete(args[0] as string);
      case "kv.list":
        return store.list(args[0] as string, args[1] as number);
      case "sql.query":
        this.writes++;
        return store.query(args[0] as string, (args[1] ?? []) as unknown[]);
      case "alarm.set":
        return this.setAlarm(store, args[0]);
      case "llm.chat": {
        if (budget.subrequests-- <= 0) throw new AgentError("threw", `llm.chat refused: over ${this.deps.limits.subrequests} subrequests in one request`);
        // Its errors are written for the agent (llm.chat: ...): passed on as they are.
        const { answer, usage } = await this.deps.chat({ ...this.agent, llm: this.llm }, args[0] as ChatRequest, budget.deadline).catch((error: unknown) => {
          throw error instanceof OutboundRefused ? error : new AgentError("threw", messageOf(error));
        });
        budget.usage.promptTokens += usage.promptTokens;
        budget.usage.completionTokens += usage.completionTokens;
        return answer;
      }
      default:
        throw new AgentError("threw", `unknown host call ${op}`);
    }
  }

  /**
   * `env.setAlarm(ms)`: bounded count and minimum delay. The alarm is a row of the agent's store
   * first (so it survives a restart and travels in snapshots), then a timer; it runs `alarm(env)`
   * in the queue.
   */
  private async setAlarm(store: AgentStore, ms: unknown): Promise<null> {
    const limits = this.deps.limits;
    if (!Number.isSafeInteger(ms) || (ms as number) < limits.minAlarmMs || (ms as number) > 86_400_000)
      throw new AgentError("threw", `setAlarm refused: the delay must be an integer from ${limits.minAlarmMs} ms to one day`);
    if (this.alarms.size >= limits.alarms) throw new AgentError("threw", `setAlarm refused: ${limits.alarms} alarms are already pending (the limit)`);
    this.writes++;
    const due = Date.now() + (ms as number);
    this.schedule(await storeAlarm(store, due), due);
    return null;
  }

  /** Arms alarm `id` (its row already stored) for `due` (Unix ms); a restarted node wakes the agent by the hint file. */
  private schedule(id: number, due: number): void {
    const timer = setTimeout(
      () => {
        this.alarms.delete(id);
        this.serialized(async () => {
          if (!(await this.deps.alarmAllowed())) return undefined;
          const open = await this.openForUse();
          // Removed before it runs: an alarm that fails is not retried forever after a restart.
          if (!(await removeAlarm(open.store, id))) return undefined;
          this.writes++;
          writeWakeHint(this.deps.dataDir, await nextAlarmDue(open.store));
          return this.run({ alarm: true });
        })
          // Its writes are group-committed after the agent's queue moves on; a failed commit is the alarm's failure.
          .then((ran) => ran?.committed)
          .catch((error: Error) => this.deps.alarmFailed(this.agent.id, error));
      },
      Math.max(0, due - Date.now()),
    );
    this.alarms.set(id, timer);
    writeWakeHint(this.deps.dataDir, due, true);
  }

  /** The prelude's `fetch`: the functions' outbound rules, charged to the running request. */
  private hostFetch(): ivm.Reference {
    return new ivm.Reference(
      async (url: string, method: string, headers: [string, string][], body: Uint8Array | null): Promise<ivm.Copy<OutboundResponse | { error: string }>> => {
        const budget = this.budget;
        if (!budget) return unanswered();
        if (budget.subrequests-- <= 0)
          return new ivm.ExternalCopy({ error: `fetch refused: over ${this.deps.limits.subrequests} subrequests in one request` }).copyInto();
        try {
          const response = await outboundFetch(url, method, headers, body, {
            deadline: budget.deadline,
            maxResponseBytes: this.deps.limits.responseBytes,
            refusedHosts: this.deps.refusedHosts,
          });
          return this.budget === budget ? copyIntoIsolate(response) : unanswered();
        } catch (error) {
          if (this.budget !== budget) return unanswered();
          return new ivm.ExternalCopy({ error: error instanceof OutboundRefused ? error.message : `fetch failed: ${messageOf(error)}` }).copyInto();
        }
      },
    );
  }

  private failureOf(isolate: ivm.Isolate, error: unknown): AgentError {
    if (error instanceof AgentError) return error;
    const message = messageOf(error);
    if (/memory limit|allocation failed/i.test(message) || isolate.isDisposed)
      return new AgentError("memory", `the agent ran out of memory (limit ${this.agent.memoryMiB} MiB)`);
    if (/timed out/i.test(message)) return new AgentError("cpu", `the agent ran over its CPU time limit (${this.deps.limits.cpuMs} ms)`);
    return new AgentError("threw", `the agent threw: ${message.slice(0, 500)}`);
  }
}

/** The store's bounds from the agents' limits. */
export function storeLimits(limits: AgentLimits) {
  return { storageBytes: limits.storageMiB * 2 ** 20, queryMs: limits.queryMs, keyBytes: limits.keyBytes, valueBytes: limits.valueBytes, rows: limits.rows };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
