/**
 * Everything one node must keep across a crash for one epoch, in four append-only logs under
 * `<dataDir>/epoch-<n>/`, three of them in segments (`<name>-<offset>.log`, see
 * {@link SegmentedLog}: offsets stay global, so the indexes below never change) of which those
 * wholly below the compaction horizon are deleted (see {@link compact}):
 *
 * - `certificates-<offset>.log`: every certificate accepted into the DAG (replayed in order on
 *                       restart from the last commit's GC round).
 * - `batches-<offset>.log`: digest | batch bytes, for own and peers' batches (acknowledged once
 *                       written).
 * - `primary.log`:      votes cast (author, round, header id) and own headers, fsynced before the vote
 *                       or header leaves the node, so a restart never votes twice or equivocates,
 *                       and knows the payload of every own header that may still commit.
 * - `consensus-<offset>.log`: each committed sub-DAG (index, leader round, the batches it delivers)
 *                       with the Bullshark state.
 * - `rounds.idx`, `commits.idx`: on-disk indexes (see {@link SlotFile}) from a round to its first
 *                       certificate in the certificate segments and from a sub-DAG index to its
 *                       record in the consensus segments (a slot pointing into a deleted segment
 *                       is a miss).
 * - `batches.idx`:      on-disk hash table (see {@link DigestIndex}) from a batch digest to its
 *                       record in the batch segments, rebuilt at every open and after compactions.
 * - `retained`:         the lowest sub-DAG index whose batches are all still held (fsynced before
 *                       any segment is deleted).
 * - `marks`:            the compaction marks (see {@link compact}), rewritten durably at open and
 *                       at the first GC in each new batch segment.
 *
 * Memory does not grow with the epoch (docs/consensus.md "Memory over an epoch"): certificates
 * are indexed in memory only for the rounds above `gcRound - gcDepth`; older rounds are read back
 * from disk by round range (catch-up of lagging peers), and the committed sequence is read back
 * from consensus.log (subscribers replaying the past). A restart decodes only the certificates
 * above the last commit's GC round.
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
import { Certificate, decodeCertificate, Digest, encodeCertificate, Header, hex, readHeader, writeHeader } from "../consensus/types/messages";
import { DEFAULT_PARAMETERS } from "../consensus/parameters";
import { AppendLog, LogDamage, RECORD_HEADER, RecordLocation } from "./appendLog";
import { DigestIndex } from "./digestIndex";
import { SegmentedLog } from "./segmentedLog";
import { SlotFile } from "./slotFile";

const RECORD_VOTE = 1;
/** Memory for recently stored batches (see `batchCache`). */
const BATCH_CACHE_BYTES = 64 * 1024 * 1024;
const RECORD_OWN_HEADER = 2;

/** A vote this node cast, remembered per header author. */
export interface VoteRecord {
  round: number;
  headerId: Digest;
}

/** A batch a committed sub-DAG delivers (the first time it is committed), as stored. */
export interface DeliveredBatch {
  digest: Digest;
  /** Author and round of the certificate whose header carried it. */
  author: number;
  round: number;
  /** That header's creation time (ms). */
  createdAt: number;
}

/** A committed sub-DAG as stored: what the executor delivers for it. */
export interface CommitRecord {
  index: number;
  leaderRound: number;
  batches: DeliveredBatch[];
}

/** Options of a {@link ConsensusStore}. */
export interface StoreOptions {
  /** Bullshark's GC depth: rounds kept below the last committed round (see the class comment). */
  gcDepth: number;
  /** Leader rounds of committed sub-DAGs whose batches stay on disk for subscribers (default {@link DEFAULT_PARAMETERS}). */
  retainRounds?: number;
  /** Size at which batches.log starts a new segment (default {@link DEFAULT_PARAMETERS}). */
  segmentBytes?: number;
  /** Size at which certificates.log and consensus.log start a new segment (default {@link DEFAULT_PARAMETERS}). */
  logSegmentBytes?: number;
  /** Size past which primary.log is rewritten to its live records (default {@link PRIMARY_LOG_BYTES}). */
  primaryLogBytes?: number;
}

/**
 * primary.log is rewritten to the last vote per author and the live own headers (see
 * {@link ConsensusStore.ownHeaders}) once it grows past this: at committee 32 it grows ~2.7 KB a
 * round, so about every 400 rounds, for two fsyncs.
 */
export const PRIMARY_LOG_BYTES = 1 << 20;

/** What {@link ConsensusStore.compact} needs from the rest of the node. */
export interface CompactionInput {
  /** Bullshark's GC round now. */
  gcRound: number;
  /** Index of the last sub-DAG the executor fully delivered: later ones keep their batches. */
  deliveredIndex: number;
  /** True for an own batch not committed yet (it may be proposed again). */
  ownUncommitted: (key: string) => boolean;
}

/**
 * A subscriber asked for sub-DAGs whose batches were deleted by compaction (docs/consensus.md
 * "Compaction": only the last `retainRounds` leader rounds of the committed sequence are kept).
 */
export class SequenceCompacted extends Error {
  constructor(
    /** The sub-DAG index asked for. */
    readonly from: number,
    /** The lowest sub-DAG index still served. */
    readonly retainedFrom: number,
  ) {
    super(`sub-DAG ${from} is no longer held: this node keeps the committed sequence from sub-DAG ${retainedFrom} on (older batches were compacted)`);
  }
}

