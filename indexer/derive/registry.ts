import { sql } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { addColumns, col, createTables, defineTable } from "../store/tables";
import type { EventArgsOf } from "../abi";
import type { EpochReport } from "../../protocol/report";
import { verifyKeyProofOfDigest } from "../../protocol/nodeKeyProof";
import { nodeEpochs, RECOMPUTATION_COLUMNS, recomputeReport, rewardTreeLeaves } from "./registryRewards";
import type { RawDb } from "../store/database";

/** The root of a report indexed before `agentSnapshotsRoot` existed. */
const ZERO_ROOT = `0x${"00".repeat(32)}`;

/** `NodeStaking.Status` by its uint8 value. */
export const NODE_STATUS = ["NONE", "PENDING", "ACTIVE", "JAILED", "EXITED"] as const;

/** A registered node, as `NodeRegistry.getNode` returns it, plus totals the views do not keep. */
export const nodes = defineTable({
  name: "nodes",
  columns: {
    id: col.int8(),
    owner: col.text(),
    node_key: col.text(),
    signer: col.text(),
    /**
     * Whether the stored ed25519 proof of possession of `node_key` is valid (docs/registry.md): the
     * chain cannot check it; a node without a valid one may have squatted the key and is ignored by nodes.
     */
    key_proof_valid: col.bool().added("151-registry-selection", sql`false`),
    host: col.text(),
    /** `{primary, worker, mempool, rpc, pool, gateway}`. */
    ports: col.json<Record<string, number>>(),
    status: col.text(),
    /** Epoch from which `status` holds (`NodeStatusChanged.epoch`). */
    status_epoch: col.int8(),
    stake: col.wei(),
    unstaking: col.wei(),
    unstake_ready_at: col.int8(),
    locked_until: col.int8(),
    /** FLK burned from this node by slashes, in all. */
    slashed: col.wei(),
    registered_block: col.int8(),
    last_block: col.int8(),
  },
  primaryKey: ["id"],
  indexes: {
    // `nodes` ordered by stake (keyset: stake then id) and filtered by owner or status.
    nodes_stake: ["stake", "id"],
    nodes_owner: ["owner", "id"],
    nodes_status: ["status", "id"],
  },
  rollback: "journal",
});

/** Kinds of {@link nodeStakeChanges} rows. */
export type StakeChangeKind = "REGISTERED" | "ADDED" | "UNSTAKED" | "WITHDRAWN" | "SLASHED";

