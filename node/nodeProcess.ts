/**
 * Starts `node run` as a child process and waits until it serves clients. Used by the
 * multi-process tests and the benchmark.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** Spawns a node with `configFile`; resolves once it printed "ready". `onStderr` receives its logs. */
export async function spawnNode(configFile: string, onStderr: (chunk: string) => void, logLevel = process.env.LOG_LEVEL ?? "warn"): Promise<ChildProcess> {
  // node --import tsx, not the tsx wrapper: the wrapper would survive a SIGKILL meant as a crash.
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "node/cli.ts"), "run", "--config", configFile], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: logLevel },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
    onStderr(String(d));
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`node exited with ${code}: ${stderr.slice(-2000)}`)));
  });
  return child;
}