/** Damage found in one of the logs when the store was opened (the part from `offset` on was dropped). */
export interface StoreDamage extends LogDamage {
  file: string;
}

/**
 * primary.log has a damaged record that may have been synced: the votes and headers after it
 * are unknown, so the node could vote twice or equivocate. It must not start (docs/consensus.md
 * "Vote safety after disk damage").
 */
export class PrimaryLogCorrupt extends Error {}

/** Sizes of the in-memory structures, for tests and diagnostics. */
export interface StoreStats {
  /** Certificates indexed in memory. */
  certificates: number;
  /** Certificates kept decoded. */
  decoded: number;
  /** Rounds with a first-certificate offset in memory. */
  rounds: number;
  /** Batch digests located in memory (those stored since the GC before last). */
  batches: number;
  /** Bytes of batch segments on disk. */
  batchBytes: number;
  /** Bytes of certificate segments on disk. */
  certificateBytes: number;
  /** Bytes of consensus (commit record) segments on disk. */
  commitBytes: number;
}

/** The persistent state of one node in one epoch. */
export class ConsensusStore {
  /** Decoded certificates of the rounds kept in memory. */
  private readonly certificates = new Map<string, Certificate>();
  /** Certificates of the rounds kept in memory: where each is in the log and its round. */
  private readonly certificateIndex = new Map<string, { at: RecordLocation; round: number }>();
  /** Keys of kept certificates by round, to prune whole rounds. */
  private readonly keptRounds = new Map<number, string[]>();
  /** Per kept round, where its first certificate's record starts (mirrors rounds.idx). */
  private readonly roundStart = new Map<number, number>();
  /** Certificates above the last commit's GC round found on open, in stored (causal) order; once. */
  private recovered: Certificate[] = [];
  /**
   * Where the batches stored since the GC before last are, with the GC count when stored, in
   * storage order; older ones are looked up in `batchIndex` (see {@link retireBatches}).
   */
  private readonly batchLocations = new Map<string, { at: RecordLocation; gc: number }>();
  private gcCount = 0;
  private batchIndex: DigestIndex;
  /** Records in the batch segments held (the index is rebuilt once it holds far more entries). */
  private batchRecords = 0;
  /** At each GC, the GC round and where batches.log ended, oldest first (see {@link compact}). */
  private readonly marks: Mark[] = [];
  /** The batch segment (its start) that was current when the `marks` file was last written. */
  private marksWrittenIn = -1;
  private readonly marksFile: string;
  /** The lowest sub-DAG index whose batches are all held. */
  private retainedFromValue = 1;
  /** The value last written to the `retained` file. */
  private retainedWritten = 1;
  /** Where the certificates above the last commit's GC round start (a restart decodes from there). */
  private recoverFromValue = 0;
  /** The compaction whose deletions are under way (close waits for it). */
  private compaction: Promise<void> | undefined;
  private readonly retainRounds: number;
  private readonly batchIndexFile: string;
  private readonly retainedFile: string;
  /**
   * Recently stored batches, wanted soon by the executor (which releases them), in insertion
   * order: past BATCH_CACHE_BYTES the oldest go (they stay on disk), so batches whose header was
   * garbage-collected uncommitted cannot pile up in memory.
   */
  private readonly batchCache = new Map<string, Buffer>();
  private batchCacheBytes = 0;
  private readonly votes = new Map<number, VoteRecord>();
  private lastOwnHeaderValue: Header | undefined;
  /** Own headers above the horizon of the last commit written (see {@link ownHeaders}), by round. */
  private readonly liveOwnHeaders = new Map<number, Header>();
  private bullsharkState: BullsharkState | undefined;
  private lastCommit: { index: number; leaderRound: number } | undefined;
  /** Batches delivered by the last commits found on open (digest → leader round), see {@link takeRecentDeliveries}. */
  private readonly delivered = new Map<string, number>();
  private readonly gcDepth: number;
  /** What opening found damaged, for the caller to log. */
  readonly damage: StoreDamage[] = [];

  private readonly certLog: SegmentedLog;
  private readonly batchLog: SegmentedLog;
  private readonly primaryLog: AppendLog;
  private readonly primaryLogBytes: number;
  private readonly primaryLogFile: string;
  private readonly consensusLog: SegmentedLog;
  private readonly roundsIdx: SlotFile;
  private readonly commitsIdx: SlotFile;

