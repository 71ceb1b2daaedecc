/**
 * An append-only log file of records, with group commit: appends are buffered and one writer
 * flushes them with a single writev + fdatasync, so many records share one fsync (or, for logs
 * whose loss a node can repair from peers, writev only).
 *
 * Record format: u32 length (LE) | u32 CRC-32 of the payload (LE) | payload (never empty).
 * Opening replays every intact record and truncates at the first damaged one, so the log always
 * ends at a record boundary and new appends are never hidden behind a bad record. It reports the
 * damage (see {@link LogDamage}); a caller for whom a lost record is unsafe refuses it there.
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { crc32 } from "node:zlib";

/** Bytes before each payload: length and CRC. */
export const RECORD_HEADER = 8;

/** Where a record's payload lives in the file, for reading it back later. */
export interface RecordLocation {
  offset: number;
  length: number;
}

/**
 * Where and how opening a log found it damaged (everything from `offset` on was dropped):
 * - `torn`: the last record is cut short (a crash mid-write; it was never synced);
 * - `corrupt`: a complete record fails its CRC, is empty or had its length changed (the disk changed it, or a power loss
 *   reordered the pages of a write that was never synced: the two cannot be told apart);
 * - `refused`: the caller's `onRecord` refused an intact record.
 */
export interface LogDamage {
  kind: "torn" | "corrupt" | "refused";
  /** File offset of the damaged record's header. */
  offset: number;
  /** Bytes from there to the end of the file. */
  dropped: number;
}

/** Options of {@link AppendLog.open}. */
export interface OpenOptions {
  /** fdatasync each group flush (default true). */
  fsync?: boolean;
  /** Called before the damaged part is cut off; if it throws, the file is left as it is and open throws. */
  onDamage?: (damage: LogDamage) => void;
  /**
   * Keeps the log bounded. Once it is past `bytes` and twice its length after the last rewrite,
   * the next flush replaces it (temporary file fsynced, renamed over it, folder fsynced) with
   * `records()`, which must carry the
   * effect of every record appended so far: records still buffered then are not written, and
   * their {@link sync} resolves once the rewrite is durable. Done at a flush, so a log appended to
   * without pause is rewritten too. The locations earlier appends returned are void after a
   * rewrite: a compacted log is not read back by location.
   */
  compact?: { bytes: number; records: () => Buffer[] };
}

/** An append-only log of byte records. */
export class AppendLog {
  private pending: Buffer[] = [];
  private pendingWaiters: (() => void)[] = [];
  private flushing = false;
  /** Set by {@link close}: no more appends, the last flush runs. */
  private closing = false;
  private closed = false;
  /** Bytes appended, including those still buffered. */
  private size: number;
  /** Bytes handed to the writer so far: where the next flush starts. */
  private flushedSize: number;
  /** Bytes known written to the OS: records below it can be read back. */
  private writtenSize: number;
  /** Length after the last compaction (see {@link OpenOptions.compact}). */
  private compactedSize = 0;

  private constructor(
    private fd: number,
    size: number,
    private readonly fsync: boolean,
    private readonly path: string,
    private readonly compact: OpenOptions["compact"],
  ) {
    this.size = size;
    this.flushedSize = size;
    this.writtenSize = size;
  }

  /** Bytes known written to the OS: records below it can be read back. */
  get written(): number {
    return this.writtenSize;
  }

  /** Bytes of intact records in the file when it was opened, plus those appended since. */
  get length(): number {
    return this.size;
  }

