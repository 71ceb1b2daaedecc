/**
 * Runs the configured services, each in its own child process, and routes the gateway's requests
 * to them. A service that exits, fails to start, or stops answering pings for 5 s past its
 * longest allowed run (its event loop held: a loop, a stopped process) is killed and restarted
 * after a backoff (200 ms doubling to 30 s; back to 200 ms once a process ran for a minute). `reconcile` adds, removes and restarts
 * services to match a new `services` config (SIGHUP on `node run`). Consensus runs in the node
 * process and never waits on a service: the only link is this proxy, over the service's framed
 * channel (serviceChannel.ts) or, for a service that streams its answers, HTTP on loopback.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { replyError } from "../gateway/httpReplies";
import type { Logger } from "../logger";
import { CHANNEL_FD, ChannelClient, type Attachment } from "./serviceChannel";
import { serviceEntry } from "./serviceCatalog";
import type { ServiceLaunch, ServiceMessage, ServicePing } from "./serviceProcess";

const SERVICE_PROCESS = path.join(__dirname, "serviceProcess.ts");
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30_000;
const HEALTHY_AFTER_MS = 60_000;
const START_TIMEOUT_MS = 30_000;
/** A running service is pinged this often over IPC... */
const PING_EVERY_MS = 1_000;
/** ...and killed when no answer came for this long past the longest run its limits allow (serviceCatalog.ts). */
const UNRESPONSIVE_MS = 5_000;

/** Sees a service's answer (no headers: none came) and returns the headers to send; see {@link ServiceSupervisor.route}. */
export type AnswerHook = (status: number, headers: IncomingHttpHeaders | undefined) => IncomingHttpHeaders | undefined;

/** A service's state as `GET /services` shows it. */
export interface ServiceStatus {
  id: string;
  state: "starting" | "running" | "backoff" | "stopped";
  pid: number | null;
  restarts: number;
}

/** Where services reach the node. */
export interface SupervisorEnvironment {
  /** The gateway's URL; read when a service starts (the gateway starts after the supervisor it routes to). */
  gatewayUrl: () => string;
  nodeHosts: string[];
  /** Where services keep state: each gets `<dataDir>/<id>` (default: a folder under the system's temporary one). */
  dataDir?: string;
  /** Given to every service (ServiceContext.serviceToken). */
  serviceToken?: string;
  /** Given to the agents service only (ServiceContext.sealingKey). */
  sealingKey?: string;
  logger: Logger;
}

/** One service and its current process. */
class SupervisedService {
  private child: ChildProcess | undefined;
  private channel: ChannelClient | undefined;
  private failures = 0;
  /** performance.now() at the last start: how long it ran is an interval, not a wall-clock time. */
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  restarts = 0;
  state: ServiceStatus["state"] = "starting";

  constructor(
    readonly id: string,
    readonly options: Record<string, unknown>,
    private readonly env: SupervisorEnvironment,
  ) {
    this.start();
  }

  /** The running process's framed channel. */
  get target(): ChannelClient | undefined {
    return this.state === "running" ? this.channel : undefined;
  }

  status(): ServiceStatus {
    return { id: this.id, state: this.state, pid: this.child?.pid ?? null, restarts: this.restarts };
  }

  private start(): void {
    this.state = "starting";
    this.startedAt = performance.now();
    const launch: ServiceLaunch = {
      id: this.id,
      options: this.options,
      gatewayUrl: this.env.gatewayUrl(),
      nodeHosts: this.env.nodeHosts,
      dataDir: path.join(this.env.dataDir ?? path.join(tmpdir(), `fleek-services-${process.pid}`), this.id),
      serviceToken: this.env.serviceToken,
      sealingKey: this.id === "agents" ? this.env.sealingKey : undefined,
    };
    // isolated-vm needs --no-node-snapshot on Node 20; tsx comes with the parent's --import, or is
    // added when the parent loads TypeScript otherwise (a Hardhat test runs the gateway in process).
    const inherited = process.execArgv.filter((a) => a !== "--no-node-snapshot");
    const tsx = inherited.some((a) => a.includes("tsx")) ? [] : ["--import", "tsx"];
    const child = fork(SERVICE_PROCESS, [], {
      execArgv: [...inherited, ...tsx, "--no-node-snapshot"],
      env: { ...process.env, FLEEK_SERVICE: JSON.stringify(launch), ...mallocSettings(this.id) },
      // fd CHANNEL_FD: a socketpair, the framed channel's two ends; nothing else can connect to it.
      stdio: ["ignore", "ignore", "inherit", "ipc", "pipe"],
    });
    this.child = child;
    this.startTimer = setTimeout(() => {
      this.env.logger.warn("service did not start in time", { service: this.id, ms: START_TIMEOUT_MS });
      child.kill("SIGKILL");
    }, START_TIMEOUT_MS);
    const unresponsiveMs = UNRESPONSIVE_MS + serviceEntry(this.id).longestRunMs(this.options);
    let answeredAt = performance.now();
    let running = false;
    child.on("message", (message: ServiceMessage) => {
      if (this.child !== child || typeof message !== "object" || message === null) return;
      if ("pong" in message) answeredAt = performance.now();
      if (!("ready" in message) || running) return;
      running = true;
      clearTimeout(this.startTimer);
      answeredAt = performance.now();
      let ping = 0;
      let tickedAt = performance.now();
      const pinger = setInterval(() => {
        const now = performance.now();
        // This process's own loop was held (the pings went out late): the child gets a new window.
        if (now - tickedAt > 2 * PING_EVERY_MS) answeredAt = now;
        tickedAt = now;
        if (now - answeredAt > unresponsiveMs) {
          this.env.logger.warn("service stopped answering, killing it", { service: this.id, pid: child.pid, ms: unresponsiveMs });
          clearInterval(pinger);
          child.kill("SIGKILL");
          return;
        }
        if (child.connected) child.send({ ping: ++ping } satisfies ServicePing);
      }, PING_EVERY_MS);
      this.pinger = pinger;
      this.channel = new ChannelClient(child.stdio[CHANNEL_FD] as Socket, (reason) => {
        // A broken channel (the process died, or sent what the protocol forbids) ends the process: it is restarted.
        if (this.child !== child || this.state === "stopped") return;
        this.env.logger.warn("service channel broken", { service: this.id, reason });
        child.kill("SIGKILL");
      });
      this.state = "running";
      this.env.logger.info("service running", { service: this.id, pid: child.pid });
    });
    child.on("exit", (code, signal) => this.exited(child, code, signal));
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    clearTimeout(this.startTimer);
    clearInterval(this.pinger);
    this.channel?.close(`the process exited (${signal ?? code})`);
    this.channel = undefined;
    if (this.state === "stopped") return;
    if (performance.now() - this.startedAt > HEALTHY_AFTER_MS) this.failures = 0;
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.failures++);
    this.state = "backoff";
    this.env.logger.warn("service exited, restarting", { service: this.id, code, signal, inMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.start();
    }, delay);
  }

  /** Stops the process for good; resolves once it exited. */
  async stop(): Promise<void> {
    this.state = "stopped";
    clearTimeout(this.restartTimer);
    clearTimeout(this.startTimer);
    clearInterval(this.pinger);
    this.channel?.close("the service stopped");
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const forced = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(forced);
  }
}

