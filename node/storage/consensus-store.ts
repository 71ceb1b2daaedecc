/**
 * Everything one node must keep across a crash for one epoch, in four append-only logs under
 * `<dataDir>/epoch-<n>/`:
 *
 * - `certificates.log`: every certificate accepted into the DAG (replayed in order on restart).
 * - `batches.log`:      digest | batch bytes, for own and peers' batches (acknowledged once written).
 * - `primary.log`:      votes cast (author, round, header id) and own headers, fsynced before the vote
 *                       or header leaves the node, so a restart never votes twice or equivocates.
 * - `consensus.log`:    each committed sub-DAG (index, certificate digests) with the Bullshark state.
 *
 * Every log is written to the OS before the operation that depends on it proceeds (so a killed
 * process loses nothing), but only `primary.log` is also fsynced: see the constructor. Fsyncing
 * the batch traffic would stall votes (on ext4 an fsync also flushes other files' new blocks).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BullsharkState, CommittedSubDag } from "../consensus/bullshark/bullshark";
import { DecodeError, Reader, Writer } from "../consensus/types/codec";
import { DIGEST_LEN } from "../consensus/types/crypto";
import {
  Certificate,
  decodeCertificate,
  Digest,
  encodeCertificate,
  Header,
  hex,
  readHeader,
  writeHeader,
} from "../consensus/types/messages";
import { AppendLog, RecordLocation } from "./append-log";

const RECORD_VOTE = 1;
const RECORD_OWN_HEADER = 2;

/** A vote this node cast, remembered per header author. */
export interface VoteRecord {
  round: number;
  headerId: Digest;
}

/** A committed sub-DAG as stored: enough to replay the committed sequence from the certificates. */
export interface CommitRecord {
  index: number;
  leaderRound: number;
  certificates: Digest[];
}

/** The persistent state of one node in one epoch. */
export class ConsensusStore {
  /** Decoded certificates of recent rounds (older ones are read back from the log on demand). */
  private readonly certificates = new Map<string, Certificate>();
  /** Every stored certificate: where it is in the log and its round. */
  private readonly certificateIndex = new Map<string, { at: RecordLocation; round: number }>();
  /** Keys of cached certificates by round, to evict whole rounds. */
  private readonly cachedRounds = new Map<number, string[]>();
  /** Certificates found on open, in stored (causal) order; handed out once for recovery. */
  private recovered: Certificate[] = [];
  private readonly batchLocations = new Map<string, RecordLocation>();
  /** Batches not yet known to be on disk or still wanted soon (released by the executor). */
  private readonly batchCache = new Map<string, Buffer>();
  private readonly votes = new Map<number, VoteRecord>();
  private lastOwnHeaderValue: Header | undefined;
  private readonly commits: CommitRecord[] = [];
  private bullsharkState: BullsharkState | undefined;

  private readonly certLog: AppendLog;
  private readonly batchLog: AppendLog;
  private readonly primaryLog: AppendLog;
  private readonly consensusLog: AppendLog;

  /** Opens (creating if needed) the store for `epoch` under `dataDir`, replaying what is there. */
  constructor(dataDir: string, epoch: number) {
    const dir = path.join(dataDir, `epoch-${epoch}`);
    fs.mkdirSync(dir, { recursive: true });
    // Only primary.log is fsynced: a vote or header forgotten after a power cut could make us
    // equivocate. Lost certificates are fetched again, lost commits are recomputed identically
    // from the certificates, lost batches are fetched from the 2f+1 nodes that acknowledged them.
    this.certLog = AppendLog.open(
      path.join(dir, "certificates.log"),
      (p, at) => {
        const c = decodeCertificate(p);
        this.cache(hex(c.digest), c, at);
        this.recovered.push(c);
      },
      { fsync: false },
    );
    this.batchLog = AppendLog.open(
      path.join(dir, "batches.log"),
      (p, at) => {
        this.batchLocations.set(hex(p.subarray(0, DIGEST_LEN)), {
          offset: at.offset + DIGEST_LEN,
          length: at.length - DIGEST_LEN,
        });
      },
      { fsync: false },
    );
    this.primaryLog = AppendLog.open(path.join(dir, "primary.log"), (p) => this.replayPrimary(p));
    this.consensusLog = AppendLog.open(path.join(dir, "consensus.log"), (p) => this.replayCommit(p), { fsync: false });
  }

  private replayPrimary(p: Buffer): void {
    const r = new Reader(p);
    const kind = r.u8();
    if (kind === RECORD_VOTE) {
      const author = r.u16();
      this.votes.set(author, { round: r.u64(), headerId: Buffer.from(r.fixed(DIGEST_LEN)) });
    } else if (kind === RECORD_OWN_HEADER) {
      this.lastOwnHeaderValue = readHeader(r);
    } else {
      throw new DecodeError(`unknown primary record ${kind}`);
    }
    r.end();
  }

  private replayCommit(p: Buffer): void {
    const r = new Reader(p);
    const index = r.u64();
    const leaderRound = r.u64();
    const certificates: Digest[] = [];
    for (let i = 0, n = r.count(1_000_000); i < n; i++) certificates.push(Buffer.from(r.fixed(DIGEST_LEN)));
    const lastCommitted: number[] = [];
    for (let i = 0, n = r.count(0xffff); i < n; i++) lastCommitted.push(r.u64());
    r.end();
    this.commits.push({ index, leaderRound, certificates });
    this.bullsharkState = { lastCommitted, lastSubDagIndex: index };
  }

  // -- certificates ---------------------------------------------------------------------------