  /** Opens (creating if needed) the store for `epoch` under `dataDir`, replaying what is there. */
  constructor(dataDir: string, epoch: number, opts: StoreOptions = { gcDepth: DEFAULT_PARAMETERS.gcDepth }) {
    this.gcDepth = opts.gcDepth;
    this.retainRounds = opts.retainRounds ?? DEFAULT_PARAMETERS.retainRounds;
    const dir = path.join(dataDir, `epoch-${epoch}`);
    fs.mkdirSync(dir, { recursive: true });
    // Only primary.log is fsynced: a vote or header forgotten after a power cut could make us
    // equivocate. Lost certificates are fetched again, lost commits are recomputed identically
    // from the certificates, lost batches are fetched from the 2f+1 nodes that acknowledged them.
    // Opening checks every record's CRC; certificates are decoded below, from the last commit's
    // GC round on only.
    const file = (name: string): string => path.join(dir, name);
    const logSegmentBytes = opts.logSegmentBytes ?? DEFAULT_PARAMETERS.logSegmentBytes;
    // First: if it refuses to open, no other file is open.
    this.primaryLogFile = file("primary.log");
    this.primaryLogBytes = opts.primaryLogBytes ?? PRIMARY_LOG_BYTES;
    this.primaryLog = this.openPrimaryLog(this.primaryLogFile);
    // A damaged record of the other logs is dropped with every later one (later ones are fetched
    // again or recomputed: docs/consensus.md "Vote safety after disk damage" says why they are not
    // salvaged), and the file is cut there so new records are not hidden behind it.
    // rounds.idx is not fsynced: it is checked against certificates.log (whose records are read
    // for their CRC anyway) and rewritten where a slot is missing, so a lost or cut file is
    // rebuilt. Rounds first appear in increasing order (a certificate is stored after its parents).
    this.roundsIdx = new SlotFile(file("rounds.idx"));
    let highest = 0;
    this.certLog = SegmentedLog.open(
      dir,
      "certificates",
      (p, at) => {
        const round = certificateRound(p);
        if (round <= highest) return;
        highest = round;
        if (this.roundsIdx.get(round) !== at.offset - RECORD_HEADER) this.roundsIdx.set(round, at.offset - RECORD_HEADER);
      },
      { fsync: false, segmentBytes: logSegmentBytes, onDamage: (d) => void this.damage.push(d) },
    );
    this.batchIndexFile = file("batches.idx");
    this.batchIndex = new DigestIndex(this.batchIndexFile);
    this.batchLog = SegmentedLog.open(
      dir,
      "batches",
      (p, at) => {
        this.batchIndex.add(p.subarray(0, DIGEST_LEN), at.offset - RECORD_HEADER);
        this.batchRecords++;
      },
      { fsync: false, segmentBytes: opts.segmentBytes ?? DEFAULT_PARAMETERS.batchSegmentBytes, onDamage: (d) => void this.damage.push(d) },
    );
    this.retainedFile = file("retained");
    if (fs.existsSync(this.retainedFile)) this.retainedFromValue = Math.max(1, Number(fs.readFileSync(this.retainedFile, "utf8")) || 1);
    this.retainedWritten = this.retainedFromValue;
    this.commitsIdx = new SlotFile(path.join(dir, "commits.idx"));
    this.consensusLog = SegmentedLog.open(
      dir,
      "consensus",
      (p, at) => {
        let rec: StoredCommit;
        try {
          rec = decodeCommit(p);
        } catch (err) {
          // A record of an older format (the log of an epoch started by a previous release):
          // dropped with every later one like a lost commit, so Bullshark recomputes them.
          if (err instanceof DecodeError) return false;
          throw err;
        }
        // A commit is written after the certificates it lists; if a crash lost some of them (the
        // record says how long certificates.log was), it is dropped with every later one and
        // Bullshark recomputes them, identically, from the certificates replayed or fetched again.
        if (rec.certLogEnd > this.certLog.length) return false;
        this.noteCommit(rec);
        // The executor's order (Executor.plan): prune, then add. Adding first would update a batch
        // committed again past the window in its old place, and pruning, which stops at the first
        // entry inside the window, would keep older entries: the reopened node would then skip
        // re-committed batches the others deliver.
        pruneDeliveries(this.delivered, rec.leaderRound - DELIVERY_WINDOW_GC_DEPTHS * this.gcDepth);
        for (const b of rec.batches) this.delivered.set(hex(b.digest), rec.leaderRound);
        // The slot may be missing after a crash (it is not fsynced).
        if (this.commitsIdx.get(rec.index) !== at.offset - RECORD_HEADER) this.commitsIdx.set(rec.index, at.offset - RECORD_HEADER);
        this.recoverFromValue = rec.recoverFrom;
        return true;
      },
      { fsync: false, segmentBytes: logSegmentBytes, onDamage: (d) => void this.damage.push(d) },
    );
    this.commitsIdx.truncate((this.lastCommit?.index ?? 0) + 1);
    this.recover(this.recoverFromValue);
    // primary.log was replayed first, with every own header still in it.
    if (this.bullsharkState) this.pruneOwnHeaders(this.bullsharkState);
    // Everything stored before this open was stored at or before the last commit's GC round.
    // The marks of earlier runs below that round still hold for what is below their ends, up to
    // where the batch log survived (a damaged tail was cut, and its offsets will hold newer
    // batches): they are written back at once, clamped, so the old ends never come back.
    const opened = { gcRound: this.gcRoundOf(this.bullsharkState), end: this.batchLog.length };
    this.marksFile = file("marks");
    for (const m of readMarks(this.marksFile)) if (m.gcRound < opened.gcRound) this.marks.push({ gcRound: m.gcRound, end: Math.min(m.end, opened.end) });
    this.marks.push(opened);
    this.writeMarks();
  }

  /** Writes the marks to the `marks` file (replaced whole, fsynced: a crash leaves the old or the new list). */
  private writeMarks(): void {
    writeDurably(this.marksFile, JSON.stringify(this.marks.map((m) => [m.gcRound, m.end])));
    this.marksWrittenIn = this.batchLog.currentStart;
  }

