/**
 * The agents AgentMarketplace lists, as the agents service hosts them (docs/agents-runtime.md
 * "Directory"): `lookup("<id>")` reads `hosting(id)` at the latest block, one call, and caches the
 * answer in a bounded LRU for `ttlMs` (an unknown id for `missTtlMs`). The lease's end is kept on
 * the node's own clock from the seconds the chain says are left, so a cached entry stops serving
 * at the right second without a new read, whatever the skew between the chain's and the node's
 * clocks; a top-up, a pause or a new version is seen within `ttlMs`.
 */
import { Contract, isError } from "ethers";
import { LRUCache } from "lru-cache";
import type { AgentDirectory, AgentEntry } from "../agents/agentDirectory";
import { AGENT_MARKETPLACE_ABI } from "./registryAbi";
import type { RpcProvider } from "./registryCommittee";

/** Settings of an {@link AgentMarketDirectory}. */
export interface AgentMarketDirectoryOptions {
  /** Agents kept (default 10,000). */
  maxAgents?: number;
  /** How long an agent read is reused (default 5 s). */
  ttlMs?: number;
  /** How long "no such agent" is reused (default 5 s). */
  missTtlMs?: number;
  /** Heap bounds of the node (an isolate gets the agent's lease within them). */
  minMemoryMiB: number;
  maxMemoryMiB: number;
  now?: () => number;
}

interface Hosting {
  owner: string;
  version: bigint;
  memoryMiB: bigint;
  configRoot: string;
  bundleRoot: string;
  paused: boolean;
  endsAt: bigint;
  secondsLeft: bigint;
}

/** Marketplace ids are 1, 2, ...: the path segment is the decimal id. */
const ID = /^[1-9][0-9]{0,18}$/;
const NEVER = 2n ** 64n - 1n;

/** Reads AgentMarketplace by agent id, cached. */
export class AgentMarketDirectory implements AgentDirectory {
  private readonly market: Contract;
  private readonly cache: LRUCache<string, { at: number; value: AgentEntry | undefined }>;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly now: () => number;

  constructor(
    provider: RpcProvider,
    address: string,
    private readonly options: AgentMarketDirectoryOptions,
  ) {
    this.market = new Contract(address, AGENT_MARKETPLACE_ABI, provider);
    this.cache = new LRUCache({ max: options.maxAgents ?? 10_000 });
    this.ttlMs = options.ttlMs ?? 5_000;
    this.missTtlMs = options.missTtlMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  async lookup(id: string): Promise<AgentEntry | undefined> {
    if (!ID.test(id)) return undefined;
    const cached = this.cache.get(id);
    const now = this.now();
    if (cached && now - cached.at < (cached.value ? this.ttlMs : this.missTtlMs)) return cached.value;
    let h: Hosting;
    try {
      h = (await this.market.hosting(BigInt(id))) as Hosting;
    } catch (error) {
      if (!isError(error, "CALL_EXCEPTION") || error.revert?.name !== "AgentMarketUnknown") throw error;
      this.cache.set(id, { at: now, value: undefined });
      return undefined;
    }
    const value: AgentEntry = {
      id,
      configRoot: h.configRoot.slice(2),
      bundleRoot: h.bundleRoot.slice(2),
      owner: h.owner.toLowerCase(),
      memoryMiB: Math.min(this.options.maxMemoryMiB, Math.max(this.options.minMemoryMiB, Number(h.memoryMiB))),
      lease: { paused: h.paused, untilMs: h.endsAt === NEVER ? null : now + Number(h.secondsLeft) * 1_000 },
    };
    this.cache.set(id, { at: now, value });
    return value;
  }

  /** The agents read lately (the marketplace lists every agent; this node serves those asked for). */
  async list(): Promise<AgentEntry[]> {
    return [...this.cache.values()].flatMap((c) => (c.value ? [c.value] : []));
  }
}
