/**
 * What the node signs about its agents with its Ed25519 key (in the gateway, which alone holds
 * it): a snapshot's record ("agent A's state number S is the content with root R, B bytes, taken
 * at T by node N") for the epoch report and for another node to restore from, and one receipt per request
 * (what it used, LLM tokens included). Fixed-width encodings behind a domain tag, as compute
 * receipts (acks/computeReceipt.ts): no signature can be replayed as another statement.
 */
import { createHash, randomBytes, sign, verify, type KeyObject } from "node:crypto";
import { ed25519PublicKeyFromRaw } from "../acks/ed25519Keys";
import type { AgentSnapshotLeaf } from "../../protocol/agentSnapshots";

// v2: the record carries its sequence number (a v1 signature never verifies as a v2 record).
const SNAPSHOT_DOMAIN = Buffer.from("fleek-network/agent-snapshot/v2\0", "utf8");
const RECEIPT_DOMAIN = Buffer.from("fleek-network/agent-receipt/v1\0", "utf8");

/** A snapshot's signed record (JSON form: hex and numbers). */
export interface SnapshotRecord {
  agent: string;
  /** Content root of the store's tarball in the blockstore. */
  root: string;
  bytes: number;
  /**
   * The agent's snapshot number: one more than the record its state was last snapshotted or
   * restored from, whichever node took it. Records of an agent are ordered by it (never by
   * `takenAt`, which compares two nodes' clocks); an older or equal one is a replay.
   */
  sequence: number;
  /** Unix ms, on the signer's clock (information only). */
  takenAt: number;
  /** Ed25519 public key of the node that took it, hex. */
  nodeKey: string;
  signature: string;
}

/** A request's signed receipt (JSON form), in the `x-fleek-receipt` header of an agent's answer. */
export interface AgentReceipt {
  nodeKey: string;
  agent: string;
  /** Content root of the bundle that ran. */
  bundleRoot: string;
  /** acks/computeReceipt.ts `requestHash` / `responseHash`, hex. */
  requestHash: string;
  responseHash: string;
  cpuUs: number;
  wallMs: number;
  egressBytes: number;
  promptTokens: number;
  completionTokens: number;
  at: number;
  nonce: string;
  signature: string;
}

/** The meter the agents service hands the gateway (`x-fleek-agent-meter`), which turns it into a receipt. */
export type AgentMeter = Omit<AgentReceipt, "nodeKey" | "at" | "nonce" | "signature">;

/** The header the meter travels in from the service to the gateway (never to a client). */
export const AGENT_METER_HEADER = "x-fleek-agent-meter";

function u64(value: number, name: string): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative safe integer`);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

function hex32(text: string, name: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${name} must be 32 bytes of lower-case hex`);
  return Buffer.from(text, "hex");
}

function agentDigest(agent: string): Buffer {
  return createHash("sha256").update(agent, "utf8").digest();
}

function snapshotMessage(r: Omit<SnapshotRecord, "signature">): Buffer {
  return Buffer.concat([
    SNAPSHOT_DOMAIN,
    agentDigest(r.agent),
    hex32(r.root, "root"),
    u64(r.bytes, "bytes"),
    u64(r.sequence, "sequence"),
    u64(r.takenAt, "takenAt"),
    hex32(r.nodeKey, "nodeKey"),
  ]);
}

/** Signs a snapshot's record with the node's key. */
export function signSnapshot(r: Omit<SnapshotRecord, "signature">, nodePrivateKey: KeyObject): SnapshotRecord {
  return { ...r, signature: sign(null, snapshotMessage(r), nodePrivateKey).toString("hex") };
}

/** Why a snapshot's record does not hold, or undefined when it does (for agent `agent`). */
export function snapshotRecordRefusal(value: unknown, agent: string): string | undefined {
  const r = value as SnapshotRecord;
  if (typeof r !== "object" || r === null) return "the snapshot record must be an object";
  if (r.agent !== agent) return `the snapshot record is of agent ${JSON.stringify(r.agent)}, not ${JSON.stringify(agent)}`;
  try {
    if (typeof r.signature !== "string" || !/^[0-9a-f]{128}$/.test(r.signature)) return "the snapshot record's signature must be 64 bytes of hex";
    if (!verify(null, snapshotMessage(r), ed25519PublicKeyFromRaw(hex32(r.nodeKey, "nodeKey")), Buffer.from(r.signature, "hex")))
      return "the snapshot record's signature does not hold (altered, or not signed by the node it names)";
  } catch (error) {
    return `malformed snapshot record: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

/** A marketplace agent's record as its leaf of the epoch report's `agentSnapshotsRoot` (its agent is the decimal marketplace id). */
export function snapshotLeaf(r: SnapshotRecord): AgentSnapshotLeaf {
  return { agentId: BigInt(r.agent), root: r.root, bytes: BigInt(r.bytes), sequence: BigInt(r.sequence), nodeKey: r.nodeKey };
}

/** The newest of `records` by sequence (the first of equals), or undefined when there is none. */
export function newestRecord(records: readonly (SnapshotRecord | undefined)[]): SnapshotRecord | undefined {
  let newest: SnapshotRecord | undefined;
  for (const r of records) if (r && (!newest || r.sequence > newest.sequence)) newest = r;
  return newest;
}

function receiptMessage(r: Omit<AgentReceipt, "signature">): Buffer {
  return Buffer.concat([
    RECEIPT_DOMAIN,
    hex32(r.nodeKey, "nodeKey"),
    agentDigest(r.agent),
    hex32(r.bundleRoot, "bundleRoot"),
    hex32(r.requestHash, "requestHash"),
    hex32(r.responseHash, "responseHash"),
    ...(["cpuUs", "wallMs", "egressBytes", "promptTokens", "completionTokens", "at"] as const).map((k) => u64(r[k], k)),
    Buffer.from(/^[0-9a-f]{32}$/.test(r.nonce) ? r.nonce : "", "hex"),
  ]);
}

/** Signs a request's meter as a receipt (node key, now, a fresh nonce). */
export function signAgentReceipt(meter: AgentMeter, nodeKey: Buffer, nodePrivateKey: KeyObject, now = Date.now()): AgentReceipt {
  const unsigned = { ...meter, nodeKey: nodeKey.toString("hex"), at: now, nonce: randomBytes(16).toString("hex") };
  return { ...unsigned, signature: sign(null, receiptMessage(unsigned), nodePrivateKey).toString("hex") };
}

/** Whether a receipt's node signature holds. */
export function verifyAgentReceipt(r: AgentReceipt): boolean {
  try {
    if (!/^[0-9a-f]{32}$/.test(r.nonce)) return false;
    return verify(null, receiptMessage(r), ed25519PublicKeyFromRaw(hex32(r.nodeKey, "nodeKey")), Buffer.from(r.signature, "hex"));
  } catch {
    return false;
  }
}