  /**
   * Decodes the certificates above the last commit's GC round, from `from` in certificates.log
   * (never below the segments held: those below were compacted, or a crash lost the commits
   * that had moved past them and their certificates are fetched again).
   */
  private recover(from: number): void {
    const gcRound = this.gcRoundOf(this.bullsharkState);
    let maxRound = gcRound;
    for (let r = this.certLog.readRecordAt(Math.max(from, this.certLog.start)); r; r = this.certLog.readRecordAt(r.next)) {
      const c = decodeCertificate(r.payload);
      if (c.header.round <= gcRound) continue;
      this.index(c, r.at, true);
      this.recovered.push(c);
      maxRound = Math.max(maxRound, c.header.round);
    }
    this.roundsIdx.truncate(maxRound + 1); // slots past it pointed at records a crash lost
  }

  private gcRoundOf(state: BullsharkState | undefined): number {
    return state ? Math.max(0, Math.max(...state.lastCommitted) - this.gcDepth) : 0;
  }

  /**
   * Opens primary.log. Its records are fsynced before the vote or header they record leaves the
   * node, so only a torn last record (cut short by a crash mid-write) was never relied on and is
   * dropped; any other damage may hide votes or headers already sent, so the node refuses to
   * start, leaving the file as it is for the operator.
   */
  private openPrimaryLog(file: string): AppendLog {
    const refuse = (offset: number, what: string): never => {
      throw new PrimaryLogCorrupt(
        `${file}: ${what} at offset ${offset}; the votes and headers recorded after it are unknown, so this node could vote twice ` +
          'or equivocate and refuses to start in this epoch (docs/consensus.md "Vote safety after disk damage")',
      );
    };
    return AppendLog.open(
      file,
      (p, at) => {
        try {
          this.replayPrimary(p);
        } catch (err) {
          if (err instanceof DecodeError) refuse(at.offset - RECORD_HEADER, `undecodable record (${err.message})`);
          throw err;
        }
      },
      {
        onDamage: (d) => {
          if (d.kind !== "torn") refuse(d.offset, "corrupt record");
          this.damage.push({ file, ...d });
        },
        // Bounded (docs/consensus.md "Compaction"): past `primaryLogBytes` it is replaced by the
        // records that still matter, the last vote per author, the live own headers and the last
        // one (its round is never proposed again), which is all a restart keeps anyway.
        compact: {
          bytes: this.primaryLogBytes,
          records: () => {
            const records = [...this.votes].map(([author, v]) => encodeVoteRecord(author, v.round, v.headerId));
            const last = this.lastOwnHeaderValue;
            if (last && !this.liveOwnHeaders.has(last.round)) records.push(encodeOwnHeaderRecord(last));
            for (const h of this.ownHeaders()) records.push(encodeOwnHeaderRecord(h));
            return records;
          },
        },
      },
    );
  }

  private replayPrimary(p: Buffer): void {
    const r = new Reader(p);
    const kind = r.u8();
    if (kind === RECORD_VOTE) {
      const author = r.u16();
      this.votes.set(author, { round: r.u64(), headerId: Buffer.from(r.fixed(DIGEST_LEN)) });
    } else if (kind === RECORD_OWN_HEADER) {
      const h = readHeader(r);
      this.lastOwnHeaderValue = h;
      this.liveOwnHeaders.set(h.round, h);
    } else {
      throw new DecodeError(`unknown primary record ${kind}`);
    }
    r.end();
  }

  // -- certificates ---------------------------------------------------------------------------

  /** Indexes a certificate in memory; `rewriteSlot` on recovery, where a crash may have left it stale. */
  private index(c: Certificate, at: RecordLocation, rewriteSlot: boolean): void {
    const key = hex(c.digest);
    const round = c.header.round;
    this.certificateIndex.set(key, { at, round });
    this.certificates.set(key, c);
    const keys = this.keptRounds.get(round);
    if (keys) keys.push(key);
    else this.keptRounds.set(round, [key]);
    if (!this.roundStart.has(round)) {
      this.roundStart.set(round, at.offset - RECORD_HEADER);
      if (rewriteSlot || this.roundsIdx.get(round) === undefined) this.roundsIdx.set(round, at.offset - RECORD_HEADER);
    }
  }

  /** Stores a certificate (written at the next group flush; a lost one is fetched again). */
  putCertificate(c: Certificate): void {
    if (this.certificateIndex.has(hex(c.digest))) return;
    this.index(c, this.certLog.append(encodeCertificate(c)), false);
  }

  /** True if the certificate is stored and its round is kept in memory. */
  hasCertificate(digest: Digest): boolean {
    return this.certificateIndex.has(hex(digest));
  }

  /** A certificate of the rounds kept in memory, by digest. */
  getCertificate(digest: Digest): Certificate | undefined {
    return this.certificates.get(hex(digest));
  }

  /**
   * Forgets the certificates of rounds below `round` (they stay on disk, found by round range).
   * The primary calls it with `gcRound - gcDepth` at each garbage collection.
   */
  pruneBelow(round: number): void {
    this.retireBatches();
    for (const [r, keys] of this.keptRounds) {
      if (r >= round) continue;
      for (const k of keys) {
        this.certificates.delete(k);
        this.certificateIndex.delete(k);
      }
      this.keptRounds.delete(r);
      this.roundStart.delete(r);
    }
  }

