import type { BlockHashing } from "./blockHashing";
import { HASH_BYTES } from "./contentHash";

/**
 * Bytes per block: the unit of storage, of verification and of peer transfer (as Fleek's node).
 * A block is 256 BLAKE3 chunks, so each block is one complete subtree of BLAKE3's own tree.
 */
export const BLOCK_SIZE = 256 * 1024;

/** Number of blocks (leaves) of content of `length` bytes; empty content is one empty block. */
export function blockCount(length: number): number {
  return Math.max(1, Math.ceil(length / BLOCK_SIZE));
}

/** Byte length of block `index` of content of `length` bytes. */
export function blockLength(length: number, index: number): number {
  return Math.min(BLOCK_SIZE, length - index * BLOCK_SIZE);
}

/**
 * The leaf of block `index` of content of `length` bytes: its BLAKE3 chaining value, or for
 * content of one block (which is the whole BLAKE3 tree) the content root itself.
 */
export function leafOf(hashing: BlockHashing, length: number, index: number, block: Uint8Array): Buffer {
  return blockCount(length) === 1 ? hashing.hash(block) : hashing.blockChainingValue(block, index);
}

/**
 * Where the tree splits `count` leaves: the left subtree takes the largest power of two strictly
 * below `count`. Since a block is 256 chunks this is exactly where BLAKE3 splits the chunks.
 */
function leftCount(count: number): number {
  let power = 1;
  while (power * 2 < count) power *= 2;
  return power;
}

/** Chaining value of the subtree over leaves [from, to); `root` for the whole tree. */
function subtreeHash(hashing: BlockHashing, leaves: readonly Uint8Array[], from: number, to: number, root = false): Buffer {
  if (to - from === 1) return Buffer.from(leaves[from]);
  const split = from + leftCount(to - from);
  return hashing.parent(subtreeHash(hashing, leaves, from, split), subtreeHash(hashing, leaves, split, to), root);
}

/** The content root (the standard BLAKE3 hash) of content of `length` bytes with these leaves. */
export function rootFromLeaves(hashing: BlockHashing, length: number, leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length !== blockCount(length)) {
    throw new Error(`content of ${length} bytes has ${blockCount(length)} blocks, got ${leaves.length} leaf hashes`);
  }
  return subtreeHash(hashing, leaves, 0, leaves.length, true);
}

/**
 * The proof of block `index`: the chaining values of the sibling subtrees on its path, from the
 * top of the tree down (bao's order). With the block's bytes, the content length and these,
 * anyone can recompute the root.
 */
export function proofForBlock(hashing: BlockHashing, leaves: readonly Uint8Array[], index: number): Buffer[] {
  const siblings: Buffer[] = [];
  let from = 0;
  let to = leaves.length;
  while (to - from > 1) {
    const split = from + leftCount(to - from);
    if (index < split) {
      siblings.push(subtreeHash(hashing, leaves, split, to));
      to = split;
    } else {
      siblings.push(subtreeHash(hashing, leaves, from, split));
      from = split;
    }
  }
  return siblings;
}

/**
 * Whether `block` is block `index` of the content with this root and length, given its proof
 * (from {@link proofForBlock}): the block's chaining value is folded up with the siblings, the
 * ROOT flag applied at the top only. This is what a client uses for verified streaming.
 */
export function verifyBlockProof(
  hashing: BlockHashing,
  root: Uint8Array,
  length: number,
  index: number,
  block: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(index) || index < 0 || index >= blockCount(length) || block.length !== Math.max(0, blockLength(length, index))) return false;
  // Walk down to learn on which side each sibling sits, then fold the hashes back up.
  const siblingOnLeft: boolean[] = [];
  let from = 0;
  let to = blockCount(length);
  while (to - from > 1) {
    const split = from + leftCount(to - from);
    siblingOnLeft.push(index >= split);
    if (index < split) to = split;
    else from = split;
  }
  if (siblingOnLeft.length !== proof.length || proof.some((hash) => hash.length !== HASH_BYTES)) return false;
  let hash = leafOf(hashing, length, index, block);
  for (let level = proof.length - 1; level >= 0; level--) {
    hash = siblingOnLeft[level] ? hashing.parent(proof[level], hash, level === 0) : hashing.parent(hash, proof[level], level === 0);
  }
  return hash.equals(root);
}

/** Splits an outboard (the concatenated leaf hashes) into leaves; throws on a ragged length. */
export function leavesFromOutboard(outboard: Uint8Array): Buffer[] {
  if (outboard.length % HASH_BYTES !== 0) throw new Error(`an outboard is a multiple of ${HASH_BYTES} bytes, got ${outboard.length}`);
  const leaves: Buffer[] = [];
  for (let at = 0; at < outboard.length; at += HASH_BYTES) leaves.push(Buffer.from(outboard.subarray(at, at + HASH_BYTES)));
  return leaves;
}
