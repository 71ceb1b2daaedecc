/**
 * The agents service's config section (`services.agents`, docs/agents-runtime.md "Config and
 * limits"), checked in the node process like every service's.
 */
import type { AgentEntry } from "./agentDirectory";
import { llmEndpoint } from "./agentLlm";

/** The bounds every agent runs under. */
export interface AgentLimits {
  /** Isolate heap when the agent names none, MiB; also the most an agent may name. */
  memoryMiB: number;
  /** CPU time of one request or alarm in the isolate, ms. */
  cpuMs: number;
  /** Wall time of one request or alarm (store, fetch and LLM calls included), ms. */
  wallMs: number;
  /** Time one SQL query (or kv call) may run; past it the agent's store thread is stopped, ms. */
  queryMs: number;
  /** Storage over an empty database, MiB. */
  storageMiB: number;
  /** Longest kv key, bytes. */
  keyBytes: number;
  /** Largest kv value (JSON text), bytes. */
  valueBytes: number;
  /** Most rows a query or kv.list answers. */
  rows: number;
  /** Largest request body, bytes. */
  requestBytes: number;
  /** Largest response body (the agent's, each fetch's), bytes. */
  responseBytes: number;
  /** Outbound fetches and LLM calls one request may make. */
  subrequests: number;
  /** Alarms an agent may have pending. */
  alarms: number;
  /** Shortest alarm delay, ms. */
  minAlarmMs: number;
  /** An agent unused this long has its isolate and store closed, ms. */
  idleMs: number;
  /** Agents open at once; the least recently used is closed beyond it. */
  maxOpen: number;
  /** Time one LLM call may take, ms (also bounded by the request's wall time). */
  llmTimeoutMs: number;
  /** Largest LLM response, bytes. */
  llmResponseBytes: number;
  /** Largest `max_tokens` an agent may ask for. */
  llmMaxTokens: number;
  /** Largest bundle, and largest config JSON, bytes. */
  bundleBytes: number;
  /** Largest snapshot (the store's tarball), bytes. */
  snapshotBytes: number;
}

/** Defaults (docs/agents-runtime.md explains each figure). */
export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  memoryMiB: 64,
  cpuMs: 100,
  wallMs: 30_000,
  queryMs: 2_000,
  storageMiB: 64,
  keyBytes: 512,
  valueBytes: 128 * 1024,
  rows: 1_000,
  requestBytes: 1024 * 1024,
  responseBytes: 4 * 1024 * 1024,
  subrequests: 20,
  alarms: 16,
  minAlarmMs: 1_000,
  idleMs: 60_000,
  maxOpen: 8,
  llmTimeoutMs: 60_000,
  llmResponseBytes: 1024 * 1024,
  llmMaxTokens: 4_096,
  bundleBytes: 1024 * 1024,
  snapshotBytes: 256 * 1024 * 1024,
};

/** The checked section. */
export interface AgentsConfig {
  agents: AgentEntry[];
  limits: AgentLimits;
  /**
   * `host:port` of LLM endpoints the operator allows although they are not public addresses (a
   * model server on the node's own network); every other endpoint follows the fetch rules.
   */
  llmHosts: string[];
  /** Agents from AgentMarketplace on chain instead of `agents` (docs/agents-runtime.md "Directory"). */
  marketplace?: { rpcUrl: string; address: string; ttlMs: number };
  /** Take-over between nodes (docs/agents-runtime.md "Hosting and take-over"); absent, this node hosts its agents alone. */
  hosting?: HostingConfig;
}

/** Where the hosting set comes from (one of `nodes` or `registry`) and the snapshot cadence. */
export interface HostingConfig {
  /** The nodes offering the agents service, this one included: Ed25519 key and gateway (a node that follows no chain). */
  nodes?: { nodeKey: string; gatewayUrl: string }[];
  /**
   * The NodeRegistry whose active, non-jailed nodes are the hosting set, re-read at each epoch
   * change (node/chain/registryHostingNodes.ts); `pollMs`: how often the epoch is checked.
   */
  registry?: { rpcUrl: string; chainId: number; address: string; pollMs: number };
  /** How often a changed agent is snapshotted, ms (also at clean shutdown). */
  snapshotEveryMs: number;
  /** How long a node's answer (or silence) to the liveness probe is trusted, ms. */
  probeMs: number;
}

const MAX_HOSTING_NODES = 256;

