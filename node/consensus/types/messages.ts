/**
 * Narwhal's data types — batches, headers, votes, certificates — with their canonical encodings,
 * digests and verification (docs/consensus.md "Narwhal: headers, votes, certificates"). Authors and voters are authority indexes
 * into the epoch's committee. One worker per node, so a header's payload is a list of batch digests.
 *
 * Domain tags in every digest preimage keep a signature over one kind of message from ever being
 * valid for another kind.
 */
import { Committee, AuthorityIndex } from "./committee";
import { DIGEST_LEN, hash, KeyPair, SIGNATURE_LEN, verifySignature } from "./crypto";
import { DecodeError, Reader, Writer } from "./codec";

/** A 32-byte SHA-256 digest. */
export type Digest = Buffer;

const TAG_BATCH = Buffer.from([1]);
const TAG_HEADER = 2;
const TAG_VOTE = 3;
const TAG_SIGNED = Buffer.from("fleek-consensus-signed-v1");

/**
 * What a header's author or a voter actually signs: the message's digest bound to the
 * deployment's domain (committee.ts, ChainBinding). Ids and certificate digests stay free of it:
 * they name content; the signatures say for which deployment it was signed.
 */
function signedDigest(domain: Uint8Array, digest: Digest): Digest {
  return hash(TAG_SIGNED, domain, digest);
}

/** Maximum digests in a header's payload or parents, checked while decoding. */
const MAX_LIST = 10_000;

/** Hex form of a digest, used as a map key. */
export function hex(d: Uint8Array): string {
  return Buffer.from(d).toString("hex");
}

