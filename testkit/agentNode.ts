/**
 * A real `node run` process with a gateway and the agents service, for the agents tests and
 * bench/agents: a one-member committee, each agent's bundle and config JSON stored in its
 * blockstore before it starts (BlockStore.put), an operator token for the management routes.
 */
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AgentLimits } from "../node/agents/agentsConfig";
import { BlockStore } from "../node/blockstore/blockStore";
import { writeClusterConfigs } from "../node/clusterConfigs";
import type { NodeConfigFile } from "../node/config";
import type { Parameters } from "../node/consensus/parameters";
import { spawnNode } from "../node/nodeProcess";
import { waitForService } from "./functionNode";

/** An agent to host: its bundle's source and its config JSON. */
export interface AgentSpec {
  bundle: string;
  config: unknown;
  memoryMiB?: number;
  owner?: string;
  llm?: { baseUrl: string; model?: string; sealedApiKey?: string };
}

/** A started node hosting agents. */
export interface AgentNode {
  gatewayUrl: string;
  operatorToken: string;
  dataDir: string;
  blockstore: string;
  child: ChildProcess;
  stderr: () => string;
  /** The bundle and config roots of each agent. */
  roots: Record<string, { bundle: string; config: string }>;
  stop(): Promise<void>;
}

const FAST: Partial<Parameters> = { maxBatchDelayMs: 20, maxHeaderDelayMs: 100, headerResendMs: 500, syncRetryMs: 500 };

/** Stores the agents' bundles and configs and starts a node hosting them under `limits`. */
export async function startAgentNode(
  agents: Record<string, AgentSpec>,
  options: {
    limits?: Partial<AgentLimits>;
    llmHosts?: string[];
    peers?: string[];
    keySeed?: string;
    /** Take the agents from AgentMarketplace (the test registers them with `roots`) instead of the config. */
    marketplace?: { rpcUrl: string; address: string; ttlMs?: number };
  } = {},
): Promise<AgentNode> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-node-"));
  const basePort = 20_000 + Math.floor(Math.random() * 120) * 100 + 60;
  const { nodes } = writeClusterConfigs(dir, 1, basePort, FAST);
  const configFile = nodes[0].configFile;
  const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as NodeConfigFile;
  const gatewayPort = basePort + 11;
  const operatorToken = `operator-${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(path.join(path.dirname(configFile), "operator-token"), operatorToken);
  config.gateway = { port: gatewayPort, blockstore: "blocks", operatorTokenFile: "operator-token", ...(options.peers ? { peers: options.peers } : {}) };
  if (options.keySeed) config.keySeed = options.keySeed;
  const blockstore = path.resolve(path.dirname(configFile), "blocks");
  const store = await BlockStore.open({ directory: blockstore, maxBytes: 2 ** 30 });
  const roots: AgentNode["roots"] = {};
  const entries: Record<string, unknown> = {};
  for (const [id, spec] of Object.entries(agents)) {
    const bundle = (await store.put([Buffer.from(spec.bundle)], { contentType: "text/javascript" })).hash;
    const agentConfig = (await store.put([Buffer.from(JSON.stringify(spec.config))], { contentType: "application/json" })).hash;
    roots[id] = { bundle, config: agentConfig };
    entries[id] = {
      config: agentConfig,
      bundle,
      owner: spec.owner ?? "0x000000000000000000000000000000000000dEaD",
      ...(spec.memoryMiB ? { memoryMiB: spec.memoryMiB } : {}),
      ...(spec.llm ? { llm: spec.llm } : {}),
    };
  }
  const source = options.marketplace ? { marketplace: options.marketplace } : { agents: entries };
  config.services = { agents: { ...source, limits: options.limits ?? {}, llmHosts: options.llmHosts ?? [] } };
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  let stderr = "";
  const child = await spawnNode(configFile, (d) => (stderr += d), process.env.LOG_LEVEL ?? "info");
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  await waitForService(gatewayUrl, "agents", (s) => s?.state === "running");
  return {
    gatewayUrl,
    operatorToken,
    dataDir: path.resolve(path.dirname(configFile), config.dataDir),
    blockstore,
    child,
    stderr: () => stderr,
    roots,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
