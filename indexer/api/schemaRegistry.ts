import { claimAmount } from "../../protocol/rewards";
import { apiError, badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

const NODE_ORDERINGS = {
  ID: { name: "id", columns: ["id"] },
  STAKE: { name: "stake", columns: ["stake", "id"] },
} as const;
const EPOCH_ORDERING = { name: "epoch", columns: ["number"] } as const;
const STAKE_CHANGE_ORDERING = { name: "change", columns: ["blockNumber", "logIndex"] } as const;

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
      "n.flkWeight",
      "e.settledRoot",
      "e.rewardsRootOk",
      "e.flkPool",
      "e.usdcPool",
      "e.settledFlkWeight",
      "e.settledUsdcWeight",
      "c.blockNumber as claimedBlock",
    ])
    .where("n.nodeId", "=", nodeId)
    .orderBy("n.epoch", "desc")
    .limit(last)
    .execute();
  return rows.reverse();
}

/** The claim of `nodeId`'s owner in `epoch`, paid as `EpochRewards.claimable` computes it. */
async function rewardProof(ctx: ApiContext, epoch: number, nodeId: number) {
  const e = await ctx.db.selectFrom("epochs").selectAll().where("number", "=", epoch).executeTakeFirst();
  if (!e) throw apiError("EPOCH_NOT_FOUND", `epoch ${epoch} is not indexed`);
  if (e.settledRoot === null) throw apiError("EPOCH_NOT_SETTLED", `epoch ${epoch} is ${String(e.status).toLowerCase()}: it has no settled rewards`);
  if (!e.rewardsRootOk)
    throw apiError(
      "REPORT_MISMATCH",
      `epoch ${epoch}'s signed rewards root ${e.settledRoot} does not follow from its report (recomputed ${e.computedRewardsRoot}): no proof can verify`,
    );
  const part = await ctx.db.selectFrom("node_epochs").select("owner").where("nodeId", "=", nodeId).where("epoch", "=", epoch).executeTakeFirst();
  if (!part) return null;
  const leaf = await ctx.db.selectFrom("reward_leaves").selectAll().where("epoch", "=", epoch).where("account", "=", part.owner).executeTakeFirst();
  if (!leaf) return null;
  const claim = await ctx.db.selectFrom("reward_claims").select("blockNumber").where("epoch", "=", epoch).where("account", "=", part.owner).executeTakeFirst();
  return {
    epoch,
    nodeId,
    account: leaf.account,
    flkWeight: leaf.flkWeight,
    usdcWeight: leaf.usdcWeight,
    // EpochSettled sets the pools and weights with the root, checked above.
    flkAmount: claimAmount(BigInt(e.flkPool!), BigInt(leaf.flkWeight), BigInt(e.settledFlkWeight!)),
    usdcAmount: claimAmount(BigInt(e.usdcPool!), BigInt(leaf.usdcWeight), BigInt(e.settledUsdcWeight!)),
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
      "The epoch's newest snapshot record of each agent, signed by its assigned host (protocol/agentSnapshots.ts); zero for none."
      agentSnapshotsRoot: String!
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
      reputation: async (n: Row<"nodes">, args: { last?: number }, ctx: ApiContext) =>
        (await latestNodeEpochs(ctx, n.id, args.last)).map((r) => ({ epoch: r.epoch, score: r.reputation, uptime: r.uptime })),
      rewards: async (n: Row<"nodes">, args: { last?: number }, ctx: ApiContext) =>
        (await latestNodeEpochs(ctx, n.id, args.last)).map((r) => {
          const payable = r.settledRoot !== null && r.rewardsRootOk;
          return {
            epoch: r.epoch,
            account: r.owner,
            usdcWeight: r.revenue,
            flkWeight: r.flkWeight,
            // A settled epoch has its pools and weights.
            flkAmount: payable ? claimAmount(BigInt(r.flkPool!), BigInt(r.flkWeight), BigInt(r.settledFlkWeight!)) : null,
            usdcAmount: payable ? claimAmount(BigInt(r.usdcPool!), BigInt(r.revenue), BigInt(r.settledUsdcWeight!)) : null,
            claimed: r.claimedBlock !== null,
          };
        }),
      endpoints: (n: Row<"nodes">) => ({ host: n.host, ports: n.ports }),
      stakeChanges: (n: Row<"nodes">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("node_stake_changes").selectAll().where("nodeId", "=", n.id), STAKE_CHANGE_ORDERING, args),
      slashes: (n: Row<"nodes">, _: unknown, ctx: ApiContext) =>
        ctx.db
          .selectFrom("node_stake_changes")
          .selectAll()
          .where("nodeId", "=", n.id)
          .where("kind", "=", "SLASHED")
          .orderBy("blockNumber")
          .orderBy("logIndex")
          .execute(),
    },
    NodeStakeChange: {
      transactionHash: (c: Row<"node_stake_changes">) => c.txHash,
    },
    NodeSlash: {
      transactionHash: (c: Row<"node_stake_changes">) => c.txHash,
    },
    Epoch: {
      beacons: async (e: Row<"epochs">, _: unknown, ctx: ApiContext) =>
        (await ctx.db.selectFrom("epoch_beacons").selectAll().where("epoch", "=", e.number).orderBy("committedBlock").orderBy("nodeId").execute()).map((b) => ({
          nodeId: b.nodeId,
          commitment: b.commitment,
          secret: b.secret,
          revealed: b.secret !== null,
        })),
      report: (e: Row<"epochs">) =>
        e.report ? { agentSnapshotsRoot: `0x${"00".repeat(32)}`, ...e.report, digest: e.reportDigest, signers: e.reportSigners } : null,
      settlement: (e: Row<"epochs">) =>
        e.settledRoot === null
          ? null
          : {
              root: e.settledRoot,
              flkPool: e.flkPool,
              usdcPool: e.usdcPool,
              totalFlkWeight: e.settledFlkWeight,
              totalUsdcWeight: e.settledUsdcWeight,
              flkPaid: e.flkPaid,
              usdcPaid: e.usdcPaid,
            },
      rootsMatch: (e: Row<"epochs">) => (e.report ? e.reputationRootOk && e.rewardsRootOk && e.totalsOk : null),
      mismatch: (e: Row<"epochs">) =>
        e.report ? [...(e.reputationRootOk ? [] : ["REPUTATION_ROOT"]), ...(e.rewardsRootOk ? [] : ["REWARDS_ROOT"]), ...(e.totalsOk ? [] : ["TOTALS"])] : null,
      recomputed: (e: Row<"epochs">) =>
        e.report
          ? {
              reputationRoot: e.computedReputationRoot,
              rewardsRoot: e.computedRewardsRoot,
              totalFlkWeight: e.computedFlkWeight,
              totalUsdcWeight: e.computedUsdcWeight,
            }
          : null,
    },
  },
};