  private cache(key: string, c: Certificate, at: RecordLocation): void {
    const round = c.header.round;
    this.certificateIndex.set(key, { at, round });
    this.certificates.set(key, c);
    const keys = this.cachedRounds.get(round);
    if (keys) keys.push(key);
    else this.cachedRounds.set(round, [key]);
  }

  /** Stores a certificate (written at the next group flush; a lost one is fetched again). */
  putCertificate(c: Certificate): void {
    const key = hex(c.digest);
    if (this.certificateIndex.has(key)) return;
    this.cache(key, c, this.certLog.append(encodeCertificate(c)));
  }

  /** True if the certificate is stored. */
  hasCertificate(digest: Digest): boolean {
    return this.certificateIndex.has(hex(digest));
  }

  /** A stored certificate by digest: from memory for recent rounds, else read back from the log. */
  getCertificate(digest: Digest): Certificate | undefined {
    const key = hex(digest);
    const cached = this.certificates.get(key);
    if (cached) return cached;
    const entry = this.certificateIndex.get(key);
    return entry && decodeCertificate(this.certLog.read(entry.at));
  }

  /**
   * Frees the decoded certificates of rounds below `round` (they stay on disk and indexed).
   * Call only for rounds whose records were flushed long ago (far below the GC round).
   */
  evictCertificatesBelow(round: number): void {
    for (const [r, keys] of this.cachedRounds) {
      if (r >= round) continue;
      for (const k of keys) this.certificates.delete(k);
      this.cachedRounds.delete(r);
    }
  }

  /** The certificates stored before this process opened the store, in stored (causal) order; once. */
  takeRecovered(): Certificate[] {
    const out = this.recovered;
    this.recovered = [];
    return out;
  }

  // -- batches --------------------------------------------------------------------------------

  /** Stores a batch; resolves once written to the OS (a worker acknowledges only then). */
  async putBatch(digest: Digest, batch: Buffer): Promise<void> {
    const key = hex(digest);
    if (!this.batchLocations.has(key)) {
      this.batchCache.set(key, batch);
      const at = this.batchLog.append([digest, batch]);
      this.batchLocations.set(key, { offset: at.offset + DIGEST_LEN, length: batch.length });
    }
    await this.batchLog.sync();
  }

  /** True if the batch is stored. */
  hasBatch(digest: Digest): boolean {
    return this.batchLocations.has(hex(digest));
  }

  /** A stored batch, from memory or disk. */
  async getBatch(digest: Digest): Promise<Buffer | undefined> {
    const key = hex(digest);
    const cached = this.batchCache.get(key);
    if (cached) return cached;
    const at = this.batchLocations.get(key);
    if (!at) return undefined;
    await this.batchLog.sync(); // the record may still sit in the write buffer
    return this.batchLog.read(at);
  }

  /** Drops a batch from memory (it stays on disk): the executor has delivered it. */
  releaseBatch(digest: Digest): void {
    this.batchCache.delete(hex(digest));
  }

  // -- votes and own headers ------------------------------------------------------------------

  /** The last vote cast for headers of `author`. */
  lastVote(author: number): VoteRecord | undefined {
    return this.votes.get(author);
  }

  /** Records a vote; resolves once durable, before the vote may be sent. */
  async recordVote(author: number, round: number, headerId: Digest): Promise<void> {
    this.votes.set(author, { round, headerId });
    const w = new Writer(64);
    w.u8(RECORD_VOTE).u16(author).u64(round).fixed(headerId);
    this.primaryLog.append(Buffer.from(w.finish()));
    await this.primaryLog.sync();
  }

  /** The last header this node proposed. */
  lastOwnHeader(): Header | undefined {
    return this.lastOwnHeaderValue;
  }

  /** Records an own header; resolves once durable, before it may be broadcast. */
  async recordOwnHeader(h: Header): Promise<void> {
    this.lastOwnHeaderValue = h;
    const w = new Writer(512);
    w.u8(RECORD_OWN_HEADER);
    writeHeader(w, h);
    this.primaryLog.append(Buffer.from(w.finish()));
    await this.primaryLog.sync();
  }

  // -- committed sequence ---------------------------------------------------------------------

  /** Records a committed sub-DAG with the Bullshark state after it; resolves once written. */
  async recordCommit(sub: CommittedSubDag): Promise<void> {
    const state = sub.state;
    const record = { index: sub.index, leaderRound: sub.leader.header.round, certificates: sub.certificates.map((c) => c.digest) };
    this.commits.push(record);
    this.bullsharkState = state;
    const w = new Writer(64 + 32 * record.certificates.length + 8 * state.lastCommitted.length);
    w.u64(record.index).u64(record.leaderRound).u32(record.certificates.length);
    for (const d of record.certificates) w.fixed(d);
    w.u32(state.lastCommitted.length);
    for (const r of state.lastCommitted) w.u64(r);
    this.consensusLog.append(Buffer.from(w.finish()));
    await this.consensusLog.sync();
  }

  /** The Bullshark state after the last recorded commit (undefined before the first). */
  lastBullsharkState(): BullsharkState | undefined {
    return this.bullsharkState;
  }

  /** Committed sub-DAGs with index ≥ `from`, in order. */
  commitsFrom(from: number): CommitRecord[] {
    const first = this.commits[0]?.index ?? 1;
    return this.commits.slice(Math.max(0, from - first));
  }

  /** Flushes and closes every log. */
  async close(): Promise<void> {
    await Promise.all([this.certLog.close(), this.batchLog.close(), this.primaryLog.close(), this.consensusLog.close()]);
  }
}
