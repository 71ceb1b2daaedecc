import { randomUUID } from "node:crypto";
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadBlockHashing, type BlockHashing } from "./blockHashing";
import { blocksOf, verifiedBlocks, type AnnouncedTree } from "./blockStream";
import { BLOCK_SIZE, blockLength, leafOf, rootFromLeaves } from "./blockTree";
import { contentHashOf, HASH_BYTES, parseContentHash, type ContentHash } from "./contentHash";
import { ContentNotFoundError, ContentTooLargeError, CorruptContentError, IntegrityError } from "./errors";
import { decodeObjectIndex, encodeObjectIndex, INDEX_HEADER_BYTES, type ObjectIndex } from "./objectIndexFile";
import { VerifiedBlockCache } from "./verifiedBlockCache";

/** How a {@link BlockStore} is set up. */
export interface BlockStoreOptions {
  /** Directory holding `objects/` and `tmp/`; created when missing. */
  directory: string;
  /** Disk budget for stored objects (data plus index); least recently used objects are evicted past it. */
  maxBytes: number;
  /** Memory budget for verified hot blocks (default 64 MiB; 0 turns the cache off). */
  verifiedCacheBytes?: number;
}

/** What {@link BlockStore.put} is told about the content it receives. */
export interface PutOptions {
  /** Media type to remember for the gateway. */
  contentType?: string;
  /** Refuse content larger than this (the store's own budget always applies too). */
  maxLength?: number;
  /** The root the content must have: checked once all bytes are in. */
  expectedHash?: ContentHash;
  /**
   * The content's length and block hashes, as announced by an untrusted peer: they are checked
   * against `expectedHash` first, then every block is checked as soon as it arrives, so a lying
   * peer is cut off at its first bad block.
   */
  expectedTree?: AnnouncedTree;
}

/** A legacy object re-hashed at open: its old (keyed-tree) name and its BLAKE3 root now. */
export interface MigratedObject {
  from: string;
  to: ContentHash;
}

/** Summary of a stored object. */
export interface StoredObject {
  hash: ContentHash;
  length: number;
  contentType?: string;
}

const DEFAULT_VERIFIED_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Content-addressed storage of immutable objects keyed by their block-tree root
 * (docs/blockstore.md). Each object is `objects/<root>.data` (the bytes) and `objects/<root>.tree`
 * (length, media type, block hashes). Writes go to `tmp/` and are renamed in, the `.tree` last, so
 * a half-written object never appears. Every block read from disk is hashed before it is served.
 */
export class BlockStore {
  /** Objects in least- to most-recently-used order (Map insertion order). */
  private readonly objects = new Map<ContentHash, ObjectIndex>();
  private usedBytes = 0;
  private readonly cache: VerifiedBlockCache;
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  /** Objects of the legacy format found at open and re-hashed under their BLAKE3 root. */
  readonly migrated: MigratedObject[] = [];

  private constructor(
    private readonly hashing: BlockHashing,
    private readonly options: BlockStoreOptions,
  ) {
    this.cache = new VerifiedBlockCache(options.verifiedCacheBytes ?? DEFAULT_VERIFIED_CACHE_BYTES);
    this.objectsDir = join(options.directory, "objects");
    this.tmpDir = join(options.directory, "tmp");
  }

  /**
   * Opens (or creates) a store. Existing objects whose index does not hash to their name, or
   * whose data file has the wrong size, are deleted; leftover temporary files are removed.
   * Objects of the legacy format (keyed-tree roots) are re-hashed and renamed to their BLAKE3
   * root (listed in {@link migrated}); this reads each once, so the first open after the
   * upgrade takes as long as hashing the store.
   */
  static async open(options: BlockStoreOptions): Promise<BlockStore> {
    const store = new BlockStore(await loadBlockHashing(), options);
    await rm(store.tmpDir, { recursive: true, force: true });
    await mkdir(store.tmpDir, { recursive: true });
    await mkdir(store.objectsDir, { recursive: true });
    await store.loadExisting();
    return store;
  }

  /** Bytes of disk the stored objects take. */
  get bytesUsed(): number {
    return this.usedBytes;
  }

  /** Whether the object is stored. */
  has(hash: ContentHash): boolean {
    return this.objects.has(hash);
  }

