import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import type { EventArgs } from "../sync/decode";
import type { EpochReport } from "../../protocol/report";
import { createRewardTables, nodeEpochs, RECOMPUTATION_COLUMNS, recomputeReport, rewardTreeLeaves, type ReportRecomputation } from "./registry-rewards";

/** `NodeStaking.Status` by its uint8 value. */
export const NODE_STATUS = ["NONE", "PENDING", "ACTIVE", "JAILED", "EXITED"] as const;

/** A registered node, as `NodeRegistry.getNode` returns it, plus totals the views do not keep. */
export const nodes = defineTable<{
  id: number;
  owner: string;
  node_key: string;
  signer: string;
  host: string;
  /** `{primary, worker, mempool, rpc, pool, gateway}`. */
  ports: Record<string, number>;
  status: string;
  /** Epoch from which `status` holds (`NodeStatusChanged.epoch`). */
  status_epoch: number;
  stake: bigint;
  unstaking: bigint;
  unstake_ready_at: number;
  locked_until: number;
  /** FLK burned from this node by slashes, in all. */
  slashed: bigint;
  registered_block: number;
  last_block: number;
}>({
  name: "nodes",
  columns: {
    id: "int8",
    owner: "text",
    node_key: "text",
    signer: "text",
    host: "text",
    ports: "jsonb",
    status: "text",
    status_epoch: "int8",
    stake: "numeric",
    unstaking: "numeric",
    unstake_ready_at: "int8",
    locked_until: "int8",
    slashed: "numeric",
    registered_block: "int8",
    last_block: "int8",
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** Kinds of {@link nodeStakeChanges} rows. */
export type StakeChangeKind = "REGISTERED" | "ADDED" | "UNSTAKED" | "WITHDRAWN" | "SLASHED";

/** Every change of a node's stake or unstaking FLK, with both amounts after it. */
export const nodeStakeChanges = defineTable<{
  node_id: number;
  block_number: number;
  log_index: number;
  kind: string;
  amount: bigint;
  stake: bigint;
  unstaking: bigint;
  /** The slashed epoch (slashes), the epoch of the change otherwise. */
  epoch: number;
  timestamp: number;
  tx_hash: string;
}>({
  name: "node_stake_changes",
  columns: { node_id: "int8", block_number: "int8", log_index: "int4", kind: "text", amount: "numeric", stake: "numeric", unstaking: "numeric", epoch: "int8", timestamp: "int8", tx_hash: "text" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** Registry parameters and the current epoch (a single row, id 1). */
export const registryState = defineTable<{
  id: number;
  epoch: number;
  epoch_duration: number;
  reveal_duration: number;
  committee_size: number;
  slash_amount: bigint;
  minimum_stake: bigint;
}>({
  name: "registry_state",
  columns: { id: "int4", epoch: "int8", epoch_duration: "int8", reveal_duration: "int8", committee_size: "int8", slash_amount: "numeric", minimum_stake: "numeric" },
  primaryKey: ["id"],
  rollback: "journal",
});

/** What an epoch's report said (numbers as decimal strings: the row is JSON). */
export interface StoredReport {
  measurements: { nodeId: number; uptime: number; latencyMs: number; bytesServed: string; deliveryAcks: string; revenue: string; reputation: number }[];
  usage: { client: string; amount: string }[];
  reputationRoot: string;
  rewardsRoot: string;
  totalFlkWeight: string;
  totalUsdcWeight: string;
  totalUsage: string;
}

/**
 * An epoch: its timing, active set and committee (selected at its start), and how it ended —
 * `RUNNING`, `REPORTED` (with the report, its digest and signers) or `SKIPPED` — plus the
 * rewards settlement of `EpochRewards.pools(epoch)`.
 */
export const epochs = defineTable<{
  number: number;
  start: number;
  /** `epochDuration` during the epoch (a parameter change applies to the running epoch). */
  duration: number;
  active_set: number[];
  committee: number[];
  /** Committee shuffle seed (zero when the whole active set is the committee). */
  seed: string;
  status: string;
  report_digest: string | null;
  report_signers: number[] | null;
  report: StoredReport | null;
  ended_block: number | null;
  settled_root: string | null;
  flk_pool: bigint | null;
  usdc_pool: bigint | null;
  settled_flk_weight: bigint | null;
  settled_usdc_weight: bigint | null;
  flk_paid: bigint;
  usdc_paid: bigint;
  start_block: number;
} & { [K in keyof ReportRecomputation]: ReportRecomputation[K] | null }>({
  name: "epochs",
  columns: {
    number: "int8",
    start: "int8",
    duration: "int8",
    active_set: "jsonb",
    committee: "jsonb",
    seed: "text",
    status: "text",
    report_digest: "text",
    report_signers: "jsonb",
    report: "jsonb",
    ended_block: "int8",
    settled_root: "text",
    flk_pool: "numeric",
    usdc_pool: "numeric",
    settled_flk_weight: "numeric",
    settled_usdc_weight: "numeric",
    flk_paid: "numeric",
    usdc_paid: "numeric",
    start_block: "int8",
    ...RECOMPUTATION_COLUMNS,
  },
  primaryKey: ["number"],
  rollback: "journal",
});

/** A committee member's beacon in an epoch: commitment, then the revealed secret. */
export const beacons = defineTable<{ epoch: number; node_id: number; commitment: string; secret: string | null; committed_block: number; revealed_block: number | null }>({
  name: "epoch_beacons",
  columns: { epoch: "int8", node_id: "int8", commitment: "text", secret: "text", committed_block: "int8", revealed_block: "int8" },
  primaryKey: ["epoch", "node_id"],
  rollback: "journal",
});

/** A reward claim paid by `EpochRewards` (one per account and epoch). */
export const rewardClaims = defineTable<{ epoch: number; account: string; flk: bigint; usdc: bigint; block_number: number; tx_hash: string }>({
  name: "reward_claims",
  columns: { epoch: "int8", account: "text", flk: "numeric", usdc: "numeric", block_number: "int8", tx_hash: "text" },
  primaryKey: ["epoch", "account"],
  rollback: "byBlock",
});

const ENDPOINTS = "tuple(string host, tuple(uint16 primary, uint16 worker, uint16 mempool, uint16 rpc, uint16 pool, uint16 gateway) ports)";
const MEASUREMENT = "tuple(uint32 nodeId, uint8 uptime, uint32 latencyMs, uint64 bytesServed, uint64 deliveryAcks, uint64 revenue, uint8 reputation)";
const REPORT = `tuple(uint64 epoch, ${MEASUREMENT}[] nodes, tuple(address client, uint128 amount)[] usage, bytes32 reputationRoot, bytes32 rewardsRoot, uint256 totalFlkWeight, uint256 totalUsdcWeight, uint256 totalUsage)`;

async function state(ctx: HandlerContext) {
  return (await ctx.store.get(registryState, { id: 1 })) ?? { id: 1, epoch: 0, epoch_duration: 0, reveal_duration: 0, committee_size: 0, slash_amount: 0n, minimum_stake: 0n };
}

async function node(ctx: HandlerContext, id: bigint | number) {
  const row = await ctx.store.get(nodes, { id: Number(id) });
  if (!row) throw new Error(`node ${id} unknown at block ${ctx.block.number}: events missing`);
  return { ...row, last_block: ctx.block.number };
}

/** The epoch's row; `EpochStarted` creates it, the selections of the same epoch change fill it. */
async function epoch(ctx: HandlerContext, number: bigint | number) {
  return (
    (await ctx.store.get(epochs, { number: Number(number) })) ?? {
      number: Number(number),
      start: 0,
      duration: 0,
      active_set: [],
      committee: [],
      seed: `0x${"00".repeat(32)}`,
      status: "RUNNING",
      report_digest: null,
      report_signers: null,
      report: null,
      ended_block: null,
      settled_root: null,
      flk_pool: null,
      usdc_pool: null,
      settled_flk_weight: null,
      settled_usdc_weight: null,
      flk_paid: 0n,
      usdc_paid: 0n,
      start_block: ctx.block.number,
      computed_reputation_root: null,
      computed_rewards_root: null,
      computed_flk_weight: null,
      computed_usdc_weight: null,
      reputation_root_ok: null,
      rewards_root_ok: null,
      totals_ok: null,
    }
  );
}

async function recordChange(ctx: HandlerContext, n: { id: number; stake: bigint; unstaking: bigint }, kind: StakeChangeKind, amount: bigint, epochNumber?: number) {
  await ctx.store.set(nodeStakeChanges, {
    node_id: n.id,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    kind,
    amount,
    stake: n.stake,
    unstaking: n.unstaking,
    epoch: epochNumber ?? (await state(ctx)).epoch,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

function ports(endpoints: EventArgs): Record<string, number> {
  const p = endpoints.ports;
  return { primary: Number(p.primary), worker: Number(p.worker), mempool: Number(p.mempool), rpc: Number(p.rpc), pool: Number(p.pool), gateway: Number(p.gateway) };
}

async function onRegistered(a: EventArgs, ctx: HandlerContext) {
  const row = {
    id: Number(a.nodeId),
    owner: a.owner as string,
    node_key: a.nodeKey as string,
    signer: a.signer as string,
    host: a.endpoints.host as string,
    ports: ports(a.endpoints),
    // NodeStatusChanged(Pending) follows in the same transaction.
    status: "NONE",
    status_epoch: 0,
    stake: a.stake as bigint,
    unstaking: 0n,
    unstake_ready_at: 0,
    locked_until: 0,
    slashed: 0n,
    registered_block: ctx.block.number,
    last_block: ctx.block.number,
  };
  await ctx.store.set(nodes, row);
  await recordChange(ctx, row, "REGISTERED", row.stake);
}

async function onStakeAdded(a: EventArgs, ctx: HandlerContext) {
  const n = { ...(await node(ctx, a.nodeId)), stake: a.stake as bigint };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "ADDED", a.amount);
}

async function onUnstaked(a: EventArgs, ctx: HandlerContext) {
  const n0 = await node(ctx, a.nodeId);
  const n = { ...n0, stake: a.stake as bigint, unstaking: n0.unstaking + (a.amount as bigint), unstake_ready_at: Number(a.readyAt) };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "UNSTAKED", a.amount);
}

async function onWithdrawn(a: EventArgs, ctx: HandlerContext) {
  const n = { ...(await node(ctx, a.nodeId)), unstaking: 0n };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "WITHDRAWN", a.amount);
}

/** `_slash` takes from the stake first, then from the unstaking FLK; `amount` is what it took. */
async function onSlashed(a: EventArgs, ctx: HandlerContext) {
  const n0 = await node(ctx, a.nodeId);
  const amount = a.amount as bigint;
  const fromStake = amount < n0.stake ? amount : n0.stake;
  const n = { ...n0, stake: n0.stake - fromStake, unstaking: n0.unstaking - (amount - fromStake), slashed: n0.slashed + amount };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "SLASHED", amount, Number(a.epoch));
}

async function onReported(a: EventArgs, ctx: HandlerContext) {
  const r = a.report;
  const e = await epoch(ctx, a.epoch);
  const report: StoredReport = {
    measurements: [...r.nodes].map((m: EventArgs) => ({
      nodeId: Number(m.nodeId),
      uptime: Number(m.uptime),
      latencyMs: Number(m.latencyMs),
      bytesServed: String(m.bytesServed),
      deliveryAcks: String(m.deliveryAcks),
      revenue: String(m.revenue),
      reputation: Number(m.reputation),
    })),
    usage: [...r.usage].map((u: EventArgs) => ({ client: u.client as string, amount: String(u.amount) })),
    reputationRoot: r.reputationRoot,
    rewardsRoot: r.rewardsRoot,
    totalFlkWeight: String(r.totalFlkWeight),
    totalUsdcWeight: String(r.totalUsdcWeight),
    totalUsage: String(r.totalUsage),
  };
  const recomputed = await recomputeReport(ctx, toReport(Number(a.epoch), report), async (id) => {
    const n = await ctx.store.get(nodes, { id });
    return n && { owner: n.owner, lockedUntil: BigInt(n.locked_until) };
  });
  await ctx.store.set(epochs, { ...e, status: "REPORTED", report_digest: a.digest, report_signers: [...a.signers].map(Number), report, ended_block: ctx.block.number, ...recomputed });
}

/** The stored report in the shape of `protocol/report.ts`. */
export function toReport(epochNumber: number, r: StoredReport): EpochReport {
  return {
    epoch: BigInt(epochNumber),
    nodes: r.measurements.map((m) => ({ ...m, bytesServed: BigInt(m.bytesServed), deliveryAcks: BigInt(m.deliveryAcks), revenue: BigInt(m.revenue) })),
    usage: r.usage.map((u) => ({ client: u.client, amount: BigInt(u.amount) })),
    reputationRoot: r.reputationRoot,
    rewardsRoot: r.rewardsRoot,
    totalFlkWeight: BigInt(r.totalFlkWeight),
    totalUsdcWeight: BigInt(r.totalUsdcWeight),
    totalUsage: BigInt(r.totalUsage),
  };
}

async function onParametersSet(a: EventArgs, ctx: HandlerContext) {
  const s = await state(ctx);
  const next = { ...s, epoch_duration: Number(a.epochDuration), reveal_duration: Number(a.revealDuration), committee_size: Number(a.committeeSize), slash_amount: a.slashAmount as bigint };
  await ctx.store.set(registryState, next);
  // A new duration applies to the running epoch too (`epochEnd` reads the parameter).
  const running = await ctx.store.get(epochs, { number: s.epoch });
  if (running && running.status === "RUNNING") await ctx.store.set(epochs, { ...running, duration: next.epoch_duration });
}

async function onEpochStarted(a: EventArgs, ctx: HandlerContext) {
  await ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), start: Number(a.start), duration: Number(a.duration), start_block: ctx.block.number });
  await ctx.store.set(registryState, { ...(await state(ctx)), epoch: Number(a.epoch) });
}

async function onSettled(a: EventArgs, ctx: HandlerContext) {
  await ctx.store.set(epochs, {
    ...(await epoch(ctx, a.epoch)),
    settled_root: a.root,
    flk_pool: a.flkPool,
    usdc_pool: a.usdcPool,
    // `settle` zeroes the weights when the root is zero; the event carries what was passed in.
    settled_flk_weight: /^0x0+$/.test(a.root) ? 0n : a.totalFlkWeight,
    settled_usdc_weight: /^0x0+$/.test(a.root) ? 0n : a.totalUsdcWeight,
  });
}

async function onClaimed(a: EventArgs, ctx: HandlerContext) {
  const e = await epoch(ctx, a.epoch);
  await ctx.store.set(epochs, { ...e, flk_paid: e.flk_paid + (a.flk as bigint), usdc_paid: e.usdc_paid + (a.usdc as bigint) });
  await ctx.store.set(rewardClaims, { epoch: Number(a.epoch), account: a.account, flk: a.flk, usdc: a.usdc, block_number: ctx.block.number, tx_hash: ctx.log.transactionHash });
}

/** Nodes, their stake history and slashes, epochs with committees, beacons, reports and reward settlements. */
export const registryModule: IndexerModule = {
  name: "registry",
  events: {
    NodeRegistry: [
      `NodeRegistered(uint32 indexed nodeId, address indexed owner, bytes32 nodeKey, address signer, ${ENDPOINTS} endpoints, uint256 stake)`,
      `EndpointsUpdated(uint32 indexed nodeId, ${ENDPOINTS} endpoints)`,
      "NodeStatusChanged(uint32 indexed nodeId, uint8 status, uint64 epoch)",
      "StakeAdded(uint32 indexed nodeId, uint256 amount, uint256 stake)",
      "StakeLocked(uint32 indexed nodeId, uint64 lockedUntil)",
      "Unstaked(uint32 indexed nodeId, uint256 amount, uint256 stake, uint64 readyAt)",
      "Withdrawn(uint32 indexed nodeId, address indexed owner, uint256 amount)",
      "Slashed(uint32 indexed nodeId, uint64 indexed epoch, uint256 amount)",
      "MinimumStakeSet(uint256 minimumStake)",
      "EpochStarted(uint64 indexed epoch, uint64 start, uint64 duration)",
      "ActiveSetSelected(uint64 indexed epoch, uint32[] nodeIds)",
      "CommitteeSelected(uint64 indexed epoch, uint32[] nodeIds, bytes32 seed)",
      "BeaconCommitted(uint64 indexed epoch, uint32 indexed nodeId, bytes32 commitment)",
      "BeaconRevealed(uint64 indexed epoch, uint32 indexed nodeId, bytes32 secret)",
      `EpochReported(uint64 indexed epoch, bytes32 digest, ${REPORT} report, uint32[] signers)`,
      "EpochSkipped(uint64 indexed epoch)",
      "ParametersSet(uint64 epochDuration, uint64 revealDuration, uint32 committeeSize, uint256 slashAmount)",
    ],
    EpochRewards: [
      "EpochSettled(uint64 indexed epoch, bytes32 root, uint256 flkPool, uint256 usdcPool, uint256 totalFlkWeight, uint256 totalUsdcWeight)",
      "Claimed(uint64 indexed epoch, address indexed account, uint256 flk, uint256 usdc)",
    ],
  },
  tables: [nodes, nodeStakeChanges, registryState, epochs, beacons, rewardClaims, nodeEpochs, rewardTreeLeaves],
  handlers: {
    "NodeRegistry:NodeRegistered": onRegistered,
    "NodeRegistry:EndpointsUpdated": async (a, ctx) => ctx.store.set(nodes, { ...(await node(ctx, a.nodeId)), host: a.endpoints.host, ports: ports(a.endpoints) }),
    "NodeRegistry:NodeStatusChanged": async (a, ctx) =>
      ctx.store.set(nodes, { ...(await node(ctx, a.nodeId)), status: NODE_STATUS[Number(a.status)], status_epoch: Number(a.epoch) }),
    "NodeRegistry:StakeAdded": onStakeAdded,
    "NodeRegistry:StakeLocked": async (a, ctx) => ctx.store.set(nodes, { ...(await node(ctx, a.nodeId)), locked_until: Number(a.lockedUntil) }),
    "NodeRegistry:Unstaked": onUnstaked,
    "NodeRegistry:Withdrawn": onWithdrawn,
    "NodeRegistry:Slashed": onSlashed,
    "NodeRegistry:MinimumStakeSet": async (a, ctx) => ctx.store.set(registryState, { ...(await state(ctx)), minimum_stake: a.minimumStake }),
    "NodeRegistry:EpochStarted": onEpochStarted,
    "NodeRegistry:ActiveSetSelected": async (a, ctx) => ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), active_set: [...a.nodeIds].map(Number) }),
    "NodeRegistry:CommitteeSelected": async (a, ctx) => ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), committee: [...a.nodeIds].map(Number), seed: a.seed }),
    "NodeRegistry:BeaconCommitted": (a, ctx) =>
      ctx.store.set(beacons, { epoch: Number(a.epoch), node_id: Number(a.nodeId), commitment: a.commitment, secret: null, committed_block: ctx.block.number, revealed_block: null }),
    "NodeRegistry:BeaconRevealed": async (a, ctx) => {
      const b = await ctx.store.get(beacons, { epoch: Number(a.epoch), node_id: Number(a.nodeId) });
      if (!b) throw new Error(`beacon reveal without a commit (epoch ${a.epoch}, node ${a.nodeId}): events missing`);
      await ctx.store.set(beacons, { ...b, secret: a.secret, revealed_block: ctx.block.number });
    },
    "NodeRegistry:EpochReported": onReported,
    "NodeRegistry:EpochSkipped": async (a, ctx) => ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), status: "SKIPPED", ended_block: ctx.block.number }),
    "NodeRegistry:ParametersSet": onParametersSet,
    "EpochRewards:EpochSettled": onSettled,
    "EpochRewards:Claimed": onClaimed,
  },
  migrations: {
    "150-registry": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("nodes")
          .addColumn("id", "int8", (c) => c.primaryKey())
          .addColumn("owner", "text", (c) => c.notNull())
          .addColumn("node_key", "text", (c) => c.notNull())
          .addColumn("signer", "text", (c) => c.notNull())
          .addColumn("host", "text", (c) => c.notNull())
          .addColumn("ports", "jsonb", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("status_epoch", "int8", (c) => c.notNull())
          .addColumn("stake", WEI, (c) => c.notNull())
          .addColumn("unstaking", WEI, (c) => c.notNull())
          .addColumn("unstake_ready_at", "int8", (c) => c.notNull())
          .addColumn("locked_until", "int8", (c) => c.notNull())
          .addColumn("slashed", WEI, (c) => c.notNull())
          .addColumn("registered_block", "int8", (c) => c.notNull())
          .addColumn("last_block", "int8", (c) => c.notNull())
          .execute();
        // `nodes` ordered by stake (keyset: stake then id) and filtered by owner or status.
        await db.schema.createIndex("nodes_stake").on("nodes").columns(["stake", "id"]).execute();
        await db.schema.createIndex("nodes_owner").on("nodes").columns(["owner", "id"]).execute();
        await db.schema.createIndex("nodes_status").on("nodes").columns(["status", "id"]).execute();
        await db.schema
          .createTable("node_stake_changes")
          .addColumn("node_id", "int8", (c) => c.notNull())
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("amount", WEI, (c) => c.notNull())
          .addColumn("stake", WEI, (c) => c.notNull())
          .addColumn("unstaking", WEI, (c) => c.notNull())
          .addColumn("epoch", "int8", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("node_stake_changes_pk", ["block_number", "log_index"])
          .execute();
        await db.schema.createIndex("node_stake_changes_node").on("node_stake_changes").columns(["node_id", "block_number", "log_index"]).execute();
        await db.schema
          .createTable("registry_state")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("epoch", "int8", (c) => c.notNull())
          .addColumn("epoch_duration", "int8", (c) => c.notNull())
          .addColumn("reveal_duration", "int8", (c) => c.notNull())
          .addColumn("committee_size", "int8", (c) => c.notNull())
          .addColumn("slash_amount", WEI, (c) => c.notNull())
          .addColumn("minimum_stake", WEI, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("epochs")
          .addColumn("number", "int8", (c) => c.primaryKey())
          .addColumn("start", "int8", (c) => c.notNull())
          .addColumn("duration", "int8", (c) => c.notNull())
          .addColumn("active_set", "jsonb", (c) => c.notNull())
          .addColumn("committee", "jsonb", (c) => c.notNull())
          .addColumn("seed", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("report_digest", "text")
          .addColumn("report_signers", "jsonb")
          .addColumn("report", "jsonb")
          .addColumn("ended_block", "int8")
          .addColumn("settled_root", "text")
          .addColumn("flk_pool", WEI)
          .addColumn("usdc_pool", WEI)
          .addColumn("settled_flk_weight", WEI)
          .addColumn("settled_usdc_weight", WEI)
          .addColumn("flk_paid", WEI, (c) => c.notNull())
          .addColumn("usdc_paid", WEI, (c) => c.notNull())
          .addColumn("start_block", "int8", (c) => c.notNull())
          .addColumn("computed_reputation_root", "text")
          .addColumn("computed_rewards_root", "text")
          .addColumn("computed_flk_weight", WEI)
          .addColumn("computed_usdc_weight", WEI)
          .addColumn("reputation_root_ok", "boolean")
          .addColumn("rewards_root_ok", "boolean")
          .addColumn("totals_ok", "boolean")
          .execute();
        await db.schema.createIndex("epochs_status").on("epochs").columns(["status", "number"]).execute();
        await db.schema
          .createTable("epoch_beacons")
          .addColumn("epoch", "int8", (c) => c.notNull())
          .addColumn("node_id", "int8", (c) => c.notNull())
          .addColumn("commitment", "text", (c) => c.notNull())
          .addColumn("secret", "text")
          .addColumn("committed_block", "int8", (c) => c.notNull())
          .addColumn("revealed_block", "int8")
          .addPrimaryKeyConstraint("epoch_beacons_pk", ["epoch", "node_id"])
          .execute();
        await db.schema
          .createTable("reward_claims")
          .addColumn("epoch", "int8", (c) => c.notNull())
          .addColumn("account", "text", (c) => c.notNull())
          .addColumn("flk", WEI, (c) => c.notNull())
          .addColumn("usdc", WEI, (c) => c.notNull())
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("reward_claims_pk", ["epoch", "account"])
          .execute();
        await db.schema.createIndex("reward_claims_account").on("reward_claims").columns(["account", "epoch"]).execute();
        await createRewardTables(db);
      },
    },
  },
};
