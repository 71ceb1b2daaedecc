/**
 * The committee of one epoch: who votes, with what weight, and where to reach them.
 * Members are identified inside consensus by their index in the committee sorted by public key,
 * so every node derives the same indexes from the same committee.
 */
import { hash, PUBLIC_KEY_LEN } from "./crypto";

/** A network endpoint. */
export interface Endpoint {
  host: string;
  port: number;
}

/** One committee member as read from the registry (or a static file). */
export interface Member {
  /** Raw ed25519 node public key (32 bytes). */
  publicKey: Buffer;
  /** Primary-to-primary endpoint (headers, votes, certificates). */
  primary: Endpoint;
  /** Worker-to-worker endpoint (batches and their acknowledgments). */
  worker: Endpoint;
  /** Voting weight. The node uses one vote each (weight 1); see node/README.md. */
  weight: number;
}

/**
 * The deployment a committee belongs to: the chain and the NodeRegistry it was read from. Every
 * signed consensus message binds it (through {@link Committee.domain}), so a signature made for
 * one deployment is worthless on another, even with the same node keys and epoch numbers.
 */
export interface ChainBinding {
  chainId: bigint;
  /** 0x-prefixed registry address. */
  registry: string;
}

/** The binding of committees read from a file, without a chain (tests and local clusters). */
export const NO_CHAIN: ChainBinding = { chainId: 0n, registry: `0x${"00".repeat(20)}` };

const DOMAIN_TAG = Buffer.from("fleek-consensus-domain-v1");

/** The 32-byte domain every consensus signature of a deployment binds: H(tag | chain id | registry). */
export function consensusDomain(b: ChainBinding): Buffer {
  const chainId = Buffer.alloc(8);
  chainId.writeBigUInt64BE(b.chainId);
  const registry = Buffer.from(b.registry.replace(/^0x/i, "").toLowerCase(), "hex");
  if (registry.length !== 20) throw new Error(`registry address must be 20 bytes: ${b.registry}`);
  return hash(DOMAIN_TAG, chainId, registry);
}

/** Index of a member in the committee (sorted by public key). */
export type AuthorityIndex = number;

/** An immutable committee with the quorum arithmetic of Narwhal (docs/consensus.md "Narwhal: committee arithmetic"). */
export class Committee {
  /** Members sorted by public key; the position is the member's authority index. */
  readonly members: readonly Member[];
  /** Sum of all weights. */
  readonly totalWeight: number;
  /** 2f+1: floor(2 * total / 3) + 1. */
  readonly quorumThreshold: number;
  /** f+1: floor((total + 2) / 3). */
  readonly validityThreshold: number;
  /** What every signature of this committee binds (see {@link ChainBinding}). */
  readonly domain: Buffer;
  private readonly indexByKey = new Map<string, AuthorityIndex>();

  constructor(
    /** Epoch number this committee runs. */
    readonly epoch: number,
    members: Member[],
    /** The chain and registry the committee was read from. */
    readonly chain: ChainBinding,
  ) {
    this.domain = consensusDomain(chain);
    if (members.length === 0) throw new Error("empty committee");
    if (members.length > 0xffff) throw new Error("committee too large");
    this.members = [...members].sort((a, b) => Buffer.compare(a.publicKey, b.publicKey));
    this.members.forEach((m, i) => {
      if (m.publicKey.length !== PUBLIC_KEY_LEN) throw new Error("member key must be 32 bytes");
      if (!Number.isSafeInteger(m.weight) || m.weight <= 0) throw new Error("member weight must be a positive integer");
      const hex = m.publicKey.toString("hex");
      if (this.indexByKey.has(hex)) throw new Error(`duplicate member ${hex}`);
      this.indexByKey.set(hex, i);
    });
    this.totalWeight = this.members.reduce((s, m) => s + m.weight, 0);
    this.quorumThreshold = Math.floor((2 * this.totalWeight) / 3) + 1;
    this.validityThreshold = Math.floor((this.totalWeight + 2) / 3);
  }

  /** Number of members. */
  get size(): number {
    return this.members.length;
  }

  /** The authority index of a public key, or undefined if it is not a member. */
  indexOf(publicKey: Uint8Array): AuthorityIndex | undefined {
    return this.indexByKey.get(Buffer.from(publicKey).toString("hex"));
  }

  /** Weight of an authority index (0 for an unknown index). */
  weight(index: AuthorityIndex): number {
    return this.members[index]?.weight ?? 0;
  }

  /** Summed weight of a set of distinct authority indexes. */
  weightOf(indexes: Iterable<AuthorityIndex>): number {
    let w = 0;
    for (const i of new Set(indexes)) w += this.weight(i);
    return w;
  }

  /**
   * The leader of an even round: round-robin over all members by round / 2, so every member
   * leads in turn (keys[r % n] with even r would skip half of them when n is even).
   */
  leader(round: number): AuthorityIndex {
    return (round / 2) % this.size;
  }
}
