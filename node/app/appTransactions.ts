/**
 * The application's consensus transactions: the payloads inside the signed envelope of
 * client/transaction.ts. One kind byte, then a fixed-layout body; every count is capped, and
 * decoding refuses trailing bytes, so a payload has one encoding and a bounded size.
 *
 *   1 Acks          u16 count, each: node key 32 | client key 32 | content root 32 | u64 bytes |
 *                   u64 windowStart | u64 windowEnd | nonce 16 | signature 64
 *   2 Payer         client key 32 | account 20 | client signature 64 | account signature 65
 *   3 Measurements  u64 epoch | u16 count, each: u32 peer | u8 metric mask | f64 per metric present
 *                   (protocol/reputation.ts METRICS order)
 *   4 CloseEpoch    u64 epoch: the submitter saw the epoch's end on chain
 *   5 ReportSignature u64 epoch | signature 65: the submitter's EIP-712 signature of the report
 *   6 ComputeAcks   u16 count, each: node key 32 | client key 32 | function root 32 |
 *                   request hash 32 | response hash 32 | u64 cpuUs | u64 wallMs | u64 egressBytes |
 *                   u64 windowStart | u64 windowEnd | nonce 16 | node signature 64 | client signature 64
 *   7 AgentAcks     as ComputeAcks, with u64 llmTokens after windowEnd: acknowledged agent calls
 *                   (the "function root" is bytes32(agentId); computeReceipt.ts)
 *   8 AgentSnapshots u16 count, each: u64 agent (AgentMarketplace id) | root 32 | u64 bytes |
 *                   u64 sequence | u64 takenAt | node key 32 | signature 64: node-signed snapshot
 *                   records of marketplace agents (agents/agentRecords.ts), for agentSnapshotsRoot
 */
import { getAddress } from "ethers";
import type { SignedDeliveryAck } from "../acks/deliveryAck";
import type { SignedComputeAck } from "../acks/computeReceipt";
import type { PayerBinding } from "../acks/payerBinding";
import type { ContentHash } from "../blockstore/contentHash";
import { DecodeError, Reader, Writer } from "../consensus/types/codec";
import { METRICS, type PeerMeasurement } from "../../protocol/reputation";
import { marketplaceAgentId } from "../../protocol/agentSnapshots";
import type { SnapshotRecord } from "../agents/agentRecords";

/** Kinds of application transactions. */
export enum AppTxKind {
  Acks = 1,
  Payer = 2,
  Measurements = 3,
  CloseEpoch = 4,
  ReportSignature = 5,
  ComputeAcks = 6,
  AgentAcks = 7,
  AgentSnapshots = 8,
}

/** Most acks in one transaction: 250 × 264 bytes stays well under the 64 KiB transaction cap. */
export const MAX_ACKS_PER_TX = 250;
/** Most compute acks in one transaction: 150 × 344 bytes stays well under the 64 KiB transaction cap. */
export const MAX_COMPUTE_ACKS_PER_TX = 150;
/** Most snapshot records in one transaction (224 bytes each). */
export const MAX_SNAPSHOTS_PER_TX = 64;
/** Most peers one measurements transaction covers (the active set is at most 100). */
export const MAX_MEASUREMENTS_PER_TX = 200;

/** A measurement of one peer, as its reporter (the transaction's signer) submits it. */
export type PeerReport = Omit<PeerMeasurement, "reporter">;

/** A decoded application transaction. */
export type AppTx =
  | { kind: AppTxKind.Acks; acks: SignedDeliveryAck[] }
  | { kind: AppTxKind.Payer; binding: PayerBinding }
  | { kind: AppTxKind.Measurements; epoch: number; reports: PeerReport[] }
  | { kind: AppTxKind.CloseEpoch; epoch: number }
  | { kind: AppTxKind.ReportSignature; epoch: number; signature: Buffer }
  | { kind: AppTxKind.ComputeAcks | AppTxKind.AgentAcks; acks: SignedComputeAck[] }
  | { kind: AppTxKind.AgentSnapshots; records: SnapshotRecord[] };

