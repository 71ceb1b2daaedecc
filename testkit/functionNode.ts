/**
 * A real `node run` process with a gateway and the functions service, for the functions tests and
 * bench/functions: a one-member committee (consensus commits on its own), bundles stored in its
 * blockstore before it starts (through BlockStore.put, the store's public interface).
 */
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlockStore } from "../node/blockstore/blockStore";
import { writeClusterConfigs } from "../node/clusterConfigs";
import type { NodeConfigFile } from "../node/config";
import type { Parameters } from "../node/consensus/parameters";
import type { FunctionLimits } from "../node/functions/functionLimits";
import { spawnNode } from "../node/nodeProcess";
import { freePorts } from "./freePorts";

/** A started node and where it serves. */
export interface FunctionNode {
  gatewayUrl: string;
  mempoolPort: number;
  configFile: string;
  /** Content roots of the bundles, in the order given. */
  roots: string[];
  child: ChildProcess;
  stderr: () => string;
  /** Rewrites the config's `services` section and signals SIGHUP. */
  reloadServices(services: NodeConfigFile["services"]): void;
  stop(): Promise<void>;
}

/** Fast consensus timers, as the cluster tests use. */
const FAST: Partial<Parameters> = { maxBatchDelayMs: 20, maxHeaderDelayMs: 100, headerResendMs: 500, syncRetryMs: 500 };

/** Stores `bundles` and starts a node serving them as functions with `limits`. */
export async function startFunctionNode(bundles: (string | Buffer)[], limits: Partial<FunctionLimits> = {}): Promise<FunctionNode> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fn-node-"));
  const ports = await freePorts(4);
  const { nodes } = writeClusterConfigs(dir, 1, ports, FAST);
  const configFile = nodes[0].configFile;
  const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as NodeConfigFile;
  const gatewayPort = ports[3];
  config.gateway = { port: gatewayPort, blockstore: "blocks" };
  config.services = { functions: { limits } };
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const store = await BlockStore.open({ directory: path.join(dir, "blocks"), maxBytes: 2 ** 30 });
  const roots: string[] = [];
  for (const bundle of bundles) roots.push((await store.put([Buffer.from(bundle)], { contentType: "text/javascript" })).hash);
  let stderr = "";
  const child = await spawnNode(configFile, (d) => (stderr += d), process.env.LOG_LEVEL ?? "info");
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  await waitForService(gatewayUrl, "functions", (s) => s?.state === "running");
  return {
    gatewayUrl,
    mempoolPort: nodes[0].mempoolPort,
    configFile,
    roots,
    child,
    stderr: () => stderr,
    reloadServices(services) {
      const current = JSON.parse(fs.readFileSync(configFile, "utf8")) as NodeConfigFile;
      fs.writeFileSync(configFile, JSON.stringify({ ...current, services }, null, 2));
      child.kill("SIGHUP");
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A service's entry in `GET /services`. */
export interface ServiceEntry {
  id: string;
  state: string;
  pid: number | null;
  restarts: number;
}

/** Polls `GET /services` until `cond` holds for service `id` (or its absence); fails after `ms`. */
export async function waitForService(
  gatewayUrl: string,
  id: string,
  cond: (s: ServiceEntry | undefined) => boolean,
  ms = 30_000,
): Promise<ServiceEntry | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const answer = await fetch(`${gatewayUrl}/services`).catch(() => undefined);
    if (answer?.ok) {
      const entry = ((await answer.json()) as { services: ServiceEntry[] }).services.find((s) => s.id === id);
      if (cond(entry)) return entry;
    }
    if (Date.now() > end) throw new Error(`service ${id} did not reach the expected state`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
