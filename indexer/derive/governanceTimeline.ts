import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/**
 * When each proposal was queued, executed or canceled. The governance module keeps only the
 * resulting status (and the ETA); a proposal's timeline (Tally's "created, active, queued,
 * executed") needs the time and transaction of each step, so they get a table of their own.
 */
export type LifecycleKind = "queued" | "executed" | "canceled";

/** One lifecycle event of a proposal; the governor allows each at most once per proposal. */
export const proposalEvents = defineTable({
  name: "proposal_events",
  columns: { proposal_id: col.text(), kind: col.text(), block_number: col.int8(), log_index: col.int4(), timestamp: col.int8(), tx_hash: col.text() },
  primaryKey: ["proposal_id", "kind"],
  rollback: "byBlock",
});

function record(ctx: HandlerContext, id: bigint, kind: LifecycleKind) {
  return ctx.store.set(proposalEvents, {
    proposal_id: id.toString(),
    kind,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

/** The time and transaction of each proposal's queue, execute and cancel. */
export const governanceTimelineModule: IndexerModule = {
  name: "governance-timeline",
  events: {
    Governor: ["ProposalQueued", "ProposalExecuted", "ProposalCanceled"],
  },
  tables: [proposalEvents],
  handlers: {
    "Governor:ProposalQueued": (a, ctx) => record(ctx, a.proposalId, "queued"),
    "Governor:ProposalExecuted": (a, ctx) => record(ctx, a.proposalId, "executed"),
    "Governor:ProposalCanceled": (a, ctx) => record(ctx, a.proposalId, "canceled"),
  },
  migrations: {
    "141-governance-timeline": {
      async up(db: RawDb) {
        await createTables(db, [proposalEvents]);
      },
    },
  },
};
