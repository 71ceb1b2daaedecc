import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";

/**
 * The inputs of service credits (docs/spec.md §4, docs/staking.md "Service credits"): every stake change
 * with the new stake, every credit rate and every tier schedule with the block time it applies
 * from. Credits per month are integrals over these histories, computed when asked
 * (`api/credits.ts`), so a month in progress is always up to the latest indexed block.
 */

/** An account's stake from this event on (`newStake` of Staked, Unstaked, RewardCompounded). */
export const creditStakes = defineTable({
  name: "credit_stakes",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    account: col.text(),
    stake: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    // An account's history in order: the only way credits are read.
    credit_stakes_account: ["account", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/** `ServiceCredits.creditsPerFlkMonth` from this block on (18 decimals). */
export const creditRates = defineTable({
  name: "credit_rates",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    rate: col.wei(),
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** `ServiceCredits.tierThresholds` from this block on (wei, ascending; decimal strings). */
export const creditTiers = defineTable({
  name: "credit_tiers",
  columns: {
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    thresholds: col.json<string[]>(),
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

function at(ctx: HandlerContext) {
  return { block_number: ctx.block.number, log_index: ctx.log.logIndex, timestamp: ctx.block.timestamp };
}

const recordStake = (a: { account: string; newStake: bigint }, ctx: HandlerContext) =>
  ctx.store.set(creditStakes, { account: a.account, stake: a.newStake, ...at(ctx) });

/** Stake and parameter histories for service credits and tiers. */
export const creditsModule: IndexerModule = {
  name: "credits",
  events: {
    Staking: ["Staked", "Unstaked", "RewardCompounded"],
    ServiceCredits: ["CreditRateSet", "TierThresholdsSet"],
  },
  tables: [creditStakes, creditRates, creditTiers],
  handlers: {
    "Staking:Staked": recordStake,
    "Staking:Unstaked": recordStake,
    "Staking:RewardCompounded": recordStake,
    "ServiceCredits:CreditRateSet": (a, ctx) => ctx.store.set(creditRates, { rate: a.newRate, ...at(ctx) }),
    "ServiceCredits:TierThresholdsSet": (a, ctx) => ctx.store.set(creditTiers, { thresholds: [...a.thresholds].map(String), ...at(ctx) }),
  },
  migrations: {
    "152-credits": { up: (db) => createTables(db, [creditStakes, creditRates, creditTiers]) },
  },
};
