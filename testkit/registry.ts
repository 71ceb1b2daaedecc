import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { getBytes, hexlify, keccak256, toUtf8Bytes, Wallet } from "ethers";
import { KeyPair } from "../node/consensus/types/crypto";
import { beaconCommitment } from "../protocol/committee";
import { signNodeKeyProof } from "../protocol/nodeKeyProof";
import { FLK } from "../protocol/units";
import { deploySuite, timelockSigner, type Suite } from "./deploy";
import type { NodeStanding } from "../protocol/reportRoots";
import { buildEpochReport, orderSignatures, quorum, reportDomain, signEpochReport, type EpochReport, type ReportInput } from "../protocol/report";
import { contentCharges } from "./reportCharges";

export const MIN_STAKE = 1_000n * FLK;
export const ZERO32 = `0x${"00".repeat(32)}`;

/** A registered test node: its owner (a funded Hardhat account) and its consensus signer wallet. */
export interface TestNode {
  id: number;
  owner: HardhatEthersSigner;
  signer: Wallet;
  key: string;
}

/** Deterministic ed25519 node key (and its raw public key, `key`) and signer wallet of test node `i`. */
export function nodeIdentity(i: number): { key: string; nodeKey: KeyPair; signer: Wallet } {
  const nodeKey = KeyPair.fromSeed(getBytes(keccak256(toUtf8Bytes(`node-key-${i}`))));
  return { key: hexlify(nodeKey.publicKey), nodeKey, signer: new Wallet(keccak256(toUtf8Bytes(`node-signer-${i}`))) };
}

/** Proofs of possession of test node `i`'s keys for a registration by `operator`. */
export async function keyProofs(s: Pick<Suite, "registry">, operator: string, i: number) {
  const { nodeKey, signer } = nodeIdentity(i);
  const { chainId } = await hre.ethers.provider.getNetwork();
  return signNodeKeyProof(chainId, await s.registry.getAddress(), operator, nodeKey, signer);
}

/** `register` by `owner` of test node `i` with valid proofs of possession of both keys. */
export async function registerNode(s: Pick<Suite, "registry">, owner: HardhatEthersSigner, i: number, stake: bigint, endpoints = ENDPOINTS) {
  const p = await keyProofs(s, owner.address, i);
  return s.registry.connect(owner).register(p.nodeKey, nodeIdentity(i).signer.address, endpoints, stake, p.signerProof, p.keyProof);
}

export const ENDPOINTS = { host: "node.example.org", ports: { primary: 4310, worker: 4311, mempool: 4210, rpc: 4240, pool: 4300, gateway: 4220 } };

export interface RegistrySuite extends Suite {
  holder: HardhatEthersSigner;
  adminSigner: HardhatEthersSigner;
  operators: HardhatEthersSigner[];
  clients: HardhatEthersSigner[];
}

/** The deployed suite with 1,000,000 FLK for each of six operators (approved to the registry). */
export async function registrySuite(): Promise<RegistrySuite> {
  const suite = await deploySuite();
  const holder = await hre.ethers.getSigner(suite.genesis.sale.beneficiaries[0]);
  const [saleId] = await suite.vesting.scheduleIdsOf(holder.address);
  await suite.vesting.release(saleId);
  const signers = await hre.ethers.getSigners();
  const operators = signers.slice(2, 8);
  const clients = signers.slice(8, 10);
  const registry = await suite.registry.getAddress();
  for (const op of operators) {
    await suite.flk.connect(holder).transfer(op.address, 1_000_000n * FLK);
    await suite.flk.connect(op).approve(registry, hre.ethers.MaxUint256);
  }
  const escrow = await suite.escrow.getAddress();
  for (const c of clients) {
    await suite.usdc.mint(c.address, 1_000_000n * 10n ** 6n);
    await suite.usdc.connect(c).approve(escrow, hre.ethers.MaxUint256);
  }
  return { ...suite, holder, adminSigner: await timelockSigner(suite), operators, clients };
}

/** Registers nodes `from .. from+count-1`, owners taken round-robin from the operators. */
export async function registerNodes(s: RegistrySuite, count: number, stakeOf: (i: number) => bigint = () => MIN_STAKE, from = 0): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = from; i < from + count; i++) {
    const owner = s.operators[i % s.operators.length];
    const { key, signer } = nodeIdentity(i);
    await registerNode(s, owner, i, stakeOf(i));
    nodes.push({ id: Number(await s.registry.nodeCount()), owner, signer, key });
  }
  return nodes;
}

