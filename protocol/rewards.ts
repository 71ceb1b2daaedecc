/**
 * Reward weights and the rewards Merkle tree (docs/spec.md §5). One leaf per operator account:
 * `(account, flkWeight, usdcWeight)`; EpochRewards pays `pool × weight / totalWeight` of each token.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { MAX_LOCK_EPOCHS } from "./params";

/** Fixed-point scale of {@link lockBoost}: 1,000,000 = a boost of 1. */
export const BOOST_SCALE = 1_000_000n;
/** Leaf encoding of the rewards tree (what `EpochRewards.claim` hashes). */
export const REWARD_LEAF_TYPES = ["address", "uint256", "uint256"] as const;

/**
 * Lock boost = min(4, 1 + 3 × remaining / 1460), scaled by {@link BOOST_SCALE}, rounded down.
 * @param remainingLockEpochs lockedUntil − epoch (0 or negative: no lock)
 */
export function lockBoost(remainingLockEpochs: bigint): bigint {
  const remaining = remainingLockEpochs < 0n ? 0n : remainingLockEpochs;
  const boost = BOOST_SCALE + (3n * BOOST_SCALE * remaining) / MAX_LOCK_EPOCHS;
  return boost > 4n * BOOST_SCALE ? 4n * BOOST_SCALE : boost;
}

/** A node's part in one epoch's rewards. */
export interface NodeReward {
  /** The node's owner: the account that claims. */
  owner: string;
  /** Service revenue units the node served this epoch (USDC units of the usage it delivered). */
  revenue: bigint;
  /** Epochs of stake lock left at this epoch (lockedUntil − epoch). */
  remainingLockEpochs: bigint;
  /** Reputation score 0-100 after this epoch's update. */
  reputation: number;
}

/** FLK weight = revenue × lock boost × reputation / 100 (boost in {@link BOOST_SCALE} units). */
export function flkWeight(n: Pick<NodeReward, "revenue" | "remainingLockEpochs" | "reputation">): bigint {
  return (n.revenue * lockBoost(n.remainingLockEpochs) * BigInt(n.reputation)) / 100n;
}

/** One leaf of the rewards tree. */
export interface RewardLeaf {
  account: string;
  flkWeight: bigint;
  usdcWeight: bigint;
}

/**
 * Leaves of an epoch: one per owner (summing its nodes), sorted by account; owners whose weights
 * are both zero are left out. FLK weight as {@link flkWeight}; USDC weight = revenue served.
 */
export function rewardLeaves(nodes: readonly NodeReward[]): RewardLeaf[] {
  const byOwner = new Map<string, RewardLeaf>();
  for (const n of nodes) {
    const account = n.owner.toLowerCase();
    const leaf = byOwner.get(account) ?? { account: n.owner, flkWeight: 0n, usdcWeight: 0n };
    leaf.flkWeight += flkWeight(n);
    leaf.usdcWeight += n.revenue;
    byOwner.set(account, leaf);
  }
  return [...byOwner.values()]
    .filter((l) => l.flkWeight > 0n || l.usdcWeight > 0n)
    .sort((a, b) => (a.account.toLowerCase() < b.account.toLowerCase() ? -1 : 1));
}

/** The rewards tree and its totals. With no leaves the root is zero (nothing to claim). */
export interface RewardsTree {
  root: string;
  totalFlkWeight: bigint;
  totalUsdcWeight: bigint;
  tree?: StandardMerkleTree<[string, bigint, bigint]>;
}

/** Builds the OpenZeppelin StandardMerkleTree over the leaves. */
export function buildRewardsTree(leaves: readonly RewardLeaf[]): RewardsTree {
  const totalFlkWeight = leaves.reduce((s, l) => s + l.flkWeight, 0n);
  const totalUsdcWeight = leaves.reduce((s, l) => s + l.usdcWeight, 0n);
  if (leaves.length === 0) return { root: `0x${"00".repeat(32)}`, totalFlkWeight, totalUsdcWeight };
  const tree = StandardMerkleTree.of(
    leaves.map((l) => [l.account, l.flkWeight, l.usdcWeight] as [string, bigint, bigint]),
    [...REWARD_LEAF_TYPES],
  );
  return { root: tree.root, totalFlkWeight, totalUsdcWeight, tree };
}

/** The proof of `account`'s leaf in the tree. */
export function rewardProof(tree: RewardsTree, account: string): { leaf: RewardLeaf; proof: string[] } {
  if (!tree.tree) throw new Error("empty rewards tree");
  for (const [i, [a, f, u]] of tree.tree.entries()) {
    if (a.toLowerCase() === account.toLowerCase()) return { leaf: { account: a, flkWeight: f, usdcWeight: u }, proof: tree.tree.getProof(i) };
  }
  throw new Error(`no leaf for ${account}`);
}

/** What a leaf is worth: `pool × weight / totalWeight`, rounded down (`EpochRewards.claimable`). */
export function claimAmount(pool: bigint, weight: bigint, totalWeight: bigint): bigint {
  return totalWeight === 0n ? 0n : (pool * weight) / totalWeight;
}

/** Split of an epoch's debits: nodes get `total × nodeShareBps / 10,000` (rounded down), buyback the rest. */
export function splitDebits(total: bigint, nodeShareBps: bigint): { toNodes: bigint; toBuyback: bigint } {
  const toNodes = (total * nodeShareBps) / 10_000n;
  return { toNodes, toBuyback: total - toNodes };
}