  /**
   * Stored certificates of rounds `from`..`to`, read from disk in stored order from the first
   * certificate of the lowest of those rounds on: until `maxBytes` of them are found or
   * `maxScanBytes` of the log are read, so one request costs a bounded read.
   */
  certificatesInRounds(from: number, to: number, maxBytes: number, maxScanBytes: number): Certificate[] {
    let start: number | undefined;
    for (let r = Math.max(1, from); r <= to && start === undefined; r++) {
      const at = this.roundStart.get(r) ?? this.roundsIdx.get(r);
      // A round whose segment was compacted away is not held (docs/consensus.md "Catch-up").
      if (at !== undefined && at >= this.certLog.start) start = at;
    }
    const out: Certificate[] = [];
    if (start === undefined) return out;
    let found = 0;
    let scanned = 0;
    for (let rec = this.certLog.readRecordAt(start); rec; rec = this.certLog.readRecordAt(rec.next)) {
      scanned += rec.payload.length;
      const c = decodeCertificate(rec.payload);
      if (c.header.round >= from && c.header.round <= to) {
        out.push(c);
        found += rec.payload.length;
      }
      if (found >= maxBytes || scanned >= maxScanBytes) break;
    }
    return out;
  }

  /**
   * Checks primary.log against the certificates recovered: each certificate carrying `me`'s vote
   * (verified when it was accepted, so that vote was cast and recorded first) must be covered by
   * the last vote recorded for its author, and each of `me`'s own by the last own header. Throws
   * {@link PrimaryLogCorrupt} if not: records were lost in a way no CRC shows (the file cut at a
   * record boundary, replaced or deleted).
   */
  checkPrimaryLog(me: number): void {
    for (const c of this.recovered) {
      const { author, round } = c.header;
      const lostVote = c.votes.some((v) => v.voter === me) && (this.votes.get(author)?.round ?? 0) < round;
      const lostHeader = author === me && (this.lastOwnHeaderValue?.round ?? 0) < round;
      if (lostVote || lostHeader) {
        throw new PrimaryLogCorrupt(
          `${this.primaryLogFile}: misses the ${lostVote ? `vote for author ${author}` : "own header"} of round ${round} that a stored certificate shows; ` +
            "the votes and headers it lost are unknown, so this node could vote twice or equivocate and refuses to start in this epoch " +
            '(docs/consensus.md "Vote safety after disk damage")',
        );
      }
    }
  }

  /** The certificates above the last commit's GC round stored before this process opened the store, in stored (causal) order; once. */
  takeRecovered(): Certificate[] {
    const out = this.recovered;
    this.recovered = [];
    return out;
  }

  /** Sizes of the in-memory structures. */
  stats(): StoreStats {
    return {
      certificates: this.certificateIndex.size,
      decoded: this.certificates.size,
      rounds: this.roundStart.size,
      batches: this.batchLocations.size,
      batchBytes: this.batchLog.bytes,
      certificateBytes: this.certLog.bytes,
      commitBytes: this.consensusLog.bytes,
    };
  }

  // -- batches --------------------------------------------------------------------------------

  /** Stores a batch; resolves once written to the OS (a worker acknowledges only then). */
  async putBatch(digest: Digest, batch: Buffer): Promise<void> {
    const key = hex(digest);
    if (!this.hasBatch(digest)) {
      this.batchCache.set(key, batch);
      this.batchCacheBytes += batch.length;
      for (const [old, b] of this.batchCache) {
        if (this.batchCacheBytes <= BATCH_CACHE_BYTES) break;
        this.batchCache.delete(old);
        this.batchCacheBytes -= b.length;
      }
      this.appendBatch(key, [digest, batch]);
    }
    await this.batchLog.sync();
  }

  /** Appends a batch record (digest | batch) and locates it in memory. */
  private appendBatch(key: string, record: Buffer[]): void {
    const at = this.batchLog.append(record);
    this.batchRecords++;
    this.batchLocations.set(key, { at: { offset: at.offset + DIGEST_LEN, length: at.length - DIGEST_LEN }, gc: this.gcCount });
  }

  /** True if the batch is stored. */
  hasBatch(digest: Digest): boolean {
    return this.batchLocations.has(hex(digest)) || this.locateOnDisk(digest) !== undefined;
  }

  /** Where a batch the memory index no longer holds is, through batches.idx. */
  private locateOnDisk(digest: Digest): RecordLocation | undefined {
    let found: RecordLocation | undefined;
    this.batchIndex.get(digest, (start) => {
      const head = this.batchLog.read({ offset: start, length: RECORD_HEADER + DIGEST_LEN });
      if (!head?.subarray(RECORD_HEADER).equals(digest)) return false; // no head: compacted away
      found = { offset: start + RECORD_HEADER + DIGEST_LEN, length: head.readUInt32LE(0) - DIGEST_LEN };
      return true;
    });
    return found;
  }

  /**
   * At each GC: the batches stored before the GC before last leave the memory index for
   * batches.idx (once written to the OS, where the check of a hit reads them), so the memory
   * index holds about two GC intervals of batches however long the epoch.
   */
  private retireBatches(): void {
    this.gcCount++;
    for (const [key, { at, gc }] of this.batchLocations) {
      if (gc >= this.gcCount - 1 || at.offset + at.length > this.batchLog.written) break;
      this.batchIndex.add(Buffer.from(key, "hex"), at.offset - DIGEST_LEN - RECORD_HEADER);
      this.batchLocations.delete(key);
    }
  }

