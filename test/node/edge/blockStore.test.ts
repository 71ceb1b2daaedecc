import { expect } from "chai";
import { mkdir, open, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BlockStore } from "../../../node/blockstore/blockStore";
import { BLOCK_SIZE, leavesFromOutboard } from "../../../node/blockstore/blockTree";
import { ContentNotFoundError, ContentTooLargeError, CorruptContentError, IntegrityError } from "../../../node/blockstore/errors";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import { collect, inPieces, patternBytes, tempDirectory, vectorInput } from "./fixtures";

const MiB = 1024 * 1024;
/** A `.tree` file besides its media type and leaves: "fleek-b3", u64 length, u16 type length. */
const INDEX_HEADER = 8 + 8 + 2;

/** Flips one byte of a stored object's data file in place, as disk rot would. */
async function corruptByte(directory: string, hash: ContentHash, offset: number): Promise<void> {
  const file = await open(join(directory, "objects", `${hash}.data`), "r+");
  const byte = Buffer.alloc(1);
  await file.read(byte, 0, 1, offset);
  byte[0] ^= 0xff;
  await file.write(byte, 0, 1, offset);
  await file.close();
}

describe("edge: blockstore", () => {
  let dir: Awaited<ReturnType<typeof tempDirectory>>;
  beforeEach(async () => {
    dir = await tempDirectory("blockstore");
  });
  afterEach(async () => {
    await dir.remove();
  });

  it("stores streamed content under its root and reads back any range", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    const content = patternBytes(3 * BLOCK_SIZE + 1234);
    const stored = await store.put(inPieces(content, 10_000), { contentType: "text/plain" });
    expect(stored.length).to.equal(content.length);
    expect(store.stat(stored.hash)).to.deep.equal({ hash: stored.hash, length: content.length, contentType: "text/plain" });
    expect((await collect(store.read(stored.hash))).equals(content)).to.equal(true);
    for (const [start, end] of [
      [0, 0],
      [0, 1],
      [BLOCK_SIZE - 1, BLOCK_SIZE + 1],
      [content.length - 1, content.length],
      [5, 2 * BLOCK_SIZE + 7],
    ]) {
      expect((await collect(store.read(stored.hash, start, end))).equals(content.subarray(start, end)), `${start}-${end}`).to.equal(true);
    }
    // The same bytes cut differently give the same root; one byte more does not.
    expect((await store.put(inPieces(content, 999_999))).hash).to.equal(stored.hash);
    expect((await store.put(inPieces(Buffer.concat([content, Buffer.from([0])]), 4096))).hash).to.not.equal(stored.hash);
  });

  it("stores empty content", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: MiB });
    const stored = await store.put(inPieces(Buffer.alloc(0), 1));
    expect(stored.length).to.equal(0);
    expect((await collect(store.read(stored.hash))).length).to.equal(0);
  });

  it("counts concurrent puts of the same content once", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    const content = patternBytes(2 * BLOCK_SIZE + 3, 5);
    const results = await Promise.all(Array.from({ length: 4 }, () => store.put(inPieces(content, 50_000))));
    expect(new Set(results.map((r) => r.hash)).size).to.equal(1);
    expect(store.bytesUsed).to.equal(content.length + INDEX_HEADER + 3 * 32);
    expect((await readdir(join(dir.path, "objects"))).length).to.equal(2);
    expect(await readdir(join(dir.path, "tmp"))).to.deep.equal([]);
  });

  it("detects a corrupted block on read, never yields it, and evicts the object", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB, verifiedCacheBytes: 0 });
    const content = patternBytes(4 * BLOCK_SIZE, 7);
    const { hash } = await store.put(inPieces(content, 65536));
    await corruptByte(dir.path, hash, 2 * BLOCK_SIZE + 100);
    const yielded: Buffer[] = [];
    let failure: unknown;
    try {
      for await (const part of store.read(hash)) yielded.push(part);
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(CorruptContentError);
    expect((failure as CorruptContentError).blockIndex).to.equal(2);
    // Only the two good blocks before the bad one came out, and they were right.
    expect(Buffer.concat(yielded).equals(content.subarray(0, 2 * BLOCK_SIZE))).to.equal(true);
    expect(store.has(hash)).to.equal(false);
    expect(await readdir(join(dir.path, "objects"))).to.deep.equal([]);
    try {
      await collect(store.read(hash));
      expect.fail("read of an evicted object succeeded");
    } catch (error) {
      expect(error).to.be.instanceOf(ContentNotFoundError);
    }
  });

  it("reads an object of at most one block whole and verified without waiting (readBlockSync); a corrupt or missing one is evicted", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB, verifiedCacheBytes: 0 });
    const small = patternBytes(1000, 3);
    const full = patternBytes(BLOCK_SIZE, 4);
    const { hash: smallHash } = await store.put(inPieces(small, 300));
    const { hash: fullHash } = await store.put(inPieces(full, 65536));
    const { hash: twoBlocks } = await store.put(inPieces(patternBytes(BLOCK_SIZE + 1, 5), 65536));
    const { hash: empty } = await store.put(inPieces(Buffer.alloc(0), 1));
    expect(store.readBlockSync(smallHash)?.equals(small)).to.equal(true);
    expect(store.readBlockSync(fullHash)?.equals(full)).to.equal(true);
    expect(store.readBlockSync(empty)?.length).to.equal(0);
    // More than one block is the streaming read's: nothing is read here.
    expect(store.readBlockSync(twoBlocks)).to.equal(undefined);
    expect(store.has(twoBlocks)).to.equal(true);
    expect(store.readBlockSync("ab".repeat(32) as ContentHash)).to.equal(undefined);

    await corruptByte(dir.path, smallHash, 999);
    expect(store.readBlockSync(smallHash)).to.equal(undefined);
    expect(store.has(smallHash)).to.equal(false);
    await rm(join(dir.path, "objects", `${fullHash}.data`));
    expect(store.readBlockSync(fullHash)).to.equal(undefined);
    expect(store.has(fullHash)).to.equal(false);
  });

  it("keeps what readBlockSync verified in the verified-block cache: a later disk fault does not reach it", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    const content = patternBytes(5000, 6);
    // Reopened, so the block is not in the cache from the put.
    const { hash } = await store.put(inPieces(content, 1000));
    const reopened = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    expect(reopened.readBlockSync(hash)?.equals(content)).to.equal(true);
    await corruptByte(dir.path, hash, 10);
    expect(reopened.readBlockSync(hash)?.equals(content)).to.equal(true);
    expect(reopened.cachedSlices(hash, 0, content.length)).to.not.equal(undefined);
  });

  it("detects a truncated data file", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB, verifiedCacheBytes: 0 });
    const { hash } = await store.put(inPieces(patternBytes(BLOCK_SIZE + 10), 4096));
    await truncate(join(dir.path, "objects", `${hash}.data`), BLOCK_SIZE + 5);
    try {
      await collect(store.read(hash, BLOCK_SIZE, BLOCK_SIZE + 1));
      expect.fail("a truncated block was served");
    } catch (error) {
      expect(error).to.be.instanceOf(CorruptContentError);
    }
  });

  it("drops objects with a bad index when reopened and keeps the good ones", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    const good = await store.put(inPieces(patternBytes(1000, 1), 100));
    const bad = await store.put(inPieces(patternBytes(1000, 2), 100));
    await writeFile(join(dir.path, "objects", `${bad.hash}.tree`), Buffer.alloc(42, 1));
    await writeFile(join(dir.path, "objects", "stray.file"), "x");
    const reopened = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    expect(reopened.has(good.hash)).to.equal(true);
    expect(reopened.has(bad.hash)).to.equal(false);
    expect((await readdir(join(dir.path, "objects"))).sort()).to.deep.equal([`${good.hash}.data`, `${good.hash}.tree`].sort());
    expect(reopened.bytesUsed).to.equal(store.stat(good.hash)!.length + INDEX_HEADER + 32);
  });

  it("stores content under the root b3sum prints", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    // BLAKE3 test-vector input; roots from the official vectors (0, 1025 bytes) and b3sum 1.2.0.
    for (const [length, root] of [
      [0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
      [1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"],
      [BLOCK_SIZE, "d57dc906e20d3fd326ffaa85535500486f46a0979f5a323f028dcabfd381fd4a"],
      [BLOCK_SIZE + 1, "531c319935cf78f34869faebd865e5748266b1799039103bfb851a680d9ed30c"],
      [5 * BLOCK_SIZE + 1, "5091a4ab664374a784e38657d959db3e3e8ab54f2a53f235e8b269f70a1aecda"],
    ] as const) {
      expect((await store.put(inPieces(vectorInput(length), 10_000))).hash, `length ${length}`).to.equal(root);
    }
  });

  it("migrates a store written in the legacy keyed-tree format: content readable under its BLAKE3 root", async () => {
    // The legacy layout: objects/<old root>.data and .tree = u64le length ‖ u16le type length ‖
    // type ‖ 32-byte keyed-tree leaves (their values are not checked any more).
    const objects = join(dir.path, "objects");
    await mkdir(objects, { recursive: true });
    const content = vectorInput(BLOCK_SIZE + 1);
    const oldName = "9c".repeat(32);
    const type = Buffer.from("text/javascript");
    const header = Buffer.alloc(10);
    header.writeBigUInt64LE(BigInt(content.length), 0);
    header.writeUInt16LE(type.length, 8);
    await writeFile(join(objects, `${oldName}.data`), content);
    await writeFile(join(objects, `${oldName}.tree`), Buffer.concat([header, type, Buffer.alloc(64, 7)]));
    // A legacy object whose data lost its tail is dropped, as a bad index always was.
    const brokenName = "7e".repeat(32);
    await writeFile(join(objects, `${brokenName}.data`), content.subarray(0, 100));
    await writeFile(join(objects, `${brokenName}.tree`), Buffer.concat([header, type, Buffer.alloc(64, 7)]));

    const store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    const root = "531c319935cf78f34869faebd865e5748266b1799039103bfb851a680d9ed30c" as ContentHash; // b3sum
    expect(store.migrated).to.deep.equal([{ from: oldName, to: root }]);
    expect(store.stat(root)).to.deep.equal({ hash: root, length: content.length, contentType: "text/javascript" });
    expect((await collect(store.read(root))).equals(content)).to.equal(true);
    expect((await readdir(objects)).sort()).to.deep.equal([`${root}.data`, `${root}.tree`]);
    expect(store.bytesUsed).to.equal(content.length + INDEX_HEADER + type.length + 2 * 32);

    const reopened = await BlockStore.open({ directory: dir.path, maxBytes: 64 * MiB });
    expect(reopened.migrated).to.deep.equal([]);
    expect((await collect(reopened.read(root))).equals(content)).to.equal(true);
  });

  it("evicts the least recently used objects past its disk budget", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 3 * MiB + 1000 });
    const a = await store.put(inPieces(patternBytes(MiB, 1), 65536));
    const b = await store.put(inPieces(patternBytes(MiB, 2), 65536));
    const c = await store.put(inPieces(patternBytes(MiB, 3), 65536));
    await collect(store.read(a.hash, 0, 1)); // a is now more recent than b
    const d = await store.put(inPieces(patternBytes(MiB, 4), 65536));
    expect([a, b, c, d].map((o) => store.has(o.hash))).to.deep.equal([true, false, true, true]);
    expect(store.bytesUsed).to.be.at.most(3 * MiB + 1000);
  });

  it("refuses content over its limit or the whole budget and leaves nothing behind", async () => {
    const store = await BlockStore.open({ directory: dir.path, maxBytes: MiB });
    for (const [content, options] of [
      [patternBytes(2 * MiB), {}],
      [patternBytes(5000), { maxLength: 4096 }],
    ] as const) {
      try {
        await store.put(inPieces(content, 4096), options);
        expect.fail("oversized content was stored");
      } catch (error) {
        expect(error).to.be.instanceOf(ContentTooLargeError);
      }
    }
    expect(await readdir(join(dir.path, "tmp"))).to.deep.equal([]);
    expect(store.bytesUsed).to.equal(0);
  });

  it("checks an expected root, and cuts off a stream at its first block that differs from the announced tree", async () => {
    const source = await BlockStore.open({ directory: join(dir.path, "a"), maxBytes: 64 * MiB });
    const store = await BlockStore.open({ directory: join(dir.path, "b"), maxBytes: 64 * MiB });
    const content = patternBytes(4 * BLOCK_SIZE, 9);
    const { hash } = await source.put(inPieces(content, 65536));
    const leaves = leavesFromOutboard(source.outboard(hash)!);

    const wrongRoot = "00".repeat(32) as ContentHash;
    await expectRejects(store.put(inPieces(content, 65536), { expectedHash: wrongRoot }), IntegrityError);
    await expectRejects(store.put(inPieces(content, 65536), { expectedHash: wrongRoot, expectedTree: { length: content.length, leaves } }), IntegrityError);

    const lying = Buffer.from(content);
    lying[BLOCK_SIZE + 3] ^= 1;
    let pulled = 0;
    async function* counted() {
      for await (const piece of inPieces(lying, 65536)) {
        pulled += piece.length;
        yield piece;
      }
    }
    await expectRejects(store.put(counted(), { expectedHash: hash, expectedTree: { length: content.length, leaves } }), IntegrityError);
    expect(pulled).to.equal(2 * BLOCK_SIZE); // stopped at the end of block 1, not at the end of the stream
    expect(store.has(hash)).to.equal(false);

    const stored = await store.put(inPieces(content, 65536), { expectedHash: hash, expectedTree: { length: content.length, leaves } });
    expect(stored.hash).to.equal(hash);
  });
});

async function expectRejects(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}
