import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { USDC } from "../../protocol/units";
import { measurement, reportEpoch, sevenActiveNodes, type RegistryActivity } from "./registryActivity";

/** A report of the current epoch: `revenue` by node index, `usage` by client (sorted by address, as the registry requires). */
export async function debitEpoch(s: RegistryActivity, revenue: Record<number, bigint>, usage: { client: string; amount: bigint }[]) {
  const measured = s.nodes.map((n, i) => measurement(n.id, revenue[i] ?? 0n, 60));
  await reportEpoch(
    s,
    measured,
    [...usage].sort((a, b) => (BigInt(a.client) < BigInt(b.client) ? -1 : 1)),
  );
}

/**
 * Escrow activity over epochs 1-3 (seven active nodes from epoch 1):
 * - epoch 1: client 0 deposits 300 USDC for itself and 50 for client 1, sets its limit to 120 then
 *   to 100 USDC (both from epoch 2); the report debits client 0 200 USDC (above the pending limit,
 *   which is not in force yet) and client 1 30 (nodes 0 and 1 earn 150 and 80).
 * - epoch 2: client 0 announces a 50 USDC withdrawal and sets its limit to 0, client 1 sets 10
 *   (both from epoch 3); the report debits client 0 60 and client 1 5 (node 2 earns 65).
 * - epoch 3: client 0 withdraws (limit 0: nothing reserved, its whole 40 paid); client 1 announces
 *   15, withdraws 5 (10 are reserved by its limit of 10, and stay announced), sets 7 from epoch 4.
 */
export async function escrowActivity(): Promise<RegistryActivity> {
  const s = await sevenActiveNodes();
  const [c0, c1] = s.clients;
  const escrow = s.escrow;
  await escrow.connect(c0).deposit(c0.address, 300n * USDC);
  await escrow.connect(c0).deposit(c1.address, 50n * USDC);
  await escrow.connect(c0).setSpendingLimit(120n * USDC);
  await escrow.connect(c0).setSpendingLimit(100n * USDC);
  await debitEpoch(s, { 0: 150n * USDC, 1: 80n * USDC }, [
    { client: c0.address, amount: 200n * USDC },
    { client: c1.address, amount: 30n * USDC },
  ]);

  await escrow.connect(c0).requestWithdrawal(50n * USDC);
  await escrow.connect(c0).setSpendingLimit(0n);
  await escrow.connect(c1).setSpendingLimit(10n * USDC);
  await debitEpoch(s, { 2: 65n * USDC }, [
    { client: c0.address, amount: 60n * USDC },
    { client: c1.address, amount: 5n * USDC },
  ]);

  await time.increaseTo((await escrow.accounts(c0.address)).withdrawableAt);
  await escrow.connect(c0).withdraw();
  await escrow.connect(c1).requestWithdrawal(15n * USDC);
  await time.increaseTo((await escrow.accounts(c1.address)).withdrawableAt);
  await escrow.connect(c1).withdraw();
  await escrow.connect(c1).setSpendingLimit(7n * USDC);
  return s;
}
