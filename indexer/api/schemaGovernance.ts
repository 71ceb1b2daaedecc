import { sql } from "kysely";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

const BLOCK_ORDERING = { name: "block", columns: ["blockNumber", "id"] } as const;
const VOTE_ORDERINGS = {
  BLOCK: { name: "block", columns: ["blockNumber", "logIndex"] },
  // A proposal's votes are one per voter, so a sort of them needs no index of its own.
  WEIGHT: { name: "weight", columns: ["weight", "proposalId", "voter"] },
} as const;

type VoteArgs = PageArgs & { orderBy?: keyof typeof VOTE_ORDERINGS };
const SUPPORT = ["AGAINST", "FOR", "ABSTAIN"] as const;

/** Total staked (the governor's `getPastTotalSupply`) at `timestamp`, from the staked supply rows. */
async function stakedAt(ctx: ApiContext, timestamp: number): Promise<bigint> {
  const { rows } = await sql<{ amount: string }>`
    SELECT amount FROM supply_components WHERE component = 'staked' AND timestamp <= ${timestamp}
    ORDER BY timestamp DESC, block_number DESC LIMIT 1`.execute(ctx.db);
  return rows.length ? BigInt(rows[0].amount) : 0n;
}

/**
 * `FleekGovernor.state` at the latest indexed block: lifecycle events first, then the clock
 * against the vote window, then quorum (numerator percent of staked at the snapshot, counting
 * for and abstain) and for > against, in the order OpenZeppelin's Governor checks them.
 */
async function proposalState(p: Row<"proposals">, ctx: ApiContext): Promise<string> {
  if (p.status !== "created") return p.status.toUpperCase();
  const now = await ctx.now();
  if (p.voteStart >= now) return "PENDING";
  if (p.voteEnd >= now) return "ACTIVE";
  const quorum = ((await stakedAt(ctx, p.voteStart)) * BigInt(p.quorumNumerator)) / 100n;
  const [forVotes, against, abstain] = [p.forVotes, p.againstVotes, p.abstainVotes].map(BigInt);
  return quorum <= forVotes + abstain && forVotes > against ? "SUCCEEDED" : "DEFEATED";
}

/** Governor proposals with tallies and state, and votes. */
export const governanceSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum ProposalState {
      PENDING
      ACTIVE
      CANCELED
      DEFEATED
      SUCCEEDED
      QUEUED
      EXECUTED
    }
    enum VoteOrderBy {
      "Order cast."
      BLOCK
      "By voting weight (heaviest first with orderDirection: DESC)."
      WEIGHT
    }
    enum VoteSupport {
      AGAINST
      FOR
      ABSTAIN
    }

    type Proposal {
      "The uint256 proposal id, in decimal."
      id: String!
      proposer: String!
      targets: [String!]!
      values: [BigInt!]!
      calldatas: [String!]!
      description: String!
      "Snapshot (unix seconds): votes are weighed at this time."
      voteStart: Int!
      voteEnd: Int!
      forVotes: BigInt!
      againstVotes: BigInt!
      abstainVotes: BigInt!
      "Quorum (4% of staked at voteStart by default); null while the snapshot is in the future."
      quorum: BigInt
      voters: Int!
      "As FleekGovernor.state at the latest indexed block."
      state: ProposalState!
      "Timelock ETA once queued."
      eta: Int
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
      votes(first: Int, after: String, orderBy: VoteOrderBy, orderDirection: OrderDirection): VoteConnection!
    }

    type Vote {
      proposalId: String!
      voter: String!
      support: VoteSupport!
      weight: BigInt!
      reason: String!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    type ProposalConnection {
      nodes: [Proposal!]!
      pageInfo: PageInfo!
    }

    type VoteConnection {
      nodes: [Vote!]!
      pageInfo: PageInfo!
    }

    input VoteWhere {
      proposalId: String
      voter: String
    }

    extend type Query {
      proposal(id: String!): Proposal
      "Proposals by creation (default: newest first)."
      proposals(first: Int, after: String, orderDirection: OrderDirection): ProposalConnection!
      "Votes in the order cast (default) or by weight."
      votes(first: Int, after: String, where: VoteWhere, orderBy: VoteOrderBy, orderDirection: OrderDirection): VoteConnection!
    }
  `,
  resolvers: {
    Query: {
      proposal: (_: unknown, args: { id: string }, ctx: ApiContext) => ctx.db.selectFrom("proposals").selectAll().where("id", "=", args.id).executeTakeFirst(),
      proposals: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("proposals").selectAll(), BLOCK_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
      votes: (_: unknown, args: VoteArgs & { where?: { proposalId?: string; voter?: string } }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("votes").selectAll();
        if (args.where?.proposalId) q = q.where("proposalId", "=", args.where.proposalId);
        if (args.where?.voter) q = q.where("voter", "=", parseAddress(args.where.voter, "where.voter"));
        return paginate(q, VOTE_ORDERINGS[args.orderBy ?? "BLOCK"], args);
      },
    },
    Proposal: {
      quorum: async (p: Row<"proposals">, _: unknown, ctx: ApiContext) =>
        p.voteStart >= (await ctx.now()) ? null : ((await stakedAt(ctx, p.voteStart)) * BigInt(p.quorumNumerator)) / 100n,
      state: (p: Row<"proposals">, _: unknown, ctx: ApiContext) => proposalState(p, ctx),
      transactionHash: (p: Row<"proposals">) => p.txHash,
      votes: (p: Row<"proposals">, args: VoteArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("votes").selectAll().where("proposalId", "=", p.id), VOTE_ORDERINGS[args.orderBy ?? "BLOCK"], args),
    },
    Vote: {
      support: (v: Row<"votes">) => SUPPORT[v.support],
      transactionHash: (v: Row<"votes">) => v.txHash,
    },
  },
};
