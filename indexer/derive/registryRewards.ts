import type { HandlerContext } from "../module";
import { col, defineTable, type RowOf } from "../store/tables";
import type { EpochReport } from "../../protocol/report";
import { checkEpochReport, reportReputationRoot, reportRewardsTree, type NodeStanding } from "../../protocol/reportRoots";
import { flkWeight } from "../../protocol/rewards";

/**
 * A node's part in a reported epoch: the reputation and revenue the report gives it, its owner
 * and lock at the report, and the FLK weight they make (`protocol/rewards.ts: flkWeight`).
 */
export const nodeEpochs = defineTable({
  name: "node_epochs",
  columns: {
    node_id: col.int8(),
    epoch: col.int8(),
    owner: col.text(),
    uptime: col.int4(),
    reputation: col.int4(),
    revenue: col.wei(),
    locked_until: col.int8(),
    flk_weight: col.wei(),
    block_number: col.int8(),
  },
  primaryKey: ["node_id", "epoch"],
  indexes: {
    // Per-epoch lists (leaderboards) besides the per-node history the primary key serves.
    node_epochs_epoch: ["epoch", "node_id"],
  },
  rollback: "byBlock",
});

/** A leaf of an epoch's recomputed rewards tree (one per owner) with its Merkle proof. */
export const rewardTreeLeaves = defineTable({
  name: "reward_leaves",
  columns: {
    epoch: col.int8(),
    account: col.text(),
    flk_weight: col.wei(),
    usdc_weight: col.wei(),
    proof: col.json<string[]>(),
    block_number: col.int8(),
  },
  primaryKey: ["epoch", "account"],
  indexes: {
    reward_leaves_account: ["account", "epoch"],
  },
  rollback: "byBlock",
});

/** The epoch columns {@link recomputeReport} fills (null until the epoch is reported). */
export const RECOMPUTATION_COLUMNS = {
  computed_reputation_root: col.text().orNull(),
  computed_rewards_root: col.text().orNull(),
  computed_flk_weight: col.wei().orNull(),
  computed_usdc_weight: col.wei().orNull(),
  reputation_root_ok: col.bool().orNull(),
  rewards_root_ok: col.bool().orNull(),
  totals_ok: col.bool().orNull(),
};

/** What the indexer found when it recomputed a report (stored on the epoch row). */
export type ReportRecomputation = { [K in keyof typeof RECOMPUTATION_COLUMNS]: NonNullable<RowOf<typeof RECOMPUTATION_COLUMNS>[K]> };

/**
 * Recomputes a report's reputation root, rewards tree and totals with the shared protocol code,
 * from the report's per-node fields and each node's owner and lock as the chain holds them when
 * the report is accepted (the `nodes` rows, before the epoch change that follows in the same
 * transaction). Stores each node's part and each leaf's proof; says which commitments match.
 */
export async function recomputeReport(
  ctx: HandlerContext,
  report: EpochReport,
  standingOf: (nodeId: number) => Promise<NodeStanding | undefined>,
): Promise<ReportRecomputation> {
  const epoch = Number(report.epoch);
  const standing = new Map<number, NodeStanding>();
  for (const m of report.nodes) {
    const n = await standingOf(m.nodeId);
    // The registry accepts only ids up to nodeCount, all of which were registered.
    if (!n) throw new Error(`report of epoch ${epoch} names node ${m.nodeId}, unknown at block ${ctx.block.number}: events missing`);
    standing.set(m.nodeId, n);
  }
  const check = checkEpochReport(report, standing);
  const tree = reportRewardsTree(report.epoch, report.nodes, standing);
  for (const m of report.nodes) {
    const s = standing.get(m.nodeId)!;
    await ctx.store.set(nodeEpochs, {
      node_id: m.nodeId,
      epoch,
      owner: s.owner,
      uptime: m.uptime,
      reputation: m.reputation,
      revenue: m.revenue,
      locked_until: Number(s.lockedUntil),
      flk_weight: flkWeight({ revenue: m.revenue, remainingLockEpochs: s.lockedUntil - report.epoch, reputation: m.reputation }),
      block_number: ctx.block.number,
    });
  }
  if (tree.tree) {
    for (const [i, [account, f, u]] of tree.tree.entries()) {
      await ctx.store.set(rewardTreeLeaves, { epoch, account, flk_weight: f, usdc_weight: u, proof: tree.tree.getProof(i), block_number: ctx.block.number });
    }
  }
  return {
    computed_reputation_root: reportReputationRoot(report.nodes),
    computed_rewards_root: tree.root,
    computed_flk_weight: tree.totalFlkWeight,
    computed_usdc_weight: tree.totalUsdcWeight,
    reputation_root_ok: check.reputationRoot,
    rewards_root_ok: check.rewardsRoot,
    totals_ok: check.totals,
  };
}
