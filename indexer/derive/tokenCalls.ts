import type { HandlerContext, IndexerModule } from "../module";
import type { EventArgsOf } from "../abi";
import { col, createTables, defineTable } from "../store/tables";
import type { RawDb } from "../store/database";
import { sql } from "kysely";

/**
 * Agent calls paid in creator tokens (docs/agents.md "Calls paid in the creator token"):
 * TokenCallEscrow's redemptions summed per agent, per node and per token (a token has one creator,
 * so per token is per owner), each account's earnings and claims, each caller's deposit, and the
 * FLK burned with the protocol fees: the token calls' contribution to burns. Amounts are wei of
 * each creator token, so every sum is kept per token (adding two creators' tokens means nothing);
 * only the FLK burned adds up across tokens.
 */

/** An agent's token-paid call revenue in one token, and its three shares. */
export const tokenCallAgentRevenue = defineTable({
  name: "token_call_agent_revenue",
  columns: {
    agent_id: col.int8(),
    token: col.text(),
    redemptions: col.int4(),
    amount: col.wei(),
    to_nodes: col.wei(),
    to_owner: col.wei(),
    to_protocol: col.wei(),
    last_block: col.int8(),
  },
  primaryKey: ["agent_id", "token"],
  rollback: "journal",
});

/** A node's token-paid call revenue in one token: `to_node` went to its operator (at each redemption). */
export const tokenCallNodeRevenue = defineTable({
  name: "token_call_node_revenue",
  columns: {
    node_id: col.int8(),
    token: col.text(),
    /** The operator credited by the latest redemption. */
    operator: col.text(),
    redemptions: col.int4(),
    amount: col.wei(),
    to_node: col.wei(),
    last_block: col.int8(),
  },
  primaryKey: ["node_id", "token"],
  rollback: "journal",
});

/** A creator token as TokenCallEscrow holds it: deposits, redemptions, shares, fees burned. */
export const tokenCallTokens = defineTable({
  name: "token_call_tokens",
  columns: {
    token: col.text(),
    /** Its creator, who is paid the owner share of every call in it. */
    creator: col.text(),
    deposited: col.wei(),
    withdrawn: col.wei(),
    redemptions: col.int4(),
    redeemed: col.wei(),
    to_nodes: col.wei(),
    to_owner: col.wei(),
    to_protocol: col.wei(),
    claimed: col.wei(),
    /** Protocol fees sold on the curve (`FeesBurned`), and the FLK burned with the proceeds. */
    fees_burned: col.wei(),
    flk_burned: col.wei(),
    last_block: col.int8(),
  },
  primaryKey: ["token"],
  indexes: { token_call_tokens_creator: ["creator", "token"] },
  rollback: "journal",
});

/** What an account (node operator or creator) was credited in a token, claimed, and may claim. */
export const tokenCallEarnings = defineTable({
  name: "token_call_earnings",
  columns: {
    account: col.text(),
    token: col.text(),
    credited: col.wei(),
    claimed: col.wei(),
    balance: col.wei(),
    last_block: col.int8(),
  },
  primaryKey: ["account", "token"],
  rollback: "journal",
});

/** A caller's deposit of a token for one serving node: what backs its vouchers to that node, and its pending withdrawal. */
export const tokenCallDeposits = defineTable({
  name: "token_call_deposits",
  columns: {
    caller: col.text(),
    token: col.text(),
    node_id: col.int8(),
    deposited: col.wei(),
    redeemed: col.wei(),
    withdrawn: col.wei(),
    balance: col.wei(),
    /** The withdrawal asked (0: none) and when it may be taken (the latest request replaces earlier ones). */
    pending: col.wei(),
    ready_at: col.int8(),
    last_block: col.int8(),
  },
  primaryKey: ["caller", "token", "node_id"],
  rollback: "journal",
});

/** Each `FeesBurned`. */
export const tokenCallBurns = defineTable({
  name: "token_call_burns",
  columns: {
    token: col.text(),
    amount: col.wei(),
    flk_burned: col.wei(),
    block_number: col.int8(),
    log_index: col.int4(),
    timestamp: col.int8(),
    tx_hash: col.text(),
  },
  primaryKey: ["block_number", "log_index"],
  rollback: "byBlock",
});

/** TokenCallEscrow's totals (one row, id 1): the FLK its fees burned is the only sum across tokens. */
export const tokenCallTotals = defineTable({
  name: "token_call_totals",
  columns: {
    id: col.int4(),
    redemptions: col.int4(),
    burns: col.int4(),
    flk_burned: col.wei(),
  },
  primaryKey: ["id"],
  rollback: "journal",
});

