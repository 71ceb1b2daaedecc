import { sql } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import type { EventArgsOf } from "../abi";
import { addColumns, col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/**
 * The agent marketplace (docs/agents.md, "Views"): AgentMarketplace's agents with their latest
 * version, lease, listing and revenue; every version; the listing's price history (each price with
 * the epoch it applies from, so the price of any epoch is the latest set that applies by then);
 * the split's history; each settled epoch and each agent's revenue in it; owners' balances and
 * withdrawals; each agent's hosting lease (balance and end at its last checkpoint, funded,
 * withdrawn, rent); and the marketplace's totals, among them the protocol fees it deposited into
 * BuybackBurner (its contribution to burns) and the rent it sent to the node rewards pool. Everything follows from the contract's events; the
 * constructor emits `SettlementSet`, `SplitSet` and `HostingPricesSet`, so defaults are indexed too.
 */

/** An agent, its latest version, lease and pause state, and its revenue so far (prices: {@link agentPrices}). */
export const agents = defineTable({
  name: "agents",
  columns: {
    id: col.int8(),
    name: col.text(),
    owner: col.text(),
    /** Latest version number; 0 only between the events of `register`. */
    version: col.int4(),
    config_root: col.text(),
    bundle_root: col.text(),
    /** Memory the lease reserves on the host node. */
    memory_mib: col.int4(),
    paused: col.bool(),
    /** Call revenue settled, and its three shares. */
    revenue: col.wei(),
    to_nodes: col.wei(),
    to_owner: col.wei(),
    to_protocol: col.wei(),
    registered_block: col.int8(),
    registered_at: col.int8(),
    /** When the latest version was published (unix seconds). */
    updated_at: col.int8(),
    last_block: col.int8(),
    /** Lease balance at its last checkpoint (`LeaseUpdated`), USDC units rounded down. */
    lease_balance: col.wei().added("191-agent-leases", sql`0`),
    /** Until when the lease is funded (unix seconds; 0 paused; null: free, never ends). */
    lease_ends_at: col
      .int8()
      .orNull()
      .added("191-agent-leases", sql`0`),
    /** When the lease was last checkpointed (unix seconds). */
    lease_updated_at: col.int8().added("191-agent-leases", sql`0`),
    lease_funded: col.wei().added("191-agent-leases", sql`0`),
    lease_withdrawn: col.wei().added("191-agent-leases", sql`0`),
    /** Rent charged, the sum of each checkpoint's rounded-down figure (exact in total: agent_market.rent_collected). */
    lease_rent: col.wei().added("191-agent-leases", sql`0`),
  },
  primaryKey: ["id"],
  indexes: {
    // `agents(where: {owner})` in id order.
    agents_owner: ["owner", "id"],
  },
  rollback: "journal",
});

/** One published version (event `AgentVersionPublished`). */
export const agentVersions = defineTable({
  name: "agent_versions",
  columns: {
    agent_id: col.int8(),
    version: col.int4(),
    config_root: col.text(),
    bundle_root: col.text(),
    published_at: col.int8(),
    block_number: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["agent_id", "version"],
  rollback: "byBlock",
});

/** Each `ListingPriceSet`: the price of epoch `e` is the latest row with `from_epoch <= e`. */
export const agentPrices = defineTable({
  name: "agent_prices",
  columns: {
    agent_id: col.int8(),
    block_number: col.int8(),
    log_index: col.int4(),
    price: col.wei(),
    token: col.text(),
    token_price: col.wei(),
    from_epoch: col.int8(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["agent_id", "block_number", "log_index"],
  rollback: "byBlock",
});

/** Each `SplitSet`: the latest row is the split the next settlement uses. */
export const agentSplits = defineTable({
  name: "agent_splits",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    node_bps: col.int4(),
    owner_bps: col.int4(),
    protocol_bps: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** One settled epoch (`EpochSettled`): its totals; `to_protocol` went to the buyback. */
export const agentSettlements = defineTable({
  name: "agent_settlements",
  columns: {
    epoch: col.int8(),
    entries: col.int4(),
    amount: col.wei(),
    to_nodes: col.wei(),
    to_owners: col.wei(),
    to_protocol: col.wei(),
    block_number: col.int8(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["epoch"],
  rollback: "byBlock",
});

/** An agent's call revenue in one epoch: the sum of its `AgentRevenue` entries (one per serving node). */
export const agentEpochRevenue = defineTable({
  name: "agent_epoch_revenue",
  columns: {
    agent_id: col.int8(),
    epoch: col.int8(),
    /** Who was credited (the agent's owner when the epoch settled). */
    owner: col.text(),
    entries: col.int4(),
    amount: col.wei(),
    to_nodes: col.wei(),
    to_owner: col.wei(),
    to_protocol: col.wei(),
    block_number: col.int8(),
  },
  primaryKey: ["agent_id", "epoch"],
  indexes: {
    // A settlement's agents, by agent.
    agent_epoch_revenue_epoch: ["epoch", "agent_id"],
  },
  rollback: "byBlock",
});

/** An owner's revenue: credited by settlements, withdrawn, and the balance it may withdraw. */
export const agentOwners = defineTable({
  name: "agent_owners",
  columns: {
    owner: col.text(),
    credited: col.wei(),
    withdrawn: col.wei(),
    balance: col.wei(),
    withdrawals: col.int4(),
    last_block: col.int8(),
  },
  primaryKey: ["owner"],
  rollback: "journal",
});

/** Each `Withdrawn`. */
export const agentWithdrawals = defineTable({
  name: "agent_withdrawals",
  columns: {
    owner: col.text(),
    amount: col.wei(),
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    agent_withdrawals_owner: ["owner", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/** The marketplace (one row, id 1): its parameters now and its totals. */
export const agentMarket = defineTable({
  name: "agent_market",
  columns: {
    id: col.int4(),
    escrow: col.text(),
    buyback: col.text(),
    node_bps: col.int4(),
    owner_bps: col.int4(),
    protocol_bps: col.int4(),
    price_per_gib_hour: col.wei(),
    price_per_1k_tokens: col.wei(),
    agent_count: col.int8(),
    revenue: col.wei(),
    to_nodes: col.wei(),
    to_owners: col.wei(),
    /** Protocol fees deposited into BuybackBurner: the marketplace's contribution to burns. */
    to_protocol: col.wei(),
    withdrawn: col.wei(),
    epochs_settled: col.int4(),
    /** Lease rent sent to the node rewards pool (`RentCollected`). */
    rent_collected: col.wei().added("191-agent-leases", sql`0`),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

const MARKET = { id: 1 };

async function market(ctx: HandlerContext) {
  return (
    (await ctx.store.get(agentMarket, MARKET)) ?? {
      id: 1,
      escrow: "",
      buyback: "",
      node_bps: 0,
      owner_bps: 0,
      protocol_bps: 0,
      price_per_gib_hour: 0n,
      price_per_1k_tokens: 0n,
      agent_count: 0,
      revenue: 0n,
      to_nodes: 0n,
      to_owners: 0n,
      to_protocol: 0n,
      withdrawn: 0n,
      epochs_settled: 0,
      rent_collected: 0n,
    }
  );
}

async function agent(ctx: HandlerContext, id: bigint, event: string) {
  const row = await ctx.store.get(agents, { id: Number(id) });
  if (!row) throw new Error(`${event} for agent ${id}, which was never registered`);
  return row;
}

async function owner(ctx: HandlerContext, address: string) {
  return (await ctx.store.get(agentOwners, { owner: address })) ?? { owner: address, credited: 0n, withdrawn: 0n, balance: 0n, withdrawals: 0, last_block: 0 };
}

async function onRegistered(a: EventArgsOf<"AgentMarketplace:AgentRegistered">, ctx: HandlerContext) {
  await ctx.store.set(agents, {
    id: Number(a.id),
    name: a.name,
    owner: a.owner,
    version: 0,
    config_root: "",
    bundle_root: "",
    memory_mib: 0,
    paused: false,
    revenue: 0n,
    to_nodes: 0n,
    to_owner: 0n,
    to_protocol: 0n,
    registered_block: ctx.block.number,
    registered_at: ctx.block.timestamp,
    updated_at: ctx.block.timestamp,
    last_block: ctx.block.number,
    lease_balance: 0n,
    lease_ends_at: ctx.block.timestamp,
    lease_updated_at: ctx.block.timestamp,
    lease_funded: 0n,
    lease_withdrawn: 0n,
    lease_rent: 0n,
  });
  const m = await market(ctx);
  await ctx.store.set(agentMarket, { ...m, agent_count: m.agent_count + 1 });
}

async function onVersionPublished(a: EventArgsOf<"AgentMarketplace:AgentVersionPublished">, ctx: HandlerContext) {
  const row = await agent(ctx, a.id, "AgentVersionPublished");
  const version = Number(a.version);
  await ctx.store.set(agents, {
    ...row,
    version,
    config_root: a.configRoot,
    bundle_root: a.bundleRoot,
    updated_at: ctx.block.timestamp,
    last_block: ctx.block.number,
  });
  await ctx.store.set(agentVersions, {
    agent_id: row.id,
    version,
    config_root: a.configRoot,
    bundle_root: a.bundleRoot,
    published_at: ctx.block.timestamp,
    block_number: ctx.block.number,
    tx_hash: ctx.log.transactionHash,
  });
}

async function onPriceSet(a: EventArgsOf<"AgentMarketplace:ListingPriceSet">, ctx: HandlerContext) {
  const row = await agent(ctx, a.id, "ListingPriceSet");
  // No token price: the zero address, stored as "" like the other absent values.
  const token = a.tokenPrice === 0n ? "" : a.token;
  await ctx.store.set(agents, { ...row, last_block: ctx.block.number });
  await ctx.store.set(agentPrices, {
    agent_id: row.id,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    price: a.price,
    token,
    token_price: a.tokenPrice,
    from_epoch: Number(a.fromEpoch),
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

async function onRevenue(a: EventArgsOf<"AgentMarketplace:AgentRevenue">, ctx: HandlerContext) {
  const row = await agent(ctx, a.id, "AgentRevenue");
  await ctx.store.set(agents, {
    ...row,
    revenue: row.revenue + a.amount,
    to_nodes: row.to_nodes + a.toNodes,
    to_owner: row.to_owner + a.toOwner,
    to_protocol: row.to_protocol + a.toProtocol,
    last_block: ctx.block.number,
  });
  const key = { agent_id: row.id, epoch: Number(a.epoch) };
  const earlier = await ctx.store.get(agentEpochRevenue, key);
  await ctx.store.set(agentEpochRevenue, {
    ...key,
    owner: a.owner,
    entries: (earlier?.entries ?? 0) + 1,
    amount: (earlier?.amount ?? 0n) + a.amount,
    to_nodes: (earlier?.to_nodes ?? 0n) + a.toNodes,
    to_owner: (earlier?.to_owner ?? 0n) + a.toOwner,
    to_protocol: (earlier?.to_protocol ?? 0n) + a.toProtocol,
    block_number: ctx.block.number,
  });
  const o = await owner(ctx, a.owner);
  await ctx.store.set(agentOwners, { ...o, credited: o.credited + a.toOwner, balance: o.balance + a.toOwner, last_block: ctx.block.number });
}

async function onEpochSettled(a: EventArgsOf<"AgentMarketplace:EpochSettled">, ctx: HandlerContext) {
  await ctx.store.set(agentSettlements, {
    epoch: Number(a.epoch),
    entries: Number(a.entries),
    amount: a.amount,
    to_nodes: a.toNodes,
    to_owners: a.toOwners,
    to_protocol: a.toProtocol,
    block_number: ctx.block.number,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
  const m = await market(ctx);
  await ctx.store.set(agentMarket, {
    ...m,
    revenue: m.revenue + a.amount,
    to_nodes: m.to_nodes + a.toNodes,
    to_owners: m.to_owners + a.toOwners,
    to_protocol: m.to_protocol + a.toProtocol,
    epochs_settled: m.epochs_settled + 1,
  });
}

async function onWithdrawn(a: EventArgsOf<"AgentMarketplace:Withdrawn">, ctx: HandlerContext) {
  const o = await owner(ctx, a.owner);
  await ctx.store.set(agentOwners, {
    ...o,
    withdrawn: o.withdrawn + a.amount,
    balance: o.balance - a.amount,
    withdrawals: o.withdrawals + 1,
    last_block: ctx.block.number,
  });
  await ctx.store.set(agentWithdrawals, {
    owner: a.owner,
    amount: a.amount,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
  const m = await market(ctx);
  await ctx.store.set(agentMarket, { ...m, withdrawn: m.withdrawn + a.amount });
}

async function onSplitSet(a: EventArgsOf<"AgentMarketplace:SplitSet">, ctx: HandlerContext) {
  const split = { node_bps: Number(a.nodeBps), owner_bps: Number(a.ownerBps), protocol_bps: Number(a.protocolBps) };
  await ctx.store.set(agentMarket, { ...(await market(ctx)), ...split });
  await ctx.store.set(agentSplits, {
    ...split,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

/** The contract's "never ends" (2^64-1, a zero hosting price) does not fit int8: stored as null. */
const NEVER = 2n ** 64n - 1n;

async function onLeaseUpdated(a: EventArgsOf<"AgentMarketplace:LeaseUpdated">, ctx: HandlerContext) {
  const row = await agent(ctx, a.id, "LeaseUpdated");
  await ctx.store.set(agents, {
    ...row,
    lease_balance: a.balance,
    lease_ends_at: a.endsAt === NEVER ? null : Number(a.endsAt),
    lease_updated_at: ctx.block.timestamp,
    lease_rent: row.lease_rent + a.rent,
    last_block: ctx.block.number,
  });
}

const byAgent = (a: { id: bigint }) => [{ table: agents, key: { id: Number(a.id) } }];

/** Agents, versions, prices, splits, settlements, owners' balances and withdrawals. */
export const agentsModule: IndexerModule = {
  name: "agents",
  events: {
    AgentMarketplace: [
      "AgentRegistered",
      "AgentVersionPublished",
      "AgentOwnerChanged",
      "LeaseSet",
      "ListingPriceSet",
      "ListingPausedSet",
      "HostingPricesSet",
      "SplitSet",
      "SettlementSet",
      "AgentRevenue",
      "EpochSettled",
      "Withdrawn",
      "LeaseFunded",
      "LeaseUpdated",
      "LeaseWithdrawn",
      "RentCollected",
    ],
  },
  tables: [agents, agentVersions, agentPrices, agentSplits, agentSettlements, agentEpochRevenue, agentOwners, agentWithdrawals, agentMarket],
  handlers: {
    "AgentMarketplace:AgentRegistered": onRegistered,
    "AgentMarketplace:AgentVersionPublished": onVersionPublished,
    "AgentMarketplace:AgentOwnerChanged": async (a, ctx) =>
      ctx.store.set(agents, { ...(await agent(ctx, a.id, "AgentOwnerChanged")), owner: a.newOwner, last_block: ctx.block.number }),
    "AgentMarketplace:LeaseSet": async (a, ctx) =>
      ctx.store.set(agents, { ...(await agent(ctx, a.id, "LeaseSet")), memory_mib: Number(a.memoryMiB), last_block: ctx.block.number }),
    "AgentMarketplace:ListingPriceSet": onPriceSet,
    "AgentMarketplace:ListingPausedSet": async (a, ctx) =>
      ctx.store.set(agents, { ...(await agent(ctx, a.id, "ListingPausedSet")), paused: a.paused, last_block: ctx.block.number }),
    "AgentMarketplace:HostingPricesSet": async (a, ctx) =>
      ctx.store.set(agentMarket, { ...(await market(ctx)), price_per_gib_hour: a.pricePerGiBHour, price_per_1k_tokens: a.pricePer1kTokens }),
    "AgentMarketplace:SplitSet": onSplitSet,
    "AgentMarketplace:SettlementSet": async (a, ctx) => ctx.store.set(agentMarket, { ...(await market(ctx)), escrow: a.escrow, buyback: a.buyback }),
    "AgentMarketplace:AgentRevenue": onRevenue,
    "AgentMarketplace:EpochSettled": onEpochSettled,
    "AgentMarketplace:Withdrawn": onWithdrawn,
    "AgentMarketplace:LeaseFunded": async (a, ctx) => {
      const row = await agent(ctx, a.id, "LeaseFunded");
      await ctx.store.set(agents, { ...row, lease_funded: row.lease_funded + a.amount, last_block: ctx.block.number });
    },
    "AgentMarketplace:LeaseUpdated": onLeaseUpdated,
    "AgentMarketplace:LeaseWithdrawn": async (a, ctx) => {
      const row = await agent(ctx, a.id, "LeaseWithdrawn");
      await ctx.store.set(agents, { ...row, lease_withdrawn: row.lease_withdrawn + a.amount, last_block: ctx.block.number });
    },
    "AgentMarketplace:RentCollected": async (a, ctx) => {
      const m = await market(ctx);
      await ctx.store.set(agentMarket, { ...m, rent_collected: m.rent_collected + a.amount });
    },
  },
  prefetch: {
    "AgentMarketplace:AgentVersionPublished": byAgent,
    "AgentMarketplace:AgentOwnerChanged": byAgent,
    "AgentMarketplace:LeaseSet": byAgent,
    "AgentMarketplace:ListingPriceSet": byAgent,
    "AgentMarketplace:ListingPausedSet": byAgent,
    "AgentMarketplace:AgentRevenue": byAgent,
    "AgentMarketplace:LeaseFunded": byAgent,
    "AgentMarketplace:LeaseUpdated": byAgent,
    "AgentMarketplace:LeaseWithdrawn": byAgent,
  },
  migrations: {
    "180-agents": {
      async up(db: RawDb) {
        await createTables(db, [
          agents,
          agentVersions,
          agentPrices,
          agentSplits,
          agentSettlements,
          agentEpochRevenue,
          agentOwners,
          agentWithdrawals,
          agentMarket,
        ]);
      },
    },
    "191-agent-leases": {
      async up(db: RawDb) {
        await addColumns(db, "191-agent-leases", [agents, agentMarket]);
      },
    },
  },
};
