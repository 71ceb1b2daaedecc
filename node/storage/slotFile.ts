/**
 * A file of fixed 8-byte slots, slot i at byte 8·i, holding a file offset per key (a round, a
 * sub-DAG index): an index that lives on disk so a node's memory does not grow with the epoch.
 * A slot holds offset + 1, so 0 (a hole, or past the end) means "none". Slots are written to the
 * OS, not fsynced: whoever reads one checks it against the log it points into.
 */
import * as fs from "node:fs";

const SLOT = 8;

/** Offsets by small integer key, on disk. */
export class SlotFile {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(SLOT);
  private closed = false;

  constructor(path: string) {
    this.fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  }

  /** The offset stored for `key`, or undefined. */
  get(key: number): number | undefined {
    if (this.closed) return undefined;
    const n = fs.readSync(this.fd, this.buf, 0, SLOT, key * SLOT);
    if (n < SLOT) return undefined;
    const v = Number(this.buf.readBigUInt64LE(0));
    return v === 0 ? undefined : v - 1;
  }

  /** Stores `offset` for `key`. */
  set(key: number, offset: number): void {
    if (this.closed || offset < 0) return; // a record a closed log refused has no offset
    this.buf.writeBigUInt64LE(BigInt(offset + 1), 0);
    fs.writeSync(this.fd, this.buf, 0, SLOT, key * SLOT);
  }

  /** Forgets every key from `key` on (they pointed at records a crash lost). */
  truncate(key: number): void {
    if (this.closed) return;
    if (fs.fstatSync(this.fd).size > key * SLOT) fs.ftruncateSync(this.fd, key * SLOT);
  }

  /** Closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
