import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";

/**
 * The inputs of service credits (SPEC §4, docs/staking.md "Service credits"): every stake change
 * with the new stake, every credit rate and every tier schedule with the block time it applies
 * from. Credits per month are integrals over these histories, computed when asked
 * (`api/credits.ts`), so a month in progress is always up to the latest indexed block.
 */

/** An account's stake from this event on (`newStake` of Staked, Unstaked, RewardCompounded). */
export const creditStakes = defineTable<{ account: string; block_number: number; log_index: number; timestamp: number; stake: bigint }>({
  name: "credit_stakes",
  columns: { account: "text", block_number: "int8", log_index: "int4", timestamp: "int8", stake: "numeric" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** `ServiceCredits.creditsPerFlkMonth` from this block on (18 decimals). */
export const creditRates = defineTable<{ block_number: number; log_index: number; timestamp: number; rate: bigint }>({
  name: "credit_rates",
  columns: { block_number: "int8", log_index: "int4", timestamp: "int8", rate: "numeric" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** `ServiceCredits.tierThresholds` from this block on (wei, ascending; decimal strings). */
export const creditTiers = defineTable<{ block_number: number; log_index: number; timestamp: number; thresholds: string[] }>({
  name: "credit_tiers",
  columns: { block_number: "int8", log_index: "int4", timestamp: "int8", thresholds: "jsonb" },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

function at(ctx: HandlerContext) {
  return { block_number: ctx.block.number, log_index: ctx.log.logIndex, timestamp: ctx.block.timestamp };
}

const recordStake = (a: { account: string; newStake: bigint }, ctx: HandlerContext) => ctx.store.set(creditStakes, { account: a.account, stake: a.newStake, ...at(ctx) });

/** Stake and parameter histories for service credits and tiers. */
export const creditsModule: IndexerModule = {
  name: "credits",
  events: {
    Staking: [
      "Staked(address indexed account, uint256 amount, uint256 newStake)",
      "Unstaked(address indexed account, uint256 indexed requestId, uint256 amount, uint64 releaseTime, uint256 newStake)",
      "RewardCompounded(address indexed account, uint256 amount, uint256 newStake)",
    ],
    ServiceCredits: ["CreditRateSet(uint256 previousRate, uint256 newRate)", "TierThresholdsSet(uint256[] thresholds)"],
  },
  tables: [creditStakes, creditRates, creditTiers],
  handlers: {
    "Staking:Staked": (a, ctx) => recordStake(a as never, ctx),
    "Staking:Unstaked": (a, ctx) => recordStake(a as never, ctx),
    "Staking:RewardCompounded": (a, ctx) => recordStake(a as never, ctx),
    "ServiceCredits:CreditRateSet": (a, ctx) => ctx.store.set(creditRates, { rate: a.newRate, ...at(ctx) }),
    "ServiceCredits:TierThresholdsSet": (a, ctx) => ctx.store.set(creditTiers, { thresholds: [...a.thresholds].map(String), ...at(ctx) }),
  },
  migrations: {
    "152-credits": {
      async up(db: Kysely<any>) {
        const history = (name: string) =>
          db.schema
            .createTable(name)
            .addColumn("block_number", "int8", (c) => c.notNull())
            .addColumn("log_index", "int4", (c) => c.notNull())
            .addColumn("timestamp", "int8", (c) => c.notNull())
            .addPrimaryKeyConstraint(`${name}_pk`, ["block_number", "log_index"]);
        await history("credit_stakes").addColumn("account", "text", (c) => c.notNull()).addColumn("stake", WEI, (c) => c.notNull()).execute();
        // An account's history in order: the only way credits are read.
        await db.schema.createIndex("credit_stakes_account").on("credit_stakes").columns(["account", "block_number", "log_index"]).execute();
        await history("credit_rates").addColumn("rate", WEI, (c) => c.notNull()).execute();
        await history("credit_tiers").addColumn("thresholds", "jsonb", (c) => c.notNull()).execute();
      },
    },
  },
};
