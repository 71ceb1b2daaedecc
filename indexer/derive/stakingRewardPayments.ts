import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";

/**
 * Every staking reward paid out, by claim or by compound: an account's reward history. The staking
 * module keeps only the sums (`rewards_claimed`, `rewards_compounded`).
 */
export const rewardPayments = defineTable({
  name: "staking_reward_payments",
  columns: {
    account: col.text(),
    /** "claimed" (paid to the wallet) or "compounded" (added to the stake). */
    kind: col.text(),
    amount: col.wei(),
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  indexes: {
    // An account's history, in order paid.
    staking_reward_payments_account: ["account", "block_number", "log_index"],
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

function record(ctx: HandlerContext, account: string, kind: "claimed" | "compounded", amount: bigint) {
  return ctx.store.set(rewardPayments, {
    account,
    kind,
    amount,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
}

/** Staking rewards claimed and compounded, one row per payment. */
export const stakingRewardPaymentsModule: IndexerModule = {
  name: "staking-reward-payments",
  events: {
    Staking: ["RewardClaimed", "RewardCompounded"],
  },
  tables: [rewardPayments],
  handlers: {
    "Staking:RewardClaimed": (a, ctx) => record(ctx, a.account, "claimed", a.amount),
    "Staking:RewardCompounded": (a, ctx) => record(ctx, a.account, "compounded", a.amount),
  },
  migrations: {
    "155-staking-reward-payments": {
      async up(db: RawDb) {
        await createTables(db, [rewardPayments]);
      },
    },
  },
};