/** Registers `count` nodes and starts epoch 1 with them active (no committee yet: a forced change). */
export async function withActiveNodes(s: RegistrySuite, count: number, stakeOf?: (i: number) => bigint): Promise<TestNode[]> {
  const nodes = await registerNodes(s, count, stakeOf);
  await time.increaseTo(await s.registry.epochEnd());
  await s.registry.advanceEpoch();
  return nodes;
}

/** A report with no measurements, usage or rewards for the current epoch, overridable. */
export async function emptyReport(s: RegistrySuite, overrides: Partial<ReportInput> = {}): Promise<EpochReport> {
  return buildEpochReport({
    epoch: await s.registry.epoch(),
    nodes: [],
    usage: [],
    charges: contentCharges(overrides.nodes ?? []),
    reputationRoot: ZERO32,
    rewardsRoot: ZERO32,
    totalFlkWeight: 0n,
    totalUsdcWeight: 0n,
    ...overrides,
  });
}

/** Owner and stake lock of each node id, as the registry holds them now (the input of the report's roots). */
export async function standings(s: RegistrySuite, ids: readonly number[]): Promise<Map<number, NodeStanding>> {
  const entries = await Promise.all(ids.map(async (id) => [id, await s.registry.getNode(id)] as const));
  return new Map(entries.map(([id, n]) => [id, { owner: n.owner, lockedUntil: n.lockedUntil }]));
}

/** Signatures of `report` by the given nodes' signers, in contract order. */
export async function signReport(s: RegistrySuite, report: EpochReport, signers: readonly TestNode[]): Promise<string[]> {
  const { chainId } = await hre.ethers.provider.getNetwork();
  const domain = reportDomain(chainId, await s.registry.getAddress());
  return orderSignatures(await Promise.all(signers.map((n) => signEpochReport(n.signer, domain, report))));
}

/** The committee's nodes among `nodes`. */
export async function committeeNodes(s: RegistrySuite, nodes: readonly TestNode[]): Promise<TestNode[]> {
  const ids = (await s.registry.committeeIds()).map(Number);
  return ids.map((id) => nodes.find((n) => n.id === id)).filter((n): n is TestNode => n !== undefined);
}

/** The test secret of a node's beacon in an epoch. */
export const beaconSecret = (epoch: bigint, id: number) => keccak256(toUtf8Bytes(`secret-${epoch}-${id}`));

/**
 * The first half of {@link runBeacon}: each member of the current committee commits (unless already
 * committed, or commits have closed). Tests that move the clock past an epoch's end call it first,
 * as running nodes would have committed by then. Returns the members.
 */
export async function commitBeacons(s: RegistrySuite, nodes: readonly TestNode[]): Promise<TestNode[]> {
  const epoch = await s.registry.epoch();
  const members = await committeeNodes(s, nodes);
  if (BigInt(await time.latest()) + 1n >= (await s.registry.epochEnd())) return members;
  for (const m of members) {
    if ((await s.registry.beacons(epoch, m.id)).commitment !== ZERO32) continue;
    await s.registry.connect(m.owner).commitBeacon(m.id, beaconCommitment(epoch, m.id, beaconSecret(epoch, m.id)));
  }
  return members;
}

/**
 * The committee's beacon for the current epoch, as honest members run it: each member commits
 * (unless already committed, or commits have closed), then after the epoch's end each committer
 * reveals, except the ids in `silent`.
 */
export async function runBeacon(s: RegistrySuite, nodes: readonly TestNode[], silent: ReadonlySet<number> = new Set()) {
  const epoch = await s.registry.epoch();
  const members = await commitBeacons(s, nodes);
  if (BigInt(await time.latest()) < (await s.registry.epochEnd())) await time.increaseTo(await s.registry.epochEnd());
  if (BigInt(await time.latest()) + 1n >= (await s.registry.reportOpensAt())) return;
  for (const m of members) {
    const b = await s.registry.beacons(epoch, m.id);
    if (silent.has(m.id) || b.commitment === ZERO32 || b.revealed) continue;
    await s.registry.connect(m.owner).revealBeacon(m.id, beaconSecret(epoch, m.id));
  }
}

/**
 * Runs the beacon with every member honest (unless the test has moved past the epoch's end: then it
 * ran its own), waits for the report window and submits `report` signed by a quorum of the committee.
 */
export async function submitReport(s: RegistrySuite, nodes: readonly TestNode[], report: EpochReport) {
  if (BigInt(await time.latest()) + 1n < (await s.registry.epochEnd())) await runBeacon(s, nodes);
  const members = await committeeNodes(s, nodes);
  const sigs = await signReport(s, report, members.slice(0, quorum(members.length)));
  const opens = await s.registry.reportOpensAt();
  if (BigInt(await time.latest()) < opens) await time.increaseTo(opens);
  return s.registry.submitEpochReport(report, sigs);
}
