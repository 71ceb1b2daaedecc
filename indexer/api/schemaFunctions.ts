import { badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import { parseAddress, type ApiContext, type Row, type SchemaPart } from "./schemaCore";
import { parseId } from "./schemaRegistry";

const FUNCTION_ORDERINGS = {
  ID: { name: "function", columns: ["id"] },
  NAME: { name: "functionName", columns: ["name"] },
} as const;
const VERSION_ORDERING = { name: "functionVersion", columns: ["version"] } as const;
const ROOT_ORDERING = { name: "rootVersion", columns: ["functionId"] } as const;
const PRICE_ORDERING = { name: "computePrice", columns: ["blockNumber", "logIndex"] } as const;

/** FunctionRegistry's name rule (`_checkName`): 1-64 of a-z, 0-9 and inner '-'. */
const NAME = /^(?=.{1,64}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** A content root as the registry stores it: bytes32, 0x + 64 hex. */
const ROOT = /^(0x)?[0-9a-fA-F]{64}$/;

function parseName(value: string): string {
  if (!NAME.test(value)) throw badInput(`name must be 1-64 characters of a-z, 0-9 and inner '-' (got ${JSON.stringify(value)})`);
  return value;
}

function parseRoot(value: string): string {
  if (!ROOT.test(value)) throw badInput(`root must be 64 hex characters, with or without 0x (got ${JSON.stringify(value)})`);
  return `0x${value.replace(/^0x/, "").toLowerCase()}`;
}

/** The latest prices, or null before the escrow's constructor event is indexed. */
async function latestPrices(ctx: ApiContext) {
  return ctx.db.selectFrom("compute_prices").selectAll().orderBy("blockNumber", "desc").orderBy("logIndex", "desc").limit(1).executeTakeFirst();
}

/** USDC units per million calls that use `cpuMs` each: exact, no rounding (docs/functions.md, "Views"). */
function perMillionCalls(prices: Pick<Row<"compute_prices">, "perMillionRequests" | "perMillionCpuMs">, cpuMs: number): bigint {
  return BigInt(prices.perMillionRequests) + BigInt(cpuMs) * BigInt(prices.perMillionCpuMs);
}

const limits = (r: Pick<Row<"functions">, "memoryMib" | "cpuMs" | "wallMs" | "bundleBytes">) => ({
  memoryMiB: r.memoryMib,
  cpuMs: r.cpuMs,
  wallMs: r.wallMs,
  bundleBytes: r.bundleBytes,
});

/** Edge functions: FunctionRegistry's functions and versions, ServiceEscrow's compute prices. */
export const functionsSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    "Limits of a version (FunctionRegistry.Limits): each non-zero and at most a node's caps."
    type FunctionLimits {
      memoryMiB: Int!
      cpuMs: Int!
      wallMs: Int!
      bundleBytes: Int!
    }

    "A function registered on FunctionRegistry, with its latest version (what its name resolves to)."
    type EdgeFunction {
      id: Int!
      name: String!
      owner: String!
      "Latest version number (versions count from 1; a new root is a new version)."
      version: Int!
      "The latest version's content root (0x + the BLAKE3 hash of the bundle)."
      root: String!
      limits: FunctionLimits!
      "USDC units per epoch the owner's escrow pays for callers' invocations (FunctionRegistry.setOwnerPays); 0: callers pay."
      ownerPaysCapPerEpoch: BigInt!
      registeredAt: Int!
      registeredBlock: Int!
      "When the latest version was published (unix seconds)."
      updatedAt: Int!
      lastBlock: Int!
      "USDC units per million calls at the latest prices if each call uses its whole CPU limit: the most a call costs (null before prices are indexed)."
      maxCostPerMillionCalls: BigInt
      "Published versions (default: oldest first)."
      versions(first: Int, after: String, orderDirection: OrderDirection): FunctionVersionConnection!
    }

    "One published version (event VersionPublished)."
    type FunctionVersion {
      functionId: Int!
      version: Int!
      root: String!
      limits: FunctionLimits!
      publishedAt: Int!
      blockNumber: Int!
      transactionHash: String!
    }

    type FunctionVersionConnection {
      nodes: [FunctionVersion!]!
      pageInfo: PageInfo!
    }

    type EdgeFunctionConnection {
      nodes: [EdgeFunction!]!
      pageInfo: PageInfo!
    }

    "ServiceEscrow's compute prices as set (event ComputePricesSet, the constructor's defaults included). USDC units, 6 decimals."
    type ComputePrices {
      perMillionRequests: BigInt!
      perMillionCpuMs: BigInt!
      "USDC units per million calls that use cpuMs of CPU each: perMillionRequests + cpuMs × perMillionCpuMs."
      perMillionCalls(cpuMs: Int!): BigInt!
      blockNumber: Int!
      timestamp: Int!
      transactionHash: String!
    }

    type ComputePricesConnection {
      nodes: [ComputePrices!]!
      pageInfo: PageInfo!
    }

    input EdgeFunctionFilter {
      owner: String
    }

    enum EdgeFunctionOrderBy {
      ID
      NAME
    }

    extend type Query {
      "A function by exactly one of id or name (null when none)."
      edgeFunction(id: Int, name: String): EdgeFunction
      "Registered functions (default: by id, ascending)."
      edgeFunctions(where: EdgeFunctionFilter, first: Int, after: String, orderBy: EdgeFunctionOrderBy, orderDirection: OrderDirection): EdgeFunctionConnection!
      "The versions that published content root \`root\`, one per function at most (by function id)."
      functionVersionsByRoot(root: String!, first: Int, after: String, orderDirection: OrderDirection): FunctionVersionConnection!
      "The latest compute prices: the committee charges the next epoch's invocations with them (null before any is indexed)."
      computePrices: ComputePrices
      "Every price change, newest first by default."
      computePriceHistory(first: Int, after: String, orderDirection: OrderDirection): ComputePricesConnection!
    }
  `,
  resolvers: {
    Query: {
      edgeFunction: async (_: unknown, args: { id?: number | null; name?: string | null }, ctx: ApiContext) => {
        if ((args.id == null) === (args.name == null)) throw badInput("give exactly one of id and name");
        const query = ctx.db.selectFrom("functions").selectAll();
        return (args.id != null ? query.where("id", "=", parseId(args.id, "id")) : query.where("name", "=", parseName(args.name!))).executeTakeFirst();
      },
      edgeFunctions: (
        _: unknown,
        args: PageArgs & { where?: { owner?: string | null } | null; orderBy?: keyof typeof FUNCTION_ORDERINGS | null },
        ctx: ApiContext,
      ) => {
        let query = ctx.db.selectFrom("functions").selectAll();
        if (args.where?.owner != null) query = query.where("owner", "=", parseAddress(args.where.owner, "owner"));
        return paginate(query, FUNCTION_ORDERINGS[args.orderBy ?? "ID"], args);
      },
      functionVersionsByRoot: (_: unknown, args: PageArgs & { root: string }, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("function_versions").selectAll().where("root", "=", parseRoot(args.root)), ROOT_ORDERING, args),
      computePrices: (_: unknown, __: unknown, ctx: ApiContext) => latestPrices(ctx),
      computePriceHistory: (_: unknown, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("compute_prices").selectAll(), PRICE_ORDERING, { ...args, orderDirection: args.orderDirection ?? "DESC" }),
    },
    EdgeFunction: {
      limits,
      ownerPaysCapPerEpoch: (f: Row<"functions">) => f.ownerPaysCap,
      maxCostPerMillionCalls: async (f: Row<"functions">, _: unknown, ctx: ApiContext) => {
        const prices = await latestPrices(ctx);
        return prices ? perMillionCalls(prices, f.cpuMs) : null;
      },
      versions: (f: Row<"functions">, args: PageArgs, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("function_versions").selectAll().where("functionId", "=", f.id), VERSION_ORDERING, args),
    },
    FunctionVersion: {
      limits,
      transactionHash: (v: Row<"function_versions">) => v.txHash,
    },
    ComputePrices: {
      perMillionCalls: (p: Row<"compute_prices">, args: { cpuMs: number }) => {
        if (!Number.isSafeInteger(args.cpuMs) || args.cpuMs < 0) throw badInput(`cpuMs must be a non-negative integer (got ${args.cpuMs})`);
        return perMillionCalls(p, args.cpuMs);
      },
      transactionHash: (p: Row<"compute_prices">) => p.txHash,
    },
  },
};
