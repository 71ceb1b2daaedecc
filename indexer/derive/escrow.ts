import type { HandlerContext, IndexerModule } from "../module";
import { sql } from "kysely";
import { addColumns, col, createTables, defineTable } from "../store/tables";
import type { EventArgsOf } from "../abi";
import { DEFAULT_SPENDING_LIMIT, withSpendingLimit } from "../../protocol/escrow";
import type { RawDb } from "../store/database";

/**
 * ServiceEscrow (docs/payments.md): each client's prepaid USDC, announced withdrawal and spending
 * limit per epoch, every debit of an epoch's report and how each epoch's debits were split. All of
 * it follows from the escrow's events alone: the limit fields replay `setSpendingLimit` with
 * `protocol/escrow.ts`, whose `spendingLimitAt` the API uses to say which limit is in force.
 */

/** A client's account, as `ServiceEscrow.accounts(client)` holds it, plus its totals. */
export const escrowAccounts = defineTable({
  name: "escrow_accounts",
  columns: {
    client: col.text(),
    balance: col.wei(),
    /** Announced withdrawal not yet paid (0: none). */
    withdrawal_amount: col.wei(),
    /** When the announced withdrawal may be made (unix seconds; 0: none announced). */
    withdrawable_at: col.int8(),
    /** `Account.limit`: the limit until `next_limit_from`. */
    spending_limit: col.wei(),
    /** `Account.nextLimit`: the limit from `next_limit_from` on. */
    next_spending_limit: col.wei(),
    /** `Account.nextLimitFrom` (0: the client never set a limit; the default applies). */
    next_limit_from: col.int8(),
    deposited: col.wei(),
    withdrawn: col.wei(),
    debited: col.wei(),
    last_block: col.int8(),
  },
  primaryKey: ["client"],
  indexes: {
    // `escrowAccounts` ordered by balance (keyset: balance then client).
    escrow_accounts_balance: ["balance", "client"],
  },
  rollback: "journal",
});

/** One client's debit by one epoch's report (event `Debited`), with the balance after it. */
export const escrowDebits = defineTable({
  name: "escrow_debits",
  columns: {
    epoch: col.int8(),
    client: col.text(),
    amount: col.wei(),
    balance: col.wei(),
    block_number: col.int8(),
    log_index: col.int4(),
    tx_hash: col.text(),
  },
  primaryKey: ["block_number", "log_index"],
  indexes: {
    // A client's debits by epoch, and an epoch's debits by client: the two ways they are listed.
    escrow_debits_client: ["client", "epoch", "block_number", "log_index"],
    escrow_debits_epoch: ["epoch", "client", "block_number", "log_index"],
  },
  rollback: "byBlock",
});

