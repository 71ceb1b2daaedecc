import { cumulativeEmission } from "../../protocol/emission";
import { paginate, type PageArgs } from "./pagination";
import type { ApiContext, Row, SchemaPart } from "./schemaCore";

/** Emission state, the schedule and every mint. */
export const emissionSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    type Emission {
      "The TGE (unix seconds); null before the first mint is indexed."
      start: Int
      "Minted so far (both halves)."
      minted: BigInt!
      mints: Int!
      "Due by the schedule from the start to \`at\` (default: now), minted or not."
      scheduled(at: Int): BigInt!
      "Due and not yet minted at \`at\`."
      mintable(at: Int): BigInt!
    }

    type EmissionMint {
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
      stakingRecipient: String!
      stakingAmount: BigInt!
      nodeRecipient: String!
      nodeAmount: BigInt!
      totalMinted: BigInt!
    }

    type EmissionMintConnection {
      nodes: [EmissionMint!]!
      pageInfo: PageInfo!
    }

    extend type Query {
      emission: Emission!
      emissionMints(first: Int, after: String, orderDirection: OrderDirection): EmissionMintConnection!
    }
  `,
  resolvers: {
    Query: {
      emission: async (_: unknown, __: unknown, ctx: ApiContext) =>
        (await ctx.db.selectFrom("emission_state").selectAll().executeTakeFirst()) ?? { start: null, minted: "0", mints: 0 },
      emissionMints: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("emission_mints").selectAll(), { name: "block", columns: ["blockNumber", "logIndex"] }, args),
    },
    Emission: {
      scheduled: async (e: { start: number | null }, args: { at?: number }, ctx: ApiContext) =>
        e.start == null ? 0n : cumulativeEmission(BigInt((args.at ?? (await ctx.now())) - e.start)),
      mintable: async (e: { start: number | null; minted: string }, args: { at?: number }, ctx: ApiContext) => {
        if (e.start == null) return 0n;
        const due = cumulativeEmission(BigInt((args.at ?? (await ctx.now())) - e.start));
        return due > BigInt(e.minted) ? due - BigInt(e.minted) : 0n;
      },
    },
    EmissionMint: {
      transactionHash: (m: Row<"emission_mints">) => m.txHash,
    },
  },
};