/** Every change of a node's stake or unstaking FLK, with both amounts after it. */
export const nodeStakeChanges = defineTable({
  name: "node_stake_changes",
  columns: {
    node_id: col.int8(),
    block_number: col.int8(),
    log_index: col.int4(),
    kind: col.text(),
    amount: col.wei(),
    stake: col.wei(),
    unstaking: col.wei(),
    /** The slashed epoch (slashes), the epoch of the change otherwise. */
    epoch: col.int8(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    node_stake_changes_node: ["node_id", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/** Registry parameters and the current epoch (a single row, id 1). */
export const registryState = defineTable({
  name: "registry_state",
  columns: {
    id: col.int4(),
    epoch: col.int8(),
    epoch_duration: col.int8(),
    reveal_duration: col.int8(),
    committee_size: col.int8(),
    slash_amount: col.wei(),
    minimum_stake: col.wei(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** What an epoch's report said (numbers as decimal strings: the row is JSON). */
export interface StoredReport {
  measurements: { nodeId: number; uptime: number; latencyMs: number; bytesServed: string; deliveryAcks: string; revenue: string; reputation: number }[];
  usage: { client: string; amount: string }[];
  /** Per (node, kind, service) paid USDC (also in the `service_charges` rows of indexer/derive/serviceCharges.ts). */
  charges: { nodeId: number; kind: number; service: string; requests: string; cpuMs: string; amount: string }[];
  reputationRoot: string;
  rewardsRoot: string;
  /** Absent in reports indexed before the field existed (read as zero). */
  agentSnapshotsRoot?: string;
  totalFlkWeight: string;
  totalUsdcWeight: string;
  totalUsage: string;
}

/**
 * An epoch: its timing, active set and committee (selected at its start), and how it ended —
 * `RUNNING`, `REPORTED` (with the report, its digest and signers) or `SKIPPED` — plus the
 * rewards settlement of `EpochRewards.pools(epoch)`.
 */
export const epochs = defineTable({
  name: "epochs",
  columns: {
    number: col.int8(),
    start: col.int8(),
    /** `epochDuration` during the epoch (a parameter change applies to the running epoch). */
    duration: col.int8(),
    active_set: col.json<number[]>(),
    /** Draw weight of each `active_set` node (whole FLK staked at its selection): the pool of the next committee. */
    active_weights: col.json<number[]>().added("151-registry-selection", sql`'[]'::jsonb`),
    committee: col.json<number[]>(),
    /** Committee shuffle seed (zero when the whole active set is the committee, or when a withheld reveal kept the previous committee). */
    seed: col.text(),
    status: col.text(),
    report_digest: col.text().orNull(),
    report_signers: col.json<number[]>().orNull(),
    report: col.json<StoredReport>().orNull(),
    ended_block: col.int8().orNull(),
    settled_root: col.text().orNull(),
    flk_pool: col.wei().orNull(),
    usdc_pool: col.wei().orNull(),
    settled_flk_weight: col.wei().orNull(),
    settled_usdc_weight: col.wei().orNull(),
    flk_paid: col.wei(),
    usdc_paid: col.wei(),
    start_block: col.int8(),
    ...RECOMPUTATION_COLUMNS,
  },
  primaryKey: ["number"],
  indexes: {
    epochs_status: ["status", "number"],
  },
  rollback: "journal",
});

/** A committee member's beacon in an epoch: commitment, then the revealed secret. */
export const beacons = defineTable({
  name: "epoch_beacons",
  columns: {
    epoch: col.int8(),
    node_id: col.int8(),
    commitment: col.text(),
    secret: col.text().orNull(),
    committed_block: col.int8(),
    revealed_block: col.int8().orNull(),
  },
  primaryKey: ["epoch", "node_id"],
  rollback: "journal",
});

/** A reward claim paid by `EpochRewards` (one per account and epoch). */
export const rewardClaims = defineTable({
  name: "reward_claims",
  columns: {
    epoch: col.int8(),
    account: col.text(),
    flk: col.wei(),
    usdc: col.wei(),
    block_number: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["epoch", "account"],
  indexes: {
    reward_claims_account: ["account", "epoch"],
  },
  rollback: "byBlock",
});

async function state(ctx: HandlerContext) {
  return (
    (await ctx.store.get(registryState, { id: 1 })) ?? {
      id: 1,
      epoch: 0,
      epoch_duration: 0,
      reveal_duration: 0,
      committee_size: 0,
      slash_amount: 0n,
      minimum_stake: 0n,
    }
  );
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
      active_weights: [],
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

async function recordChange(
  ctx: HandlerContext,
  n: { id: number; stake: bigint; unstaking: bigint },
  kind: StakeChangeKind,
  amount: bigint,
  epochNumber?: number,
) {
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

function ports(endpoints: EventArgsOf<"NodeRegistry:EndpointsUpdated">["endpoints"]): Record<string, number> {
  const p = endpoints.ports;
  return {
    primary: Number(p.primary),
    worker: Number(p.worker),
    mempool: Number(p.mempool),
    rpc: Number(p.rpc),
    pool: Number(p.pool),
    gateway: Number(p.gateway),
  };
}

async function onRegistered(a: EventArgsOf<"NodeRegistry:NodeRegistered">, ctx: HandlerContext) {
  // The digest is the registry's own (it binds chain id and address): read at this block, checked here.
  const [digest] = await ctx.readContract("NodeRegistry", "keyProofDigest", [a.owner, a.nodeKey, a.signer]);
  const row = {
    id: Number(a.nodeId),
    owner: a.owner,
    node_key: a.nodeKey,
    signer: a.signer,
    key_proof_valid: verifyKeyProofOfDigest(digest, a.nodeKey, [...a.keyProof]),
    host: a.endpoints.host,
    ports: ports(a.endpoints),
    // NodeStatusChanged(Pending) follows in the same transaction.
    status: "NONE",
    status_epoch: 0,
    stake: a.stake,
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

async function onStakeAdded(a: EventArgsOf<"NodeRegistry:StakeAdded">, ctx: HandlerContext) {
  const n = { ...(await node(ctx, a.nodeId)), stake: a.stake };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "ADDED", a.amount);
}

async function onUnstaked(a: EventArgsOf<"NodeRegistry:Unstaked">, ctx: HandlerContext) {
  const n0 = await node(ctx, a.nodeId);
  const n = { ...n0, stake: a.stake, unstaking: n0.unstaking + a.amount, unstake_ready_at: Number(a.readyAt) };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "UNSTAKED", a.amount);
}

async function onWithdrawn(a: EventArgsOf<"NodeRegistry:Withdrawn">, ctx: HandlerContext) {
  const n = { ...(await node(ctx, a.nodeId)), unstaking: 0n };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "WITHDRAWN", a.amount);
}

/** `_slash` takes from the stake first, then from the unstaking FLK; `amount` is what it took. */
async function onSlashed(a: EventArgsOf<"NodeRegistry:Slashed">, ctx: HandlerContext) {
  const n0 = await node(ctx, a.nodeId);
  const amount = a.amount;
  const fromStake = amount < n0.stake ? amount : n0.stake;
  const n = { ...n0, stake: n0.stake - fromStake, unstaking: n0.unstaking - (amount - fromStake), slashed: n0.slashed + amount };
  await ctx.store.set(nodes, n);
  await recordChange(ctx, n, "SLASHED", amount, Number(a.epoch));
}

async function onReported(a: EventArgsOf<"NodeRegistry:EpochReported">, ctx: HandlerContext) {
  const r = a.report;
  const e = await epoch(ctx, a.epoch);
  const report: StoredReport = {
    measurements: [...r.nodes].map((m) => ({
      nodeId: Number(m.nodeId),
      uptime: Number(m.uptime),
      latencyMs: Number(m.latencyMs),
      bytesServed: String(m.bytesServed),
      deliveryAcks: String(m.deliveryAcks),
      revenue: String(m.revenue),
      reputation: Number(m.reputation),
    })),
    usage: [...r.usage].map((u) => ({ client: u.client, amount: String(u.amount) })),
    charges: [...r.charges].map((c) => ({
      nodeId: Number(c.nodeId),
      kind: Number(c.kind),
      service: c.service,
      requests: String(c.requests),
      cpuMs: String(c.cpuMs),
      amount: String(c.amount),
    })),
    reputationRoot: r.reputationRoot,
    rewardsRoot: r.rewardsRoot,
    agentSnapshotsRoot: r.agentSnapshotsRoot,
    totalFlkWeight: String(r.totalFlkWeight),
    totalUsdcWeight: String(r.totalUsdcWeight),
    totalUsage: String(r.totalUsage),
  };
  const recomputed = await recomputeReport(ctx, toReport(Number(a.epoch), report), async (id) => {
    const n = await ctx.store.get(nodes, { id });
    return n && { owner: n.owner, lockedUntil: BigInt(n.locked_until) };
  });
  await ctx.store.set(epochs, {
    ...e,
    status: "REPORTED",
    report_digest: a.digest,
    report_signers: [...a.signers].map(Number),
    report,
    ended_block: ctx.block.number,
    ...recomputed,
  });
}

/** The stored report in the shape of `protocol/report.ts`. */
export function toReport(epochNumber: number, r: StoredReport): EpochReport {
  return {
    epoch: BigInt(epochNumber),
    nodes: r.measurements.map((m) => ({ ...m, bytesServed: BigInt(m.bytesServed), deliveryAcks: BigInt(m.deliveryAcks), revenue: BigInt(m.revenue) })),
    usage: r.usage.map((u) => ({ client: u.client, amount: BigInt(u.amount) })),
    charges: r.charges.map((c) => ({ ...c, requests: BigInt(c.requests), cpuMs: BigInt(c.cpuMs), amount: BigInt(c.amount) })),
    reputationRoot: r.reputationRoot,
    rewardsRoot: r.rewardsRoot,
    agentSnapshotsRoot: r.agentSnapshotsRoot ?? ZERO_ROOT,
    totalFlkWeight: BigInt(r.totalFlkWeight),
    totalUsdcWeight: BigInt(r.totalUsdcWeight),
    totalUsage: BigInt(r.totalUsage),
  };
}

async function onParametersSet(a: EventArgsOf<"NodeRegistry:ParametersSet">, ctx: HandlerContext) {
  const s = await state(ctx);
  const next = {
    ...s,
    epoch_duration: Number(a.epochDuration),
    reveal_duration: Number(a.revealDuration),
    committee_size: Number(a.committeeSize),
    slash_amount: a.slashAmount as bigint,
  };
  await ctx.store.set(registryState, next);
  // A new duration applies to the running epoch too (`epochEnd` reads the parameter).
  const running = await ctx.store.get(epochs, { number: s.epoch });
  if (running && running.status === "RUNNING") await ctx.store.set(epochs, { ...running, duration: next.epoch_duration });
}

async function onEpochStarted(a: EventArgsOf<"NodeRegistry:EpochStarted">, ctx: HandlerContext) {
  await ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), start: Number(a.start), duration: Number(a.duration), start_block: ctx.block.number });
  await ctx.store.set(registryState, { ...(await state(ctx)), epoch: Number(a.epoch) });
}

async function onSettled(a: EventArgsOf<"EpochRewards:EpochSettled">, ctx: HandlerContext) {
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

async function onClaimed(a: EventArgsOf<"EpochRewards:Claimed">, ctx: HandlerContext) {
  const e = await epoch(ctx, a.epoch);
  await ctx.store.set(epochs, { ...e, flk_paid: e.flk_paid + (a.flk as bigint), usdc_paid: e.usdc_paid + (a.usdc as bigint) });
  await ctx.store.set(rewardClaims, {
    epoch: Number(a.epoch),
    account: a.account,
    flk: a.flk,
    usdc: a.usdc,
    block_number: ctx.block.number,
    tx_hash: ctx.log.transactionHash,
  });
}

/** Nodes, their stake history and slashes, epochs with committees, beacons, reports and reward settlements. */
export const registryModule: IndexerModule = {
  name: "registry",
  events: {
    NodeRegistry: [
      "NodeRegistered",
      "EndpointsUpdated",
      "NodeStatusChanged",
      "StakeAdded",
      "StakeLocked",
      "Unstaked",
      "Withdrawn",
      "Slashed",
      "MinimumStakeSet",
      "EpochStarted",
      "ActiveSetSelected",
      "CommitteeSelected",
      "BeaconCommitted",
      "BeaconRevealed",
      "EpochReported",
      "EpochSkipped",
      "ParametersSet",
    ],
    EpochRewards: ["EpochSettled", "Claimed"],
  },
  tables: [nodes, nodeStakeChanges, registryState, epochs, beacons, rewardClaims, nodeEpochs, rewardTreeLeaves],
  handlers: {
    "NodeRegistry:NodeRegistered": onRegistered,
    "NodeRegistry:EndpointsUpdated": async (a, ctx) =>
      ctx.store.set(nodes, { ...(await node(ctx, a.nodeId)), host: a.endpoints.host, ports: ports(a.endpoints) }),
    "NodeRegistry:NodeStatusChanged": async (a, ctx) =>
      ctx.store.set(nodes, { ...(await node(ctx, a.nodeId)), status: NODE_STATUS[Number(a.status)], status_epoch: Number(a.epoch) }),
    "NodeRegistry:StakeAdded": onStakeAdded,
    "NodeRegistry:StakeLocked": async (a, ctx) => ctx.store.set(nodes, { ...(await node(ctx, a.nodeId)), locked_until: Number(a.lockedUntil) }),
    "NodeRegistry:Unstaked": onUnstaked,
    "NodeRegistry:Withdrawn": onWithdrawn,
    "NodeRegistry:Slashed": onSlashed,
    "NodeRegistry:MinimumStakeSet": async (a, ctx) => ctx.store.set(registryState, { ...(await state(ctx)), minimum_stake: a.minimumStake }),
    "NodeRegistry:EpochStarted": onEpochStarted,
    "NodeRegistry:ActiveSetSelected": async (a, ctx) =>
      ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), active_set: [...a.nodeIds].map(Number), active_weights: [...a.weights].map(Number) }),
    "NodeRegistry:CommitteeSelected": async (a, ctx) =>
      ctx.store.set(epochs, { ...(await epoch(ctx, a.epoch)), committee: [...a.nodeIds].map(Number), seed: a.seed }),
    "NodeRegistry:BeaconCommitted": (a, ctx) =>
      ctx.store.set(beacons, {
        epoch: Number(a.epoch),
        node_id: Number(a.nodeId),
        commitment: a.commitment,
        secret: null,
        committed_block: ctx.block.number,
        revealed_block: null,
      }),
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
      async up(db: RawDb) {
        await createTables(db, [nodes, nodeStakeChanges, registryState, epochs, beacons, rewardClaims, nodeEpochs, rewardTreeLeaves]);
      },
    },
    // Issue #14: proofs of possession of node keys, and the committee draw's weights.
    "151-registry-selection": {
      async up(db: RawDb) {
        await addColumns(db, "151-registry-selection", [nodes, epochs]);
      },
    },
  },
};
