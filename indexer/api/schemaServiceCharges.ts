import DataLoader from "dataloader";
import type { ExpressionBuilder } from "kysely";
import type { Database } from "../derive";
import { agentService, ServiceKind } from "../../protocol/usage";
import { badInput } from "./errors";
import { paginate, type PageArgs } from "./pagination";
import type { ApiContext, Row, SchemaPart } from "./schemaCore";
import { parseId } from "./schemaRegistry";

/** `ServiceCharge.kind` on chain and its GraphQL name. */
const KINDS = ["CONTENT", "FUNCTION", "AGENT"] as const;
type KindName = (typeof KINDS)[number];
const FUNCTION_KIND = ServiceKind.Function;

const USAGE_ORDERING = { name: "functionUsage", columns: ["epoch", "nodeId", "service"] } as const;
const NODE_CHARGE_ORDERING = { name: "nodeCharge", columns: ["epoch", "kind", "service"] } as const;
const EPOCH_CHARGE_ORDERING = { name: "epochCharge", columns: ["nodeId", "kind", "service"] } as const;
const BY_NODE_ORDERING = { name: "functionByNode", columns: ["nodeId", "service"] } as const;
const BY_SERVICE_ORDERING = { name: "nodeByService", columns: ["kind", "service"] } as const;

/** The content roots `functionId` published (each root at most once per function). */
function rootsOf(ctx: ApiContext, functionId: number) {
  return ctx.db.selectFrom("function_versions").select("root").where("functionId", "=", functionId);
}

interface Totals {
  requests: bigint;
  cpuMs: bigint;
  amount: bigint;
}
const NO_TOTALS: Totals = { requests: 0n, cpuMs: 0n, amount: 0n };

/**
 * Totals over every reported epoch, batched per request: a page of 100 functions or agents asking
 * for their calls and revenue is one query, not one per field of each (DataLoader collects the
 * ids a resolver tick asks for). Keyed by the request's context, so nothing outlives the request.
 */
const totalsLoaders = new WeakMap<ApiContext, { functions: DataLoader<number, Totals>; agents: DataLoader<number, Totals> }>();

function totalsOf(ctx: ApiContext) {
  let loaders = totalsLoaders.get(ctx);
  if (!loaders) {
    const sums = (eb: ExpressionBuilder<Database, "service_totals">) => [
      eb.fn.sum<string | null>("service_totals.requests").as("requests"),
      eb.fn.sum<string | null>("service_totals.cpuMs").as("cpuMs"),
      eb.fn.sum<string | null>("service_totals.amount").as("amount"),
    ];
    const totals = (r: { requests: string | null; cpuMs: string | null; amount: string | null }): Totals => ({
      requests: BigInt(r.requests ?? 0),
      cpuMs: BigInt(r.cpuMs ?? 0),
      amount: BigInt(r.amount ?? 0),
    });
    loaders = {
      // A function's totals are the sums over its versions' roots.
      functions: new DataLoader(async (ids) => {
        const rows = await ctx.db
          .selectFrom("service_totals")
          .innerJoin("function_versions", "function_versions.root", "service_totals.service")
          .select((eb) => ["function_versions.functionId as id", ...sums(eb)])
          .where("service_totals.kind", "=", FUNCTION_KIND)
          .where("function_versions.functionId", "in", [...ids])
          .groupBy("function_versions.functionId")
          .execute();
        const byId = new Map(rows.map((r) => [Number(r.id), totals(r)]));
        return ids.map((id) => byId.get(id) ?? NO_TOTALS);
      }),
      agents: new DataLoader(async (ids) => {
        const services = ids.map((id) => agentService(id));
        const rows = await ctx.db
          .selectFrom("service_totals")
          .select((eb) => ["service_totals.service", ...sums(eb)])
          .where("service_totals.kind", "=", ServiceKind.Agent)
          .where("service_totals.service", "in", services)
          .groupBy("service_totals.service")
          .execute();
        const byService = new Map(rows.map((r) => [r.service, totals(r)]));
        return services.map((s) => byService.get(s) ?? NO_TOTALS);
      }),
    };
    totalsLoaders.set(ctx, loaders);
  }
  return loaders;
}

