/**
 * The epoch report's `agentSnapshotsRoot` (docs/agents-runtime.md "Snapshots through consensus"):
 * an OpenZeppelin StandardMerkleTree over the epoch's newest snapshot record of each marketplace
 * agent that its assigned host signed, one leaf (agentId, root, bytes, sequence, signer) per agent.
 * A node taking an agent over proves a record's leaf against the root of the latest reported epoch.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

/** Leaf encoding: (AgentMarketplace id, content root of the store's tarball, its bytes, the record's sequence, the signer's Ed25519 node key). */
export const AGENT_SNAPSHOT_LEAF_TYPES = ["uint256", "bytes32", "uint64", "uint64", "bytes32"] as const;

/** One agent's committed snapshot record. Hex fields are 32 bytes, lower case, without 0x (as in the record). */
export interface AgentSnapshotLeaf {
  agentId: bigint;
  root: string;
  bytes: bigint;
  sequence: bigint;
  /** The record's signer (node key). */
  nodeKey: string;
}

const ZERO_ROOT = `0x${"00".repeat(32)}`;

type LeafValue = [bigint, string, bigint, bigint, string];

function leafValue(l: AgentSnapshotLeaf): LeafValue {
  return [l.agentId, `0x${l.root}`, l.bytes, l.sequence, `0x${l.nodeKey}`];
}

/** The tree over `leaves` (at most one per agent, in agent id order), or undefined when there is none. */
function snapshotsTree(leaves: readonly AgentSnapshotLeaf[]): StandardMerkleTree<LeafValue> | undefined {
  if (leaves.length === 0) return undefined;
  const sorted = [...leaves].sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) if (sorted[i].agentId === sorted[i - 1].agentId) throw new Error(`two snapshot leaves of agent ${sorted[i].agentId}`);
  return StandardMerkleTree.of(sorted.map(leafValue), [...AGENT_SNAPSHOT_LEAF_TYPES]);
}

/** The report's `agentSnapshotsRoot` of `leaves`; zero when no agent was snapshotted in the epoch. */
export function agentSnapshotsRoot(leaves: readonly AgentSnapshotLeaf[]): string {
  return snapshotsTree(leaves)?.root ?? ZERO_ROOT;
}

/** The proof of each agent's leaf among `leaves`, by agent id (one tree for all of them). */
export function agentSnapshotProofs(leaves: readonly AgentSnapshotLeaf[]): Map<bigint, string[]> {
  const proofs = new Map<bigint, string[]>();
  const tree = snapshotsTree(leaves);
  if (tree) for (const [i, value] of tree.entries()) proofs.set(value[0], tree.getProof(i));
  return proofs;
}

/** Whether `leaf` is in the tree of root `root` by `proof` (false for a malformed proof: it comes from another node). */
export function verifyAgentSnapshotLeaf(root: string, leaf: AgentSnapshotLeaf, proof: readonly string[]): boolean {
  if (root === ZERO_ROOT) return false;
  try {
    return StandardMerkleTree.verify(root, [...AGENT_SNAPSHOT_LEAF_TYPES], leafValue(leaf), [...proof]);
  } catch {
    return false;
  }
}

/** The marketplace id an agent's runtime id names (the chain directory's decimal ids), or undefined for another id. */
export function marketplaceAgentId(agent: string): bigint | undefined {
  return /^[1-9][0-9]{0,18}$/.test(agent) && BigInt(agent) < 2n ** 64n ? BigInt(agent) : undefined;
}
