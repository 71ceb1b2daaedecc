/**
 * A small hand-written binary codec: fixed-width little-endian integers and length-prefixed
 * bytes. Every digest preimage in the consensus is built with it, so encodings are canonical
 * (the same value always yields the same bytes) and decoding rejects trailing or missing bytes.
 */

/** Thrown when a buffer cannot be decoded; network code treats it as a malformed message. */
export class DecodeError extends Error {}

/** Appends values to a growable buffer. */
export class Writer {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Unsigned 8-bit integer. */
  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** Unsigned 16-bit little-endian integer. */
  u16(v: number): this {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
    return this;
  }

  /** Unsigned 32-bit little-endian integer. */
  u32(v: number): this {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
    return this;
  }

  /** Unsigned 64-bit little-endian integer given as a safe JS number (rounds, epochs, times). */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 out of range: ${v}`);
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }

  /** Raw bytes of a known fixed length (digests, keys, signatures): no length prefix. */
  fixed(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Bytes with a u32 length prefix. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).fixed(b);
  }

  /** The encoded bytes (a view of the internal buffer; do not write afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads values written by {@link Writer}; every read checks the remaining length. */
export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DecodeError(`truncated: need ${n} bytes at ${this.pos}`);
  }

  /** Unsigned 8-bit integer. */
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  /** Unsigned 16-bit little-endian integer. */
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  /** Unsigned 32-bit little-endian integer. */
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit little-endian integer; rejects values above 2^53 - 1. */
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError("u64 above 2^53");
    return Number(v);
  }

  /** Exactly n raw bytes (a view, not a copy). */
  fixed(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Bytes with a u32 length prefix, capped at `max` to refuse absurd allocations. */
  bytes(max = 64 * 1024 * 1024): Buffer {
    const n = this.u32();
    if (n > max) throw new DecodeError(`length ${n} above cap ${max}`);
    return this.fixed(n);
  }

  /** A u32 count of items, checked against `max` before the caller loops over it. */
  count(max: number): number {
    const n = this.u32();
    if (n > max) throw new DecodeError(`count ${n} above cap ${max}`);
    return n;
  }

  /** Throws unless every byte was consumed: canonical encodings have no trailing data. */
  end(): void {
    if (this.pos !== this.buf.length) throw new DecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}
