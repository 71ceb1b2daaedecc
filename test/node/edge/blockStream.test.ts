import { expect } from "chai";
import { loadBlockHashing, type BlockHashing } from "../../../node/blockstore/blockHashing";
import { verifiedBlocks, type AnnouncedTree } from "../../../node/blockstore/blockStream";
import { BLOCK_SIZE, blockCount, leafOf } from "../../../node/blockstore/blockTree";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import { IntegrityError } from "../../../node/blockstore/errors";
import { inPieces, vectorInput } from "./fixtures";

/** Four full blocks and a 12345-byte tail of the BLAKE3 test-vector input; its root per `b3sum`. */
const LENGTH = 4 * BLOCK_SIZE + 12345;
const ROOT = "7a7e1c6a800e0cfbd45304d16a3544d5d55e2a723a11fc021bf9fb45ee8c1472" as ContentHash;

/** Runs the verified reader to its end; returns what it yielded (copied) and how it failed. */
async function drain(source: AsyncGenerator<Buffer>): Promise<{ yielded: Buffer; failure?: Error }> {
  const parts: Buffer[] = [];
  try {
    for await (const block of source) parts.push(Buffer.from(block));
  } catch (error) {
    return { yielded: Buffer.concat(parts), failure: error as Error };
  }
  return { yielded: Buffer.concat(parts) };
}

describe("edge: verified streaming (256 KiB blocks against the BLAKE3 root)", () => {
  let hashing: BlockHashing;
  let content: Buffer;
  let tree: AnnouncedTree;
  before(async () => {
    hashing = await loadBlockHashing();
    content = vectorInput(LENGTH);
    const leaves = Array.from({ length: blockCount(LENGTH) }, (_, i) => leafOf(hashing, LENGTH, i, content.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)));
    tree = { length: LENGTH, leaves };
  });

  it("passes on every block of honest content, cut in any pieces", async () => {
    for (const piece of [1000, BLOCK_SIZE, 3 * BLOCK_SIZE + 1]) {
      const { yielded, failure } = await drain(verifiedBlocks(hashing, ROOT, tree, inPieces(content, piece)));
      expect(failure).to.equal(undefined);
      expect(yielded.equals(content), `pieces of ${piece}`).to.equal(true);
    }
  });

  it("stops at a corrupted block: the blocks before it are served, it and the rest are not", async () => {
    const corrupted = Buffer.from(content);
    corrupted[2 * BLOCK_SIZE + 777] ^= 0x01;
    const { yielded, failure } = await drain(verifiedBlocks(hashing, ROOT, tree, inPieces(corrupted, 65536)));
    expect(failure).to.be.instanceOf(IntegrityError);
    expect(failure!.message).to.equal("block 2 does not match its announced hash");
    expect(yielded.equals(content.subarray(0, 2 * BLOCK_SIZE))).to.equal(true);
  });

  it("refuses a wrong outboard (a bad chaining value) before serving anything", async () => {
    const leaves = tree.leaves.map((leaf) => Buffer.from(leaf));
    leaves[3][0] ^= 0x01;
    const { yielded, failure } = await drain(verifiedBlocks(hashing, ROOT, { length: LENGTH, leaves }, inPieces(content, 65536)));
    expect(failure).to.be.instanceOf(IntegrityError);
    expect(failure!.message).to.equal("the announced block hashes do not produce the expected root");
    expect(yielded.length).to.equal(0);
  });

  it("refuses an outboard that is right for other content, or announces another length", async () => {
    const other = await drain(verifiedBlocks(hashing, "00".repeat(32) as ContentHash, tree, inPieces(content, 65536)));
    expect(other.failure!.message).to.equal("the announced block hashes do not produce the expected root");
    const longer = await drain(verifiedBlocks(hashing, ROOT, { length: LENGTH + BLOCK_SIZE, leaves: tree.leaves }, inPieces(content, 65536)));
    expect(longer.failure!.message).to.equal(`the announced tree has 5 leaves for ${LENGTH + BLOCK_SIZE} bytes`);
    // Same block count, one byte more: the tail block's leaf no longer folds to the root.
    const oneMore = await drain(verifiedBlocks(hashing, ROOT, { length: LENGTH + 1, leaves: tree.leaves }, inPieces(content, 65536)));
    expect(oneMore.failure).to.be.instanceOf(IntegrityError);
    expect(oneMore.yielded.equals(content.subarray(0, 4 * BLOCK_SIZE))).to.equal(true);
  });

  it("detects a truncated stream, at a block boundary or inside a block, and never serves the partial block", async () => {
    for (const cut of [3 * BLOCK_SIZE, 3 * BLOCK_SIZE + 5, LENGTH - 1]) {
      const { yielded, failure } = await drain(verifiedBlocks(hashing, ROOT, tree, inPieces(content.subarray(0, cut), 65536)));
      expect(failure, `cut at ${cut}`).to.be.instanceOf(IntegrityError);
      expect(failure!.message).to.equal(`the stream ended after ${cut} of ${LENGTH} bytes`);
      expect(yielded.equals(content.subarray(0, Math.floor(cut / BLOCK_SIZE) * BLOCK_SIZE))).to.equal(true);
    }
  });

  it("refuses bytes past the announced length", async () => {
    const { failure } = await drain(verifiedBlocks(hashing, ROOT, tree, inPieces(Buffer.concat([content, Buffer.from([1])]), 65536)));
    expect(failure!.message).to.equal(`the stream is longer than the announced ${LENGTH} bytes`);
  });
});
