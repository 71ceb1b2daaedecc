import { claimAmount } from "../../protocol/rewards";
import { apiError, badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type SchemaPart } from "./schema-core";

const NODE_ORDERINGS = {
  ID: { name: "id", columns: ["id"] },
  STAKE: { name: "stake", columns: ["stake", "id"] },
} as const;
const EPOCH_ORDERING = { name: "epoch", columns: ["number"] } as const;
const STAKE_CHANGE_ORDERING = { name: "change", columns: ["block_number", "log_index"] } as const;

/** Node ids and epoch numbers are uint32 / uint64 on chain; int8 columns hold both. */
export function parseId(value: number, argument: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw badInput(`${argument} must be a non-negative integer (got ${value})`);
  return value;
}

/** The node's latest `last` reported epochs, oldest first, with the epoch's settlement and the owner's claim. */
async function latestNodeEpochs(ctx: ApiContext, nodeId: number, last = 100) {
  if (!Number.isInteger(last) || last < 1 || last > 1000) throw badInput(`last must be between 1 and 1000 (got ${last})`);
  const rows = await ctx.db
    .selectFrom("node_epochs as n")
    .innerJoin("epochs as e", "e.number", "n.epoch")
    .leftJoin("reward_claims as c", (j) => j.onRef("c.epoch", "=", "n.epoch").onRef("c.account", "=", "n.owner"))
    .select([
      "n.epoch",
      "n.owner",
      "n.uptime",
      "n.reputation",
      "n.revenue",
      "n.flk_weight",
      "e.settled_root",
      "e.rewards_root_ok",
      "e.flk_pool",
      "e.usdc_pool",
      "e.settled_flk_weight",
      "e.settled_usdc_weight",
      "c.block_number as claimed_block",
    ])
    .where("n.node_id", "=", nodeId)
    .orderBy("n.epoch", "desc")
    .limit(last)
    .execute();
  return rows.reverse();
}

/** The claim of `nodeId`'s owner in `epoch`, paid as `EpochRewards.claimable` computes it. */
async function rewardProof(ctx: ApiContext, epoch: number, nodeId: number) {
  const e = await ctx.db.selectFrom("epochs").selectAll().where("number", "=", epoch).executeTakeFirst();
  if (!e) throw apiError("EPOCH_NOT_FOUND", `epoch ${epoch} is not indexed`);
  if (e.settled_root === null) throw apiError("EPOCH_NOT_SETTLED", `epoch ${epoch} is ${String(e.status).toLowerCase()}: it has no settled rewards`);
  if (!e.rewards_root_ok)
    throw apiError(
      "REPORT_MISMATCH",
      `epoch ${epoch}'s signed rewards root ${e.settled_root} does not follow from its report (recomputed ${e.computed_rewards_root}): no proof can verify`,
    );
  const part = await ctx.db.selectFrom("node_epochs").select("owner").where("node_id", "=", nodeId).where("epoch", "=", epoch).executeTakeFirst();
  if (!part) return null;
  const leaf = await ctx.db.selectFrom("reward_leaves").selectAll().where("epoch", "=", epoch).where("account", "=", part.owner).executeTakeFirst();
  if (!leaf) return null;
  const claim = await ctx.db.selectFrom("reward_claims").select("block_number").where("epoch", "=", epoch).where("account", "=", part.owner).executeTakeFirst();
  return {
    epoch,
    nodeId,
    account: leaf.account,
    flkWeight: leaf.flk_weight,
    usdcWeight: leaf.usdc_weight,
    // EpochSettled sets the pools and weights with the root, checked above.
    flkAmount: claimAmount(BigInt(e.flk_pool!), BigInt(leaf.flk_weight), BigInt(e.settled_flk_weight!)),
    usdcAmount: claimAmount(BigInt(e.usdc_pool!), BigInt(leaf.usdc_weight), BigInt(e.settled_usdc_weight!)),
    proof: leaf.proof,
    claimed: claim !== undefined,
  };
}

