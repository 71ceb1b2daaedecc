/**
 * The epoch report: building it, its EIP-712 hash and the committee's signatures (docs/spec.md §5).
 * `NodeRegistry.submitEpochReport` accepts exactly what these functions produce.
 */
import { TypedDataEncoder, type Signer, type TypedDataDomain } from "ethers";
import { compareCharges, type ServiceCharge } from "./usage";

export type { ServiceCharge } from "./usage";

/** What the committee measured of one node (`NodeMeasurement` in Solidity). */
export interface NodeMeasurement {
  nodeId: number;
  /** Percent 0-100; below 40 the node leaves the active set. */
  uptime: number;
  latencyMs: number;
  bytesServed: bigint;
  deliveryAcks: bigint;
  /** Service revenue units (USDC, 6 decimals) of the usage the node served: its USDC weight. */
  revenue: bigint;
  /** Reputation 0-100 after this epoch's update (a reputation-root leaf and an FLK-weight factor). */
  reputation: number;
}

/** USDC (6 decimals) a client owes for the epoch (`ClientUsage`). */
export interface ClientUsage {
  client: string;
  amount: bigint;
}

/** The signed report (`EpochReport`). */
export interface EpochReport {
  epoch: bigint;
  nodes: NodeMeasurement[];
  usage: ClientUsage[];
  /** Per (node, kind, service) paid USDC, in strictly increasing order (protocol/usage.ts). */
  charges: ServiceCharge[];
  reputationRoot: string;
  rewardsRoot: string;
  /** protocol/agentSnapshots.ts: the epoch's newest snapshot record of each agent, signed by its assigned host (zero: none). */
  agentSnapshotsRoot: string;
  totalFlkWeight: bigint;
  totalUsdcWeight: bigint;
  totalUsage: bigint;
}

/** EIP-712 types of the report. */
export const EPOCH_REPORT_TYPES = {
  EpochReport: [
    { name: "epoch", type: "uint64" },
    { name: "nodes", type: "NodeMeasurement[]" },
    { name: "usage", type: "ClientUsage[]" },
    { name: "charges", type: "ServiceCharge[]" },
    { name: "reputationRoot", type: "bytes32" },
    { name: "rewardsRoot", type: "bytes32" },
    { name: "agentSnapshotsRoot", type: "bytes32" },
    { name: "totalFlkWeight", type: "uint256" },
    { name: "totalUsdcWeight", type: "uint256" },
    { name: "totalUsage", type: "uint256" },
  ],
  NodeMeasurement: [
    { name: "nodeId", type: "uint32" },
    { name: "uptime", type: "uint8" },
    { name: "latencyMs", type: "uint32" },
    { name: "bytesServed", type: "uint64" },
    { name: "deliveryAcks", type: "uint64" },
    { name: "revenue", type: "uint64" },
    { name: "reputation", type: "uint8" },
  ],
  ClientUsage: [
    { name: "client", type: "address" },
    { name: "amount", type: "uint128" },
  ],
  ServiceCharge: [
    { name: "nodeId", type: "uint32" },
    { name: "kind", type: "uint8" },
    { name: "service", type: "bytes32" },
    { name: "requests", type: "uint64" },
    { name: "cpuMs", type: "uint64" },
    { name: "amount", type: "uint128" },
  ],
};

/** The registry's EIP-712 domain. */
export function reportDomain(chainId: bigint, registry: string): TypedDataDomain {
  return { name: "FleekNodeRegistry", version: "1", chainId, verifyingContract: registry };
}

/** Everything a report commits to, before ordering and totals. */
export interface ReportInput {
  epoch: bigint;
  nodes: readonly NodeMeasurement[];
  usage: readonly ClientUsage[];
  charges: readonly ServiceCharge[];
  reputationRoot: string;
  rewardsRoot: string;
  /** Zero when absent (no agent snapshotted). */
  agentSnapshotsRoot?: string;
  totalFlkWeight: bigint;
  totalUsdcWeight: bigint;
}

/**
 * A report in the canonical form the contract requires: nodes in increasing id order, clients in
 * increasing address order with zero usage left out, `totalUsage` their sum, charges in
 * (nodeId, kind, service) order with empty ones (no request, no amount) left out.
 */
export function buildEpochReport(input: ReportInput): EpochReport {
  const nodes = [...input.nodes].sort((a, b) => a.nodeId - b.nodeId);
  const usage = input.usage.filter((u) => u.amount > 0n).sort((a, b) => (BigInt(a.client) < BigInt(b.client) ? -1 : 1));
  return {
    epoch: input.epoch,
    nodes,
    usage,
    charges: input.charges.filter((c) => c.requests > 0n || c.amount > 0n).sort(compareCharges),
    reputationRoot: input.reputationRoot,
    rewardsRoot: input.rewardsRoot,
    agentSnapshotsRoot: input.agentSnapshotsRoot ?? `0x${"00".repeat(32)}`,
    totalFlkWeight: input.totalFlkWeight,
    totalUsdcWeight: input.totalUsdcWeight,
    totalUsage: usage.reduce((s, u) => s + u.amount, 0n),
  };
}

/** The digest committee members sign (`NodeRegistry.reportDigest`). */
export function reportDigest(domain: TypedDataDomain, report: EpochReport): string {
  return TypedDataEncoder.hash(domain, EPOCH_REPORT_TYPES, report);
}

/** A committee member's signature of the report. */
export interface ReportSignature {
  signer: string;
  signature: string;
}

/** Signs the report with a member's consensus signer key. */
export async function signEpochReport(signer: Signer, domain: TypedDataDomain, report: EpochReport): Promise<ReportSignature> {
  return { signer: await signer.getAddress(), signature: await signer.signTypedData(domain, EPOCH_REPORT_TYPES, report) };
}

/** Signatures in the order the contract requires: by signer address, each signer once. */
export function orderSignatures(signatures: readonly ReportSignature[]): string[] {
  const bySigner = new Map<bigint, string>();
  for (const s of signatures) bySigner.set(BigInt(s.signer), s.signature);
  return [...bySigner.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, sig]) => sig);
}

/** Signatures the contract needs from a committee of `size`: more than 2/3. */
export function quorum(size: number): number {
  return Math.floor((2 * size) / 3) + 1;
}