/** Compares digests byte-wise; the canonical order of payloads and parents. */
export function compareDigests(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

// ---------------------------------------------------------------------------------------------
// Batches

/** Encodes a list of transactions as a batch: u32 count, then each transaction with a u32 length. */
export function encodeBatch(txs: readonly Uint8Array[]): Buffer {
  let size = 4;
  for (const t of txs) size += 4 + t.length;
  const w = new Writer(size);
  w.u32(txs.length);
  for (const t of txs) w.bytes(t);
  return w.finish();
}

/** Decodes a batch into its transactions (views into `bytes`). */
export function decodeBatch(bytes: Buffer): Buffer[] {
  const r = new Reader(bytes);
  const n = r.count(bytes.length / 4);
  const txs: Buffer[] = [];
  for (let i = 0; i < n; i++) txs.push(r.bytes());
  r.end();
  return txs;
}

/** The digest of an encoded batch. */
export function batchDigest(encoded: Uint8Array): Digest {
  return hash(TAG_BATCH, encoded);
}

// ---------------------------------------------------------------------------------------------
// Headers

/** The fields a header's author chooses; the id and signature are derived from them. */
export interface HeaderBody {
  epoch: number;
  round: number;
  author: AuthorityIndex;
  /** Milliseconds since the Unix epoch when the author created it (informational: latency metrics). */
  createdAt: number;
  /** Batch digests, sorted. */
  payload: Digest[];
  /** Digests of round-1 certificates, sorted. */
  parents: Digest[];
}

/** A signed header. */
export interface Header extends HeaderBody {
  /** Digest of the body; what the author signs. */
  id: Digest;
  signature: Buffer;
}

function writeHeaderBody(w: Writer, h: HeaderBody): void {
  w.u8(TAG_HEADER).u64(h.epoch).u64(h.round).u16(h.author).u64(h.createdAt);
  w.u32(h.payload.length);
  for (const d of h.payload) w.fixed(d);
  w.u32(h.parents.length);
  for (const d of h.parents) w.fixed(d);
}

/** The id of a header body (its digest). */
export function headerId(h: HeaderBody): Digest {
  const w = new Writer(64 + 32 * (h.payload.length + h.parents.length));
  writeHeaderBody(w, h);
  return hash(w.finish());
}

/** Builds and signs a header for the deployment of `domain`, sorting payload and parents into canonical order. */
export function signHeader(body: HeaderBody, key: KeyPair, domain: Uint8Array): Header {
  const canonical = {
    ...body,
    payload: [...body.payload].sort(compareDigests),
    parents: [...body.parents].sort(compareDigests),
  };
  const id = headerId(canonical);
  return { ...canonical, id, signature: key.sign(signedDigest(domain, id)) };
}

/** Writes a signed header (body then signature). */
export function writeHeader(w: Writer, h: Header): void {
  writeHeaderBody(w, h);
  w.fixed(h.signature);
}

/** Reads a signed header and recomputes its id from the bytes read. */
export function readHeader(r: Reader): Header {
  if (r.u8() !== TAG_HEADER) throw new DecodeError("not a header");
  const epoch = r.u64();
  const round = r.u64();
  const author = r.u16();
  const createdAt = r.u64();
  const payload: Digest[] = [];
  for (let i = 0, n = r.count(MAX_LIST); i < n; i++) payload.push(Buffer.from(r.fixed(DIGEST_LEN)));
  const parents: Digest[] = [];
  for (let i = 0, n = r.count(MAX_LIST); i < n; i++) parents.push(Buffer.from(r.fixed(DIGEST_LEN)));
  const signature = Buffer.from(r.fixed(SIGNATURE_LEN));
  const body = { epoch, round, author, createdAt, payload, parents };
  return { ...body, id: headerId(body), signature };
}

/** Strictly increasing (sorted, no duplicates) digest list. */
function strictlySorted(ds: Digest[]): boolean {
  for (let i = 1; i < ds.length; i++) if (compareDigests(ds[i - 1], ds[i]) >= 0) return false;
  return true;
}

/**
 * Checks everything about a header that needs no other message: epoch, known author, canonical
 * order, and the author's signature. Returns a reason string when invalid.
 */
export function checkHeader(h: Header, committee: Committee): string | undefined {
  if (h.epoch !== committee.epoch) return `wrong epoch ${h.epoch}`;
  if (committee.weight(h.author) === 0) return `unknown author ${h.author}`;
  if (h.round === 0) return "round 0 is genesis only";
  if (!strictlySorted(h.payload) || !strictlySorted(h.parents)) return "payload or parents not canonical";
  if (!verifySignature(committee.members[h.author].publicKey, signedDigest(committee.domain, h.id), h.signature)) return "bad header signature";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Votes and certificates

/**
 * The digest a vote signs, which is also the certificate's digest (docs/consensus.md "Narwhal: headers, votes, certificates"):
 * a certificate is checked by verifying each vote signature against it.
 */
export function voteDigest(headerIdValue: Digest, round: number, epoch: number, origin: AuthorityIndex): Digest {
  const w = new Writer(64);
  w.u8(TAG_VOTE).fixed(headerIdValue).u64(round).u64(epoch).u16(origin);
  return hash(w.finish());
}

/** A vote for a header, sent by `voter` to the header's author (`origin`). */
export interface Vote {
  headerId: Digest;
  round: number;
  epoch: number;
  origin: AuthorityIndex;
  voter: AuthorityIndex;
  signature: Buffer;
}

/** Signs a vote for a header, for the deployment of `domain`. */
export function signVote(h: Header, voter: AuthorityIndex, key: KeyPair, domain: Uint8Array): Vote {
  const d = signedDigest(domain, voteDigest(h.id, h.round, h.epoch, h.author));
  return { headerId: h.id, round: h.round, epoch: h.epoch, origin: h.author, voter, signature: key.sign(d) };
}

/** Writes a vote. */
export function writeVote(w: Writer, v: Vote): void {
  w.fixed(v.headerId).u64(v.round).u64(v.epoch).u16(v.origin).u16(v.voter).fixed(v.signature);
}

/** Reads a vote. */
export function readVote(r: Reader): Vote {
  return {
    headerId: Buffer.from(r.fixed(DIGEST_LEN)),
    round: r.u64(),
    epoch: r.u64(),
    origin: r.u16(),
    voter: r.u16(),
    signature: Buffer.from(r.fixed(SIGNATURE_LEN)),
  };
}

/** True if the vote's signature is valid for its voter in this committee. */
export function verifyVote(v: Vote, committee: Committee): boolean {
  const member = committee.members[v.voter];
  if (!member || v.epoch !== committee.epoch) return false;
  return verifySignature(member.publicKey, signedDigest(committee.domain, voteDigest(v.headerId, v.round, v.epoch, v.origin)), v.signature);
}

/** A header with 2f+1 votes: proof that a quorum stored it and its payload. */
export interface Certificate {
  header: Header;
  /** (voter, signature) pairs sorted by voter; empty for genesis. */
  votes: { voter: AuthorityIndex; signature: Buffer }[];
  /** The certificate digest (= the vote digest of its header). */
  digest: Digest;
}

/** Builds a certificate from a header and its votes (which the caller has verified). */
export function makeCertificate(header: Header, votes: { voter: AuthorityIndex; signature: Buffer }[]): Certificate {
  const sorted = [...votes].sort((a, b) => a.voter - b.voter);
  return { header, votes: sorted, digest: voteDigest(header.id, header.round, header.epoch, header.author) };
}

/** The round-0 certificates every node starts from; they are never sent over the wire. */
export function genesis(committee: Committee): Certificate[] {
  return committee.members.map((_, author) => {
    const body: HeaderBody = { epoch: committee.epoch, round: 0, author, createdAt: 0, payload: [], parents: [] };
    const header: Header = { ...body, id: headerId(body), signature: Buffer.alloc(SIGNATURE_LEN) };
    return makeCertificate(header, []);
  });
}

/** Writes a certificate. */
export function writeCertificate(w: Writer, c: Certificate): void {
  writeHeader(w, c.header);
  w.u16(c.votes.length);
  for (const v of c.votes) w.u16(v.voter).fixed(v.signature);
}

/** Reads a certificate. */
export function readCertificate(r: Reader): Certificate {
  const header = readHeader(r);
  const votes: { voter: AuthorityIndex; signature: Buffer }[] = [];
  for (let i = 0, n = r.u16(); i < n; i++) votes.push({ voter: r.u16(), signature: Buffer.from(r.fixed(SIGNATURE_LEN)) });
  return makeCertificate(header, votes);
}

/** Encodes a certificate on its own (for storage). */
export function encodeCertificate(c: Certificate): Buffer {
  const w = new Writer(512);
  writeCertificate(w, c);
  return w.finish();
}

/** Decodes a certificate encoded by {@link encodeCertificate}. */
export function decodeCertificate(bytes: Buffer): Certificate {
  const r = new Reader(bytes);
  const c = readCertificate(r);
  r.end();
  return c;
}

/**
 * Checks a certificate on its own: a valid header, distinct known voters with a quorum of
 * weight, and a valid signature from each. Returns a reason string when invalid.
 */
export function checkCertificate(c: Certificate, committee: Committee): string | undefined {
  const bad = checkHeader(c.header, committee);
  if (bad) return bad;
  let weight = 0;
  let prev = -1;
  for (const v of c.votes) {
    if (v.voter <= prev) return "votes not sorted or duplicated";
    prev = v.voter;
    const member = committee.members[v.voter];
    if (!member) return `unknown voter ${v.voter}`;
    weight += member.weight;
  }
  if (weight < committee.quorumThreshold) return "certificate without quorum";
  const signed = signedDigest(committee.domain, c.digest);
  for (const v of c.votes) {
    if (!verifySignature(committee.members[v.voter].publicKey, signed, v.signature)) return "bad vote signature";
  }
  return undefined;
}
