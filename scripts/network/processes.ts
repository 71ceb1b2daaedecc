/**
 * The network's child processes: each runs in its own process group (so a launcher's own children
 * stop with it), writes its stdout and stderr to `<logDir>/<name>.log`, and is stopped with
 * SIGTERM, then SIGKILL if it has not exited within the grace period. Should the orchestrator die
 * without stopping them, an exit hook still signals every group: a stopped network leaves no process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** A started child process. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Everything it printed so far (the tail is kept in errors). */
  output(): string;
  /** Resolves with the first output line (stdout or stderr) matching `pattern`, or rejects if the process exits first or the wait times out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
}

/** Options of {@link Processes.spawn}. */
export interface SpawnOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Called if the process exits without {@link Processes.stop} having been asked to stop it. */
  onUnexpectedExit?: (exit: { code: number | null; signal: NodeJS.Signals | null; logFile: string }) => void;
}

/** Starts, tracks and stops the network's processes. */
export class Processes {
  private readonly children: Child[] = [];
  /** Children being stopped on purpose: their exit is expected. */
  private readonly stopping = new Set<ChildProcess>();
  private readonly exitHook = () => {
    for (const c of this.children) signal(c.process, "SIGKILL");
  };

  constructor(private readonly logDir: string) {
    fs.mkdirSync(logDir, { recursive: true });
    process.on("exit", this.exitHook);
  }

  /** Spawns `command args` as process group leader, logging to `<logDir>/<name>.log`. */
  spawn(name: string, command: string, args: string[], options: SpawnOptions): Child {
    const logFile = path.join(this.logDir, `${name}.log`);
    const log = fs.openSync(logFile, "a");
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const lineWaiters = new Set<(line: string) => void>();
    const follow = (stream: NodeJS.ReadableStream) => {
      let partial = "";
      stream.on("data", (chunk: Buffer) => {
        fs.writeSync(log, chunk);
        output += chunk;
        if (output.length > 1 << 20) output = output.slice(-(1 << 19));
        partial += chunk;
        let nl: number;
        while ((nl = partial.indexOf("\n")) >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          for (const w of lineWaiters) w(line);
        }
      });
    };
    follow(child.stdout!);
    follow(child.stderr!);
    // "close", not "exit": output may still arrive between the two.
    child.once("close", () => fs.closeSync(log));
    child.once("exit", (code, signal) => {
      if (!this.stopping.has(child)) options.onUnexpectedExit?.({ code, signal, logFile });
    });
    const entry: Child = {
      name,
      process: child,
      output: () => output,
      waitForLine: (pattern, timeoutMs) =>
        new Promise((resolve, reject) => {
          const done = (err?: Error, line?: string) => {
            clearTimeout(timer);
            lineWaiters.delete(onLine);
            child.off("exit", onExit);
            if (err) reject(err);
            else resolve(line!);
          };
          const onLine = (line: string) => pattern.test(line) && done(undefined, line);
          const onExit = (code: number | null, sig: string | null) =>
            done(
              new Error(
                `${name} exited (${code ?? sig}) before it was ready; its log (${path.join(this.logDir, `${name}.log`)}) ends with:\n${output.slice(-3000)}`,
              ),
            );
          const timer = setTimeout(
            () => done(new Error(`${name} not ready after ${timeoutMs / 1000} s; its log ends with:\n${output.slice(-3000)}`)),
            timeoutMs,
          );
          lineWaiters.add(onLine);
          child.once("exit", onExit);
        }),
    };
    this.children.push(entry);
    return entry;
  }

  /** Stops one child: SIGTERM to its group, SIGKILL after `graceMs`; resolves once the whole group is gone. */
  async stop(child: Child, graceMs = 10_000): Promise<void> {
    const p = child.process;
    this.stopping.add(p);
    const deadline = Date.now() + graceMs;
    signal(p, "SIGTERM");
    // Wait for the group, not only the leader: a launcher may exit before its child is done.
    while (groupAlive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    signal(p, "SIGKILL");
    while (groupAlive(p)) await new Promise((r) => setTimeout(r, 20));
    this.children.splice(this.children.indexOf(child), 1);
    this.stopping.delete(p);
  }

  /** Stops every child, the last started first (dashboard and indexer before the chain they read). */
  async stopAll(graceMs?: number): Promise<void> {
    for (const child of [...this.children].reverse()) await this.stop(child, graceMs);
    process.off("exit", this.exitHook);
  }

  /** The process ids of every running child (the test checks none survives). */
  pids(): number[] {
    return this.children.map((c) => c.process.pid!).filter((pid) => pid !== undefined);
  }
}

/** Whether any process of the child's group is still alive (the leader counts until reaped). */
function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals a child's whole process group, ignoring a group already gone. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
