import type { BlockHashing } from "./blockHashing";
import { BLOCK_SIZE, blockCount, leafOf, rootFromLeaves } from "./blockTree";
import { contentHashOf, type ContentHash } from "./contentHash";
import { IntegrityError } from "./errors";

/** What an untrusted sender announces about content before sending it: its length and leaves. */
export interface AnnouncedTree {
  length: number;
  leaves: readonly Buffer[];
}

/**
 * Cuts a byte stream into 256 KiB blocks (the last may be shorter; empty content is one empty
 * block). The blocks are views of two buffers used in turn: a block stays whole while the next is
 * filled (so its write can run while the next is hashed), and must be done with before the one
 * after that is asked for.
 */
export async function* blocksOf(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(BLOCK_SIZE), Buffer.allocUnsafe(BLOCK_SIZE)];
  let block = buffers[0];
  let filled = 0;
  let yielded = false;
  for await (const piece of source) {
    for (let at = 0; at < piece.length;) {
      const take = Math.min(BLOCK_SIZE - filled, piece.length - at);
      block.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === BLOCK_SIZE) {
        yield block;
        yielded = true;
        filled = 0;
        block = block === buffers[0] ? buffers[1] : buffers[0];
      }
    }
  }
  if (filled > 0 || !yielded) yield block.subarray(0, filled);
}

/**
 * Verified streaming: yields the blocks of `source` only after each matched its leaf, the leaves
 * having first been checked against `root`. A wrong outboard (leaves that do not fold to the
 * root), a corrupted block, extra bytes or a stream that ends early each throw an
 * {@link IntegrityError} naming the fault, and nothing unverified is ever yielded.
 */
export async function* verifiedBlocks(
  hashing: BlockHashing,
  root: ContentHash,
  tree: AnnouncedTree,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  const { length, leaves } = tree;
  if (!Number.isSafeInteger(length) || length < 0 || leaves.length !== blockCount(length)) {
    throw new IntegrityError(`the announced tree has ${leaves.length} leaves for ${length} bytes`);
  }
  if (contentHashOf(rootFromLeaves(hashing, length, leaves)) !== root) {
    throw new IntegrityError("the announced block hashes do not produce the expected root");
  }
  let index = 0;
  let received = 0;
  for await (const block of blocksOf(source)) {
    received += block.length;
    if (received > length) throw new IntegrityError(`the stream is longer than the announced ${length} bytes`);
    // A short block before the end is a truncated stream: say so rather than "bad block".
    if (block.length < Math.min(BLOCK_SIZE, length - index * BLOCK_SIZE)) break;
    if (!leafOf(hashing, length, index, block).equals(leaves[index])) {
      throw new IntegrityError(`block ${index} does not match its announced hash`);
    }
    yield block;
    index += 1;
  }
  if (received < length) throw new IntegrityError(`the stream ended after ${received} of ${length} bytes`);
}
