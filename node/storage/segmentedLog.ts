/**
 * An append-only log kept as a series of segment files (`<name>-<base>.log`, `base` the offset of
 * the segment's first byte in the log as a whole, 16 decimal digits), so the oldest part can be
 * deleted a segment at a time while offsets stay what they were when the records were written:
 * indexes that point into the log (batches.idx, in-memory locations) need no rewrite. Each
 * segment is an {@link AppendLog} (same record format, CRC per record, group commit); a new one
 * starts once the current one reaches `segmentBytes`.
 *
 * Crash consistency (docs/consensus.md "Compaction"): segments are deleted oldest first, so what
 * survives a crash mid-deletion is still a run of consecutive segments. Opening replays them in
 * order; a damaged record cuts its segment there and every later segment is deleted, as a single
 * file would be cut (reported once, with the bytes of the later segments in `dropped`). A gap
 * between two segments is the same (the later ones go, reported as torn): the earlier one's tail
 * was never written while later ones' writes were (a crash mid-write after a rotation), or a
 * segment file is missing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AppendLog, LogDamage, RECORD_HEADER, RecordLocation } from "./appendLog";

/** A segment: its log and where it starts in the whole. */
interface Segment {
  base: number;
  file: string;
  log: AppendLog;
}

/** Damage found when opening, in the segment file it was found in (offset within that file). */
export interface SegmentDamage extends LogDamage {
  file: string;
}

/** Options of {@link SegmentedLog.open}. */
export interface SegmentedOptions {
  /** Start a new segment once the current one holds this many bytes. */
  segmentBytes: number;
  /** fdatasync each group flush (default true). */
  fsync?: boolean;
  /** Called once with the first damage found (the log is cut there). */
  onDamage?: (damage: SegmentDamage) => void;
}

/** A record's header and the first bytes of its payload, from {@link SegmentedLog.heads}. */
export interface RecordHead {
  /** Offset of the record's header in the log. */
  offset: number;
  /** Payload length. */
  length: number;
  /** The first bytes of the payload. */
  head: Buffer;
}

