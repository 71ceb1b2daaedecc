import type { ApiContext, Row, SchemaPart } from "./schemaCore";

/** A proposal's queue, execute and cancel with their times (derive/governanceTimeline.ts). */
export const governanceTimelineSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum ProposalEventKind {
      QUEUED
      EXECUTED
      CANCELED
    }

    "A step of a proposal after its creation."
    type ProposalEvent {
      kind: ProposalEventKind!
      blockNumber: Int!
      "Unix seconds."
      timestamp: Int!
      transactionHash: String!
    }

    extend type Proposal {
      "Queued, executed and canceled, in the order they happened (creation: timestamp; voting: voteStart, voteEnd)."
      lifecycle: [ProposalEvent!]!
    }
  `,
  resolvers: {
    Proposal: {
      lifecycle: (p: Row<"proposals">, _: unknown, ctx: ApiContext) =>
        ctx.db.selectFrom("proposal_events").selectAll().where("proposalId", "=", p.id).orderBy("blockNumber").orderBy("logIndex").execute(),
    },
    ProposalEvent: {
      kind: (e: Row<"proposal_events">) => e.kind.toUpperCase(),
      transactionHash: (e: Row<"proposal_events">) => e.txHash,
    },
  },
};