async function tokenRow(ctx: HandlerContext, token: string) {
  return (
    (await ctx.store.get(tokenCallTokens, { token })) ?? {
      token,
      creator: "",
      deposited: 0n,
      withdrawn: 0n,
      redemptions: 0,
      redeemed: 0n,
      to_nodes: 0n,
      to_owner: 0n,
      to_protocol: 0n,
      claimed: 0n,
      fees_burned: 0n,
      flk_burned: 0n,
      last_block: 0,
    }
  );
}

async function depositRow(ctx: HandlerContext, caller: string, token: string, nodeId: bigint | number) {
  const node_id = Number(nodeId);
  return (
    (await ctx.store.get(tokenCallDeposits, { caller, token, node_id })) ?? {
      caller,
      token,
      node_id,
      deposited: 0n,
      redeemed: 0n,
      withdrawn: 0n,
      balance: 0n,
      pending: 0n,
      ready_at: 0,
      last_block: 0,
    }
  );
}

async function totals(ctx: HandlerContext) {
  return (await ctx.store.get(tokenCallTotals, { id: 1 })) ?? { id: 1, redemptions: 0, burns: 0, flk_burned: 0n };
}

async function credit(ctx: HandlerContext, account: string, token: string, amount: bigint) {
  const e = (await ctx.store.get(tokenCallEarnings, { account, token })) ?? { account, token, credited: 0n, claimed: 0n, balance: 0n, last_block: 0 };
  await ctx.store.set(tokenCallEarnings, { ...e, credited: e.credited + amount, balance: e.balance + amount, last_block: ctx.block.number });
}

async function onDeposited(a: EventArgsOf<"TokenCallEscrow:TokensDeposited">, ctx: HandlerContext) {
  const d = await depositRow(ctx, a.caller, a.token, a.nodeId);
  await ctx.store.set(tokenCallDeposits, { ...d, deposited: d.deposited + a.amount, balance: d.balance + a.amount, last_block: ctx.block.number });
  const t = await tokenRow(ctx, a.token);
  await ctx.store.set(tokenCallTokens, { ...t, creator: a.creator, deposited: t.deposited + a.amount, last_block: ctx.block.number });
}

async function onWithdrawn(a: EventArgsOf<"TokenCallEscrow:TokensWithdrawn">, ctx: HandlerContext) {
  const d = await depositRow(ctx, a.caller, a.token, a.nodeId);
  await ctx.store.set(tokenCallDeposits, {
    ...d,
    withdrawn: d.withdrawn + a.amount,
    balance: d.balance - a.amount,
    pending: 0n,
    ready_at: 0,
    last_block: ctx.block.number,
  });
  const t = await tokenRow(ctx, a.token);
  await ctx.store.set(tokenCallTokens, { ...t, withdrawn: t.withdrawn + a.amount, last_block: ctx.block.number });
}

type Shares = { redemptions: number; to_nodes: bigint; to_owner: bigint; to_protocol: bigint };

/** `row`'s redemption count and shares with redemption `a` added. */
function withShares(row: Shares, a: EventArgsOf<"TokenCallEscrow:VoucherRedeemed">): Shares {
  return {
    redemptions: row.redemptions + 1,
    to_nodes: row.to_nodes + a.toNode,
    to_owner: row.to_owner + a.toOwner,
    to_protocol: row.to_protocol + a.toProtocol,
  };
}

async function onRedeemed(a: EventArgsOf<"TokenCallEscrow:VoucherRedeemed">, ctx: HandlerContext) {
  const block = ctx.block.number;
  // The voucher's node's deposit paid it (TokenCallEscrow.redeem).
  const d = await depositRow(ctx, a.caller, a.token, a.nodeId);
  await ctx.store.set(tokenCallDeposits, { ...d, redeemed: d.redeemed + a.amount, balance: d.balance - a.amount, last_block: block });

  const agentKey = { agent_id: Number(a.agentId), token: a.token };
  const r = (await ctx.store.get(tokenCallAgentRevenue, agentKey)) ?? {
    ...agentKey,
    redemptions: 0,
    amount: 0n,
    to_nodes: 0n,
    to_owner: 0n,
    to_protocol: 0n,
    last_block: 0,
  };
  await ctx.store.set(tokenCallAgentRevenue, {
    ...r,
    ...withShares(r, a),
    amount: r.amount + a.amount,
    last_block: block,
  });

  const nodeKey = { node_id: Number(a.nodeId), token: a.token };
  const n = (await ctx.store.get(tokenCallNodeRevenue, nodeKey)) ?? { ...nodeKey, operator: "", redemptions: 0, amount: 0n, to_node: 0n, last_block: 0 };
  await ctx.store.set(tokenCallNodeRevenue, {
    ...n,
    operator: a.nodeOperator,
    redemptions: n.redemptions + 1,
    amount: n.amount + a.amount,
    to_node: n.to_node + a.toNode,
    last_block: block,
  });

  const t = await tokenRow(ctx, a.token);
  await ctx.store.set(tokenCallTokens, {
    ...t,
    ...withShares(t, a),
    redeemed: t.redeemed + a.amount,
    last_block: block,
  });
  await credit(ctx, a.nodeOperator, a.token, a.toNode);
  await credit(ctx, a.creator, a.token, a.toOwner);
  const m = await totals(ctx);
  await ctx.store.set(tokenCallTotals, { ...m, redemptions: m.redemptions + 1 });
}

