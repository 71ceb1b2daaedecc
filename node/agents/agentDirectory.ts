/**
 * Which agents a node hosts (docs/agents-runtime.md "Directory"): the node's config
 * (`services.agents.agents`, for tests and devnets) or AgentMarketplace on chain
 * (node/chain/agentMarketDirectory.ts), with each agent's pause state and hosting lease.
 */

/** One hosted agent: what it runs and who owns it. */
export interface AgentEntry {
  /** 1-64 of `a-z`, `0-9` and inner `-` (the path segment in `/agents/<id>/...`). */
  id: string;
  /** Content root of its character/config JSON. */
  configRoot: string;
  /** Content root of its JavaScript bundle (`export default { fetch(request, env), alarm?(env) }`). */
  bundleRoot: string;
  /** Its owner (an address or key, as the marketplace will name it); in receipts and snapshots' records. */
  owner: string;
  /** Its AgentMarketplace id, when listed: a paying node charges its calls at the listing's price (docs/agents.md "Payment of calls"). */
  marketId?: number;
  /** Heap of its isolate, MiB. */
  memoryMiB: number;
  /** The owner's OpenAI-compatible endpoint for `env.llm.chat`, if any. */
  llm?: {
    /** Base URL; the host calls `<baseUrl>/v1/chat/completions`. */
    baseUrl: string;
    /** Default model when the agent names none. */
    model?: string;
    /** The API key sealed to this node's agent-secrets key (agentSecrets.ts), base64. */
    sealedApiKey?: string;
    /** The owner sealed its key to other nodes only: refuse rather than call the endpoint without it. */
    sealedElsewhere?: boolean;
  };
  /** Its pause state and hosting lease (docs/agents.md "Hosting lease"); absent: always served (config agents). */
  lease?: AgentLease;
}

/** An agent's pause state and lease as the marketplace says. */
export interface AgentLease {
  paused: boolean;
  /** When the lease runs out, on the node's clock (ms since the epoch); null: never (a zero hosting price). */
  untilMs: number | null;
}

/** Why the runtime refuses calls to `agent` at `nowMs`: paused (423) or lease ended (402); undefined: served. */
export function leaseRefusal(agent: AgentEntry, nowMs: number): { status: 402 | 423; reason: string } | undefined {
  const lease = agent.lease;
  if (!lease) return undefined;
  if (lease.paused) return { status: 423, reason: `agent ${agent.id} is paused by its owner; its state is kept` };
  if (lease.untilMs !== null && nowMs >= lease.untilMs)
    return { status: 402, reason: `agent ${agent.id}'s hosting lease has run out; its state is kept and it resumes once the lease is funded` };
  return undefined;
}

/** Where the runtime learns which agents it hosts. */
export interface AgentDirectory {
  /** The agent `id`, or undefined when this node does not host it. */
  lookup(id: string): Promise<AgentEntry | undefined>;
  /** Every agent this node hosts (for status). */
  list(): Promise<AgentEntry[]>;
}

/** The agents named in the service's config. */
export class ConfigAgentDirectory implements AgentDirectory {
  private readonly byId: Map<string, AgentEntry>;

  constructor(entries: AgentEntry[]) {
    this.byId = new Map(entries.map((e) => [e.id, e]));
  }

  async lookup(id: string): Promise<AgentEntry | undefined> {
    return this.byId.get(id);
  }

  async list(): Promise<AgentEntry[]> {
    return [...this.byId.values()];
  }
}
