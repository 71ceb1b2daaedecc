/**
 * Which agents a node hosts (docs/agents-runtime.md "Directory"). For now the node's config says
 * (`services.agents.agents`); the on-chain AgentMarketplace (issue 20, another part) will be a
 * second implementation of {@link AgentDirectory}, read at the epoch's first block as
 * FunctionRegistry is, without the runtime changing.
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
  };
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