function hostingFrom(raw: unknown): HostingConfig | undefined {
  if (raw === undefined) return undefined;
  const h = raw as Record<string, unknown>;
  if (typeof h !== "object" || h === null || Array.isArray(h)) throw new Error("config: services.agents.hosting must be an object");
  for (const key of Object.keys(h))
    if (!["nodes", "registry", "snapshotEveryMs", "probeMs"].includes(key)) throw new Error(`config: unknown key services.agents.hosting.${key}`);
  if ((h.nodes === undefined) === (h.registry === undefined))
    throw new Error("config: services.agents.hosting takes its nodes from nodes or from registry, one of the two");
  const positive = (key: string, fallback: number, from: Record<string, unknown> = h, where = "hosting"): number => {
    const value = from[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 100)
      throw new Error(`config: services.agents.${where}.${key} must be an integer of at least 100 ms`);
    return value as number;
  };
  const timing = { snapshotEveryMs: positive("snapshotEveryMs", 10 * 60_000), probeMs: positive("probeMs", 5_000) };
  if (h.registry !== undefined) return { registry: registryFrom(h.registry, positive), ...timing };
  if (!Array.isArray(h.nodes) || h.nodes.length === 0 || h.nodes.length > MAX_HOSTING_NODES)
    throw new Error(`config: services.agents.hosting.nodes must list 1-${MAX_HOSTING_NODES} nodes`);
  const nodes = h.nodes.map((n: unknown, i: number) => {
    const node = n as Record<string, unknown>;
    if (typeof node !== "object" || node === null || typeof node.nodeKey !== "string" || !ROOT.test(node.nodeKey))
      throw new Error(`config: services.agents.hosting.nodes[${i}].nodeKey must be 32 bytes of lower-case hex`);
    if (typeof node.gatewayUrl !== "string" || !/^https?:\/\/[^\s/]+$/.test(node.gatewayUrl.replace(/\/+$/, "")))
      throw new Error(`config: services.agents.hosting.nodes[${i}].gatewayUrl must be an http(s) origin`);
    return { nodeKey: node.nodeKey, gatewayUrl: node.gatewayUrl.replace(/\/+$/, "") };
  });
  if (new Set(nodes.map((n) => n.nodeKey)).size !== nodes.length) throw new Error("config: services.agents.hosting.nodes names a node twice");
  return { nodes, ...timing };
}

