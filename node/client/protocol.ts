/**
 * The client protocol on a node's mempool port (framed like peer links, no authentication:
 * transactions carry their own signatures).
 *
 * Requests:  1 Submit(u32 count, then each transaction as u32 length | bytes)
 *            2 Subscribe(u64 from sub-DAG index)
 * Responses: 1 SubmitResult(u32 accepted, u8 status, then the reason as u32 length | utf-8)
 *              — transactions are taken in order until the first refusal
 *            2 Committed(u64 epoch, u64 sub-DAG index, u64 leader round, u64 header createdAt, batch bytes)
 */
import { DecodeError, Reader, Writer } from "../consensus/types/codec";
import { decodeBatch, encodeBatch } from "../consensus/types/messages";

/** Outcome of a submission. */
export enum SubmitStatus {
  Ok = 0,
  /** The node is saturated: retry later (backpressure). */
  Busy = 1,
  /** The transaction breaks the admission rules: do not retry. */
  Invalid = 2,
  /** The node is not in the current committee or is between epochs. */
  Unavailable = 3,
}

/** Result of submitting transactions. */
export interface SubmitResult {
  accepted: number;
  status: SubmitStatus;
  reason: string;
}

/** A client request. */
export type ClientRequest = { kind: "submit"; txs: Buffer[] } | { kind: "subscribe"; from: number };

/** A committed batch as clients see it. */
export interface CommittedFrame {
  epoch: number;
  subDagIndex: number;
  leaderRound: number;
  createdAt: number;
  txs: Buffer[];
}

/** Encodes a submission of transactions. */
export function encodeSubmit(txs: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([1]), encodeBatch(txs)]);
}

/** Encodes a subscription request. */
export function encodeSubscribe(from: number): Buffer {
  return new Writer(9).u8(2).u64(from).finish();
}

/** Decodes a client request. */
export function decodeRequest(bytes: Buffer): ClientRequest {
  if (bytes[0] === 1) return { kind: "submit", txs: decodeBatch(bytes.subarray(1)) };
  if (bytes[0] === 2) {
    const r = new Reader(bytes.subarray(1));
    const from = r.u64();
    r.end();
    return { kind: "subscribe", from };
  }
  throw new DecodeError("unknown client request");
}

/** Encodes a submission result. */
export function encodeSubmitResult(res: SubmitResult): Buffer {
  return new Writer(16).u8(1).u32(res.accepted).u8(res.status).bytes(Buffer.from(res.reason)).finish();
}

/** Encodes a committed batch frame as two parts, head and batch, so the batch is never copied. */
export function encodeCommitted(epoch: number, subDagIndex: number, leaderRound: number, createdAt: number, batch: Buffer): Buffer[] {
  const head = new Writer(33).u8(2).u64(epoch).u64(subDagIndex).u64(leaderRound).u64(createdAt).finish();
  return [head, batch];
}

/**
 * Encodes the refusal of a subscription: the node no longer holds the sequence from the index
 * asked for (compacted), `retainedFrom` is the lowest it serves in `epoch`.
 */
export function encodeSubscribeRefused(epoch: number, retainedFrom: number, reason: string): Buffer {
  return new Writer(32 + reason.length).u8(3).u64(epoch).u64(retainedFrom).bytes(Buffer.from(reason)).finish();
}

/** A refused subscription, as {@link encodeSubscribeRefused} sent it. */
export interface SubscribeRefused {
  epoch: number;
  retainedFrom: number;
  reason: string;
}

/** Decodes a response frame. */
export function decodeResponse(
  bytes: Buffer,
): { kind: "submit-result"; result: SubmitResult } | { kind: "committed"; frame: CommittedFrame } | { kind: "subscribe-refused"; refused: SubscribeRefused } {
  const r = new Reader(bytes);
  const kind = r.u8();
  if (kind === 1) {
    const accepted = r.u32();
    const status = r.u8() as SubmitStatus;
    const reason = r.bytes().toString();
    r.end();
    return { kind: "submit-result", result: { accepted, status, reason } };
  }
  if (kind === 2) {
    const epoch = r.u64();
    const subDagIndex = r.u64();
    const leaderRound = r.u64();
    const createdAt = r.u64();
    return { kind: "committed", frame: { epoch, subDagIndex, leaderRound, createdAt, txs: decodeBatch(bytes.subarray(33)) } };
  }
  if (kind === 3) {
    const refused = { epoch: r.u64(), retainedFrom: r.u64(), reason: r.bytes().toString() };
    r.end();
    return { kind: "subscribe-refused", refused };
  }
  throw new DecodeError("unknown client response");
}
