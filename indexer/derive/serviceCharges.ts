import type { HandlerContext, IndexerModule, PrefetchKey } from "../module";
import type { EventArgsOf } from "../abi";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/**
 * Invocations and revenue per service (docs/functions.md, "Views"; docs/payments.md, "Charges per
 * service"): each `EpochReported` carries the report's `charges`, the USDC each node was paid per
 * (kind, service) — kind 0 content (service zero), 1 an edge function (service its content root,
 * zero for functions folded when the report was full), 2 an agent (service bytes32(agentId)). One row per charge
 * and epoch, and running totals per service and per (node, service). A function's figures are the
 * sum over its versions' roots (`function_versions`), resolved when asked, so a charge counts for
 * whichever function published its root, whenever it did.
 */

/** One charge of one epoch's report: immutable, so a row per event (rolled back by block). */
export const serviceCharges = defineTable({
  name: "service_charges",
  columns: {
    epoch: col.int8(),
    node_id: col.int8(),
    kind: col.int4(),
    /** bytes32, 0x + 64 lower-case hex. */
    service: col.text(),
    /** Delivery acks (content) or invocations (function). */
    requests: col.wei(),
    cpu_ms: col.wei(),
    /** USDC units (6 decimals) paid. */
    amount: col.wei(),
    block_number: col.int8(),
  },
  primaryKey: ["epoch", "node_id", "kind", "service"],
  indexes: {
    // A function's usage: its roots' rows by epoch, then node.
    service_charges_service: ["kind", "service", "epoch", "node_id"],
    // A node's charges by epoch.
    service_charges_node: ["node_id", "epoch", "kind", "service"],
  },
  rollback: "byBlock",
});

/** Totals per (kind, service) over every reported epoch. */
export const serviceTotals = defineTable({
  name: "service_totals",
  columns: {
    kind: col.int4(),
    service: col.text(),
    requests: col.wei(),
    cpu_ms: col.wei(),
    amount: col.wei(),
    /** Reported epochs with a charge of this service. */
    epochs: col.int8(),
    last_epoch: col.int8(),
  },
  primaryKey: ["kind", "service"],
  rollback: "journal",
});

/** Totals per (node, kind, service) over every reported epoch: a node's revenue by service. */
export const nodeServiceTotals = defineTable({
  name: "node_service_totals",
  columns: {
    node_id: col.int8(),
    kind: col.int4(),
    service: col.text(),
    requests: col.wei(),
    cpu_ms: col.wei(),
    amount: col.wei(),
    last_epoch: col.int8(),
  },
  primaryKey: ["node_id", "kind", "service"],
  indexes: {
    // A function's totals by node.
    node_service_totals_service: ["kind", "service", "node_id"],
  },
  rollback: "journal",
});

/** The report's charges as the event decodes them. */
type Charges = EventArgsOf<"NodeRegistry:EpochReported">["report"]["charges"];

const keyOf = (c: Charges[number]) => ({ node_id: Number(c.nodeId), kind: Number(c.kind), service: c.service.toLowerCase() });

async function onReported(a: EventArgsOf<"NodeRegistry:EpochReported">, ctx: HandlerContext) {
  const epoch = Number(a.epoch);
  // A report holds each (node, kind, service) once (the registry checks the order), so each
  // service total is read once per node it appears on, in report order.
  for (const c of a.report.charges) {
    const key = keyOf(c);
    const figures = { requests: c.requests as bigint, cpu_ms: c.cpuMs as bigint, amount: c.amount as bigint };
    await ctx.store.set(serviceCharges, { epoch, ...key, ...figures, block_number: ctx.block.number });
    const node = await ctx.store.get(nodeServiceTotals, key);
    await ctx.store.set(nodeServiceTotals, {
      ...key,
      requests: (node?.requests ?? 0n) + figures.requests,
      cpu_ms: (node?.cpu_ms ?? 0n) + figures.cpu_ms,
      amount: (node?.amount ?? 0n) + figures.amount,
      last_epoch: epoch,
    });
    const total = await ctx.store.get(serviceTotals, { kind: key.kind, service: key.service });
    await ctx.store.set(serviceTotals, {
      kind: key.kind,
      service: key.service,
      requests: (total?.requests ?? 0n) + figures.requests,
      cpu_ms: (total?.cpu_ms ?? 0n) + figures.cpu_ms,
      amount: (total?.amount ?? 0n) + figures.amount,
      // Several nodes in one epoch count the epoch once.
      epochs: (total?.epochs ?? 0) + (total?.last_epoch === epoch ? 0 : 1),
      last_epoch: epoch,
    });
  }
}

/** Per-epoch charges and running totals per service and per node. */
export const serviceChargesModule: IndexerModule = {
  name: "serviceCharges",
  events: { NodeRegistry: ["EpochReported"] },
  tables: [serviceCharges, serviceTotals, nodeServiceTotals],
  handlers: { "NodeRegistry:EpochReported": onReported },
  prefetch: {
    "NodeRegistry:EpochReported": (a) =>
      // A plain array: an ethers Result's flatMap builds its output through Result's constructor, which loses the keys' objects.
      Array.from(a.report.charges).flatMap((c): PrefetchKey[] => {
        const key = keyOf(c);
        return [
          { table: nodeServiceTotals, key },
          { table: serviceTotals, key: { kind: key.kind, service: key.service } },
        ];
      }),
  },
  migrations: {
    "157-service-charges": {
      async up(db: RawDb) {
        await createTables(db, [serviceCharges, serviceTotals, nodeServiceTotals]);
      },
    },
  },
};