  /** A stored batch, from memory or disk. */
  async getBatch(digest: Digest): Promise<Buffer | undefined> {
    const key = hex(digest);
    const cached = this.batchCache.get(key);
    if (cached) return cached;
    const recent = this.batchLocations.get(key);
    if (recent) {
      await this.batchLog.sync(); // the record may still sit in the write buffer
      return this.batchLog.read(recent.at);
    }
    const at = this.locateOnDisk(digest);
    return at && this.batchLog.read(at);
  }

  /** The lowest sub-DAG index whose batches are all held (subscribers from below get {@link SequenceCompacted}). */
  get retainedFrom(): number {
    return this.retainedFromValue;
  }

  /**
   * Compaction (docs/consensus.md "Compaction"); call at each GC. The horizon round is
   * `retainRounds + 2·gcDepth` rounds below the GC round.
   *
   * - Batch segments wholly below where batches.log ended when the GC round was the horizon round
   *   are deleted. A batch there that is still needed is first
   *   copied to the current segment: one listed by a certificate still in memory (the live DAG,
   *   rounds above `gcRound - gcDepth`), by a committed sub-DAG from `retainedFrom` on (not yet
   *   delivered by the executor, or of the last `retainRounds` leader rounds: subscribers
   *   replaying), or an own batch not committed yet.
   * - Certificate segments wholly below the first certificate of the horizon round are deleted,
   *   never from where the last commit's recovery starts or a round still in memory starts.
   * - Commit record segments wholly below `retainedFrom`'s record are deleted.
   *
   * The segments go once the copies are written to the OS and the new `retainedFrom` is fsynced.
   */
  compact(input: CompactionInput): void {
    const last = this.marks[this.marks.length - 1];
    if (last && input.gcRound <= last.gcRound) return;
    this.marks.push({ gcRound: input.gcRound, end: this.batchLog.length });
    const horizonRound = input.gcRound - this.retainRounds - 2 * this.gcDepth;
    while (this.marks.length > 1 && this.marks[1].gcRound <= horizonRound) this.marks.shift();
    // Segments go whole, so a restart needs, per segment, only the first mark past its end: the
    // first of this GC's in a new segment. The marks taken since are lost at a crash, which only
    // delays deletion (with fewer marks, the end below which segments go can only be lower).
    if (this.batchLog.currentStart !== this.marksWrittenIn) this.writeMarks();
    if (this.compaction) return;
    // Only segments written to the OS in full: their records are read below.
    const batchEnd = this.marks[0].gcRound <= horizonRound ? Math.min(this.marks[0].end, this.batchLog.written) : 0;
    const batchSegments = this.batchLog.deletable(batchEnd);
    // Only with batches to delete: `retainedFrom` is the first sub-DAG whose batches may be gone,
    // and is fsynced before they go (a restart must not serve from below what it holds).
    if (batchSegments > 0) this.advanceRetained(input);
    // Every certificate stored before the first one of a round is of a lower round (its parents
    // were stored first), so this holds across restarts without marks.
    let certEnd = Math.min((horizonRound > 0 && this.roundsIdx.get(horizonRound)) || 0, this.recoverFromValue);
    for (const at of this.roundStart.values()) certEnd = Math.min(certEnd, at);
    const commitEnd = this.commitsIdx.get(this.retainedFromValue) ?? 0;
    if (batchSegments + this.certLog.deletable(certEnd) + this.consensusLog.deletable(commitEnd) === 0) return;
    const gone = batchSegments > 0 ? this.carryForward(input, batchSegments) : 0;
    this.compaction = (async () => {
      await this.batchLog.sync();
      if (this.retainedWritten !== this.retainedFromValue) {
        writeDurably(this.retainedFile, String(this.retainedFromValue));
        this.retainedWritten = this.retainedFromValue;
      }
      await this.batchLog.deleteBelow(batchEnd);
      await this.certLog.deleteBelow(certEnd);
      await this.consensusLog.deleteBelow(commitEnd);
      this.batchRecords -= gone;
      if (this.batchIndex.size > 2 * this.batchRecords + 1024) this.rebuildBatchIndex();
      this.compaction = undefined;
    })();
  }

  /**
   * Moves `retainedFrom` past the sub-DAGs the executor delivered whose leader round is more than
   * `retainRounds` (and the executor's duplicate window, which a restart rebuilds from these
   * records) below the last commit's. Each record is read once over the epoch.
   */
  private advanceRetained(input: CompactionInput): void {
    const below = (this.lastCommit?.leaderRound ?? 0) - Math.max(this.retainRounds, DELIVERY_WINDOW_GC_DEPTHS * this.gcDepth);
    for (const rec of this.commitsFrom(this.retainedFromValue)) {
      if (rec.index > input.deliveredIndex || rec.leaderRound >= below) break;
      this.retainedFromValue = rec.index + 1;
    }
  }

  /**
   * Reads the digests of the first `count` batch segments, copies the batches still needed (see
   * {@link compact}) to the current segment and forgets the memory locations of the rest.
   * Returns the records read (those the deletion removes).
   */
  private carryForward(input: CompactionInput, count: number): number {
    const keep = this.neededBatches();
    let gone = 0;
    for (const r of this.batchLog.heads(DIGEST_LEN, count)) {
      gone++;
      const key = r.head.toString("hex");
      const payload = { offset: r.offset + RECORD_HEADER, length: r.length };
      if (this.batchLocations.get(key)?.at.offset === payload.offset + DIGEST_LEN) this.batchLocations.delete(key);
      if (keep.has(key) || input.ownUncommitted(key)) this.appendBatch(key, [this.batchLog.read(payload)!]);
    }
    return gone;
  }

