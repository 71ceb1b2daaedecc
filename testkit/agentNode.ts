/**
 * A real `node run` process with a gateway and the agents service, for the agents tests and
 * bench/agents: a one-member committee, each agent's bundle and config JSON stored in its
 * blockstore before it starts (BlockStore.put), an operator token for the management routes.
 */
import type { ChildProcess } from "node:child_process";
import { Wallet } from "ethers";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AgentLimits } from "../node/agents/agentsConfig";
import type { SnapshotRecord } from "../node/agents/agentRecords";
import { BlockStore } from "../node/blockstore/blockStore";
import { writeClusterConfigs } from "../node/clusterConfigs";
import type { NodeConfigFile } from "../node/config";
import type { Parameters } from "../node/consensus/parameters";
import type { KeyPair } from "../node/consensus/types/crypto";
import { spawnNode } from "../node/nodeProcess";
import { signNodeKeyProof } from "../protocol/nodeKeyProof";
import { waitForService } from "./functionNode";
import { freePorts } from "./freePorts";
import { MIN_STAKE, type RegistrySuite, type TestNode } from "./registry";

/** An agent to host: its bundle's source and its config JSON. */
export interface AgentSpec {
  bundle: string;
  config: unknown;
  memoryMiB?: number;
  owner?: string;
  llm?: { baseUrl: string; model?: string; sealedApiKey?: string };
}

/** A stateful agent that counts its POSTs in its store and answers `{ n }` (the tests' agent of choice). */
export const COUNTER_AGENT: AgentSpec = {
  config: { name: "Counter" },
  bundle: `export default { async fetch(request, env) {
    let n = (await env.kv.get("n")) ?? 0;
    if (request.method === "POST") { n += 1; await env.kv.put("n", n); }
    return Response.json({ n });
  } }`,
};

/** The epoch report's leaf of a snapshot record, as the spec writes it (not as the node builds it): (uint256 agentId, bytes32 root, uint64 bytes, uint64 sequence, bytes32 signer). */
export const REPORT_LEAF_TYPES = ["uint256", "bytes32", "uint64", "uint64", "bytes32"];
/** `record`'s leaf values in {@link REPORT_LEAF_TYPES}' order. */
export const reportLeafOf = (r: SnapshotRecord) => [BigInt(r.agent), `0x${r.root}`, BigInt(r.bytes), BigInt(r.sequence), `0x${r.nodeKey}`];

/** A node's folder, config, key and gateway chosen before it starts (so nodes can name each other in their configs). */
export interface AgentNodePlan {
  dir: string;
  configFile: string;
  nodeKey: string;
  /** Its Ed25519 key pair (to register it on a test chain). */
  key: KeyPair;
  gatewayUrl: string;
}

/** A started node hosting agents. */
export interface AgentNode {
  nodeKey: string;
  gatewayUrl: string;
  operatorToken: string;
  dataDir: string;
  blockstore: string;
  child: ChildProcess;
  stderr: () => string;
  /** The bundle and config roots of each agent. */
  roots: Record<string, { bundle: string; config: string }>;
  /** Stops it (SIGTERM, a clean shutdown) and starts it again on the same folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const FAST: Partial<Parameters> = { maxBatchDelayMs: 20, maxHeaderDelayMs: 100, headerResendMs: 500, syncRetryMs: 500 };

/** Picks a one-member committee, a key and a gateway port for a node to start later. */
export async function planAgentNode(): Promise<AgentNodePlan> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-node-"));
  const ports = await freePorts(4);
  const { nodes } = writeClusterConfigs(dir, 1, ports, FAST);
  return {
    dir,
    configFile: nodes[0].configFile,
    nodeKey: nodes[0].key.publicKey.toString("hex"),
    key: nodes[0].key,
    gatewayUrl: `http://127.0.0.1:${ports[3]}`,
  };
}

/**
 * Registers the planned node on the test registry as operator `i`, with its Ed25519 key and its
 * gateway at 127.0.0.1 (the other ports unused by the agents tests, but non-zero) and a fresh signer.
 */
export async function registerAgentNode(s: RegistrySuite, chainId: bigint, i: number, plan: AgentNodePlan): Promise<TestNode> {
  const owner = s.operators[i];
  const signer = new Wallet(Wallet.createRandom().privateKey);
  const gateway = Number(new URL(plan.gatewayUrl).port);
  const ports = { primary: gateway + 1, worker: gateway + 2, mempool: gateway + 3, rpc: gateway + 3, pool: gateway + 3, gateway };
  const proof = await signNodeKeyProof(chainId, await s.registry.getAddress(), owner.address, plan.key, signer);
  await s.registry.connect(owner).register(`0x${plan.nodeKey}`, signer.address, { host: "127.0.0.1", ports }, MIN_STAKE, proof.signerProof, proof.keyProof);
  return { id: Number(await s.registry.nodeCount()), owner, signer, key: `0x${plan.nodeKey}` };
}

/** Stores the agents' bundles and configs and starts a node hosting them under `limits`. */
export async function startAgentNode(
  agents: Record<string, AgentSpec>,
  options: {
    limits?: Partial<AgentLimits>;
    llmHosts?: string[];
    peers?: string[];
    keySeed?: string;
    plan?: AgentNodePlan;
    /** `services.agents.hosting` (take-over between nodes). */
    hosting?: Record<string, unknown>;
    /** Take the agents from AgentMarketplace (the test registers them with `roots`) instead of the config. */
    marketplace?: { rpcUrl: string; address: string; ttlMs?: number };
  } = {},
): Promise<AgentNode> {
  const { dir, configFile, nodeKey, gatewayUrl } = options.plan ?? (await planAgentNode());
  const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as NodeConfigFile;
  const gatewayPort = Number(new URL(gatewayUrl).port);
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
  config.services = {
    agents: { ...source, limits: options.limits ?? {}, llmHosts: options.llmHosts ?? [], ...(options.hosting ? { hosting: options.hosting } : {}) },
  };
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  let stderr = "";
  const spawn = async () => {
    const child = await spawnNode(configFile, (d) => (stderr += d), process.env.LOG_LEVEL ?? "info");
    await waitForService(gatewayUrl, "agents", (s) => s?.state === "running");
    return child;
  };
  const terminate = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  const node: AgentNode = {
    nodeKey,
    gatewayUrl,
    operatorToken,
    dataDir: path.resolve(path.dirname(configFile), config.dataDir),
    blockstore,
    child: await spawn(),
    stderr: () => stderr,
    roots,
    restart: async () => {
      await terminate(node.child);
      node.child = await spawn();
    },
    stop: async () => {
      await terminate(node.child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return node;
}
