import type { Kysely } from "kysely";
import type { HandlerContext, IndexerModule } from "../module";
import { WEI } from "../store/migrations";
import { defineTable } from "../store/tables";
import { recordSupply } from "./supply";

/**
 * A staking account: a staker, a delegatee, or both. Votes sit with delegatees, stake with
 * stakers, so one row carries both and a pure delegatee has `staked = 0`.
 */
export const stakers = defineTable<{
  address: string;
  staked: bigint;
  unbonding: bigint;
  withdrawn: bigint;
  /** Delegate of this account's stake: itself until it delegates, as `Staking.delegates`. */
  delegate: string;
  votes: bigint;
  /** Rewards paid out by `claim` and turned into stake by `compound` (exact event amounts). */
  rewards_claimed: bigint;
  rewards_compounded: bigint;
  /** Id of the first unbonding request not yet withdrawn (the contract's queue head). */
  next_request_id: number;
  first_block: number;
  last_block: number;
}>({
  name: "stakers",
  columns: {
    address: "text",
    staked: "numeric",
    unbonding: "numeric",
    withdrawn: "numeric",
    delegate: "text",
    votes: "numeric",
    rewards_claimed: "numeric",
    rewards_compounded: "numeric",
    next_request_id: "int8",
    first_block: "int8",
    last_block: "int8",
  },
  primaryKey: ["address"],
  rollback: "journal",
});

/** An unbonding request; requests releasing at the same second share an id (as in the contract). */
export const unbondingRequests = defineTable<{ account: string; request_id: number; amount: bigint; release_time: number; withdrawn: boolean; block_number: number }>({
  name: "unbonding_requests",
  columns: { account: "text", request_id: "int8", amount: "numeric", release_time: "int8", withdrawn: "bool", block_number: "int8" },
  primaryKey: ["account", "request_id"],
  rollback: "journal",
});

/** Staking totals (a single row, id 1): `total_staked` equals `Staking.totalStaked()`. */
export const stakingTotals = defineTable<{ id: number; total_staked: bigint; total_unbonding: bigint; stakers: number }>({
  name: "staking_totals",
  columns: { id: "int4", total_staked: "numeric", total_unbonding: "numeric", stakers: "int8" },
  primaryKey: ["id"],
  rollback: "journal",
});

async function staker(ctx: HandlerContext, address: string) {
  const row = (await ctx.store.get(stakers, { address })) ?? {
    address,
    staked: 0n,
    unbonding: 0n,
    withdrawn: 0n,
    delegate: address,
    votes: 0n,
    rewards_claimed: 0n,
    rewards_compounded: 0n,
    next_request_id: 0,
    first_block: ctx.block.number,
    last_block: 0,
  };
  return { ...row, last_block: ctx.block.number };
}

/** Applies changes to the totals; `recordSupply` only when the staked total moved. */
async function changeTotals(ctx: HandlerContext, staked: bigint, unbonding: bigint, stakersDelta: number) {
  const t = (await ctx.store.get(stakingTotals, { id: 1 })) ?? { id: 1, total_staked: 0n, total_unbonding: 0n, stakers: 0 };
  const next = { ...t, total_staked: t.total_staked + staked, total_unbonding: t.total_unbonding + unbonding, stakers: t.stakers + stakersDelta };
  await ctx.store.set(stakingTotals, next);
  if (staked !== 0n) await recordSupply(ctx, "staked", next.total_staked);
}

/** Sets an account's stake from an event's `newStake` (the contract's own figure, so no drift). */
async function setStake(ctx: HandlerContext, address: string, newStake: bigint, unbondingDelta: bigint) {
  const s = await staker(ctx, address);
  const stakersDelta = Number(newStake > 0n) - Number(s.staked > 0n);
  await ctx.store.set(stakers, { ...s, staked: newStake, unbonding: s.unbonding + unbondingDelta });
  await changeTotals(ctx, newStake - s.staked, unbondingDelta, stakersDelta);
}

async function onUnstaked(args: { account: string; requestId: bigint; amount: bigint; releaseTime: bigint; newStake: bigint }, ctx: HandlerContext) {
  await setStake(ctx, args.account, args.newStake, args.amount);
  const key = { account: args.account, request_id: Number(args.requestId) };
  const merged = await ctx.store.get(unbondingRequests, key);
  await ctx.store.set(unbondingRequests, {
    ...key,
    amount: (merged?.amount ?? 0n) + args.amount,
    release_time: Number(args.releaseTime),
    withdrawn: false,
    block_number: merged?.block_number ?? ctx.block.number,
  });
}

async function onWithdrawn(args: { account: string; amount: bigint; nextRequestId: bigint }, ctx: HandlerContext) {
  const s = await staker(ctx, args.account);
  const next = Number(args.nextRequestId);
  // Every request between the old queue head and the new one was paid out.
  for (let id = s.next_request_id; id < next; id++) {
    const r = await ctx.store.get(unbondingRequests, { account: args.account, request_id: id });
    if (!r) throw new Error(`unbonding request ${id} of ${args.account} unknown at block ${ctx.block.number}: events missing`);
    await ctx.store.set(unbondingRequests, { ...r, withdrawn: true });
  }
  await ctx.store.set(stakers, { ...s, unbonding: s.unbonding - args.amount, withdrawn: s.withdrawn + args.amount, next_request_id: next });
  await changeTotals(ctx, 0n, -args.amount, 0);
}