/** Encodes an application transaction's payload; throws if a cap or a field width is broken. */
export function encodeAppTx(tx: AppTx): Buffer {
  const w = new Writer(256).u8(tx.kind);
  switch (tx.kind) {
    case AppTxKind.Acks:
      if (tx.acks.length > MAX_ACKS_PER_TX) throw new RangeError(`at most ${MAX_ACKS_PER_TX} acks per transaction`);
      w.u16(tx.acks.length);
      for (const { ack, signature } of tx.acks) {
        w.fixed(exact(ack.nodeKey, 32))
          .fixed(exact(ack.clientKey, 32))
          .fixed(exact(Buffer.from(ack.contentHash, "hex"), 32));
        w.u64(ack.bytes).u64(ack.windowStart).u64(ack.windowEnd).fixed(exact(ack.nonce, 16)).fixed(exact(signature, 64));
      }
      break;
    case AppTxKind.Payer: {
      const b = tx.binding;
      w.fixed(exact(b.clientKey, 32))
        .fixed(Buffer.from(getAddress(b.account).slice(2), "hex"))
        .fixed(exact(b.clientSignature, 64))
        .fixed(exact(b.accountSignature, 65));
      break;
    }
    case AppTxKind.Measurements:
      if (tx.reports.length > MAX_MEASUREMENTS_PER_TX) throw new RangeError(`at most ${MAX_MEASUREMENTS_PER_TX} measurements per transaction`);
      w.u64(tx.epoch).u16(tx.reports.length);
      for (const r of tx.reports) {
        let mask = 0;
        METRICS.forEach((m, i) => (mask |= r[m] !== undefined ? 1 << i : 0));
        w.u32(r.peer).u8(mask);
        for (const m of METRICS) if (r[m] !== undefined) w.fixed(f64(r[m] as number));
      }
      break;
    case AppTxKind.CloseEpoch:
      w.u64(tx.epoch);
      break;
    case AppTxKind.ReportSignature:
      w.u64(tx.epoch).fixed(exact(tx.signature, 65));
      break;
    case AppTxKind.ComputeAcks:
    case AppTxKind.AgentAcks:
      if (tx.acks.length > MAX_COMPUTE_ACKS_PER_TX) throw new RangeError(`at most ${MAX_COMPUTE_ACKS_PER_TX} compute acks per transaction`);
      w.u16(tx.acks.length);
      for (const { receipt: r, nodeSignature, clientSignature } of tx.acks) {
        // One kind per transaction: an agent call's receipt never travels as a function's.
        if (!r.agent !== (tx.kind === AppTxKind.ComputeAcks)) throw new RangeError("agent receipts go in AgentAcks, function receipts in ComputeAcks");
        for (const b of [r.nodeKey, r.clientKey, r.functionRoot, r.requestHash, r.responseHash]) w.fixed(exact(b, 32));
        w.u64(r.cpuUs).u64(r.wallMs).u64(r.egressBytes).u64(r.windowStart).u64(r.windowEnd);
        if (r.agent) w.u64(r.agent.llmTokens);
        w.fixed(exact(r.nonce, 16)).fixed(exact(nodeSignature, 64)).fixed(exact(clientSignature, 64));
      }
      break;
    case AppTxKind.AgentSnapshots:
      if (tx.records.length === 0 || tx.records.length > MAX_SNAPSHOTS_PER_TX)
        throw new RangeError(`1..${MAX_SNAPSHOTS_PER_TX} snapshot records per transaction`);
      w.u16(tx.records.length);
      for (const r of tx.records) {
        const agentId = marketplaceAgentId(r.agent);
        if (agentId === undefined) throw new RangeError(`agent ${JSON.stringify(r.agent)} is not a marketplace id`);
        w.u64(Number(agentId))
          .fixed(exact(Buffer.from(r.root, "hex"), 32))
          .u64(r.bytes)
          .u64(r.sequence)
          .u64(r.takenAt)
          .fixed(exact(Buffer.from(r.nodeKey, "hex"), 32))
          .fixed(exact(Buffer.from(r.signature, "hex"), 64));
      }
      break;
  }
  return Buffer.from(w.finish());
}

