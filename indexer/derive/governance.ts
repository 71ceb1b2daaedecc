import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";

/**
 * Proposal lifecycle as the events tell it. Pending, active, succeeded and defeated depend on
 * the clock and the quorum, so the API derives them from `vote_start`, `vote_end`, the tallies and
 * `quorum` (see `api/schema-governance.ts`).
 */
export type ProposalStatus = "created" | "queued" | "executed" | "canceled";

/** A governor proposal with its running tallies. `id` is the uint256 proposal id in decimal. */
export const proposals = defineTable<{
  id: string;
  proposer: string;
  targets: string[];
  values: string[];
  calldatas: string[];
  description: string;
  vote_start: number;
  vote_end: number;
  /** Quorum numerator (percent of staked FLK at `vote_start`) when the proposal was created. */
  quorum_numerator: bigint;
  for_votes: bigint;
  against_votes: bigint;
  abstain_votes: bigint;
  voters: number;
  status: string;
  /** Timelock ETA once queued. */
  eta: number | null;
  block_number: number;
  timestamp: number;
  tx_hash: string;
}>({
  name: "proposals",
  columns: {
    id: "text",
    proposer: "text",
    targets: "jsonb",
    values: "jsonb",
    calldatas: "jsonb",
    description: "text",
    vote_start: "int8",
    vote_end: "int8",
    quorum_numerator: "numeric",
    for_votes: "numeric",
    against_votes: "numeric",
    abstain_votes: "numeric",
    voters: "int8",
    status: "text",
    eta: "int8",
    block_number: "int8",
    timestamp: "int8",
    tx_hash: "text",
  },
  primaryKey: ["id"],
  rollback: "journal",
});

/** One vote; the governor accepts a single vote per voter and proposal. */
export const votes = defineTable<{
  proposal_id: string;
  voter: string;
  /** 0 against, 1 for, 2 abstain (GovernorCountingSimple). */
  support: number;
  weight: bigint;
  reason: string;
  block_number: number;
  log_index: number;
  timestamp: number;
  tx_hash: string;
}>({
  name: "votes",
  columns: { proposal_id: "text", voter: "text", support: "int4", weight: "numeric", reason: "text", block_number: "int8", log_index: "int4", timestamp: "int8", tx_hash: "text" },
  primaryKey: ["proposal_id", "voter"],
  rollback: "byBlock",
});

async function proposal(ctx: HandlerContext, id: bigint) {
  const p = await ctx.store.get(proposals, { id: id.toString() });
  if (!p) throw new Error(`proposal ${id} unknown at block ${ctx.block.number}: events missing`);
  return p;
}

async function onProposalCreated(a: Record<string, any>, ctx: HandlerContext) {
  const [numerator] = await ctx.readContract("Governor", "quorumNumerator() view returns (uint256)");
  await ctx.store.set(proposals, {
    id: (a.proposalId as bigint).toString(),
    proposer: a.proposer,
    targets: Array.from(a.targets as string[]),
    values: Array.from(a.values as bigint[], String),
    calldatas: Array.from(a.calldatas as string[]),
    description: a.description,
    vote_start: Number(a.voteStart),
    vote_end: Number(a.voteEnd),
    quorum_numerator: numerator as bigint,
    for_votes: 0n,
    against_votes: 0n,
    abstain_votes: 0n,
    voters: 0,
    status: "created",
    eta: null,
    block_number: ctx.block.number,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

async function onVoteCast(a: { voter: string; proposalId: bigint; support: bigint; weight: bigint; reason: string }, ctx: HandlerContext) {
  const p = await proposal(ctx, a.proposalId);
  const support = Number(a.support);
  const tally = support === 0 ? "against_votes" : support === 1 ? "for_votes" : "abstain_votes";
  await ctx.store.set(proposals, { ...p, [tally]: p[tally] + a.weight, voters: p.voters + 1 });
  await ctx.store.set(votes, {
    proposal_id: p.id,
    voter: a.voter,
    support,
    weight: a.weight,
    reason: a.reason,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

async function setStatus(ctx: HandlerContext, id: bigint, status: ProposalStatus, eta?: bigint) {
  const p = await proposal(ctx, id);
  await ctx.store.set(proposals, { ...p, status, eta: eta === undefined ? p.eta : Number(eta) });
}

/** Governor proposals, their tallies and lifecycle events, and every vote. */
export const governanceModule: IndexerModule = {
  name: "governance",
  events: {
    Governor: [
      "ProposalCreated(uint256 proposalId, address proposer, address[] targets, uint256[] values, string[] signatures, bytes[] calldatas, uint256 voteStart, uint256 voteEnd, string description)",
      "VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason)",
      "VoteCastWithParams(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason, bytes params)",
      "ProposalQueued(uint256 proposalId, uint256 etaSeconds)",
      "ProposalExecuted(uint256 proposalId)",
      "ProposalCanceled(uint256 proposalId)",
    ],
  },
  tables: [proposals, votes],
  handlers: {
    "Governor:ProposalCreated": (a, ctx) => onProposalCreated(a, ctx),
    "Governor:VoteCast": (a, ctx) => onVoteCast(a as never, ctx),
    "Governor:VoteCastWithParams": (a, ctx) => onVoteCast(a as never, ctx),
    "Governor:ProposalQueued": (a, ctx) => setStatus(ctx, a.proposalId, "queued", a.etaSeconds),
    "Governor:ProposalExecuted": (a, ctx) => setStatus(ctx, a.proposalId, "executed"),
    "Governor:ProposalCanceled": (a, ctx) => setStatus(ctx, a.proposalId, "canceled"),
  },
  migrations: {
    "140-governance": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("proposals")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("proposer", "text", (c) => c.notNull())
          .addColumn("targets", "jsonb", (c) => c.notNull())
          .addColumn("values", "jsonb", (c) => c.notNull())
          .addColumn("calldatas", "jsonb", (c) => c.notNull())
          .addColumn("description", "text", (c) => c.notNull())
          .addColumn("vote_start", "int8", (c) => c.notNull())
          .addColumn("vote_end", "int8", (c) => c.notNull())
          .addColumn("quorum_numerator", WEI, (c) => c.notNull())
          .addColumn("for_votes", WEI, (c) => c.notNull())
          .addColumn("against_votes", WEI, (c) => c.notNull())
          .addColumn("abstain_votes", WEI, (c) => c.notNull())
          .addColumn("voters", "int8", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("eta", "int8")
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .execute();
        // `proposals` newest first (keyset: creation block then id).
        await db.schema.createIndex("proposals_block").on("proposals").columns(["block_number", "id"]).execute();
        await db.schema
          .createTable("votes")
          .addColumn("proposal_id", "text", (c) => c.notNull())
          .addColumn("voter", "text", (c) => c.notNull())
          .addColumn("support", "int4", (c) => c.notNull())
          .addColumn("weight", WEI, (c) => c.notNull())
          .addColumn("reason", "text", (c) => c.notNull())
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addColumn("log_index", "int4", (c) => c.notNull())
          .addColumn("timestamp", "int8", (c) => c.notNull())
          .addColumn("tx_hash", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("votes_pk", ["proposal_id", "voter"])
          .execute();
        // Votes of a proposal and of a voter, in order cast.
        await db.schema.createIndex("votes_proposal").on("votes").columns(["proposal_id", "block_number", "log_index"]).execute();
        await db.schema.createIndex("votes_voter").on("votes").columns(["voter", "block_number", "log_index"]).execute();
      },
    },
  },
};
