/**
 * Blocks that were read from disk and matched their hash, kept in memory up to a byte budget,
 * least recently used first out. Serving a hot block from here skips both the disk read and the
 * re-hash; anything not in here is verified again when read, so disk corruption is still caught.
 */
export class VerifiedBlockCache {
  private readonly blocks = new Map<string, Buffer>();
  private bytes = 0;

  /** @param maxBytes the memory budget; 0 disables caching. */
  constructor(private readonly maxBytes: number) {}

  /** The verified block, marking it recently used. */
  get(key: string): Buffer | undefined {
    const block = this.blocks.get(key);
    if (block) {
      // Map keeps insertion order: re-inserting moves the key to the most recent end.
      this.blocks.delete(key);
      this.blocks.set(key, block);
    }
    return block;
  }

  /** Remembers a block that has just been verified. */
  set(key: string, block: Buffer): void {
    if (block.length > this.maxBytes) return;
    this.delete(key);
    this.blocks.set(key, block);
    this.bytes += block.length;
    for (const [oldest, old] of this.blocks) {
      if (this.bytes <= this.maxBytes) break;
      this.blocks.delete(oldest);
      this.bytes -= old.length;
    }
  }

  /** Forgets a block (its object was evicted). */
  delete(key: string): void {
    const block = this.blocks.get(key);
    if (!block) return;
    this.blocks.delete(key);
    this.bytes -= block.length;
  }
}