  /** Length and media type of a stored object. */
  stat(hash: ContentHash): StoredObject | undefined {
    const index = this.objects.get(hash);
    return index && { hash, length: index.length, contentType: index.contentType };
  }

  /**
   * The object's block hashes concatenated (its "outboard"): with it and the root a client or a
   * peer can verify each block on its own, in any order.
   */
  outboard(hash: ContentHash): Buffer | undefined {
    const index = this.objects.get(hash);
    return index && Buffer.concat(index.leaves);
  }

  /**
   * Stores content streamed from `source`, hashing it block by block (two blocks are held at
   * most: one being written while the next is hashed), and returns its root. Nothing is stored
   * if the content fails a check.
   */
  async put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: PutOptions = {}): Promise<StoredObject> {
    const limit = Math.min(options.maxLength ?? Infinity, this.options.maxBytes);
    const expectedTree = options.expectedTree;
    if (expectedTree && options.expectedHash === undefined) throw new IntegrityError("an announced tree needs the root it must produce");
    const tmpData = join(this.tmpDir, randomUUID());
    const file = await open(tmpData, "w");
    const leaves: Buffer[] = [];
    let length = 0;
    let lastBlock: Buffer = Buffer.alloc(0);
    // One write in flight while the next block is hashed: in turn, put ran at ~715 MB/s against
    // ~900 for hashing alone (bench/ingest, 2026-12-05).
    let writing: Promise<unknown> = Promise.resolve();
    try {
      const blocks = expectedTree ? verifiedBlocks(this.hashing, options.expectedHash!, expectedTree, source) : blocksOf(source);
      for await (const block of blocks) {
        length += block.length;
        if (length > limit) throw new ContentTooLargeError(limit);
        // A short first block is the only one, and its leaf is the root; whether a full first
        // block is the only one is known only at the end: that case is fixed up below.
        if (!expectedTree) {
          const onlyBlock = leaves.length === 0 && block.length < BLOCK_SIZE;
          leaves.push(onlyBlock ? this.hashing.hash(block) : this.hashing.blockChainingValue(block, leaves.length));
        }
        await writing;
        writing = file.write(block);
        lastBlock = block;
      }
      await writing;
    } catch (error) {
      await writing.catch(() => undefined);
      await file.close();
      await rm(tmpData, { force: true });
      throw error;
    }
    await file.close();
    if (expectedTree) leaves.push(...expectedTree.leaves);
    else if (length === BLOCK_SIZE) leaves[0] = this.hashing.hash(lastBlock);
    const hash = contentHashOf(rootFromLeaves(this.hashing, length, leaves));
    if (options.expectedHash !== undefined && hash !== options.expectedHash) {
      await rm(tmpData, { force: true });
      throw new IntegrityError(`content hashes to ${hash}, expected ${options.expectedHash}`);
    }
    await this.commit(hash, tmpData, { length, contentType: options.contentType, leaves });
    return { hash, length, contentType: options.contentType };
  }

  /**
   * Streams bytes [start, end) of an object, each block verified against its hash before any of
   * it is yielded. A block that fails evicts the object and throws {@link CorruptContentError}.
   * Throws {@link ContentNotFoundError} before yielding anything if the object is not stored.
   */
  async *read(hash: ContentHash, start = 0, end?: number): AsyncGenerator<Buffer> {
    const index = this.objects.get(hash);
    if (!index) throw new ContentNotFoundError(hash);
    const stop = end ?? index.length;
    if (start < 0 || stop > index.length || start > stop) {
      throw new RangeError(`range [${start}, ${stop}) is outside 0..${index.length}`);
    }
    this.touch(hash, index);
    // The file is opened only on a cache miss; an evicted object's open descriptor stays readable.
    let file: Awaited<ReturnType<typeof open>> | undefined;
    try {
      for (let blockIndex = Math.floor(start / BLOCK_SIZE); blockIndex * BLOCK_SIZE < stop; blockIndex++) {
        const key = `${hash}:${blockIndex}`;
        let bytes = this.cache.get(key);
        if (!bytes) {
          file ??= await this.openData(hash);
          bytes = await this.readVerifiedBlock(file, hash, index, blockIndex);
          this.cache.set(key, bytes);
        }
        const blockStart = blockIndex * BLOCK_SIZE;
        yield bytes.subarray(Math.max(0, start - blockStart), Math.min(bytes.length, stop - blockStart));
      }
    } finally {
      await file?.close();
    }
  }

  /**
   * Bytes [start, end) of an object when every block they span is in the verified-block cache,
   * else undefined. Lets the gateway answer hot content synchronously, without the disk or the
   * async read path; the range must be valid (as for {@link read}).
   */
  cachedSlices(hash: ContentHash, start: number, end: number): Buffer[] | undefined {
    const index = this.objects.get(hash);
    if (!index || start >= end) return undefined;
    const slices: Buffer[] = [];
    for (let blockIndex = Math.floor(start / BLOCK_SIZE); blockIndex * BLOCK_SIZE < end; blockIndex++) {
      const bytes = this.cache.get(`${hash}:${blockIndex}`);
      if (!bytes) return undefined;
      const blockStart = blockIndex * BLOCK_SIZE;
      slices.push(bytes.subarray(Math.max(0, start - blockStart), Math.min(bytes.length, end - blockStart)));
    }
    this.touch(hash, index);
    return slices;
  }

  /**
   * The whole of a stored object of at most one block (256 KiB), verified, read synchronously:
   * from the verified-block cache, else with one read of its file (then cached). For a function's
   * bundle handed with its first request (gateway/bundleAttachment.ts): the asynchronous read's
   * open, read and close each wait for a thread-pool turn and a wake-up of the loop, where reading
   * a file this small from the page cache costs the loop less than hashing it, which every read
   * does on the loop anyway. Undefined when the object is not stored (or its file is gone), is
   * larger than one block, or fails its check (then evicted, as by {@link read}).
   */
  readBlockSync(hash: ContentHash): Buffer | undefined {
    const index = this.objects.get(hash);
    if (!index || index.length > BLOCK_SIZE) return undefined;
    const key = `${hash}:0`;
    const cached = this.cache.get(key);
    if (cached || index.length === 0) {
      this.touch(hash, index);
      return cached ?? Buffer.alloc(0);
    }
    const bytes = Buffer.allocUnsafe(index.length);
    let bytesRead: number;
    try {
      const fd = openSync(this.path(hash, "data"), "r");
      try {
        bytesRead = readSync(fd, bytes, 0, bytes.length, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      this.forget(hash);
      return undefined;
    }
    if (bytesRead !== bytes.length || !leafOf(this.hashing, index.length, 0, bytes).equals(index.leaves[0])) {
      this.forget(hash);
      return undefined;
    }
    this.touch(hash, index);
    this.cache.set(key, bytes);
    return bytes;
  }

  /** Removes an object (no error if absent). */
  async evict(hash: ContentHash): Promise<void> {
    const index = this.objects.get(hash);
    if (!index) return;
    this.objects.delete(hash);
    this.usedBytes -= diskBytes(index);
    for (let blockIndex = 0; blockIndex < index.leaves.length; blockIndex++) this.cache.delete(`${hash}:${blockIndex}`);
    // The index file goes first: without it the data file is ignored (and cleaned) on the next open.
    await rm(this.path(hash, "tree"), { force: true });
    await rm(this.path(hash, "data"), { force: true });
  }

  /** Evicts without waiting: the object is gone from the index at once; a file rm fails to remove is cleaned at the next open. */
  private forget(hash: ContentHash): void {
    this.evict(hash).catch(() => undefined);
  }

  private async openData(hash: ContentHash) {
    try {
      return await open(this.path(hash, "data"), "r");
    } catch {
      await this.evict(hash);
      throw new ContentNotFoundError(hash);
    }
  }

  private async readVerifiedBlock(file: Awaited<ReturnType<typeof open>>, hash: ContentHash, index: ObjectIndex, blockIndex: number): Promise<Buffer> {
    const size = blockLength(index.length, blockIndex);
    const bytes = Buffer.allocUnsafe(Math.max(0, size));
    const { bytesRead } = await file.read(bytes, 0, bytes.length, blockIndex * BLOCK_SIZE);
    if (bytesRead !== bytes.length || !leafOf(this.hashing, index.length, blockIndex, bytes).equals(index.leaves[blockIndex])) {
      await this.evict(hash);
      throw new CorruptContentError(hash, blockIndex);
    }
    return bytes;
  }

  private touch(hash: ContentHash, index: ObjectIndex): void {
    this.objects.delete(hash);
    this.objects.set(hash, index);
  }

  private async commit(hash: ContentHash, tmpData: string, index: ObjectIndex): Promise<void> {
    if (this.objects.has(hash)) {
      // Same root, same bytes: the copy already stored is as good as this one.
      await rm(tmpData, { force: true });
      return;
    }
    const tmpTree = `${tmpData}.tree`;
    await writeFile(tmpTree, encodeObjectIndex(index));
    await rename(tmpData, this.path(hash, "data"));
    await rename(tmpTree, this.path(hash, "tree"));
    // A concurrent put of the same bytes may have committed while this one was renaming.
    if (this.objects.has(hash)) return;
    this.objects.set(hash, index);
    this.usedBytes += diskBytes(index);
    await this.evictOverBudget(hash);
  }

  private async evictOverBudget(keep: ContentHash): Promise<void> {
    for (const hash of [...this.objects.keys()]) {
      if (this.usedBytes <= this.options.maxBytes) return;
      if (hash !== keep) await this.evict(hash);
    }
  }

  private async loadExisting(): Promise<void> {
    const found: { hash: ContentHash; index: ObjectIndex; mtimeMs: number }[] = [];
    const legacy: { name: string; contentType?: string }[] = [];
    for (const name of await readdir(this.objectsDir)) {
      const [stem, extension] = name.split(".");
      const hash = parseContentHash(stem);
      if (!hash || extension !== "tree") {
        if (!(hash && extension === "data")) await rm(join(this.objectsDir, name), { force: true });
        continue;
      }
      try {
        const { legacy: isLegacy, ...index } = decodeObjectIndex(await readFile(this.path(hash, "tree")));
        const data = await stat(this.path(hash, "data"));
        if (data.size !== index.length) throw new Error("data does not have the indexed length");
        if (isLegacy) {
          legacy.push({ name: hash, contentType: index.contentType });
          continue;
        }
        if (contentHashOf(rootFromLeaves(this.hashing, index.length, index.leaves)) !== hash) {
          throw new Error("index does not match its root");
        }
        found.push({ hash, index, mtimeMs: data.mtimeMs });
      } catch {
        await rm(this.path(hash, "tree"), { force: true });
        await rm(this.path(hash, "data"), { force: true });
      }
    }
    // Recency is kept in memory only; after a restart the write order stands in for it.
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const { hash, index } of found) {
      this.objects.set(hash, index);
      this.usedBytes += diskBytes(index);
    }
    for (const { name, contentType } of legacy) await this.migrate(name as ContentHash, contentType).catch(() => undefined);
    // Data files whose index is gone are leftovers of an interrupted eviction.
    for (const name of await readdir(this.objectsDir)) {
      const hash = parseContentHash(name.split(".")[0]);
      if (hash && !this.objects.has(hash)) await rm(join(this.objectsDir, name), { force: true });
    }
    await this.evictOverBudget("" as ContentHash);
  }

  /**
   * Re-hashes a legacy object into the current format under its BLAKE3 root. Its old hashes
   * cannot be checked any more (that code is gone), so the name it gets is the hash of the bytes
   * on disk: if they rotted, they are stored under the root of what they now are, which nobody
   * asks for, rather than under the old name. An object that cannot be read is dropped.
   */
  private async migrate(oldName: ContentHash, contentType: string | undefined): Promise<void> {
    try {
      const stored = await this.put(createReadStream(this.path(oldName, "data"), { highWaterMark: BLOCK_SIZE }), { contentType });
      this.migrated.push({ from: oldName, to: stored.hash });
    } finally {
      // Migrated or unreadable (then dropped, as a bad index is): the old files go either way.
      await rm(this.path(oldName, "tree"), { force: true });
      await rm(this.path(oldName, "data"), { force: true });
    }
  }

  private path(hash: ContentHash, kind: "data" | "tree"): string {
    return join(this.objectsDir, `${hash}.${kind}`);
  }
}

/** Disk an object takes: its bytes plus its index file. */
function diskBytes(index: ObjectIndex): number {
  return index.length + INDEX_HEADER_BYTES + Buffer.byteLength(index.contentType ?? "") + index.leaves.length * HASH_BYTES;
}
