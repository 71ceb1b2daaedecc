import type { HandlerContext, IndexerModule } from "../module";
import { col, createTables, defineTable } from "../store/tables";
import { recordSupply } from "./supply";
import type { RawDb } from "../store/database";

/**
 * A staking account: a staker, a delegatee, or both. Votes sit with delegatees, stake with
 * stakers, so one row carries both and a pure delegatee has `staked = 0`.
 */
export const stakers = defineTable({
  name: "stakers",
  columns: {
    address: col.text(),
    staked: col.wei(),
    unbonding: col.wei(),
    withdrawn: col.wei(),
    /** Delegate of this account's stake: itself until it delegates, as `Staking.delegates`. */
    delegate: col.text(),
    votes: col.wei(),
    /** Rewards paid out by `claim` and turned into stake by `compound` (exact event amounts). */
    rewards_claimed: col.wei(),
    rewards_compounded: col.wei(),
    /** Id of the first unbonding request not yet withdrawn (the contract's queue head). */
    next_request_id: col.int8(),
    first_block: col.int8(),
    last_block: col.int8(),
  },
  primaryKey: ["address"],
  indexes: {
    // `stakers` ordered by stake and by votes (keyset: amount then address).
    stakers_staked: ["staked", "address"],
    stakers_votes: ["votes", "address"],
  },
  rollback: "journal",
});

/** An unbonding request; requests releasing at the same second share an id (as in the contract). */
export const unbondingRequests = defineTable({
  name: "unbonding_requests",
  columns: {
    account: col.text(),
    request_id: col.int8(),
    amount: col.wei(),
    release_time: col.int8(),
    withdrawn: col.bool(),
    block_number: col.int8(),
  },
  primaryKey: ["account", "request_id"],
  rollback: "journal",
});

/** Staking totals (a single row, id 1): `total_staked` equals `Staking.totalStaked()`. */
export const stakingTotals = defineTable({
  name: "staking_totals",
  columns: {
    id: col.int4(),
    total_staked: col.wei(),
    total_unbonding: col.wei(),
    stakers: col.int8(),
  },
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
    Staking: ["Staked", "Unstaked", "Withdrawn", "RewardClaimed", "RewardCompounded", "DelegateChanged", "DelegateVotesChanged"],
  },
  tables: [stakers, unbondingRequests, stakingTotals],
  handlers: {
    "Staking:Staked": (a, ctx) => setStake(ctx, a.account as string, a.newStake as bigint, 0n),
    "Staking:RewardClaimed": onRewardClaimed,
    "Staking:RewardCompounded": onRewardCompounded,
    "Staking:Unstaked": onUnstaked,
    "Staking:Withdrawn": onWithdrawn,
    "Staking:DelegateChanged": onDelegateChanged,
    "Staking:DelegateVotesChanged": onDelegateVotesChanged,
  },
  migrations: {
    "130-staking": {
      async up(db: RawDb) {
        await createTables(db, [stakers, unbondingRequests, stakingTotals]);
      },
    },
  },
};