/** Decodes a payload; throws {@link DecodeError} for anything but a canonical encoding. */
export function decodeAppTx(payload: Buffer): AppTx {
  const r = new Reader(payload);
  const kind = r.u8();
  let tx: AppTx;
  switch (kind) {
    case AppTxKind.Acks: {
      const count = r.u16();
      if (count === 0 || count > MAX_ACKS_PER_TX) throw new DecodeError(`ack count ${count} outside 1..${MAX_ACKS_PER_TX}`);
      const acks: SignedDeliveryAck[] = [];
      for (let i = 0; i < count; i++) {
        const nodeKey = Buffer.from(r.fixed(32));
        const clientKey = Buffer.from(r.fixed(32));
        const contentHash = r.fixed(32).toString("hex") as ContentHash;
        const bytes = r.u64();
        const windowStart = r.u64();
        const windowEnd = r.u64();
        const nonce = Buffer.from(r.fixed(16));
        acks.push({ ack: { nodeKey, clientKey, contentHash, bytes, windowStart, windowEnd, nonce }, signature: Buffer.from(r.fixed(64)) });
      }
      tx = { kind, acks };
      break;
    }
    case AppTxKind.Payer:
      tx = {
        kind,
        binding: {
          clientKey: Buffer.from(r.fixed(32)),
          account: getAddress(`0x${r.fixed(20).toString("hex")}`),
          clientSignature: Buffer.from(r.fixed(64)),
          accountSignature: Buffer.from(r.fixed(65)),
        },
      };
      break;
    case AppTxKind.Measurements: {
      const epoch = r.u64();
      const count = r.u16();
      if (count > MAX_MEASUREMENTS_PER_TX) throw new DecodeError(`measurement count ${count} above ${MAX_MEASUREMENTS_PER_TX}`);
      const reports: PeerReport[] = [];
      for (let i = 0; i < count; i++) {
        const report: PeerReport = { peer: r.u32() };
        const mask = r.u8();
        if (mask >> METRICS.length) throw new DecodeError("unknown metric bits");
        METRICS.forEach((m, bit) => {
          if (mask & (1 << bit)) report[m] = r.fixed(8).readDoubleLE(0);
        });
        reports.push(report);
      }
      tx = { kind, epoch, reports };
      break;
    }
    case AppTxKind.CloseEpoch:
      tx = { kind, epoch: r.u64() };
      break;
    case AppTxKind.ReportSignature:
      tx = { kind, epoch: r.u64(), signature: Buffer.from(r.fixed(65)) };
      break;
    case AppTxKind.ComputeAcks:
    case AppTxKind.AgentAcks: {
      const count = r.u16();
      if (count === 0 || count > MAX_COMPUTE_ACKS_PER_TX) throw new DecodeError(`compute ack count ${count} outside 1..${MAX_COMPUTE_ACKS_PER_TX}`);
      const acks: SignedComputeAck[] = [];
      const bytes = (n: number) => Buffer.from(r.fixed(n));
      for (let i = 0; i < count; i++) {
        const [nodeKey, clientKey, functionRoot, requestHash, responseHash] = [bytes(32), bytes(32), bytes(32), bytes(32), bytes(32)];
        const [cpuUs, wallMs, egressBytes, windowStart, windowEnd] = [r.u64(), r.u64(), r.u64(), r.u64(), r.u64()];
        const agent = kind === AppTxKind.AgentAcks ? { llmTokens: r.u64() } : undefined;
        const receipt = {
          nodeKey,
          clientKey,
          functionRoot,
          requestHash,
          responseHash,
          cpuUs,
          wallMs,
          egressBytes,
          windowStart,
          windowEnd,
          nonce: bytes(16),
          ...(agent ? { agent } : {}),
        };
        acks.push({ receipt, nodeSignature: bytes(64), clientSignature: bytes(64) });
      }
      tx = { kind, acks };
      break;
    }
    case AppTxKind.AgentSnapshots: {
      const count = r.u16();
      if (count === 0 || count > MAX_SNAPSHOTS_PER_TX) throw new DecodeError(`snapshot record count ${count} outside 1..${MAX_SNAPSHOTS_PER_TX}`);
      const records: SnapshotRecord[] = [];
      for (let i = 0; i < count; i++) {
        const agent = r.u64();
        if (agent === 0) throw new DecodeError("agent id 0");
        const root = r.fixed(32).toString("hex");
        const [bytes, sequence, takenAt] = [r.u64(), r.u64(), r.u64()];
        records.push({ agent: String(agent), root, bytes, sequence, takenAt, nodeKey: r.fixed(32).toString("hex"), signature: r.fixed(64).toString("hex") });
      }
      tx = { kind, records };
      break;
    }
    default:
      throw new DecodeError(`unknown application transaction kind ${kind}`);
  }
  r.end();
  return tx;
}

function exact(b: Buffer, n: number): Buffer {
  if (b.length !== n) throw new RangeError(`expected ${n} bytes, got ${b.length}`);
  return b;
}

function f64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b;
}