function registryFrom(
  raw: unknown,
  positive: (key: string, fallback: number, from: Record<string, unknown>, where: string) => number,
): HostingConfig["registry"] {
  const r = raw as Record<string, unknown>;
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw new Error("config: services.agents.hosting.registry must be an object");
  for (const key of Object.keys(r))
    if (!["rpcUrl", "chainId", "address", "pollMs"].includes(key)) throw new Error(`config: unknown key services.agents.hosting.registry.${key}`);
  if (typeof r.rpcUrl !== "string" || !/^https?:\/\//.test(r.rpcUrl))
    throw new Error("config: services.agents.hosting.registry.rpcUrl must be an http(s) URL (a node that follows the chain takes it from committee.rpcUrl)");
  if (!Number.isSafeInteger(r.chainId) || (r.chainId as number) <= 0)
    throw new Error("config: services.agents.hosting.registry.chainId must be the registry's chain id");
  if (typeof r.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(r.address))
    throw new Error("config: services.agents.hosting.registry.address must be the NodeRegistry address");
  return { rpcUrl: r.rpcUrl, chainId: r.chainId as number, address: r.address, pollMs: positive("pollMs", 5_000, r, "hosting.registry") };
}

const ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const ROOT = /^[0-9a-f]{64}$/;

/**
 * `services.agents` with what its hosting registry leaves out (`rpcUrl`, `chainId`, `address`)
 * taken from the node's own chain settings (`committee`: the same chain and NodeRegistry), so an
 * operator writes them once; values the section gives stay (another RPC endpoint, say). Anything
 * else, and a node that follows no chain, is left as it is for {@link agentsConfigFrom} to check.
 */
export function withNodeChain(
  options: Record<string, unknown>,
  chain: { rpcUrl: string; chainId: bigint; registry: string } | undefined,
): Record<string, unknown> {
  const hosting = options.hosting as Record<string, unknown> | undefined;
  const registry = hosting?.registry;
  if (!chain || typeof hosting !== "object" || hosting === null || typeof registry !== "object" || registry === null || Array.isArray(registry)) return options;
  const fromChain = { rpcUrl: chain.rpcUrl, chainId: Number(chain.chainId), address: chain.registry };
  return { ...options, hosting: { ...hosting, registry: { ...fromChain, ...registry } } };
}

/** Checks `services.agents`; throws a config error naming the bad key. */
export function agentsConfigFrom(options: Record<string, unknown>): AgentsConfig {
  for (const key of Object.keys(options))
    if (!["agents", "limits", "llmHosts", "marketplace", "hosting"].includes(key)) throw new Error(`config: unknown key services.agents.${key}`);
  const limits = { ...DEFAULT_AGENT_LIMITS };
  const rawLimits = options.limits ?? {};
  if (typeof rawLimits !== "object" || rawLimits === null || Array.isArray(rawLimits)) throw new Error("config: services.agents.limits must be an object");
  for (const [key, value] of Object.entries(rawLimits)) {
    if (!(key in DEFAULT_AGENT_LIMITS)) throw new Error(`config: unknown agent limit ${key}`);
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new Error(`config: agent limit ${key} must be a positive integer`);
    limits[key as keyof AgentLimits] = value as number;
  }
  if (limits.memoryMiB < 8) throw new Error("config: agent limit memoryMiB must be at least 8");
  const llmHosts = options.llmHosts ?? [];
  if (!Array.isArray(llmHosts) || !llmHosts.every((h) => typeof h === "string" && /^[^\s/]+:\d+$/.test(h)))
    throw new Error('config: services.agents.llmHosts must be a list of "host:port"');
  const rawAgents = options.agents ?? {};
  if (typeof rawAgents !== "object" || rawAgents === null || Array.isArray(rawAgents))
    throw new Error("config: services.agents.agents must be an object of id → agent");
  const agents: AgentEntry[] = [];
  for (const [id, raw] of Object.entries(rawAgents as Record<string, unknown>)) {
    const where = `services.agents.agents.${id}`;
    if (!ID.test(id)) throw new Error(`config: agent id ${JSON.stringify(id)} must be 1-64 of a-z, 0-9 and inner -`);
    const a = raw as Record<string, unknown>;
    if (typeof a !== "object" || a === null) throw new Error(`config: ${where} must be an object`);
    for (const key of Object.keys(a))
      if (!["config", "bundle", "owner", "memoryMiB", "llm", "marketId"].includes(key)) throw new Error(`config: unknown key ${where}.${key}`);
    if (typeof a.config !== "string" || !ROOT.test(a.config)) throw new Error(`config: ${where}.config must be a content root (64 lower-case hex)`);
    if (typeof a.bundle !== "string" || !ROOT.test(a.bundle)) throw new Error(`config: ${where}.bundle must be a content root (64 lower-case hex)`);
    if (typeof a.owner !== "string" || a.owner.length === 0 || a.owner.length > 128) throw new Error(`config: ${where}.owner must be a non-empty string`);
    const memoryMiB = a.memoryMiB ?? limits.memoryMiB;
    if (!Number.isSafeInteger(memoryMiB) || (memoryMiB as number) < 8 || (memoryMiB as number) > limits.memoryMiB)
      throw new Error(`config: ${where}.memoryMiB must be an integer in 8..${limits.memoryMiB}`);
    if (a.marketId !== undefined && (!Number.isSafeInteger(a.marketId) || (a.marketId as number) < 1))
      throw new Error(`config: ${where}.marketId must be a positive integer (its AgentMarketplace id)`);
    let llm: AgentEntry["llm"];
    if (a.llm !== undefined) {
      const l = a.llm as Record<string, unknown>;
      const endpoint = llmEndpoint(l, `config: ${where}.llm`);
      if (l.sealedApiKey !== undefined && typeof l.sealedApiKey !== "string") throw new Error(`config: ${where}.llm.sealedApiKey must be base64 text`);
      llm = { ...endpoint, sealedApiKey: l.sealedApiKey as string | undefined };
    }
    agents.push({
      id,
      configRoot: a.config,
      bundleRoot: a.bundle,
      owner: a.owner,
      memoryMiB: memoryMiB as number,
      llm,
      ...(a.marketId === undefined ? {} : { marketId: a.marketId as number }),
    });
  }
  let marketplace: AgentsConfig["marketplace"];
  if (options.marketplace !== undefined) {
    const m = options.marketplace as Record<string, unknown>;
    if (typeof m !== "object" || m === null) throw new Error("config: services.agents.marketplace must be an object");
    for (const key of Object.keys(m))
      if (!["rpcUrl", "address", "ttlMs"].includes(key)) throw new Error(`config: unknown key services.agents.marketplace.${key}`);
    if (typeof m.rpcUrl !== "string" || !/^https?:\/\//.test(m.rpcUrl)) throw new Error("config: services.agents.marketplace.rpcUrl must be an http(s) URL");
    if (typeof m.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(m.address))
      throw new Error("config: services.agents.marketplace.address must be an address");
    const ttlMs = m.ttlMs ?? 5_000;
    if (!Number.isSafeInteger(ttlMs) || (ttlMs as number) < 0 || (ttlMs as number) > 600_000)
      throw new Error("config: services.agents.marketplace.ttlMs must be an integer in 0..600000");
    if (agents.length > 0) throw new Error("config: services.agents takes its agents from agents or from marketplace, not both");
    marketplace = { rpcUrl: m.rpcUrl, address: m.address, ttlMs: ttlMs as number };
  }
  return { agents, limits, llmHosts: llmHosts as string[], ...(marketplace ? { marketplace } : {}), hosting: hostingFrom(options.hosting) };
}
