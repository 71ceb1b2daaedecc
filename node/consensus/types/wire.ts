/**
 * Wire messages between primaries and between workers: a u8 tag then the body.
 * Decoding is strict (no trailing bytes, capped counts); a frame that does not decode is a
 * malformed message and is dropped by the receiver.
 */
import { DecodeError, Reader, Writer } from "./codec";
import { DIGEST_LEN } from "./crypto";
import {
  Certificate,
  Digest,
  encodeCertificate,
  Header,
  readCertificate,
  readHeader,
  readVote,
  Vote,
  writeCertificate,
  writeHeader,
  writeVote,
} from "./messages";

/** Messages between primaries. */
export type PrimaryMessage =
  | { kind: "header"; header: Header }
  | { kind: "vote"; vote: Vote }
  | { kind: "certificate"; certificate: Certificate }
  /** Ask a peer for certificates by digest (missing parents). */
  | { kind: "certificates-request"; digests: Digest[] }
  /** Ask a peer for the certificates it stored of rounds `from`..`to` (catch-up after a partition). */
  | { kind: "certificates-range"; from: number; to: number }
  /** The certificates a peer had of a request, in round order. */
  | { kind: "certificates"; certificates: Certificate[] };

/** Messages between workers. */
export type WorkerMessage = { kind: "batch"; batch: Buffer } | { kind: "batch-ack"; digest: Digest } | { kind: "batch-request"; digests: Digest[] };

const MAX_REQUEST = 1_000;

function writeDigests(w: Writer, ds: Digest[]): void {
  w.u32(ds.length);
  for (const d of ds) w.fixed(d);
}

function readDigests(r: Reader): Digest[] {
  const out: Digest[] = [];
  for (let i = 0, n = r.count(MAX_REQUEST); i < n; i++) out.push(Buffer.from(r.fixed(DIGEST_LEN)));
  return out;
}

/** Encodes a primary message. */
export function encodePrimary(m: PrimaryMessage): Buffer {
  const w = new Writer(512);
  switch (m.kind) {
    case "header":
      writeHeader(w.u8(1), m.header);
      break;
    case "vote":
      writeVote(w.u8(2), m.vote);
      break;
    case "certificate":
      writeCertificate(w.u8(3), m.certificate);
      break;
    case "certificates-request":
      writeDigests(w.u8(4), m.digests);
      break;
    case "certificates":
      w.u8(5).u32(m.certificates.length);
      for (const c of m.certificates) writeCertificate(w, c);
      break;
    case "certificates-range":
      w.u8(6).u64(m.from).u64(m.to);
      break;
  }
  return w.finish();
}

/**
 * Encodes a reply of certificates as as many "certificates" frames as needed for each to stay
 * under `maxBytes` (at committee 100 one certificate is ~8 KB, so a full reply of 1,000 would
 * not fit one frame, and the peer would drop the link).
 */
export function encodeCertificateReplies(certificates: Certificate[], maxBytes: number): Buffer[] {
  const frames: Buffer[] = [];
  let group: Certificate[] = [];
  let size = 5;
  for (const c of certificates) {
    const bytes = encodeCertificate(c).length;
    if (group.length > 0 && size + bytes > maxBytes) {
      frames.push(encodePrimary({ kind: "certificates", certificates: group }));
      group = [];
      size = 5;
    }
    group.push(c);
    size += bytes;
  }
  if (group.length > 0) frames.push(encodePrimary({ kind: "certificates", certificates: group }));
  return frames;
}

/** Decodes a primary message; throws {@link DecodeError} on malformed bytes. */
export function decodePrimary(bytes: Buffer): PrimaryMessage {
  const r = new Reader(bytes);
  let m: PrimaryMessage;
  switch (r.u8()) {
    case 1:
      m = { kind: "header", header: readHeader(r) };
      break;
    case 2:
      m = { kind: "vote", vote: readVote(r) };
      break;
    case 3:
      m = { kind: "certificate", certificate: readCertificate(r) };
      break;
    case 4:
      m = { kind: "certificates-request", digests: readDigests(r) };
      break;
    case 5: {
      const certificates: Certificate[] = [];
      for (let i = 0, n = r.count(MAX_REQUEST); i < n; i++) certificates.push(readCertificate(r));
      m = { kind: "certificates", certificates };
      break;
    }
    case 6:
      m = { kind: "certificates-range", from: r.u64(), to: r.u64() };
      break;
    default:
      throw new DecodeError("unknown primary message");
  }
  r.end();
  return m;
}

/** Encodes a worker message. A batch frame is the tag byte followed by the batch as is. */
export function encodeWorker(m: WorkerMessage): Buffer {
  switch (m.kind) {
    case "batch":
      return Buffer.concat([Buffer.from([1]), m.batch]);
    case "batch-ack":
      return Buffer.concat([Buffer.from([2]), m.digest]);
    case "batch-request": {
      const w = new Writer(8 + 32 * m.digests.length);
      writeDigests(w.u8(3), m.digests);
      return w.finish();
    }
  }
}

/** Decodes a worker message (a batch's transactions are checked later, where they are read). */
export function decodeWorker(bytes: Buffer): WorkerMessage {
  if (bytes.length === 0) throw new DecodeError("empty worker message");
  switch (bytes[0]) {
    case 1:
      return { kind: "batch", batch: bytes.subarray(1) };
    case 2:
      if (bytes.length !== 1 + DIGEST_LEN) throw new DecodeError("bad batch-ack");
      return { kind: "batch-ack", digest: bytes.subarray(1) };
    case 3: {
      const r = new Reader(bytes.subarray(1));
      const digests = readDigests(r);
      r.end();
      return { kind: "batch-request", digests };
    }
    default:
      throw new DecodeError("unknown worker message");
  }
}