/** An epoch's debits in all and their split (event `EpochDebited`; absent when nothing was debited). */
export const escrowEpochs = defineTable({
  name: "escrow_epochs",
  columns: {
    epoch: col.int8(),
    total: col.wei(),
    to_nodes: col.wei(),
    /** Sent to the buyback directly (non-agent revenue's share). */
    to_buyback: col.wei(),
    /** Pulled by the agent marketplace: owner shares and protocol fees (docs/payments.md "Agent revenue"). */
    to_marketplace: col.wei().added("190-escrow-marketplace", sql`0`),
    block_number: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["epoch"],
  rollback: "byBlock",
});

/** The client's row, or the state of an account the escrow has never touched. */
async function account(ctx: HandlerContext, client: string) {
  const row = await ctx.store.get(escrowAccounts, { client });
  return {
    ...(row ?? {
      client,
      balance: 0n,
      withdrawal_amount: 0n,
      withdrawable_at: 0,
      spending_limit: DEFAULT_SPENDING_LIMIT,
      next_spending_limit: 0n,
      next_limit_from: 0,
      deposited: 0n,
      withdrawn: 0n,
      debited: 0n,
    }),
    last_block: ctx.block.number,
  };
}

async function onDeposited(a: EventArgsOf<"ServiceEscrow:Deposited">, ctx: HandlerContext) {
  const row = await account(ctx, a.client);
  await ctx.store.set(escrowAccounts, { ...row, balance: a.balance, deposited: row.deposited + (a.amount as bigint) });
}

async function onWithdrawalRequested(a: EventArgsOf<"ServiceEscrow:WithdrawalRequested">, ctx: HandlerContext) {
  await ctx.store.set(escrowAccounts, { ...(await account(ctx, a.client)), withdrawal_amount: a.amount, withdrawable_at: Number(a.withdrawableAt) });
}

/** `withdraw` keeps what the reserve held back announced, unless the balance is empty. */
async function onWithdrawn(a: EventArgsOf<"ServiceEscrow:Withdrawn">, ctx: HandlerContext) {
  const row = await account(ctx, a.client);
  const amount = a.amount as bigint;
  const rest = a.balance === 0n ? 0n : row.withdrawal_amount - amount;
  await ctx.store.set(escrowAccounts, {
    ...row,
    balance: a.balance,
    withdrawn: row.withdrawn + amount,
    withdrawal_amount: rest,
    withdrawable_at: rest === 0n ? 0 : row.withdrawable_at,
  });
}

async function onDebited(a: EventArgsOf<"ServiceEscrow:Debited">, ctx: HandlerContext) {
  const row = await account(ctx, a.client);
  await ctx.store.set(escrowAccounts, { ...row, balance: a.balance, debited: row.debited + (a.amount as bigint) });
  await ctx.store.set(escrowDebits, {
    epoch: Number(a.epoch),
    client: a.client,
    amount: a.amount,
    balance: a.balance,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    tx_hash: ctx.log.transactionHash,
  });
}

/** The event names the epoch the limit applies from; it was set in the epoch before. */
async function onSpendingLimitSet(a: EventArgsOf<"ServiceEscrow:SpendingLimitSet">, ctx: HandlerContext) {
  const row = await account(ctx, a.client);
  const from = Number(a.fromEpoch);
  const next = withSpendingLimit(
    { limit: row.spending_limit, nextLimit: row.next_spending_limit, nextLimitFrom: row.next_limit_from },
    a.limit as bigint,
    from - 1,
  );
  await ctx.store.set(escrowAccounts, { ...row, spending_limit: next.limit, next_spending_limit: next.nextLimit, next_limit_from: next.nextLimitFrom });
}

/** Client balances, withdrawals, spending limits, debits per epoch and client, and each epoch's split. */
export const escrowModule: IndexerModule = {
  name: "escrow",
  events: {
    ServiceEscrow: ["Deposited", "WithdrawalRequested", "Withdrawn", "Debited", "EpochDebited", "SpendingLimitSet"],
  },
  tables: [escrowAccounts, escrowDebits, escrowEpochs],
  handlers: {
    "ServiceEscrow:Deposited": onDeposited,
    "ServiceEscrow:WithdrawalRequested": onWithdrawalRequested,
    "ServiceEscrow:Withdrawn": onWithdrawn,
    "ServiceEscrow:Debited": onDebited,
    "ServiceEscrow:EpochDebited": (a, ctx) =>
      ctx.store.set(escrowEpochs, {
        epoch: Number(a.epoch),
        total: a.total,
        to_nodes: a.toNodes,
        to_buyback: a.toBuyback,
        to_marketplace: a.toMarketplace,
        block_number: ctx.block.number,
        tx_hash: ctx.log.transactionHash,
      }),
    "ServiceEscrow:SpendingLimitSet": onSpendingLimitSet,
  },
  prefetch: Object.fromEntries(
    ["Deposited", "WithdrawalRequested", "Withdrawn", "Debited", "SpendingLimitSet"].map((e) => [
      `ServiceEscrow:${e}`,
      (a: { client: string }) => [{ table: escrowAccounts, key: { client: a.client } }],
    ]),
  ),
  migrations: {
    "154-escrow": {
      async up(db: RawDb) {
        await createTables(db, [escrowAccounts, escrowDebits, escrowEpochs]);
      },
    },
    "190-escrow-marketplace": {
      async up(db: RawDb) {
        await addColumns(db, "190-escrow-marketplace", [escrowEpochs]);
      },
    },
  },
};