async function onClaimed(a: EventArgsOf<"TokenCallEscrow:EarningsClaimed">, ctx: HandlerContext) {
  const key = { account: a.account, token: a.token };
  const e = await ctx.store.get(tokenCallEarnings, key);
  if (!e) throw new Error(`EarningsClaimed by ${a.account} in ${a.token}, never credited`);
  await ctx.store.set(tokenCallEarnings, { ...e, claimed: e.claimed + a.amount, balance: e.balance - a.amount, last_block: ctx.block.number });
  const t = await tokenRow(ctx, a.token);
  await ctx.store.set(tokenCallTokens, { ...t, claimed: t.claimed + a.amount, last_block: ctx.block.number });
}

async function onFeesBurned(a: EventArgsOf<"TokenCallEscrow:FeesBurned">, ctx: HandlerContext) {
  const t = await tokenRow(ctx, a.token);
  await ctx.store.set(tokenCallTokens, {
    ...t,
    fees_burned: t.fees_burned + a.amount,
    flk_burned: t.flk_burned + a.flkBurned,
    last_block: ctx.block.number,
  });
  await ctx.store.set(tokenCallBurns, {
    token: a.token,
    amount: a.amount,
    flk_burned: a.flkBurned,
    block_number: ctx.block.number,
    log_index: ctx.log.logIndex,
    timestamp: ctx.block.timestamp,
    tx_hash: ctx.log.transactionHash,
  });
  const m = await totals(ctx);
  await ctx.store.set(tokenCallTotals, { ...m, burns: m.burns + 1, flk_burned: m.flk_burned + a.flkBurned });
}

const TABLES = [tokenCallAgentRevenue, tokenCallNodeRevenue, tokenCallTokens, tokenCallEarnings, tokenCallDeposits, tokenCallBurns, tokenCallTotals];

/** TokenCallEscrow's deposits, withdrawals, redemptions, claims and burns. */
export const tokenCallsModule: IndexerModule = {
  name: "tokenCalls",
  events: { TokenCallEscrow: ["TokensDeposited", "WithdrawalRequested", "TokensWithdrawn", "VoucherRedeemed", "EarningsClaimed", "FeesBurned"] },
  tables: TABLES,
  handlers: {
    "TokenCallEscrow:TokensDeposited": onDeposited,
    "TokenCallEscrow:WithdrawalRequested": async (a, ctx) =>
      ctx.store.set(tokenCallDeposits, {
        ...(await depositRow(ctx, a.caller, a.token, a.nodeId)),
        pending: a.amount,
        ready_at: Number(a.readyAt),
        last_block: ctx.block.number,
      }),
    "TokenCallEscrow:TokensWithdrawn": onWithdrawn,
    "TokenCallEscrow:VoucherRedeemed": onRedeemed,
    "TokenCallEscrow:EarningsClaimed": onClaimed,
    "TokenCallEscrow:FeesBurned": onFeesBurned,
  },
  migrations: {
    "192-token-calls": {
      async up(db: RawDb) {
        await createTables(db, TABLES);
      },
    },
    // Deposits became per serving node (docs/agents.md): the escrow was redeployed with new events,
    // so the old rows (and their journal entries) describe a contract no longer indexed.
    "193-token-call-deposits-per-node": {
      async up(db: RawDb) {
        await sql`DELETE FROM indexer_journal WHERE table_name = 'token_call_deposits'`.execute(db);
        await sql`DROP TABLE token_call_deposits`.execute(db);
        await createTables(db, [tokenCallDeposits]);
      },
    },
  },
};