const kindName = (r: { kind: number }): KindName => KINDS[r.kind];

/** Per-service charges of the epoch reports: per function, per node, per epoch. */
export const serviceChargesSchema: SchemaPart = {
  typeDefs: /* GraphQL */ `
    "What a charge of the epoch report is for (ServiceCharge.kind)."
    enum ServiceKind {
      "Content delivery: service is zero, requests are delivery acks."
      CONTENT
      "An edge function: service is the version's content root (zero: functions folded together in a full report)."
      FUNCTION
      "An agent's calls: service is bytes32(agentId) of AgentMarketplace; amounts are gross, before the marketplace's split."
      AGENT
    }

    "What one node was paid for one service in one reported epoch (the report's ServiceCharge). USDC units, 6 decimals."
    type ServiceCharge {
      epoch: Int!
      nodeId: Int!
      kind: ServiceKind!
      "bytes32: zero for content, the function version's content root for a function."
      service: String!
      "Delivery acks (content) or invocations (function) acknowledged by clients."
      requests: BigInt!
      "CPU milliseconds of the invocations (rounded down per report entry)."
      cpuMs: BigInt!
      "USDC units paid, after the payers' caps."
      amount: BigInt!
    }

    type ServiceChargeConnection {
      nodes: [ServiceCharge!]!
      pageInfo: PageInfo!
    }

    "A service's figures on one node over every reported epoch."
    type NodeServiceTotal {
      nodeId: Int!
      kind: ServiceKind!
      service: String!
      requests: BigInt!
      cpuMs: BigInt!
      amount: BigInt!
      "The latest reported epoch with a charge of it."
      lastEpoch: Int!
    }

    type NodeServiceTotalConnection {
      nodes: [NodeServiceTotal!]!
      pageInfo: PageInfo!
    }

    extend type EdgeFunction {
      "Invocations of all its versions over every reported epoch (paid or not)."
      invocations: BigInt!
      "CPU milliseconds of those invocations."
      cpuMs: BigInt!
      "USDC units its invocations paid the nodes."
      revenue: BigInt!
      "Its charges per epoch, node and version (default: oldest epoch first), optionally of one epoch or node."
      usage(epoch: Int, nodeId: Int, first: Int, after: String, orderDirection: OrderDirection): ServiceChargeConnection!
      "Its totals per node and version (by node id)."
      usageByNode(first: Int, after: String, orderDirection: OrderDirection): NodeServiceTotalConnection!
    }

    extend type Agent {
      "Calls the epoch reports charged for it over every reported epoch (all nodes; paid or not)."
      calls: BigInt!
      "USDC units its calls paid over every reported epoch (gross, before the split; settled revenue is \`revenue\`)."
      charged: BigInt!
      "What each node was paid for the agent's calls over every reported epoch (gross, before the 20/70/10-style split; by node id)."
      revenueByNode(first: Int, after: String, orderDirection: OrderDirection): NodeServiceTotalConnection!
      "Its charges per epoch and node (default: oldest epoch first), optionally of one epoch or node."
      charges(epoch: Int, nodeId: Int, first: Int, after: String, orderDirection: OrderDirection): ServiceChargeConnection!
    }

    extend type Node {
      "What the node was paid per service over every reported epoch (by kind, then service), optionally of one kind."
      revenueByService(kind: ServiceKind, first: Int, after: String, orderDirection: OrderDirection): NodeServiceTotalConnection!
      "Its charges per reported epoch (default: oldest first), optionally of one epoch."
      charges(epoch: Int, first: Int, after: String, orderDirection: OrderDirection): ServiceChargeConnection!
    }

    extend type Query {
      "The charges of one reported epoch, by node, kind and service."
      epochCharges(epoch: Int!, first: Int, after: String, orderDirection: OrderDirection): ServiceChargeConnection!
    }
  `,
  resolvers: {
    Query: {
      epochCharges: (_: unknown, args: PageArgs & { epoch: number }, ctx: ApiContext) =>
        paginate(ctx.db.selectFrom("service_charges").selectAll().where("epoch", "=", parseId(args.epoch, "epoch")), EPOCH_CHARGE_ORDERING, args),
    },
    EdgeFunction: {
      invocations: async (f: Row<"functions">, _: unknown, ctx: ApiContext) => (await totalsOf(ctx).functions.load(f.id)).requests,
      cpuMs: async (f: Row<"functions">, _: unknown, ctx: ApiContext) => (await totalsOf(ctx).functions.load(f.id)).cpuMs,
      revenue: async (f: Row<"functions">, _: unknown, ctx: ApiContext) => (await totalsOf(ctx).functions.load(f.id)).amount,
      usage: (f: Row<"functions">, args: PageArgs & { epoch?: number | null; nodeId?: number | null }, ctx: ApiContext) => {
        let query = ctx.db.selectFrom("service_charges").selectAll().where("kind", "=", FUNCTION_KIND).where("service", "in", rootsOf(ctx, f.id));
        if (args.epoch != null) query = query.where("epoch", "=", parseId(args.epoch, "epoch"));
        if (args.nodeId != null) query = query.where("nodeId", "=", parseId(args.nodeId, "nodeId"));
        return paginate(query, USAGE_ORDERING, args);
      },
      usageByNode: (f: Row<"functions">, args: PageArgs, ctx: ApiContext) =>
        paginate(
          ctx.db.selectFrom("node_service_totals").selectAll().where("kind", "=", FUNCTION_KIND).where("service", "in", rootsOf(ctx, f.id)),
          BY_NODE_ORDERING,
          args,
        ),
    },
    Agent: {
      calls: async (a: Row<"agents">, _: unknown, ctx: ApiContext) => (await totalsOf(ctx).agents.load(a.id)).requests,
      charged: async (a: Row<"agents">, _: unknown, ctx: ApiContext) => (await totalsOf(ctx).agents.load(a.id)).amount,
      revenueByNode: (a: Row<"agents">, args: PageArgs, ctx: ApiContext) =>
        paginate(
          ctx.db.selectFrom("node_service_totals").selectAll().where("kind", "=", ServiceKind.Agent).where("service", "=", agentService(a.id)),
          BY_NODE_ORDERING,
          args,
        ),
      charges: (a: Row<"agents">, args: PageArgs & { epoch?: number | null; nodeId?: number | null }, ctx: ApiContext) => {
        let query = ctx.db.selectFrom("service_charges").selectAll().where("kind", "=", ServiceKind.Agent).where("service", "=", agentService(a.id));
        if (args.epoch != null) query = query.where("epoch", "=", parseId(args.epoch, "epoch"));
        if (args.nodeId != null) query = query.where("nodeId", "=", parseId(args.nodeId, "nodeId"));
        return paginate(query, USAGE_ORDERING, args);
      },
    },
    Node: {
      revenueByService: (n: Row<"nodes">, args: PageArgs & { kind?: KindName | null }, ctx: ApiContext) => {
        let query = ctx.db.selectFrom("node_service_totals").selectAll().where("nodeId", "=", n.id);
        if (args.kind != null) {
          const kind = KINDS.indexOf(args.kind);
          if (kind < 0) throw badInput(`kind must be one of ${KINDS.join(", ")}`);
          query = query.where("kind", "=", kind);
        }
        return paginate(query, BY_SERVICE_ORDERING, args);
      },
      charges: (n: Row<"nodes">, args: PageArgs & { epoch?: number | null }, ctx: ApiContext) => {
        let query = ctx.db.selectFrom("service_charges").selectAll().where("nodeId", "=", n.id);
        if (args.epoch != null) query = query.where("epoch", "=", parseId(args.epoch, "epoch"));
        return paginate(query, NODE_CHARGE_ORDERING, args);
      },
    },
    ServiceCharge: { kind: kindName },
    NodeServiceTotal: { kind: kindName },
  },
};
