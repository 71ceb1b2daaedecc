import type { EventArgsOf } from "../abi";
import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/**
 * Proposal lifecycle as the events tell it. Pending, active, succeeded and defeated depend on
 * the clock and the quorum, so the API derives them from `vote_start`, `vote_end`, the tallies and
 * `quorum` (see `api/schemaGovernance.ts`).
 */
export type ProposalStatus = "created" | "queued" | "executed" | "canceled";

/** A governor proposal with its running tallies. `id` is the uint256 proposal id in decimal. */
export const proposals = defineTable({
  name: "proposals",
  columns: {
    id: col.text(),
    proposer: col.text(),
    targets: col.json<string[]>(),
    values: col.json<string[]>(),
    calldatas: col.json<string[]>(),
    description: col.text(),
    vote_start: col.int8(),
    vote_end: col.int8(),
    /** Quorum numerator (percent of staked FLK at `vote_start`) when the proposal was created. */
    quorum_numerator: col.wei(),
    for_votes: col.wei(),
    against_votes: col.wei(),
    abstain_votes: col.wei(),
    voters: col.int8(),
    status: col.text(),
    /** Timelock ETA once queued. */
    eta: col.int8().orNull(),
    block_number: col.int8(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["id"],
  indexes: {
    // `proposals` newest first (keyset: creation block then id).
    proposals_block: ["block_number", "id"],
  },
  rollback: "journal",
});

/** One vote; the governor accepts a single vote per voter and proposal. */
export const votes = defineTable({
  name: "votes",
  columns: {
    proposal_id: col.text(),
    voter: col.text(),
    /** 0 against, 1 for, 2 abstain (GovernorCountingSimple). */
    support: col.int4(),
    weight: col.wei(),
    reason: col.text(),
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["proposal_id", "voter"],
  indexes: {
    // Votes of a proposal and of a voter, in order cast.
    votes_proposal: ["proposal_id", "block_number", "log_index"],
    votes_voter: ["voter", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

async function proposal(ctx: HandlerContext, id: bigint) {
  const p = await ctx.store.get(proposals, { id: id.toString() });
  if (!p) throw new Error(`proposal ${id} unknown at block ${ctx.block.number}: events missing`);
  return p;
}

async function onProposalCreated(a: EventArgsOf<"Governor:ProposalCreated">, ctx: HandlerContext) {
  // By signature: quorumNumerator(uint256 timepoint) overloads the name.
  const [numerator] = await ctx.readContract("Governor", "quorumNumerator()");
  await ctx.store.set(proposals, {
    id: a.proposalId.toString(),
    proposer: a.proposer,
    targets: Array.from(a.targets),
    values: Array.from(a.values, String),
    calldatas: Array.from(a.calldatas),
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
    Governor: ["ProposalCreated", "VoteCast", "VoteCastWithParams", "ProposalQueued", "ProposalExecuted", "ProposalCanceled"],
  },
  tables: [proposals, votes],
  handlers: {
    "Governor:ProposalCreated": (a, ctx) => onProposalCreated(a, ctx),
    "Governor:VoteCast": onVoteCast,
    "Governor:VoteCastWithParams": onVoteCast,
    "Governor:ProposalQueued": (a, ctx) => setStatus(ctx, a.proposalId, "queued", a.etaSeconds),
    "Governor:ProposalExecuted": (a, ctx) => setStatus(ctx, a.proposalId, "executed"),
    "Governor:ProposalCanceled": (a, ctx) => setStatus(ctx, a.proposalId, "canceled"),
  },
  migrations: {
    "140-governance": {
      async up(db: RawDb) {
        await createTables(db, [proposals, votes]);
      },
    },
  },
};
