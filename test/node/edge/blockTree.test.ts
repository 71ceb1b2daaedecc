import { expect } from "chai";
import fc from "fast-check";
import { loadBlockHashing, type BlockHashing } from "../../../node/blockstore/blockHashing";
import { BLOCK_SIZE, blockCount, blockLength, leafOf, proofForBlock, rootFromLeaves, verifyBlockProof } from "../../../node/blockstore/blockTree";
import { patternBytes, vectorInput } from "./fixtures";

/**
 * Roots of the BLAKE3 test-vector input (bytes i % 251) of each length. Lengths up to 102400 are
 * the first 32 bytes of the "hash" field of BLAKE3-team/BLAKE3 test_vectors/test_vectors.json;
 * the longer ones (the vectors stop at 100 KiB) are what `b3sum` 1.2.0 prints for those bytes.
 */
const KNOWN_ROOTS: [number, string][] = [
  [0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
  [1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"],
  [1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"],
  [1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"],
  [1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"],
  [2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"],
  [102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"],
  [262143, "4fbb10c248894f1b56ec8298555b96e597147150a061b1cf1af19f16dbc0557b"],
  [262144, "d57dc906e20d3fd326ffaa85535500486f46a0979f5a323f028dcabfd381fd4a"],
  [262145, "531c319935cf78f34869faebd865e5748266b1799039103bfb851a680d9ed30c"],
  [263168, "016a8ebdc93c38f6e5afbfb937fdc9130808969f33fc82a10a36c92acd21eed7"],
  [263169, "5f939be9e0ff14200d35a1f37ac138d517c81ce2ddfd3b8b7a42c90be46e0105"],
  [524288, "b467afa334cd7dedd76e3a9a4b0e8a5ed278713f2f4e220a682aa30c7fcd140b"],
  [524289, "7978ac1ee80f7f7c115d25551f9c54cb3a2974cfcb8f5ab93de706350d143286"],
  [786432, "acca1229e537587e75108d1a25c3e28d7ce8036556137dc2973d9289187e58d4"],
  [1060921, "7a7e1c6a800e0cfbd45304d16a3544d5d55e2a723a11fc021bf9fb45ee8c1472"],
  [1310721, "5091a4ab664374a784e38657d959db3e3e8ab54f2a53f235e8b269f70a1aecda"],
];

/** Leaves of `content`, cut at BLOCK_SIZE. */
function leavesOf(hashing: BlockHashing, content: Buffer): Buffer[] {
  return Array.from({ length: blockCount(content.length) }, (_, i) =>
    leafOf(hashing, content.length, i, content.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE)),
  );
}

describe("edge: block tree (standard BLAKE3)", () => {
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

  it("gives the roots b3sum prints (official test vectors, one to five blocks with tails)", () => {
    for (const [length, root] of KNOWN_ROOTS) {
      const content = vectorInput(length);
      expect(rootFromLeaves(hashing, length, leavesOf(hashing, content)).toString("hex"), `length ${length}`).to.equal(root);
      expect(hashing.hash(content).toString("hex"), `plain hash of ${length}`).to.equal(root);
    }
  });

  it("proves every block against the b3sum root, and rejects altered blocks, proofs, indexes and lengths", () => {
    for (const [length, rootHex] of KNOWN_ROOTS.filter(([length]) => length > 100_000)) {
      const root = Buffer.from(rootHex, "hex");
      const content = vectorInput(length);
      const leaves = leavesOf(hashing, content);
      for (let i = 0; i < leaves.length; i++) {
        const block = content.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE);
        const proof = proofForBlock(hashing, leaves, i);
        expect(proof.length, `proof depth, length ${length}`).to.be.at.most(Math.ceil(Math.log2(leaves.length)));
        expect(verifyBlockProof(hashing, root, length, i, block, proof), `length ${length} block ${i}`).to.equal(true);
        const flipped = Buffer.from(block);
        flipped[flipped.length >> 1] ^= 1;
        expect(verifyBlockProof(hashing, root, length, i, flipped, proof)).to.equal(false);
        for (let level = 0; level < proof.length; level++) {
          const badProof = proof.map((hash) => Buffer.from(hash));
          badProof[level][31] ^= 0x80;
          expect(verifyBlockProof(hashing, root, length, i, block, badProof), `bad sibling at level ${level}`).to.equal(false);
        }
        if (proof.length > 0) expect(verifyBlockProof(hashing, root, length, i, block, proof.slice(1))).to.equal(false);
        if (leaves.length > 1) expect(verifyBlockProof(hashing, root, length, (i + 1) % leaves.length, block, proof), `moved ${length} ${i}`).to.equal(false);
        // The length is bound by the last block (as in bao): a wrong length fails there.
        if (i === leaves.length - 1) expect(verifyBlockProof(hashing, root, length + 1, i, block, proof)).to.equal(false);
      }
    }
  });

  it("proves the one block of 0 and 1 bytes with no siblings against the b3sum root, and nothing else", () => {
    for (const [length, rootHex] of KNOWN_ROOTS.filter(([length]) => length <= 1)) {
      const root = Buffer.from(rootHex, "hex");
      const content = vectorInput(length);
      const proof = proofForBlock(hashing, leavesOf(hashing, content), 0);
      expect(proof, `length ${length}`).to.deep.equal([]);
      expect(verifyBlockProof(hashing, root, length, 0, content, proof), `length ${length}`).to.equal(true);
      expect(verifyBlockProof(hashing, root, length, 0, Buffer.from([length === 0 ? 0 : 1]), proof), `other bytes, length ${length}`).to.equal(false);
      expect(verifyBlockProof(hashing, root, 1 - length, 0, content, proof), `other length, length ${length}`).to.equal(false);
      expect(verifyBlockProof(hashing, root, length, 1, content, proof), `block 1 of ${length}`).to.equal(false);
    }
  });

  it("applies the ROOT flag only at the top: a block's chaining value is not its plain hash", () => {
    const block = vectorInput(BLOCK_SIZE);
    // Block 0 of two-block content is the same bytes as one-block content, but a subtree, not the root.
    expect(hashing.blockChainingValue(block, 0).equals(hashing.hash(block))).to.equal(false);
    // The chunk counter is bound: the same bytes at another position have another chaining value.
    expect(hashing.blockChainingValue(block, 0).equals(hashing.blockChainingValue(block, 1))).to.equal(false);
  });

  it("roots any content the same as hash-wasm's one-pass BLAKE3 (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 * BLOCK_SIZE }), fc.nat(), (length, seed) => {
        const content = patternBytes(length, seed);
        return rootFromLeaves(hashing, length, leavesOf(hashing, content)).equals(hashing.hash(content));
      }),
      { numRuns: 25 },
    );
  });
});
