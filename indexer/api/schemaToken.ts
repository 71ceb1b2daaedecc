import { supplyAt } from "./supply";
import { paginate, type PageArgs } from "./pagination";
import { badInput } from "./errors";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";

interface TransferWhere {
  from?: string;
  to?: string;
  account?: string;
  blockNumber_gte?: number;
  blockNumber_lte?: number;
}

const ACCOUNT_ORDERINGS = {
  ADDRESS: { name: "address", columns: ["address"] },
  BALANCE: { name: "balance", columns: ["balance", "address"] },
} as const;

const TRANSFER_ORDERING = { name: "block", columns: ["blockNumber", "logIndex"] } as const;

function transfersQuery(ctx: ApiContext, where: TransferWhere = {}) {
  let q = ctx.db.selectFrom("transfers").selectAll();
  if (where.from) q = q.where("from", "=", parseAddress(where.from, "where.from"));
  if (where.to) q = q.where("to", "=", parseAddress(where.to, "where.to"));
  if (where.account) {
    const a = parseAddress(where.account, "where.account");
    q = q.where((eb) => eb.or([eb("from", "=", a), eb("to", "=", a)]));
  }
  if (where.blockNumber_gte != null) q = q.where("blockNumber", ">=", where.blockNumber_gte);
  if (where.blockNumber_lte != null) q = q.where("blockNumber", "<=", where.blockNumber_lte);
  return q;
}

/** Balances, holders, transfers and the supply breakdown (burns: schemaBuyback.ts). */
export const tokenSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    "The FLK supply at one instant, in wei."
    type TokenSupply {
      timestamp: Int!
      "Minted minus burned."
      total: BigInt!
      minted: BigInt!
      burned: BigInt!
      "Minted by the emission schedule."
      emitted: BigInt!
      "Allocated in vesting and not yet vested."
      lockedInVesting: BigInt!
      "Total minus locked in vesting (staked and curve reserves are part of it)."
      circulating: BigInt!
      staked: BigInt!
      curveReserves: BigInt!
    }

    type Account {
      address: String!
      balance: BigInt!
      transferCount: Int!
      firstBlock: Int!
      lastBlock: Int!
    }

    type Transfer {
      blockNumber: Int!
      logIndex: Int!
      timestamp: Int!
      transactionHash: String!
      from: String!
      to: String!
      value: BigInt!
    }

    type AccountConnection {
      nodes: [Account!]!
      pageInfo: PageInfo!
    }

    type TransferConnection {
      nodes: [Transfer!]!
      pageInfo: PageInfo!
    }

    enum AccountOrderBy {
      ADDRESS
      BALANCE
    }

    input AccountWhere {
      "Only accounts holding more than this (0 gives the holders)."
      balance_gt: BigInt
    }

    input TransferWhere {
      from: String
      to: String
      "Transfers from or to this address."
      account: String
      blockNumber_gte: Int
      blockNumber_lte: Int
    }

    type TokenStats {
      holders: Int!
      transfers: Int!
    }

    extend type Query {
      "Supply breakdown at \`at\` (unix seconds), or at the latest indexed block."
      tokenSupply(at: Int): TokenSupply!
      tokenStats: TokenStats!
      account(address: String!): Account
      accounts(first: Int, after: String, where: AccountWhere, orderBy: AccountOrderBy, orderDirection: OrderDirection): AccountConnection!
      transfers(first: Int, after: String, where: TransferWhere, orderDirection: OrderDirection): TransferConnection!
    }
  `,
  resolvers: {
    Query: {
      tokenSupply: async (_: unknown, args: { at?: number | null }, ctx: ApiContext) => {
        const at = args.at ?? (await ctx.now());
        if (at < 0) throw badInput("at must be a unix time in seconds");
        return supplyAt(ctx.db, at);
      },
      tokenStats: async (_: unknown, __: unknown, ctx: ApiContext) => {
        const row = await ctx.db.selectFrom("token_totals").select(["holders", "transfers"]).executeTakeFirst();
        return row ?? { holders: 0, transfers: 0 };
      },
      account: (_: unknown, args: { address: string }, ctx: ApiContext) =>
        ctx.db.selectFrom("accounts").selectAll().where("address", "=", parseAddress(args.address, "address")).executeTakeFirst(),
      accounts: (_: unknown, args: PageArgs & { where?: { balance_gt?: bigint }; orderBy?: keyof typeof ACCOUNT_ORDERINGS }, ctx: ApiContext) => {
        let q = ctx.db.selectFrom("accounts").selectAll();
        if (args.where?.balance_gt != null) q = q.where("balance", ">", args.where.balance_gt.toString());
        return paginate(q, ACCOUNT_ORDERINGS[args.orderBy ?? "ADDRESS"], args);
      },
      transfers: (_: unknown, args: PageArgs & { where?: TransferWhere }, ctx: ApiContext) =>
        paginate(transfersQuery(ctx, args.where), TRANSFER_ORDERING, args),
    },
    Transfer: {
      transactionHash: (t: Row<"transfers">) => t.txHash,
    },
  },
};
