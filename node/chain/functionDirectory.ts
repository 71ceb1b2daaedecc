/**
 * What the node reads of FunctionRegistry (docs/functions.md, "Registry"): for a content root, the
 * function it belongs to, its version, owner, owner-pays cap and the limits its owner registered
 * (`lookup(root)`, one call). Answers are cached by root in a bounded LRU: at a fixed block for
 * ever (nothing read at a past block changes), at the latest block for `ttlMs`, and a root no
 * function has published for `missTtlMs`, so a version published after a miss is served with its
 * own limits within that time.
 */
import { Contract } from "ethers";
import { LRUCache } from "lru-cache";
import type { FunctionSponsor } from "../acks/computeDesk";
import type { RegisteredLimits } from "../functions/functionLimits";
import { FUNCTION_REGISTRY_ABI } from "./registryAbi";
import type { RpcProvider } from "./registryCommittee";

/** A registered function as one of its roots names it. */
export interface RegisteredFunction {
  id: number;
  version: number;
  owner: string;
  /** USDC units per epoch the owner's escrow account pays for everyone's invocations (0: clients pay). */
  ownerPaysCap: bigint;
  limits: RegisteredLimits;
}

/** Settings of a {@link FunctionDirectory}. */
export interface FunctionDirectoryOptions {
  /** Roots (per block read at) kept (default 10,000). */
  maxRoots?: number;
  /** How long a registered function read at the latest block is reused (default 60 s): owner and owner-pays change. */
  ttlMs?: number;
  /** How long "no function has this root" is reused (default 5 s). */
  missTtlMs?: number;
  now?: () => number;
}

interface LookupResult {
  id: bigint;
  version: bigint;
  owner: string;
  capPerEpoch: bigint;
  limits: { memoryMiB: bigint; cpuMs: bigint; wallMs: bigint; bundleBytes: bigint };
}

/** Reads FunctionRegistry by root, cached. */
export class FunctionDirectory {
  private readonly registry: Contract;
  private readonly cache: LRUCache<string, { at: number; fixed: boolean; value: RegisteredFunction | undefined }>;
  private readonly ttlMs: number;
  private readonly missTtlMs: number;
  private readonly now: () => number;

  constructor(provider: RpcProvider, address: string, options: FunctionDirectoryOptions = {}) {
    this.registry = new Contract(address, FUNCTION_REGISTRY_ABI, provider);
    this.cache = new LRUCache({ max: options.maxRoots ?? 10_000 });
    this.ttlMs = options.ttlMs ?? 60_000;
    this.missTtlMs = options.missTtlMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** The function `root` (64 hex) belongs to, at `blockTag` (default the latest block); undefined if none. */
  async lookup(root: string, blockTag?: number): Promise<RegisteredFunction | undefined> {
    const key = `${root.toLowerCase()}@${blockTag ?? "latest"}`;
    const cached = this.cache.get(key);
    if (cached && (cached.fixed || this.now() - cached.at < (cached.value ? this.ttlMs : this.missTtlMs))) return cached.value;
    const r = (await this.registry.lookup(`0x${root}`, blockTag === undefined ? {} : { blockTag })) as LookupResult;
    const value: RegisteredFunction | undefined =
      r.id === 0n
        ? undefined
        : {
            id: Number(r.id),
            version: Number(r.version),
            owner: r.owner.toLowerCase(),
            ownerPaysCap: r.capPerEpoch,
            limits: {
              memoryMiB: Number(r.limits.memoryMiB),
              cpuMs: Number(r.limits.cpuMs),
              wallMs: Number(r.limits.wallMs),
              bundleBytes: Number(r.limits.bundleBytes),
            },
          };
    this.cache.set(key, { at: this.now(), fixed: blockTag !== undefined, value });
    return value;
  }
}

/** Who pays for a registered function's invocations when its owner does (a non-zero cap). */
export function sponsorOf(fn: RegisteredFunction | undefined): FunctionSponsor | undefined {
  return fn && fn.ownerPaysCap > 0n ? { functionId: fn.id, account: fn.owner, cap: fn.ownerPaysCap } : undefined;
}
