import { badInput } from "./errors";
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
      "Node ids of the committee, in committee order."
      committee: [Int!]!
      "Committee shuffle seed (zero when the whole active set is the committee)."
      seed: String!
      beacons: [Beacon!]!
      "Null unless reported."
      report: EpochReport
      "Null unless reported (rewards settled)."
      settlement: EpochSettlement
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
    }
  `,
  resolvers: {
    Query: {
      node: (_: unknown, args: { id: number }, ctx: ApiContext) => ctx.db.selectFrom("nodes").selectAll().where("id", "=", parseId(args.id, "id")).executeTakeFirst(),
      nodes: (_: unknown, args: PageArgs & { where?: { status?: string; owner?: string }; orderBy?: keyof typeof NODE_ORDERINGS }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("nodes").selectAll();
        if (args.where?.status) q = q.where("status", "=", args.where.status);
        if (args.where?.owner) q = q.where("owner", "=", parseAddress(args.where.owner, "where.owner"));
        const orderBy = args.orderBy ?? "ID";
        return paginate(q, NODE_ORDERINGS[orderBy], { ...args, orderDirection: args.orderDirection ?? (orderBy === "STAKE" ? "DESC" : "ASC") });
      },
      epoch: (_: unknown, args: { number: number }, ctx: ApiContext) => ctx.db.selectFrom("epochs").selectAll().where("number", "=", parseId(args.number, "number")).executeTakeFirst(),
      epochs: (_: unknown, args: PageArgs & { where?: { status?: string } }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("epochs").selectAll();
        if (args.where?.status) q = q.where("status", "=", args.where.status);
        return paginate(q, EPOCH_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" });
      },
    },
    Node: {
      nodeKey: (n: any) => n.node_key,
      endpoints: (n: any) => ({ host: n.host, ports: n.ports }),
      statusEpoch: (n: any) => n.status_epoch,
      unstakeReadyAt: (n: any) => n.unstake_ready_at,
      lockedUntil: (n: any) => n.locked_until,
      registeredBlock: (n: any) => n.registered_block,
      stakeChanges: (n: any, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("node_stake_changes").selectAll().where("node_id", "=", n.id), STAKE_CHANGE_ORDERING, args),
      slashes: (n: any, _: unknown, ctx: ApiContext) =>
        ctx.db.selectFrom("node_stake_changes").selectAll().where("node_id", "=", n.id).where("kind", "=", "SLASHED").orderBy("block_number").orderBy("log_index").execute(),
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
      beacons: async (e: any, _: unknown, ctx: ApiContext) =>
        (await ctx.db.selectFrom("epoch_beacons").selectAll().where("epoch", "=", e.number).orderBy("committed_block").orderBy("node_id").execute()).map((b: any) => ({
          nodeId: b.node_id,
          commitment: b.commitment,
          secret: b.secret,
          revealed: b.secret !== null,
        })),
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
      startBlock: (e: any) => e.start_block,
      endedBlock: (e: any) => e.ended_block,
    },
  },
};
