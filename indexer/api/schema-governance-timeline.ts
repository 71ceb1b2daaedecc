import type { ApiContext, SchemaPart } from "./schema-core";

/** A proposal's queue, execute and cancel with their times (derive/governance-timeline.ts). */
export const governanceTimelineSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    enum ProposalEventKind { QUEUED EXECUTED CANCELED }

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
      lifecycle: (p: any, _: unknown, ctx: ApiContext) =>
        ctx.db.selectFrom("proposal_events").selectAll().where("proposal_id", "=", p.id).orderBy("block_number").orderBy("log_index").execute(),
    },
    ProposalEvent: {
      kind: (e: any) => e.kind.toUpperCase(),
      blockNumber: (e: any) => e.block_number,
      transactionHash: (e: any) => e.tx_hash,
    },
  },
};
