/** Every FLK transfer stored, and both balances moved (the zero address, mints' source and burns' sink, has none). */
import { ponder } from "ponder:registry";
import { account, transfer } from "ponder:schema";
import { zeroAddress } from "viem";

ponder.on("FLK:Transfer", async ({ event, context }) => {
  const { from, to, value } = event.args;
  await context.db.insert(transfer).values({
    id: event.id,
    from,
    to,
    value,
    blockNumber: event.block.number,
    timestamp: event.block.timestamp,
    transactionHash: event.transaction.hash,
  });
  if (from !== zeroAddress) {
    await context.db
      .insert(account)
      .values({ address: from, balance: -value })
      .onConflictDoUpdate((row) => ({ balance: row.balance - value }));
  }
  if (to !== zeroAddress) {
    await context.db
      .insert(account)
      .values({ address: to, balance: value })
      .onConflictDoUpdate((row) => ({ balance: row.balance + value }));
  }
});