  /** The batches {@link compact} must keep: listed by certificates in memory or by sub-DAGs from `retainedFrom` on. */
  private neededBatches(): Set<string> {
    const keep = new Set<string>();
    for (const c of this.certificates.values()) for (const d of c.header.payload) keep.add(hex(d));
    for (const rec of this.commitsFrom(this.retainedFromValue)) for (const b of rec.batches) keep.add(hex(b.digest));
    return keep;
  }

  /** Rebuilds batches.idx from the segments held (after compactions left it mostly stale entries). */
  private rebuildBatchIndex(): void {
    this.batchIndex.close();
    this.batchIndex = new DigestIndex(this.batchIndexFile);
    for (const r of this.batchLog.heads(DIGEST_LEN)) {
      if (!this.batchLocations.has(r.head.toString("hex"))) this.batchIndex.add(r.head, r.offset);
    }
  }

  /** Drops a batch from memory (it stays on disk): the executor has delivered it. */
  releaseBatch(digest: Digest): void {
    const key = hex(digest);
    const b = this.batchCache.get(key);
    if (!b) return;
    this.batchCache.delete(key);
    this.batchCacheBytes -= b.length;
  }

  // -- votes and own headers ------------------------------------------------------------------

  /** The last vote cast for headers of `author`. */
  lastVote(author: number): VoteRecord | undefined {
    return this.votes.get(author);
  }

  /** Records a vote; resolves once durable, before the vote may be sent. */
  async recordVote(author: number, round: number, headerId: Digest): Promise<void> {
    this.votes.set(author, { round, headerId });
    this.primaryLog.append(encodeVoteRecord(author, round, headerId));
    await this.primaryLog.sync();
  }

  /** Resolves once every vote recorded so far is durable. */
  votesDurable(): Promise<void> {
    return this.primaryLog.sync();
  }

  /** The last header this node proposed. */
  lastOwnHeader(): Header | undefined {
    return this.lastOwnHeaderValue;
  }

  /**
   * The headers this node proposed that may still be committed, in increasing round: those above
   * its author's last committed round and above the GC round, by the last commit written (see
   * {@link recordCommit}). Older ones were committed or can no longer be (docs/consensus.md
   * "Re-proposing own batches"), so neither memory nor a rewritten primary.log keeps them.
   */
  ownHeaders(): Header[] {
    return [...this.liveOwnHeaders.values()].sort((a, b) => a.round - b.round);
  }

  /** Records an own header; resolves once durable, before it may be broadcast. */
  async recordOwnHeader(h: Header): Promise<void> {
    this.lastOwnHeaderValue = h;
    this.liveOwnHeaders.set(h.round, h);
    this.primaryLog.append(encodeOwnHeaderRecord(h));
    await this.primaryLog.sync();
  }

  /**
   * Forgets the own headers that `state` (a commit written to the OS, so one a restart sees)
   * shows committed or dead: at or below their author's last committed round or the GC round.
   */
  private pruneOwnHeaders(state: BullsharkState): void {
    const gcRound = this.gcRoundOf(state);
    for (const [round, h] of this.liveOwnHeaders) if (round <= gcRound || round <= (state.lastCommitted[h.author] ?? 0)) this.liveOwnHeaders.delete(round);
  }

  // -- committed sequence ---------------------------------------------------------------------

  /**
   * Records a committed sub-DAG, the batches it delivers and the Bullshark state after it;
   * resolves once written.
   */
  async recordCommit(sub: CommittedSubDag, batches: DeliveredBatch[]): Promise<void> {
    // The certificates reach the file before the commit that lists them (see the constructor).
    await this.certLog.sync();
    const state = sub.state;
    const gcRound = this.gcRoundOf(state);
    let recoverFrom = this.certLog.length;
    for (const [r, at] of this.roundStart) if (r > gcRound) recoverFrom = Math.min(recoverFrom, at);
    const rec: StoredCommit = { index: sub.index, leaderRound: sub.leader.header.round, batches, state, certLogEnd: this.certLog.length, recoverFrom };
    this.noteCommit(rec);
    this.recoverFromValue = recoverFrom;
    const at = this.consensusLog.append(encodeCommit(rec));
    this.commitsIdx.set(rec.index, at.offset - RECORD_HEADER);
    await this.consensusLog.sync();
    // Only now: a header dropped on the strength of a commit a crash could still lose (in the
    // write buffer) would be missing when that commit is recomputed after the restart.
    this.pruneOwnHeaders(state);
  }

  private noteCommit(rec: StoredCommit): void {
    this.bullsharkState = rec.state;
    this.lastCommit = { index: rec.index, leaderRound: rec.leaderRound };
  }

  /** The Bullshark state after the last recorded commit (undefined before the first). */
  lastBullsharkState(): BullsharkState | undefined {
    return this.bullsharkState;
  }

  /** Index of the last recorded commit (0 before the first). */
  get lastCommitIndex(): number {
    return this.lastCommit?.index ?? 0;
  }

  /**
   * Batches delivered by the commits recorded before this process opened the store, digest →
   * leader round, for the executor's duplicate window: those of the commits whose leader round
   * is within {@link DELIVERY_WINDOW_GC_DEPTHS}·gcDepth of the last one. Handed out once.
   */
  takeRecentDeliveries(): Map<string, number> {
    const out = new Map(this.delivered);
    this.delivered.clear();
    return out;
  }

