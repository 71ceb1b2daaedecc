/**
 * Length-prefixed framing over a byte stream: u32 little-endian length, then the frame.
 * The decoder refuses frames above a cap instead of buffering them: a peer announcing a
 * gigabyte frame is cut off, not obeyed.
 */

/** Raised for a frame above the cap; the connection must be closed. */
export class FrameTooLarge extends Error {}

/** Prefixes a frame, given whole or in parts, with its length. */
export function frame(payload: Buffer | Buffer[]): Buffer[] {
  const parts = Array.isArray(payload) ? payload : [payload];
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(
    parts.reduce((n, p) => n + p.length, 0),
    0,
  );
  return [len, ...parts];
}

/** Accumulates stream chunks and yields complete frames. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame: number) {}

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk; returns every frame now complete (views or copies, owned by the caller). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const len = head.readUInt32LE(0);
      if (len > this.maxFrame) throw new FrameTooLarge(`frame of ${len} bytes above ${this.maxFrame}`);
      if (this.buffered < 4 + len) break;
      this.take(4);
      out.push(this.take(len));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
