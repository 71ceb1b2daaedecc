/**
 * The roots and totals of an epoch report, from the report's own per-node fields (revenue,
 * reputation) and each node's owner and stake lock at that epoch. The node builds its report with
 * {@link completeEpochReport}; the indexer (or anyone) checks a report on-chain with
 * {@link checkEpochReport}. One implementation, so the two can never disagree by construction.
 */
import { buildEpochReport, type ClientUsage, type EpochReport, type NodeMeasurement, type ServiceCharge } from "./report";
import { reputationRoot } from "./reputation";
import { buildRewardsTree, rewardLeaves, type RewardsTree } from "./rewards";

/** What the chain says of a node at the report's epoch. */
export interface NodeStanding {
  /** The operator: the account that claims the node's rewards. */
  owner: string;
  /** Epoch until which the stake is locked (0: never locked). */
  lockedUntil: bigint;
}

/** Looks up the standing of every reported node; a node the caller does not know is an error. */
function standingOf(standing: ReadonlyMap<number, NodeStanding>, nodeId: number): NodeStanding {
  const s = standing.get(nodeId);
  if (!s) throw new Error(`no owner and lock known for node ${nodeId}`);
  return s;
}

/** The rewards tree of a report: one leaf per owner from its nodes' revenue, lock boost and reputation. */
export function reportRewardsTree(epoch: bigint, nodes: readonly NodeMeasurement[], standing: ReadonlyMap<number, NodeStanding>): RewardsTree {
  return buildRewardsTree(
    rewardLeaves(
      nodes.map((n) => {
        const s = standingOf(standing, n.nodeId);
        return { owner: s.owner, revenue: n.revenue, remainingLockEpochs: s.lockedUntil - epoch, reputation: n.reputation };
      }),
    ),
  );
}

/** The reputation root of a report: (nodeId, reputation) of every reported node. */
export function reportReputationRoot(nodes: readonly NodeMeasurement[]): string {
  return reputationRoot(new Map(nodes.map((n) => [n.nodeId, n.reputation])));
}

/** What a committee fills in before signing: the epoch, the per-node fields, the clients' usage and the per-service charges. */
export interface ReportFacts {
  epoch: bigint;
  nodes: readonly NodeMeasurement[];
  usage: readonly ClientUsage[];
  charges: readonly ServiceCharge[];
  /** protocol/agentSnapshots.ts `agentSnapshotsRoot` (zero when absent). */
  agentSnapshotsRoot?: string;
}

/** The canonical report of `facts` with its roots and totals, and the rewards tree (for proofs). */
export function completeEpochReport(facts: ReportFacts, standing: ReadonlyMap<number, NodeStanding>): { report: EpochReport; rewards: RewardsTree } {
  const rewards = reportRewardsTree(facts.epoch, facts.nodes, standing);
  const report = buildEpochReport({
    ...facts,
    reputationRoot: reportReputationRoot(facts.nodes),
    rewardsRoot: rewards.root,
    totalFlkWeight: rewards.totalFlkWeight,
    totalUsdcWeight: rewards.totalUsdcWeight,
  });
  return { report, rewards };
}

/** Which of a report's commitments match a recomputation from its own fields. */
export interface ReportCheck {
  reputationRoot: boolean;
  rewardsRoot: boolean;
  totals: boolean;
  /** All of the above. */
  ok: boolean;
}

/** Recomputes a report's roots and totals and says which match what was signed. */
export function checkEpochReport(report: EpochReport, standing: ReadonlyMap<number, NodeStanding>): ReportCheck {
  const rewards = reportRewardsTree(report.epoch, report.nodes, standing);
  const check = {
    reputationRoot: reportReputationRoot(report.nodes) === report.reputationRoot,
    rewardsRoot: rewards.root === report.rewardsRoot,
    totals: rewards.totalFlkWeight === report.totalFlkWeight && rewards.totalUsdcWeight === report.totalUsdcWeight,
  };
  return { ...check, ok: check.reputationRoot && check.rewardsRoot && check.totals };
}