async function onRewardClaimed(args: { account: string; amount: bigint }, ctx: HandlerContext) {
  const s = await staker(ctx, args.account);
  await ctx.store.set(stakers, { ...s, rewards_claimed: s.rewards_claimed + args.amount });
}

async function onRewardCompounded(args: { account: string; amount: bigint; newStake: bigint }, ctx: HandlerContext) {
  await setStake(ctx, args.account, args.newStake, 0n);
  const s = await staker(ctx, args.account);
  await ctx.store.set(stakers, { ...s, rewards_compounded: s.rewards_compounded + args.amount });
}

async function onDelegateChanged(args: { delegator: string; toDelegate: string }, ctx: HandlerContext) {
  await ctx.store.set(stakers, { ...(await staker(ctx, args.delegator)), delegate: args.toDelegate });
}

async function onDelegateVotesChanged(args: { delegate: string; newVotes: bigint }, ctx: HandlerContext) {
  await ctx.store.set(stakers, { ...(await staker(ctx, args.delegate)), votes: args.newVotes });
}

/** Staked amounts, unbonding requests, delegation and votes, and the staked supply component. */
export const stakingModule: IndexerModule = {
  name: "staking",
  events: {
    Staking: [
      "Staked(address indexed account, uint256 amount, uint256 newStake)",
      "Unstaked(address indexed account, uint256 indexed requestId, uint256 amount, uint64 releaseTime, uint256 newStake)",
      "Withdrawn(address indexed account, uint256 amount, uint256 nextRequestId)",
      "RewardClaimed(address indexed account, uint256 amount)",
      "RewardCompounded(address indexed account, uint256 amount, uint256 newStake)",
      "DelegateChanged(address indexed delegator, address indexed fromDelegate, address indexed toDelegate)",
      "DelegateVotesChanged(address indexed delegate, uint256 previousVotes, uint256 newVotes)",
    ],
  },
  tables: [stakers, unbondingRequests, stakingTotals],
  handlers: {
    "Staking:Staked": (a, ctx) => setStake(ctx, a.account as string, a.newStake as bigint, 0n),
    "Staking:RewardClaimed": (a, ctx) => onRewardClaimed(a as never, ctx),
    "Staking:RewardCompounded": (a, ctx) => onRewardCompounded(a as never, ctx),
    "Staking:Unstaked": (a, ctx) => onUnstaked(a as never, ctx),
    "Staking:Withdrawn": (a, ctx) => onWithdrawn(a as never, ctx),
    "Staking:DelegateChanged": (a, ctx) => onDelegateChanged(a as never, ctx),
    "Staking:DelegateVotesChanged": (a, ctx) => onDelegateVotesChanged(a as never, ctx),
  },
  migrations: {
    "130-staking": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("stakers")
          .addColumn("address", "text", (c) => c.primaryKey())
          .addColumn("staked", WEI, (c) => c.notNull())
          .addColumn("unbonding", WEI, (c) => c.notNull())
          .addColumn("withdrawn", WEI, (c) => c.notNull())
          .addColumn("delegate", "text", (c) => c.notNull())
          .addColumn("votes", WEI, (c) => c.notNull())
          .addColumn("rewards_claimed", WEI, (c) => c.notNull())
          .addColumn("rewards_compounded", WEI, (c) => c.notNull())
          .addColumn("next_request_id", "int8", (c) => c.notNull())
          .addColumn("first_block", "int8", (c) => c.notNull())
          .addColumn("last_block", "int8", (c) => c.notNull())
          .execute();
        // `stakers` ordered by stake and by votes (keyset: amount then address).
        await db.schema.createIndex("stakers_staked").on("stakers").columns(["staked", "address"]).execute();
        await db.schema.createIndex("stakers_votes").on("stakers").columns(["votes", "address"]).execute();
        await db.schema
          .createTable("unbonding_requests")
          .addColumn("account", "text", (c) => c.notNull())
          .addColumn("request_id", "int8", (c) => c.notNull())
          .addColumn("amount", WEI, (c) => c.notNull())
          .addColumn("release_time", "int8", (c) => c.notNull())
          .addColumn("withdrawn", "boolean", (c) => c.notNull())
          .addColumn("block_number", "int8", (c) => c.notNull())
          .addPrimaryKeyConstraint("unbonding_requests_pk", ["account", "request_id"])
          .execute();
        await db.schema
          .createTable("staking_totals")
          .addColumn("id", "int4", (c) => c.primaryKey())
          .addColumn("total_staked", WEI, (c) => c.notNull())
          .addColumn("total_unbonding", WEI, (c) => c.notNull())
          .addColumn("stakers", "int8", (c) => c.notNull())
          .execute();
      },
    },
  },
};