  /**
   * Opens (or creates) the log at `path`, calling `onRecord` for every intact record in order,
   * then truncating from the first damaged one on (reported to `onDamage` first). A record
   * `onRecord` refuses (returns false: it depends on something another log lost) is dropped like
   * a damaged one, with all after it. With `fsync: false`, {@link sync} resolves once records are
   * written to the OS (they survive a process crash, not a power loss).
   */
  static open(path: string, onRecord: (payload: Buffer, at: RecordLocation) => void | boolean, opts: OpenOptions = {}): AppendLog {
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      const total = fs.fstatSync(fd).size;
      const pos = replay(fd, total, onRecord, opts.onDamage ?? (() => {}));
      if (pos !== total) fs.ftruncateSync(fd, pos);
      return new AppendLog(fd, pos, opts.fsync ?? true, path, opts.compact);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * Appends a record (buffered until the next flush) and returns where its payload will be.
   * The payload may be given in parts (written back to back, without copying them together).
   * The caller must not modify the payload afterwards.
   */
  append(payload: Buffer | Buffer[]): RecordLocation {
    // A stopped consensus instance may still have work in flight; it must not crash the node.
    if (this.closed || this.closing) return { offset: -1, length: 0 };
    const parts = Array.isArray(payload) ? payload : [payload];
    let length = 0;
    let crc = 0;
    for (const p of parts) {
      length += p.length;
      crc = crc32(p, crc);
    }
    const header = Buffer.allocUnsafe(RECORD_HEADER);
    header.writeUInt32LE(length, 0);
    header.writeUInt32LE(crc >>> 0, 4);
    this.pending.push(header, ...parts);
    const at = { offset: this.size + RECORD_HEADER, length };
    this.size += RECORD_HEADER + length;
    if (!this.flushing) setImmediate(() => this.flush());
    return at;
  }

  /**
   * Resolves once every record appended so far is written and fsynced. After {@link close} it
   * never resolves: whatever waited on it belonged to a stopped instance and must not proceed.
   */
  sync(): Promise<void> {
    if (this.closed) return new Promise(() => {});
    if (this.pending.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => {
      this.pendingWaiters.push(resolve);
      if (!this.flushing) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.flushing || this.closed) return;
    if (this.compact && this.size >= Math.max(this.compact.bytes, 2 * this.compactedSize) && this.rewriteNow()) return;
    if (this.pending.length === 0) {
      const waiters = this.pendingWaiters;
      this.pendingWaiters = [];
      waiters.forEach((w) => w());
      return;
    }
    this.flushing = true;
    const position = this.flushedSize;
    const bufs = this.pending;
    const waiters = this.pendingWaiters;
    this.pending = [];
    this.pendingWaiters = [];
    this.flushedSize = this.size;
    const end = this.size;
    writeAll(this.fd, bufs, position, (err) => {
      if (err) throw err; // a node that cannot persist must not keep voting
      this.writtenSize = end;
      const done = (syncErr: Error | null): void => {
        if (syncErr) throw syncErr;
        this.flushing = false;
        waiters.forEach((w) => w());
        if (this.pending.length > 0 || this.pendingWaiters.length > 0) this.flush();
      };
      if (this.fsync) fs.fdatasync(this.fd, done);
      else done(null);
    });
  }

  /**
   * Replaces the file with the compacted records, atomically (a crash leaves the old file or the
   * new one); called at the start of a flush, so no write is in flight. True when done. A failure
   * before the rename leaves the old file, and the flush goes on with it; after the rename the
   * descriptor names a file no longer in the folder, whose appends a restart would not see, so
   * the error is thrown, as a failed write is: a node that cannot persist must not go on.
   */
  private rewriteNow(): boolean {
    try {
      AppendLog.writeTemp(this.path, this.compact!.records());
    } catch {
      this.compactedSize = this.size; // not again before the log doubles
      return false;
    }
    AppendLog.replaceWithTemp(this.path);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.path, fs.constants.O_RDWR);
    this.size = this.flushedSize = this.writtenSize = this.compactedSize = fs.fstatSync(this.fd).size;
    const waiters = this.pendingWaiters;
    this.pending = [];
    this.pendingWaiters = [];
    waiters.forEach((w) => w());
    return true;
  }

  /**
   * Writes `payloads` as a log to `<path>.tmp`, fsynced: the first half of a rewrite. A crash
   * leaves the old log (and maybe a stale `.tmp`, which {@link open} ignores and the next rewrite
   * overwrites).
   */
  private static writeTemp(path: string, payloads: Buffer[]): void {
    const parts: Buffer[] = [];
    for (const p of payloads) {
      const header = Buffer.allocUnsafe(RECORD_HEADER);
      header.writeUInt32LE(p.length, 0);
      header.writeUInt32LE(crc32(p) >>> 0, 4);
      parts.push(header, p);
    }
    const fd = fs.openSync(`${path}.tmp`, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
    try {
      fs.writeFileSync(fd, Buffer.concat(parts)); // loops over short writes
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Renames `<path>.tmp` over the log and fsyncs the folder: the second half of a rewrite. */
  private static replaceWithTemp(path: string): void {
    fs.renameSync(`${path}.tmp`, path);
    const dir = fs.openSync(nodePath.dirname(path), fs.constants.O_RDONLY);
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }

  /** Reads back a record payload; only valid once a {@link sync} after its append resolved. */
  read(at: RecordLocation): Buffer {
    const out = Buffer.allocUnsafe(at.length);
    fs.readSync(this.fd, out, 0, at.length, at.offset);
    return out;
  }

  /**
   * Reads the record whose header starts at `offset` (a record boundary, e.g. a payload offset
   * minus 8); undefined at or past what is written to the OS. For scans of a log that is being
   * appended to: records are read where they are, without their CRC (it was checked at open or
   * computed by this process).
   */
  readRecordAt(offset: number): { payload: Buffer; at: RecordLocation; next: number } | undefined {
    if (this.closed || offset + RECORD_HEADER > this.writtenSize) return undefined;
    const header = Buffer.allocUnsafe(RECORD_HEADER);
    fs.readSync(this.fd, header, 0, RECORD_HEADER, offset);
    const at = { offset: offset + RECORD_HEADER, length: header.readUInt32LE(0) };
    if (at.offset + at.length > this.writtenSize) return undefined;
    return { payload: this.read(at), at, next: at.offset + at.length };
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    // Appends stop first: one arriving while the last flush runs would start another write,
    // which the file's closing would then fail.
    this.closing = true;
    await this.sync();
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** Longest rest of a file after a record header that may be a record whose length was changed. */
const MAX_CHECKED_TAIL = 64 * 1024 * 1024;

/** Replays the intact records of `fd` and returns where the first damaged one starts (or `total`). */
function replay(fd: number, total: number, onRecord: (payload: Buffer, at: RecordLocation) => void | boolean, onDamage: (d: LogDamage) => void): number {
  const chunk = Buffer.allocUnsafe(RECORD_HEADER);
  let pos = 0;
  const damaged = (kind: LogDamage["kind"]): number => {
    onDamage({ kind, offset: pos, dropped: total - pos });
    return pos;
  };
  while (pos < total) {
    if (pos + RECORD_HEADER > total) return damaged("torn");
    fs.readSync(fd, chunk, 0, RECORD_HEADER, pos);
    const len = chunk.readUInt32LE(0);
    const crc = chunk.readUInt32LE(4);
    if (len === 0) return damaged("corrupt"); // no record is empty: zeroed blocks, not a write
    if (pos + RECORD_HEADER + len > total) {
      // Cut short, unless a complete record's length field was changed (no record is near
      // MAX_CHECKED_TAIL: a longer rest is not one record).
      if (total - pos - RECORD_HEADER > MAX_CHECKED_TAIL) return damaged("corrupt");
      const rest = Buffer.allocUnsafe(total - pos - RECORD_HEADER);
      fs.readSync(fd, rest, 0, rest.length, pos + RECORD_HEADER);
      return damaged(lengthWasChanged(rest, len, crc) ? "corrupt" : "torn");
    }
    const payload = Buffer.allocUnsafe(len);
    fs.readSync(fd, payload, 0, len, pos + RECORD_HEADER);
    if (crc32(payload) >>> 0 !== crc) return damaged("corrupt");
    if (onRecord(payload, { offset: pos + RECORD_HEADER, length: len }) === false) return damaged("refused");
    pos += RECORD_HEADER + len;
  }
  return pos;
}

/**
 * Whether `rest`, the bytes after a header whose length `len` runs past the end of the file,
 * holds a complete payload of CRC `crc` after all: the whole rest (the last record, its length
 * changed), or a prefix whose length differs from `len` in one byte and is followed by a complete
 * record (a record before the last, with the records after it). A torn record's payload is cut
 * short: the whole rest matches its CRC by a 1-in-2^32 chance, a prefix and the record after it
 * by 1 in 2^64. The prefixes' CRCs are computed incrementally: one pass over `rest`.
 */
function lengthWasChanged(rest: Buffer, len: number, crc: number): boolean {
  if (rest.length > 0 && crc32(rest) >>> 0 === crc) return true;
  const lengths = new Set<number>();
  for (let shift = 0; shift < 32; shift += 8) {
    for (let byte = 0; byte < 256; byte++) {
      const candidate = ((len & ~(0xff << shift)) | (byte << shift)) >>> 0;
      if (candidate > 0 && candidate < rest.length) lengths.add(candidate);
    }
  }
  let end = 0;
  let sum = 0;
  for (const length of [...lengths].sort((a, b) => a - b)) {
    sum = crc32(rest.subarray(end, length), sum);
    end = length;
    if (sum >>> 0 === crc && completeRecordAt(rest, length)) return true;
  }
  return false;
}

/** Whether a non-empty record with an intact CRC starts at `offset` of `bytes`. */
function completeRecordAt(bytes: Buffer, offset: number): boolean {
  if (offset + RECORD_HEADER > bytes.length) return false;
  const len = bytes.readUInt32LE(offset);
  const start = offset + RECORD_HEADER;
  return len > 0 && start + len <= bytes.length && crc32(bytes.subarray(start, start + len)) >>> 0 === bytes.readUInt32LE(offset + 4);
}

/** Positional writev until every buffer is written (writev may write partially). */
function writeAll(fd: number, bufs: Buffer[], position: number, done: (err: Error | null) => void): void {
  const batches: Buffer[][] = [];
  for (let i = 0; i < bufs.length; i += 1000) batches.push(bufs.slice(i, i + 1000)); // IOV_MAX is 1024
  const next = (): void => {
    const batch = batches.shift();
    if (!batch) return done(null);
    fs.writev(fd, batch, position, (err, written) => {
      if (err) return done(err);
      position += written;
      const total = batch.reduce((s, b) => s + b.length, 0);
      if (written < total) batches.unshift([Buffer.concat(batch).subarray(written)]);
      next();
    });
  };
  next();
}
