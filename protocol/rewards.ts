/**
 * Reward weights and the rewards Merkle tree (docs/spec.md §5). One leaf per operator account:
 * `(account, flkWeight, usdcWeight)`; EpochRewards pays `pool × weight / totalWeight` of each token.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { MAX_LOCK_EPOCHS } from "./params";
import { ServiceKind } from "./usage";

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

/** The agent marketplace's split of call revenue, basis points summing to 10,000 (`AgentMarketplace.split`). */
export interface AgentSplit {
  nodeBps: bigint;
  ownerBps: bigint;
  protocolBps: bigint;
}

/** The marketplace's default split: 20% to the serving nodes, 70% to the owner, 10% bought back and burned. */
export const DEFAULT_AGENT_SPLIT: AgentSplit = { nodeBps: 2_000n, ownerBps: 7_000n, protocolBps: 1_000n };

/**
 * One agent's revenue split as `AgentMarketplace.settle` does: owner and protocol shares rounded
 * down, the nodes keep the rest (so nothing is lost to rounding).
 */
export function splitAgentRevenue(amount: bigint, split: AgentSplit): { toNodes: bigint; toOwner: bigint; toProtocol: bigint } {
  const toOwner = (amount * split.ownerBps) / 10_000n;
  const toProtocol = (amount * split.protocolBps) / 10_000n;
  return { toNodes: amount - toOwner - toProtocol, toOwner, toProtocol };
}

/** Most agents one report settles (`ServiceEscrow.MAX_SETTLED_AGENTS`): the rest is plain revenue. */
export const MAX_SETTLED_AGENTS = 128;

/** A report charge as the escrow's split reads it. */
export interface SplitCharge {
  kind: number;
  service: string;
  amount: bigint;
}

/** How `ServiceEscrow.debit` splits an epoch's debits (docs/payments.md "Agent revenue"). */
export interface EpochSplit {
  /** To the rewards contract: the node pool. */
  toNodes: bigint;
  /** To the buyback directly: the non-node share of non-agent revenue. */
  toBuyback: bigint;
  /** Pulled by the marketplace: owner shares and protocol fees. */
  toMarketplace: bigint;
  /** Revenue per registered agent (summed across nodes), in order of first appearance. */
  agents: { agentId: bigint; amount: bigint; toNodes: bigint; toOwner: bigint; toProtocol: bigint }[];
}

/**
 * The escrow's split of `total` debited: kind-2 charges of registered agents (ids 1 to
 * `agentCount`; `agentCount` 0 when no marketplace is set) are summed per agent, the first
 * `maxAgents` distinct ones in report order (`ServiceEscrow.MAX_SETTLED_AGENTS`), and split
 * by {@link splitAgentRevenue}; everything else by {@link splitDebits}.
 */
export function splitEpochRevenue(
  total: bigint,
  charges: readonly SplitCharge[],
  nodeShareBps: bigint,
  split: AgentSplit,
  agentCount: bigint,
  maxAgents = MAX_SETTLED_AGENTS,
): EpochSplit {
  const byAgent = new Map<bigint, bigint>();
  for (const c of charges) {
    if (c.kind !== ServiceKind.Agent || c.amount === 0n) continue;
    const id = BigInt(c.service);
    if (id === 0n || id > agentCount || (!byAgent.has(id) && byAgent.size === maxAgents)) continue;
    byAgent.set(id, (byAgent.get(id) ?? 0n) + c.amount);
  }
  const agents = [...byAgent].map(([agentId, amount]) => ({ agentId, amount, ...splitAgentRevenue(amount, split) }));
  const agentTotal = agents.reduce((sum, a) => sum + a.amount, 0n);
  const other = splitDebits(total - agentTotal, nodeShareBps);
  const toMarketplace = agents.reduce((sum, a) => sum + a.toOwner + a.toProtocol, 0n);
  return { toNodes: other.toNodes + agentTotal - toMarketplace, toBuyback: other.toBuyback, toMarketplace, agents };
}
