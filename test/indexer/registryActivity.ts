import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { keccak256, toUtf8Bytes } from "ethers";
import { FLK, USDC } from "../../protocol/units";
import { beaconCommitment } from "../../protocol/committee";
import type { EpochReport, NodeMeasurement } from "../../protocol/report";
import { completeEpochReport } from "../../protocol/reportRoots";
import { rewardProof } from "../../protocol/rewards";
import { ENDPOINTS, MIN_STAKE, registrySuite, standings, submitReport, withActiveNodes, type RegistrySuite, type TestNode } from "../../testkit/registry";
import { withContentCharges } from "../../testkit/reportCharges";

export { USDC };

/** The registry suite with seven active nodes (operator 0 owns two) and a 4-member committee. */
export interface RegistryActivity extends RegistrySuite {
  nodes: TestNode[];
}

const secretOf = (epoch: bigint, id: number) => keccak256(toUtf8Bytes(`secret-${epoch}-${id}`));

/** Seven nodes with stakes 1,000 + 100·i FLK, active from epoch 1; committee of 4 drawn by stake. */
export async function sevenActiveNodes(): Promise<RegistryActivity> {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
  const nodes = await withActiveNodes(s, 7, (i) => MIN_STAKE + BigInt(i) * 100n * FLK);
  return { ...s, nodes };
}

/** Committee members commit beacons, then (after the epoch's end) reveal, except `silent`. */
export async function runBeacon(s: RegistryActivity, silent: ReadonlySet<number> = new Set()): Promise<number[]> {
  const epoch = await s.registry.epoch();
  const members = (await s.registry.committeeIds()).map(Number);
  const byId = (id: number) => s.nodes.find((n) => n.id === id)!;
  for (const id of members) await s.registry.connect(byId(id).owner).commitBeacon(id, beaconCommitment(epoch, id, secretOf(epoch, id)));
  await time.increaseTo(await s.registry.epochEnd());
  for (const id of members) if (!silent.has(id)) await s.registry.connect(byId(id).owner).revealBeacon(id, secretOf(epoch, id));
  return members;
}

/** Changes the epoch without a report, once the committee has stalled long enough (its beacon ran: silence is jailed). */
export async function skipEpoch(s: RegistryActivity): Promise<void> {
  if (BigInt(await time.latest()) + 1n < (await s.registry.epochEnd())) await runBeacon(s);
  const opens = (await s.registry.reportOpensAt()) + (await s.registry.epochDuration());
  if (BigInt(await time.latest()) < opens) await time.increaseTo(opens);
  await s.registry.advanceEpoch();
}

/**
 * Reports the current epoch with `measurements` and the clients' usage, its roots and totals
 * completed by the committee's code (`completeEpochReport`), then passed through `tamper` (a
 * committee signing something else). Returns the honest rewards tree.
 */
export async function reportEpoch(
  s: RegistryActivity,
  measurements: NodeMeasurement[],
  usage: { client: string; amount: bigint }[] = [],
  tamper: (r: EpochReport) => EpochReport = (r) => r,
) {
  const epoch = await s.registry.epoch();
  const { report, rewards } = completeEpochReport(
    withContentCharges({ epoch, nodes: measurements, usage }),
    await standings(
      s,
      measurements.map((m) => m.nodeId),
    ),
  );
  await submitReport(s, s.nodes, tamper(report));
  return rewards;
}

/** A measurement of node `id` with the given revenue (USDC units) and reputation. */
export function measurement(id: number, revenue: bigint, reputation: number, uptime = 95): NodeMeasurement {
  return { nodeId: id, uptime, latencyMs: 20 + id, bytesServed: 1000n * BigInt(id), deliveryAcks: BigInt(id), revenue, reputation };
}

/**
 * Scripted registry activity over seven epochs: stake added, locked, unstaked and withdrawn,
 * endpoints changed, a beacon non-revealer slashed and jailed, a reported epoch with usage,
 * measurements (one node jailed for low uptime), rewards and a claim, skipped epochs, a rejoin.
 */
export async function registryActivity(): Promise<RegistryActivity> {
  const s = await sevenActiveNodes();
  const [n1, n2, n3, n4, n5, , n7] = s.nodes;
  await s.registry.connect(n2.owner).addStake(n2.id, 50n * FLK + 3n);
  await s.registry.connect(n3.owner).lockStake(n3.id, 100);
  await s.registry.connect(n5.owner).unstake(n5.id, 10n * FLK);
  await s.registry.connect(n4.owner).updateEndpoints(n4.id, { ...ENDPOINTS, host: "moved.example.org" });
  const [client] = s.clients;
  await s.escrow.connect(client).deposit(client.address, 100n * USDC);

  // Epoch 1: the committee member with the smallest stake commits and stays silent.
  const members = (await s.registry.committeeIds()).map(Number);
  const silent = members.reduce((a, b) => (a < b ? a : b));
  await runBeacon(s, new Set([silent]));
  const low = s.nodes.find((n) => !members.includes(n.id))!.id;
  // n1 and n7 share an owner (one leaf); n3's lock boosts its FLK weight; the rest earn nothing.
  const earning = [n1, n2, n3, n7];
  const measured = s.nodes.map((n, i) => measurement(n.id, earning.includes(n) ? (10n + BigInt(i)) * USDC + 7n : 0n, 40 + 7 * i, n.id === low ? 30 : 95));
  // The client pays exactly the revenue the nodes are weighed by (the registry requires it).
  const paid = measured.reduce((sum, m) => sum + m.revenue, 0n);
  const tree = await reportEpoch(s, measured, [{ client: client.address, amount: paid }]);
  const { leaf, proof } = rewardProof(tree, n1.owner.address);
  await s.rewards.claim(1, leaf.account, leaf.flkWeight, leaf.usdcWeight, proof);

  // Epochs 2-6 are skipped; n5's unstaked FLK is withdrawable from epoch 6.
  for (let i = 0; i < 5; i++) await skipEpoch(s);
  await s.registry.connect(n5.owner).withdraw(n5.id);
  await s.registry.connect(s.nodes.find((n) => n.id === low)!.owner).rejoin(low);
  return s;
}