/** Nodes with their stake history, epochs with committees, beacons, reports and settlements. */
export const registrySchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum NodeStatus {
      PENDING
      ACTIVE
      JAILED
      EXITED
    }

    type NodePorts {
      primary: Int!
      worker: Int!
      mempool: Int!
      rpc: Int!
      pool: Int!
      gateway: Int!
    }

    type NodeEndpoints {
      host: String!
      ports: NodePorts!
    }

    "A registered node, as NodeRegistry.getNode returns it."
    type Node {
      id: Int!
      owner: String!
      "ed25519 public key (bytes32)."
      nodeKey: String!
      "Address that signs reports and beacons for the node."
      signer: String!
      "Whether the node proved it holds nodeKey (its stored ed25519 proof verifies); nodes ignore a node without one."
      keyProofValid: Boolean!
      endpoints: NodeEndpoints!
      status: NodeStatus!
      "Epoch from which the status holds."
      statusEpoch: Int!
      stake: BigInt!
      "Unstaked FLK not yet withdrawn."
      unstaking: BigInt!
      "Epoch from which the unstaking FLK can be withdrawn."
      unstakeReadyAt: Int!
      "Epoch until which the stake is locked (0: never locked)."
      lockedUntil: Int!
      "FLK burned from this node by slashes, in all."
      slashed: BigInt!
      registeredBlock: Int!
      "Reputation after each reported epoch the node was measured in, oldest first (the latest \`last\` epochs, default 100, at most 1000)."
      reputation(last: Int): [NodeReputation!]!
      "The node's part in each reported epoch's rewards, oldest first (the latest \`last\` epochs, default 100, at most 1000)."
      rewards(last: Int): [NodeEpochReward!]!
      "Every change of the stake or the unstaking FLK, oldest first."
      stakeChanges(first: Int, after: String, orderDirection: OrderDirection): NodeStakeChangeConnection!
      slashes: [NodeSlash!]!
    }

    enum StakeChangeKind {
      REGISTERED
      ADDED
      UNSTAKED
      WITHDRAWN
      SLASHED
    }

    type NodeStakeChange {
      kind: StakeChangeKind!
      amount: BigInt!
      "Stake after the change."
      stake: BigInt!
      "Unstaking FLK after the change."
      unstaking: BigInt!
      "The epoch of the change (for a slash: the slashed epoch)."
      epoch: Int!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    type NodeReputation {
      epoch: Int!
      "Score 0-100 after the epoch's update, as the signed report gives it."
      score: Int!
      uptime: Int!
    }

    """
    A node's part in an epoch's rewards. The owner's leaf sums its nodes' weights and is paid
    rounded once, so the parts of an owner with several nodes may add up to a wei less than the leaf.
    """
    type NodeEpochReward {
      epoch: Int!
      "The owner at the report: the account that claims."
      account: String!
      "Revenue served (USDC units): the node's USDC weight."
      usdcWeight: BigInt!
      "revenue × lock boost × reputation / 100."
      flkWeight: BigInt!
      "flkPool × flkWeight / totalFlkWeight; null until settled or when the signed rewards root does not follow from the report."
      flkAmount: BigInt
      usdcAmount: BigInt
      "Whether the owner's leaf of this epoch has been claimed."
      claimed: Boolean!
    }

    "What EpochRewards.claim needs for a node owner's leaf, and what it pays."
    type RewardProof {
      epoch: Int!
      nodeId: Int!
      account: String!
      flkWeight: BigInt!
      usdcWeight: BigInt!
      "flkPool × flkWeight / totalFlkWeight, rounded down (EpochRewards.claimable)."
      flkAmount: BigInt!
      usdcAmount: BigInt!
      proof: [String!]!
      claimed: Boolean!
    }

    enum ReportCommitment {
      REPUTATION_ROOT
      REWARDS_ROOT
      TOTALS
    }

    "The report's roots and totals recomputed from its own per-node fields and the chain's owners and locks (protocol/reportRoots.ts)."
    type ReportRecomputation {
      reputationRoot: String!
      rewardsRoot: String!
      totalFlkWeight: BigInt!
      totalUsdcWeight: BigInt!
    }

    type NodeStakeChangeConnection {
      nodes: [NodeStakeChange!]!
      pageInfo: PageInfo!
    }

    type NodeSlash {
      epoch: Int!
      amount: BigInt!
      blockNumber: Int!
      transactionHash: String!
    }

    type NodeConnection {
      nodes: [Node!]!
      pageInfo: PageInfo!
    }

    input NodeWhere {
      status: NodeStatus
      owner: String
    }

    enum NodeOrderBy {
      ID
      STAKE
    }

    enum EpochStatus {
      RUNNING
      REPORTED
      SKIPPED
    }

    type Beacon {
      nodeId: Int!
      commitment: String!
      "The revealed secret (null until revealed)."
      secret: String
      revealed: Boolean!
    }

    type Measurement {
      nodeId: Int!
      uptime: Int!
      latencyMs: Int!
      bytesServed: BigInt!
      deliveryAcks: BigInt!
      "USDC units of the usage the node served: its USDC weight."
      revenue: BigInt!
      "Score 0-100 after this epoch's update."
      reputation: Int!
    }

    type ClientUsage {
      client: String!
      "USDC (6 decimals)."
      amount: BigInt!
    }

    "The committee's signed report (event EpochReported)."
    type EpochReport {
      "EIP-712 digest the committee signed (NodeRegistry.reportDigest)."
      digest: String!
      "Node ids of the signers, in signature order."
      signers: [Int!]!
      measurements: [Measurement!]!
      usage: [ClientUsage!]!
      reputationRoot: String!
      rewardsRoot: String!
      totalFlkWeight: BigInt!
      totalUsdcWeight: BigInt!
      totalUsage: BigInt!
    }

    "EpochRewards.pools(epoch): the epoch's fixed pools and what has been claimed."
    type EpochSettlement {
      root: String!
      flkPool: BigInt!
      usdcPool: BigInt!
      totalFlkWeight: BigInt!
      totalUsdcWeight: BigInt!
      flkPaid: BigInt!
      usdcPaid: BigInt!
    }

    type Epoch {
      number: Int!
      "Unix seconds."
      start: Int!
      "Seconds (a parameter change applies to the running epoch)."
      duration: Int!
      status: EpochStatus!
      "Node ids of the active set, in selection order."
      activeSet: [Int!]!
      "Draw weight of each activeSet node (whole FLK staked at its selection): the next committee is drawn from this pool."
      activeWeights: [Int!]!
      "Node ids of the committee, in committee order."
      committee: [Int!]!
      "Committee shuffle seed (zero when the whole active set is the committee, or when a withheld reveal kept the previous committee)."
      seed: String!
      beacons: [Beacon!]!
      "Null unless reported."
      report: EpochReport
      "Null unless reported (rewards settled)."
      settlement: EpochSettlement
      "Whether the signed roots and totals equal their recomputation (null unless reported)."
      rootsMatch: Boolean
      "The commitments that do not match (empty when rootsMatch; null unless reported)."
      mismatch: [ReportCommitment!]
      recomputed: ReportRecomputation
      startBlock: Int!
      "Block of the report or the skip."
      endedBlock: Int
    }

    type EpochConnection {
      nodes: [Epoch!]!
      pageInfo: PageInfo!
    }

    input EpochWhere {
      status: EpochStatus
    }

    extend type Query {
      node(id: Int!): Node
      "Registered nodes (default: by id, ascending)."
      nodes(first: Int, after: String, where: NodeWhere, orderBy: NodeOrderBy, orderDirection: OrderDirection): NodeConnection!
      epoch(number: Int!): Epoch
      "Epochs, newest first by default."
      epochs(first: Int, after: String, where: EpochWhere, orderDirection: OrderDirection): EpochConnection!
      """
      The proof of \`node\`'s owner's leaf in \`epoch\`'s rewards tree, for EpochRewards.claim; null
      when the node has no leaf. Errors: EPOCH_NOT_FOUND, EPOCH_NOT_SETTLED (running or skipped),
      REPORT_MISMATCH (the signed rewards root does not follow from the report: no proof verifies).
      """
      rewardProof(epoch: Int!, node: Int!): RewardProof
    }
  `,
  resolvers: {
    Query: {
      node: (_: unknown, args: { id: number }, ctx: ApiContext) =>
        ctx.db.selectFrom("nodes").selectAll().where("id", "=", parseId(args.id, "id")).executeTakeFirst(),
      nodes: (_: unknown, args: PageArgs & { where?: { status?: string; owner?: string }; orderBy?: keyof typeof NODE_ORDERINGS }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("nodes").selectAll();
        if (args.where?.status) q = q.where("status", "=", args.where.status);
        if (args.where?.owner) q = q.where("owner", "=", parseAddress(args.where.owner, "where.owner"));
        const orderBy = args.orderBy ?? "ID";
        return paginate(q, NODE_ORDERINGS[orderBy], { ...args, orderDirection: args.orderDirection ?? (orderBy === "STAKE" ? "DESC" : "ASC") });
      },
      epoch: (_: unknown, args: { number: number }, ctx: ApiContext) =>
        ctx.db.selectFrom("epochs").selectAll().where("number", "=", parseId(args.number, "number")).executeTakeFirst(),
      rewardProof: (_: unknown, args: { epoch: number; node: number }, ctx: ApiContext) =>
        rewardProof(ctx, parseId(args.epoch, "epoch"), parseId(args.node, "node")),
      epochs: (_: unknown, args: PageArgs & { where?: { status?: string } }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("epochs").selectAll();
        if (args.where?.status) q = q.where("status", "=", args.where.status);
        return paginate(q, EPOCH_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" });
      },
    },
    Node: {
      reputation: async (n: any, args: { last?: number }, ctx: ApiContext) =>
        (await latestNodeEpochs(ctx, n.id, args.last)).map((r: any) => ({ epoch: r.epoch, score: r.reputation, uptime: r.uptime })),
      rewards: async (n: any, args: { last?: number }, ctx: ApiContext) =>
        (await latestNodeEpochs(ctx, n.id, args.last)).map((r: any) => {
          const payable = r.settled_root !== null && r.rewards_root_ok;
          return {
            epoch: r.epoch,
            account: r.owner,
            usdcWeight: r.revenue,
            flkWeight: r.flk_weight,
            flkAmount: payable ? claimAmount(BigInt(r.flk_pool), BigInt(r.flk_weight), BigInt(r.settled_flk_weight)) : null,
            usdcAmount: payable ? claimAmount(BigInt(r.usdc_pool), BigInt(r.revenue), BigInt(r.settled_usdc_weight)) : null,
            claimed: r.claimed_block !== null,
          };
        }),
      nodeKey: (n: any) => n.node_key,
      keyProofValid: (n: any) => n.key_proof_valid,
      endpoints: (n: any) => ({ host: n.host, ports: n.ports }),
      statusEpoch: (n: any) => n.status_epoch,
      unstakeReadyAt: (n: any) => n.unstake_ready_at,
      lockedUntil: (n: any) => n.locked_until,
      registeredBlock: (n: any) => n.registered_block,
      stakeChanges: (n: any, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("node_stake_changes").selectAll().where("node_id", "=", n.id), STAKE_CHANGE_ORDERING, args),
      slashes: (n: any, _: unknown, ctx: ApiContext) =>
        ctx.db
          .selectFrom("node_stake_changes")
          .selectAll()
          .where("node_id", "=", n.id)
          .where("kind", "=", "SLASHED")
          .orderBy("block_number")
          .orderBy("log_index")
          .execute(),
    },
    NodeStakeChange: {
      blockNumber: (c: any) => c.block_number,
      transactionHash: (c: any) => c.tx_hash,
    },
    NodeSlash: {
      blockNumber: (c: any) => c.block_number,
      transactionHash: (c: any) => c.tx_hash,
    },
    Epoch: {
      activeSet: (e: any) => e.active_set,
      activeWeights: (e: any) => e.active_weights,
      beacons: async (e: any, _: unknown, ctx: ApiContext) =>
        (await ctx.db.selectFrom("epoch_beacons").selectAll().where("epoch", "=", e.number).orderBy("committed_block").orderBy("node_id").execute()).map(
          (b: any) => ({
            nodeId: b.node_id,
            commitment: b.commitment,
            secret: b.secret,
            revealed: b.secret !== null,
          }),
        ),
      report: (e: any) => (e.report ? { ...e.report, digest: e.report_digest, signers: e.report_signers } : null),
      settlement: (e: any) =>
        e.settled_root === null
          ? null
          : {
              root: e.settled_root,
              flkPool: e.flk_pool,
              usdcPool: e.usdc_pool,
              totalFlkWeight: e.settled_flk_weight,
              totalUsdcWeight: e.settled_usdc_weight,
              flkPaid: e.flk_paid,
              usdcPaid: e.usdc_paid,
            },
      rootsMatch: (e: any) => (e.report ? e.reputation_root_ok && e.rewards_root_ok && e.totals_ok : null),
      mismatch: (e: any) =>
        e.report
          ? [...(e.reputation_root_ok ? [] : ["REPUTATION_ROOT"]), ...(e.rewards_root_ok ? [] : ["REWARDS_ROOT"]), ...(e.totals_ok ? [] : ["TOTALS"])]
          : null,
      recomputed: (e: any) =>
        e.report
          ? {
              reputationRoot: e.computed_reputation_root,
              rewardsRoot: e.computed_rewards_root,
              totalFlkWeight: e.computed_flk_weight,
              totalUsdcWeight: e.computed_usdc_weight,
            }
          : null,
      startBlock: (e: any) => e.start_block,
      endedBlock: (e: any) => e.ended_block,
    },
  },
};
