import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { keccak256, toUtf8Bytes } from "ethers";
import { beaconCommitment } from "../../protocol/committee";
import { quorum } from "../../protocol/report";
import { completeEpochReport } from "../../protocol/reportRoots";
import { rewardProof } from "../../protocol/rewards";
import {
  MIN_STAKE,
  committeeNodes,
  registerNode,
  registerNodes,
  runBeacon,
  registrySuite,
  signReport,
  standings,
  type RegistrySuite,
  type TestNode,
} from "../../testkit/registry";
import { withContentCharges } from "../../testkit/reportCharges";
import { executionGas, type GasRow } from "./table";

const USDC = 10n ** 6n;

/** A full report for the current epoch: every active node measured, both clients used, a rewards root and an agent snapshots root (non-zero, so the registry stores it). */
async function fullReport(s: RegistrySuite) {
  const active = (await s.registry.activeSetIds()).map(Number);
  const { report, rewards } = completeEpochReport(
    withContentCharges({
      epoch: await s.registry.epoch(),
      agentSnapshotsRoot: keccak256(toUtf8Bytes("agent snapshots")),
      nodes: active.map((nodeId) => ({ nodeId, uptime: 99, latencyMs: 40, bytesServed: 10n ** 9n, deliveryAcks: 1000n, revenue: 1_000n, reputation: 80 })),
      // The clients pay exactly the nodes' revenue (the registry requires revenue = usage).
      usage: s.clients.map((c, i) => ({
        client: c.address,
        amount: i === 0 ? 500n * BigInt(active.length) : 1_000n * BigInt(active.length) - 500n * BigInt(active.length),
      })),
    }),
    await standings(s, active),
  );
  return { report, tree: rewards };
}

/** Commits and reveals the beacon for every committee member; returns the reveal txs' gas. */
async function beacon(s: RegistrySuite, nodes: readonly TestNode[]) {
  const epoch = await s.registry.epoch();
  const members = await committeeNodes(s, nodes);
  const secret = (id: number) => keccak256(toUtf8Bytes(`${epoch}/${id}`));
  let commitGas = 0n;
  let revealGas = 0n;
  for (const m of members) commitGas = await executionGas(await s.registry.connect(m.owner).commitBeacon(m.id, beaconCommitment(epoch, m.id, secret(m.id))));
  await time.increaseTo(await s.registry.epochEnd());
  for (const m of members) revealGas = await executionGas(await s.registry.connect(m.owner).revealBeacon(m.id, secret(m.id)));
  return { commitGas, revealGas };
}

/** Signs with a quorum of the committee and submits; returns the gas. */
async function submit(s: RegistrySuite, nodes: readonly TestNode[], report: Awaited<ReturnType<typeof fullReport>>["report"]) {
  // Members that run no beacon are jailed for silence: the committee runs it unless beacon() did.
  if (BigInt(await time.latest()) + 1n < (await s.registry.epochEnd())) await runBeacon(s, nodes);
  const members = await committeeNodes(s, nodes);
  const sigs = await signReport(s, report, members.slice(0, quorum(members.length)));
  if (BigInt(await time.latest()) < (await s.registry.reportOpensAt())) await time.increaseTo(await s.registry.reportOpensAt());
  const tx = await s.registry.submitEpochReport(report, sigs);
  return { gas: await executionGas(tx), tx };
}

/** Deploys a fresh suite with `count` active nodes and a committee of `committeeSize`, clients funded in escrow. */
async function network(count: number, committeeSize: number) {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, committeeSize, MIN_STAKE);
  for (const c of s.clients) await s.escrow.connect(c).deposit(c.address, 1_000n * USDC);
  const nodes = await registerNodes(s, count, (i) => MIN_STAKE + BigInt(i) * 10n ** 18n);
  await time.increaseTo(await s.registry.epochEnd());
  const change = await executionGas(await s.registry.advanceEpoch());
  return { s, nodes, change };
}

/** Gas of registration, the beacon, epoch reports (4-, 32- and 100-node networks), claims and escrow. */
export async function measureRegistry(): Promise<GasRow[]> {
  const rows: GasRow[] = [];

  const small = await network(4, 4);
  const usdcClient = small.s.clients[0];
  rows.push({ call: "ServiceEscrow.deposit", gas: await executionGas(await small.s.escrow.connect(usdcClient).deposit(usdcClient.address, USDC)) });
  const r4 = await fullReport(small.s);
  const sub4 = await submit(small.s, small.nodes, r4.report);
  rows.push({ call: "submitEpochReport, 4-member committee (3 sigs, 4 nodes, 2 clients)", gas: sub4.gas });
  const first = rewardProof(r4.tree, small.nodes[0].owner.address);
  rows.push({
    call: "EpochRewards.claim (FLK + USDC)",
    gas: await executionGas(await small.s.rewards.claim(1, first.leaf.account, first.leaf.flkWeight, first.leaf.usdcWeight, first.proof)),
  });
  // Two epochs in one claimMany.
  const r4b = await fullReport(small.s);
  await submit(small.s, small.nodes, r4b.report);
  const claims = [1n, 2n].map((epoch) => {
    const tree = epoch === 1n ? r4.tree : r4b.tree;
    const { leaf, proof } = rewardProof(tree, small.nodes[1].owner.address);
    return { epoch, account: leaf.account, flkWeight: leaf.flkWeight, usdcWeight: leaf.usdcWeight, proof };
  });
  rows.push({ call: "EpochRewards.claimMany (2 epochs)", gas: await executionGas(await small.s.rewards.claimMany(claims)) });
  rows.push({
    call: "NodeRegistry.register (1,000 FLK, proofs of possession)",
    gas: await executionGas(await registerNode(small.s, small.s.operators[0], 999, MIN_STAKE)),
  });

  const mid = await network(32, 32);
  const r32 = await fullReport(mid.s);
  rows.push({ call: "submitEpochReport, 32-member committee (22 sigs, 32 nodes, 2 clients)", gas: (await submit(mid.s, mid.nodes, r32.report)).gas });

  // The bound: 100 active nodes, a 32-member committee drawn by the beacon, 100 more queued.
  const big = await network(100, 32);
  rows.push({ call: "epoch change, 100 queued nodes join (advanceEpoch)", gas: big.change });
  const { commitGas, revealGas } = await beacon(big.s, big.nodes);
  rows.push({ call: "NodeRegistry.commitBeacon", gas: commitGas });
  rows.push({ call: "NodeRegistry.revealBeacon", gas: revealGas });
  const r100 = await fullReport(big.s);
  rows.push({ call: "submitEpochReport, 100 active, 32-member draw by stake (22 sigs, 100 nodes)", gas: (await submit(big.s, big.nodes, r100.report)).gas });
  const queued = await registerNodes(big.s, 100, (i) => MIN_STAKE + BigInt(i) * 10n ** 18n, 100);
  // A full queue: the newcomer with more stake scans it and evicts the weakest (issue #14, attack 5).
  rows.push({
    call: "NodeRegistry.register into a full queue (evicts the weakest)",
    gas: await executionGas(await registerNode(big.s, big.s.operators[0], 998, 2n * MIN_STAKE)),
  });
  const all = [...big.nodes, ...queued];
  await beacon(big.s, all);
  const r200 = await fullReport(big.s);
  rows.push({ call: "submitEpochReport, 200 candidates for 100 places (worst case)", gas: (await submit(big.s, all, r200.report)).gas });
  return rows;
}
