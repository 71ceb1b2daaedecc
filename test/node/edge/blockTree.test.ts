import { expect } from "chai";
import fc from "fast-check";
import { loadBlockHashing, type BlockHashing } from "../../../node/blockstore/blockHashing";
import {
  BLOCK_SIZE,
  blockCount,
  blockLength,
  proofForBlock,
  rootFromLeaves,
  verifyBlockProof,
} from "../../../node/blockstore/blockTree";
import { patternBytes } from "./fixtures";

/** Block hashes of `content`, cut at BLOCK_SIZE. */
function leavesOf(hashing: BlockHashing, content: Buffer): Buffer[] {
  return Array.from({ length: blockCount(content.length) }, (_, i) =>
    hashing.leaf(content.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)),
  );
}

describe("edge: block tree", () => {
  let hashing: BlockHashing;
  before(async () => {
    hashing = await loadBlockHashing();
  });

  it("counts blocks with empty content as one empty block", () => {
    expect(blockCount(0)).to.equal(1);
    expect(blockCount(1)).to.equal(1);
    expect(blockCount(BLOCK_SIZE)).to.equal(1);
    expect(blockCount(BLOCK_SIZE + 1)).to.equal(2);
    expect(blockLength(BLOCK_SIZE + 5, 1)).to.equal(5);
  });

  it("binds the length: same blocks, different length, different root", () => {
    const leaves = [hashing.leaf(Buffer.alloc(0))];
    expect(rootFromLeaves(hashing, 0, leaves).equals(hashing.root(1, leaves[0]))).to.equal(false);
  });

  it("separates leaves from parents: a parent hash is no valid leaf", () => {
    const a = hashing.leaf(Buffer.from("a"));
    const b = hashing.leaf(Buffer.from("b"));
    expect(hashing.parent(a, b).equals(hashing.leaf(Buffer.concat([a, b])))).to.equal(false);
  });

  it("verifies every block of contents of many shapes, and rejects any altered block or proof", async function () {
    this.timeout(60_000);
    const sizes = [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE, 5 * BLOCK_SIZE + 17, 8 * BLOCK_SIZE];
    for (const size of sizes) {
      const content = patternBytes(size, size + 1);
      const leaves = leavesOf(hashing, content);
      const root = rootFromLeaves(hashing, size, leaves);
      for (let i = 0; i < leaves.length; i++) {
        const block = content.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE);
        const proof = proofForBlock(hashing, leaves, i);
        expect(verifyBlockProof(hashing, root, size, i, block, proof), `size ${size} block ${i}`).to.equal(true);
        if (block.length > 0) {
          const flipped = Buffer.from(block);
          flipped[flipped.length >> 1] ^= 1;
          expect(verifyBlockProof(hashing, root, size, i, flipped, proof)).to.equal(false);
        }
        if (proof.length > 0) {
          const badProof = proof.map((hash) => Buffer.from(hash));
          badProof[0][0] ^= 1;
          expect(verifyBlockProof(hashing, root, size, i, block, badProof)).to.equal(false);
        }
        // A valid block presented at the wrong index or with the wrong length is refused too.
        if (leaves.length > 1) expect(verifyBlockProof(hashing, root, size, (i + 1) % leaves.length, block, proof)).to.equal(false);
        expect(verifyBlockProof(hashing, root, size + 1, i, block, proof)).to.equal(false);
      }
    }
  });

  it("gives every leaf count a tree whose proofs verify (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (count, pick) => {
        const length = (count - 1) * BLOCK_SIZE + 1;
        const leaves = Array.from({ length: count }, (_, i) =>
          hashing.leaf(i === count - 1 ? Buffer.from([i]) : Buffer.alloc(BLOCK_SIZE, i)),
        );
        const root = rootFromLeaves(hashing, length, leaves);
        const index = pick % count;
        const block = index === count - 1 ? Buffer.from([index]) : Buffer.alloc(BLOCK_SIZE, index);
        return verifyBlockProof(hashing, root, length, index, block, proofForBlock(hashing, leaves, index));
      }),
      { numRuns: 60 },
    );
  });
});