/** An append-only log in segment files. */
export class SegmentedLog {
  private constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly segments: Segment[],
    private readonly opts: SegmentedOptions,
  ) {}

  /**
   * Opens (or creates) the segments of log `name` in `dir`, calling `onRecord` for every intact
   * record in order with its offset in the whole log (see the file comment for damage). A file
   * `<name>.log` from before segments becomes the segment at 0.
   */
  static open(dir: string, name: string, onRecord: (payload: Buffer, at: RecordLocation) => void | boolean, opts: SegmentedOptions): SegmentedLog {
    const legacy = path.join(dir, `${name}.log`);
    if (fs.existsSync(legacy)) fs.renameSync(legacy, segmentFile(dir, name, 0));
    const pattern = new RegExp(`^${name}-(\\d{16})\\.log$`);
    const found = fs
      .readdirSync(dir)
      .map((f) => pattern.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    const report = opts.onDamage ?? (() => {});
    for (let i = 0; i < found.length; i++) {
      const base = found[i];
      const file = segmentFile(dir, name, base);
      const later = found.slice(i + 1).map((b) => segmentFile(dir, name, b));
      const laterBytes = later.reduce((n, f) => n + fs.statSync(f).size, 0);
      let damaged = false;
      const log = AppendLog.open(file, (p, at) => onRecord(p, { offset: base + at.offset, length: at.length }), {
        fsync: opts.fsync,
        onDamage: (d) => {
          damaged = true;
          report({ ...d, file, dropped: d.dropped + laterBytes });
        },
      });
      segments.push({ base, file, log });
      const gap = i + 1 < found.length && found[i + 1] !== base + log.length;
      // A gap: this segment's end was never written while later ones were (a crash mid-write
      // after rotations), or a later file is missing. The two cannot be told apart (a burst of
      // appends may fill whole segments before any is written); nothing after it is trusted.
      if (gap && !damaged) report({ kind: "torn", file, offset: log.length, dropped: laterBytes });
      if (damaged || gap) {
        for (const f of later) fs.rmSync(f);
        break;
      }
    }
    if (segments.length === 0) {
      const file = segmentFile(dir, name, 0);
      segments.push({ base: 0, file, log: AppendLog.open(file, () => {}, { fsync: opts.fsync }) });
    }
    return new SegmentedLog(dir, name, segments, opts);
  }

  private get head(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** Offset of the first byte still held (everything below was deleted). */
  get start(): number {
    return this.segments[0].base;
  }

  /** Offset where the current (last) segment starts. */
  get currentStart(): number {
    return this.head.base;
  }

  /** Offset past the last record appended (including those still buffered). */
  get length(): number {
    return this.head.base + this.head.log.length;
  }

  /** Records below this offset are written to the OS and can be read back. */
  get written(): number {
    for (const s of this.segments) if (s.log.written < s.log.length) return s.base + s.log.written;
    return this.length;
  }

  /** Bytes held on disk (all segments). */
  get bytes(): number {
    return this.length - this.start;
  }

  /** Appends a record (see {@link AppendLog.append}); a full segment is followed by a new one first. */
  append(payload: Buffer | Buffer[]): RecordLocation {
    if (this.head.log.length >= this.opts.segmentBytes) {
      const base = this.length;
      const file = segmentFile(this.dir, this.name, base);
      this.segments.push({ base, file, log: AppendLog.open(file, () => {}, { fsync: this.opts.fsync }) });
    }
    const head = this.head;
    const at = head.log.append(payload);
    return at.offset < 0 ? at : { offset: head.base + at.offset, length: at.length };
  }

  /** Resolves once every record appended so far is written (and fsynced if so opened). */
  async sync(): Promise<void> {
    await Promise.all(this.segments.map((s) => s.log.sync()));
  }

  /** The segment holding offset `at`, if it was not deleted. */
  private segmentAt(offset: number): Segment | undefined {
    if (offset < this.start) return undefined;
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i].base <= offset) return this.segments[i];
    return undefined;
  }

  /** Reads back a record payload, or undefined if its segment was deleted. */
  read(at: RecordLocation): Buffer | undefined {
    const s = this.segmentAt(at.offset);
    return s && s.log.read({ offset: at.offset - s.base, length: at.length });
  }

  /**
   * Reads the record whose header starts at `offset`, as {@link AppendLog.readRecordAt} (the end
   * of a segment is the start of the next); undefined below {@link start} or past what is written.
   */
  readRecordAt(offset: number): { payload: Buffer; at: RecordLocation; next: number } | undefined {
    const s = this.segmentAt(offset);
    const r = s?.log.readRecordAt(offset - s.base);
    return r && { payload: r.payload, at: { offset: s!.base + r.at.offset, length: r.at.length }, next: s!.base + r.next };
  }

  /**
   * The records of the first `count` segments (all of them by default) as far as written,
   * reading only their headers and the first `headBytes` of each payload (every record is at
   * least that long).
   */
  *heads(headBytes: number, count = this.segments.length): Generator<RecordHead> {
    const buf = Buffer.allocUnsafe(RECORD_HEADER + headBytes);
    for (const s of this.segments.slice(0, count)) {
      for (let pos = 0; pos + buf.length <= s.log.written;) {
        const head = s.log.read({ offset: pos, length: buf.length });
        const length = head.readUInt32LE(0);
        yield { offset: s.base + pos, length, head: Buffer.from(head.subarray(RECORD_HEADER)) };
        pos += RECORD_HEADER + length;
      }
    }
  }

  /** Number of whole segments (never the current one) that end at or below `offset`. */
  deletable(offset: number): number {
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n].base + this.segments[n].log.length <= offset) n++;
    return n;
  }

  /**
   * Deletes the whole segments (never the current one) that end at or below `offset`, oldest
   * first: their records stop being readable at once, the files go once closed. Returns the
   * new {@link start}.
   */
  async deleteBelow(offset: number): Promise<number> {
    const gone = this.segments.splice(0, this.deletable(offset));
    for (const s of gone) {
      await s.log.close();
      fs.rmSync(s.file, { force: true });
    }
    return this.start;
  }

  /** Flushes and closes every segment. */
  async close(): Promise<void> {
    await Promise.all(this.segments.map((s) => s.log.close()));
  }
}

/** The file of the segment starting at `base`. */
export function segmentFile(dir: string, name: string, base: number): string {
  return path.join(dir, `${name}-${String(base).padStart(16, "0")}.log`);
}