  /**
   * Committed sub-DAGs with index ≥ `from`, in order, read from consensus.log, as far as written.
   * Throws {@link SequenceCompacted} if `from` is below `retainedFrom` (its record may be deleted);
   * ends early if the records it reads are deleted meanwhile (the caller asks again from where it
   * got to, and is refused).
   */
  *commitsFrom(from: number): Generator<CommitRecord> {
    from = Math.max(1, from);
    if (from < this.retainedFromValue) throw new SequenceCompacted(from, this.retainedFromValue);
    let offset = this.commitsIdx.get(from);
    for (let rec = offset === undefined ? undefined : this.consensusLog.readRecordAt(offset); rec; rec = this.consensusLog.readRecordAt(offset)) {
      offset = rec.next;
      const { index, leaderRound, batches } = decodeCommit(rec.payload);
      yield { index, leaderRound, batches };
    }
  }

  /** Flushes and closes every log. */
  async close(): Promise<void> {
    await this.compaction;
    this.batchIndex.close(); // first: a lookup while the logs close must not read a closed file
    await Promise.all([this.certLog.close(), this.batchLog.close(), this.primaryLog.close(), this.consensusLog.close()]);
    this.roundsIdx.close();
    this.commitsIdx.close();
  }
}

/** A commit record as on disk. */
interface StoredCommit extends CommitRecord {
  state: BullsharkState;
  /** Length of certificates.log when it was written: every certificate it committed is below. */
  certLogEnd: number;
  /** Where in certificates.log the certificates above this commit's GC round start. */
  recoverFrom: number;
}

/** A primary.log record of a vote for `author`'s header `headerId` at `round`. */
function encodeVoteRecord(author: number, round: number, headerId: Digest): Buffer {
  return Buffer.from(new Writer(64).u8(RECORD_VOTE).u16(author).u64(round).fixed(headerId).finish());
}

/** A primary.log record of an own header. */
function encodeOwnHeaderRecord(h: Header): Buffer {
  const w = new Writer(512);
  w.u8(RECORD_OWN_HEADER);
  writeHeader(w, h);
  return Buffer.from(w.finish());
}

function encodeCommit(c: StoredCommit): Buffer {
  const w = new Writer(64 + 8 * c.state.lastCommitted.length + 58 * c.batches.length);
  w.u64(c.index).u64(c.leaderRound).u64(c.certLogEnd).u64(c.recoverFrom);
  w.u32(c.state.lastCommitted.length);
  for (const r of c.state.lastCommitted) w.u64(r);
  w.u32(c.batches.length);
  for (const b of c.batches) w.fixed(b.digest).u16(b.author).u64(b.round).u64(b.createdAt);
  return Buffer.from(w.finish());
}

function decodeCommit(p: Buffer): StoredCommit {
  const r = new Reader(p);
  const index = r.u64();
  const leaderRound = r.u64();
  const certLogEnd = r.u64();
  const recoverFrom = r.u64();
  const lastCommitted: number[] = [];
  for (let i = 0, n = r.count(0xffff); i < n; i++) lastCommitted.push(r.u64());
  const batches: DeliveredBatch[] = [];
  for (let i = 0, n = r.count(10_000_000); i < n; i++) {
    batches.push({ digest: Buffer.from(r.fixed(DIGEST_LEN)), author: r.u16(), round: r.u64(), createdAt: r.u64() });
  }
  r.end();
  return { index, leaderRound, batches, certLogEnd, recoverFrom, state: { lastCommitted, lastSubDagIndex: index } };
}

/**
 * A batch committed again within this many GC depths (in leader rounds) of its first commit is
 * not delivered again (docs/consensus.md "Memory over an epoch" says why 2 is enough).
 */
export const DELIVERY_WINDOW_GC_DEPTHS = 2;

/**
 * Drops from `delivered` (digest → leader round, in insertion order, so in ascending leader
 * round) the entries whose leader round is below `below`.
 */
export function pruneDeliveries(delivered: Map<string, number>, below: number): void {
  for (const [k, round] of delivered) {
    if (round >= below) break;
    delivered.delete(k);
  }
}

/** The round of an encoded certificate, read from its header without decoding it (tag u8, epoch u64, round u64). */
function certificateRound(encoded: Buffer): number {
  return encoded.length >= 17 ? Number(encoded.readBigUInt64LE(9)) : 0;
}

/** At a GC: its round, and where batches.log ended (everything below was stored at or before it). */
interface Mark {
  gcRound: number;
  end: number;
}

/**
 * The marks in `file` (a JSON list of [gcRound, end], both increasing), or none if it is missing
 * or not such a list (a torn or damaged file): fewer marks only delay deletion.
 */
function readMarks(file: string): Mark[] {
  let list: unknown;
  try {
    list = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const marks: Mark[] = [];
  for (const m of list) {
    if (!Array.isArray(m) || m.length !== 2 || !m.every((x) => Number.isSafeInteger(x) && x >= 0)) return [];
    const [gcRound, end] = m as number[];
    const prev = marks.at(-1);
    if (prev && (gcRound <= prev.gcRound || end < prev.end)) return [];
    marks.push({ gcRound, end });
  }
  return marks;
}

/** Writes a small file so that a crash leaves either the old or the new content, fsynced. */
function writeDurably(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