/** The node's services. */
export class ServiceSupervisor {
  private readonly services = new Map<string, SupervisedService>();

  constructor(private readonly env: SupervisorEnvironment) {}

  /** Starts, stops and restarts services so that exactly `config`'s run, with its options. */
  async reconcile(config: Record<string, Record<string, unknown>>): Promise<void> {
    for (const [id, service] of [...this.services]) {
      if (JSON.stringify(config[id]) === JSON.stringify(service.options)) continue;
      this.services.delete(id);
      await service.stop();
      this.env.logger.info("service removed", { service: id });
    }
    for (const [id, options] of Object.entries(config)) {
      if (!this.services.has(id)) this.services.set(id, new SupervisedService(id, options, this.env));
    }
  }

  status(): ServiceStatus[] {
    return [...this.services.values()].map((s) => s.status());
  }

  /** Resolves once service `id` serves (for startup and tests); rejects after `ms`. */
  async whenRunning(id: string, ms = START_TIMEOUT_MS): Promise<void> {
    const end = performance.now() + ms;
    while (this.services.get(id)?.target === undefined) {
      if (performance.now() > end) throw new Error(`service ${id} is not running`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Service `id`'s options (its section of the config), if it is configured. */
  optionsOf(id: string): Record<string, unknown> | undefined {
    return this.services.get(id)?.options;
  }

  /**
   * Whether service `id` would take an attachment keyed `key` with its next request: it answers on
   * a framed channel that has not been handed `key` since its process started.
   */
  wantsAttachment(id: string, key: string): boolean {
    return this.services.get(id)?.target?.wantsAttachment(key) ?? false;
  }

  /**
   * Forwards a request to service `id` as `forwardPath` (path and query). `hook`, when given, is
   * called once: with the service's status and headers before they are sent on (it returns the
   * headers to send: the gateway signs the functions' receipts there), or with no headers when the
   * service gave no answer. `attachment` goes with the request to a service on a channel (see
   * serviceChannel.ts `Kind.Attachment`).
   */
  route(id: string, req: IncomingMessage, res: ServerResponse, forwardPath: string, hook?: AnswerHook, attachment?: Attachment): void {
    let called = false;
    const answered: AnswerHook = (status, headers) => {
      if (called || !hook) return headers;
      called = true;
      return hook(status, headers);
    };
    const service = this.services.get(id);
    if (!service) {
      answered(404, undefined);
      return replyError(res, 404, `no service ${JSON.stringify(id)} on this node`);
    }
    const target = service.target;
    if (target === undefined) answered(503, undefined);
    if (target === undefined)
      return replyError(res, 503, `service ${id} is ${service.state === "stopped" ? "stopped" : "restarting"}; retry shortly`, { "retry-after": "1" });
    const failed = (reason: string) => {
      answered(502, undefined);
      if (res.headersSent) return res.destroy();
      replyError(res, 502, `service ${id} failed while answering: ${reason}`);
    };
    target.forward(req, res, forwardPath, answered, failed, attachment);
  }

  /** Stops every service. */
  async close(): Promise<void> {
    const all = [...this.services.values()];
    this.services.clear();
    await Promise.all(all.map((s) => s.stop()));
  }
}

/**
 * glibc malloc's settings for a service's process, as the way it allocates asks:
 * - agents runs a PGlite thread per open agent: glibc's default of 8 malloc arenas per core keeps
 *   what closed agents' threads freed (bench/agents: ~21 MiB per idle agent, ~9 with 2);
 * - functions makes a V8 isolate per function, whose tables malloc takes from fresh pages: with
 *   transparent huge pages for its arenas (where the system allows them on request, its default),
 *   a new isolate takes ~100 fewer page faults, which cost ~11 µs each on a virtual machine of the
 *   kind we run on (docs/functions.md "Cold start, sixth pass"). An operator's own GLIBC_TUNABLES
 *   follow it, so they win.
 */
function mallocSettings(id: string): Record<string, string> {
  if (id === "agents") return { MALLOC_ARENA_MAX: "2" };
  if (id === "functions") return { GLIBC_TUNABLES: ["glibc.malloc.hugetlb=1", process.env.GLIBC_TUNABLES].filter(Boolean).join(":") };
  return {};
}
