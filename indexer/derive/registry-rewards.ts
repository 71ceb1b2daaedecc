import type { Kysely } from "kysely";
import type { HandlerContext } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import type { EpochReport } from "../../protocol/report";
import { checkEpochReport, reportReputationRoot, reportRewardsTree, type NodeStanding } from "../../protocol/reportRoots";
import { flkWeight } from "../../protocol/rewards";

/**
 * A node's part in a reported epoch: the reputation and revenue the report gives it, its owner
 * and lock at the report, and the FLK weight they make (`protocol/rewards.ts: flkWeight`).
 */
export const nodeEpochs = defineTable<{
  node_id: number;
  epoch: number;
  owner: string;
  uptime: number;
  reputation: number;
  revenue: bigint;
  locked_until: number;
  flk_weight: bigint;
  block_number: number;
}>({
  name: "node_epochs",
  columns: { node_id: "int8", epoch: "int8", owner: "text", uptime: "int4", reputation: "int4", revenue: "numeric", locked_until: "int8", flk_weight: "numeric", block_number: "int8" },
  primaryKey: ["node_id", "epoch"],
  rollback: "byBlock",
});

/** A leaf of an epoch's recomputed rewards tree (one per owner) with its Merkle proof. */
export const rewardTreeLeaves = defineTable<{ epoch: number; account: string; flk_weight: bigint; usdc_weight: bigint; proof: string[]; block_number: number }>({
  name: "reward_leaves",
  columns: { epoch: "int8", account: "text", flk_weight: "numeric", usdc_weight: "numeric", proof: "jsonb", block_number: "int8" },
  primaryKey: ["epoch", "account"],
  rollback: "byBlock",
});

/** What the indexer found when it recomputed a report (stored on the epoch row). */
export interface ReportRecomputation {
  computed_reputation_root: string;
  computed_rewards_root: string;
  computed_flk_weight: bigint;
  computed_usdc_weight: bigint;
  reputation_root_ok: boolean;
  rewards_root_ok: boolean;
  totals_ok: boolean;
}

/** The epoch columns {@link recomputeReport} fills. */
export const RECOMPUTATION_COLUMNS = {
  computed_reputation_root: "text",
  computed_rewards_root: "text",
  computed_flk_weight: "numeric",
  computed_usdc_weight: "numeric",
  reputation_root_ok: "bool",
  rewards_root_ok: "bool",
  totals_ok: "bool",
} as const;

/**
 * Recomputes a report's reputation root, rewards tree and totals with the shared protocol code,
 * from the report's per-node fields and each node's owner and lock as the chain holds them when
 * the report is accepted (the `nodes` rows, before the epoch change that follows in the same
 * transaction). Stores each node's part and each leaf's proof; says which commitments match.
 */
export async function recomputeReport(ctx: HandlerContext, report: EpochReport, standingOf: (nodeId: number) => Promise<NodeStanding | undefined>): Promise<ReportRecomputation> {
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

/** Migration of the per-node and per-leaf tables (the epoch columns are in the registry's own). */
export async function createRewardTables(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("node_epochs")
    .addColumn("node_id", "int8", (c) => c.notNull())
    .addColumn("epoch", "int8", (c) => c.notNull())
    .addColumn("owner", "text", (c) => c.notNull())
    .addColumn("uptime", "int4", (c) => c.notNull())
    .addColumn("reputation", "int4", (c) => c.notNull())
    .addColumn("revenue", WEI, (c) => c.notNull())
    .addColumn("locked_until", "int8", (c) => c.notNull())
    .addColumn("flk_weight", WEI, (c) => c.notNull())
    .addColumn("block_number", "int8", (c) => c.notNull())
    .addPrimaryKeyConstraint("node_epochs_pk", ["node_id", "epoch"])
    .execute();
  // Per-epoch lists (leaderboards) besides the per-node history the primary key serves.
  await db.schema.createIndex("node_epochs_epoch").on("node_epochs").columns(["epoch", "node_id"]).execute();
  await db.schema
    .createTable("reward_leaves")
    .addColumn("epoch", "int8", (c) => c.notNull())
    .addColumn("account", "text", (c) => c.notNull())
    .addColumn("flk_weight", WEI, (c) => c.notNull())
    .addColumn("usdc_weight", WEI, (c) => c.notNull())
    .addColumn("proof", "jsonb", (c) => c.notNull())
    .addColumn("block_number", "int8", (c) => c.notNull())
    .addPrimaryKeyConstraint("reward_leaves_pk", ["epoch", "account"])
    .execute();
  await db.schema.createIndex("reward_leaves_account").on("reward_leaves").columns(["account", "epoch"]).execute();
}
