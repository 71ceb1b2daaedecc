/**
 * An on-disk hash table from a 32-byte digest to a record offset (open addressing, linear
 * probing), so a node can find any batch of the epoch without holding one entry per batch in
 * memory. A slot is 16 bytes: the digest's first 8 bytes and offset + 1 (0: empty). Two digests
 * may share 8 bytes (an author can grind that), so a hit is checked against the full digest by
 * the caller's `matches`. The table doubles past half full. Nothing is fsynced: the owner rebuilds
 * it from its log at every open (see {@link reset}).
 */
import * as fs from "node:fs";

const SLOT = 16;
const MIN_CAPACITY = 1024;

/** Digest → offset, on disk. */
export class DigestIndex {
  private fd: number;
  private capacity = MIN_CAPACITY;
  private count = 0;
  private readonly slot = Buffer.alloc(SLOT);
  private closed = false;

  /** Creates an empty table at `path` (replacing what is there). */
  constructor(private readonly path: string) {
    this.fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
    fs.ftruncateSync(this.fd, this.capacity * SLOT);
  }

  /** Entries stored. */
  get size(): number {
    return this.count;
  }

  /** Adds `digest` → `offset` (the caller adds each digest once). */
  add(digest: Buffer, offset: number): void {
    if (this.closed) return;
    if (2 * (this.count + 1) > this.capacity) this.grow();
    this.place(digest.subarray(0, 8), offset);
    this.count++;
  }

  /** The offset stored for `digest`, the first whose record `matches` it. */
  get(digest: Buffer, matches: (offset: number) => boolean): number | undefined {
    if (this.closed) return undefined;
    const prefix = digest.subarray(0, 8);
    for (let i = home(prefix, this.capacity); ; i = (i + 1) % this.capacity) {
      fs.readSync(this.fd, this.slot, 0, SLOT, i * SLOT);
      const stored = Number(this.slot.readBigUInt64LE(8));
      if (stored === 0) return undefined;
      if (this.slot.subarray(0, 8).equals(prefix) && matches(stored - 1)) return stored - 1;
    }
  }

  /** Closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  /** Writes an entry into the first free slot from its home slot. */
  private place(prefix: Buffer, offset: number): void {
    for (let i = home(prefix, this.capacity); ; i = (i + 1) % this.capacity) {
      fs.readSync(this.fd, this.slot, 0, SLOT, i * SLOT);
      if (this.slot.readBigUInt64LE(8) !== 0n) continue;
      prefix.copy(this.slot, 0);
      this.slot.writeBigUInt64LE(BigInt(offset + 1), 8);
      fs.writeSync(this.fd, this.slot, 0, SLOT, i * SLOT);
      return;
    }
  }

  /**
   * Moves every entry into a table twice the size, built in memory (16 B a slot for a moment:
   * one write instead of a read and a write per entry, which at a million entries would block
   * the event loop for seconds) and renamed over the old file.
   */
  private grow(): void {
    const capacity = 2 * this.capacity;
    const old = Buffer.alloc(this.capacity * SLOT);
    fs.readSync(this.fd, old, 0, old.length, 0);
    const table = Buffer.alloc(capacity * SLOT);
    for (let s = 0; s < old.length; s += SLOT) {
      if (old.readBigUInt64LE(s + 8) === 0n) continue;
      let i = home(old.subarray(s, s + 8), capacity);
      while (table.readBigUInt64LE(i * SLOT + 8) !== 0n) i = (i + 1) % capacity;
      old.copy(table, i * SLOT, s, s + SLOT);
    }
    const tmp = `${this.path}.tmp`;
    const fd = fs.openSync(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
    for (let at = 0; at < table.length;) at += fs.writeSync(fd, table, at, table.length - at, at);
    fs.renameSync(tmp, this.path);
    fs.closeSync(this.fd);
    this.fd = fd;
    this.capacity = capacity;
  }
}

/** The home slot of a digest prefix. */
function home(prefix: Buffer, capacity: number): number {
  return prefix.readUInt32LE(0) % capacity;
}
