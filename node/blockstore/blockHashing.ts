import { createBLAKE3, type IHasher } from "hash-wasm";
import { BLAKE3_BLOCK_LEN, BLAKE3_CHUNK_LEN, bytesOf, CHUNK_END, CHUNK_START, compress, parentNode, wordsOf } from "./blake3Compression";

/** BLAKE3 chunks per 256 KiB block (a block is a complete BLAKE3 subtree of 256 chunks). */
export const CHUNKS_PER_BLOCK = 256;

/**
 * The BLAKE3 functions the block tree needs (docs/blockstore.md): the standard hash (what
 * `b3sum` prints), the chaining value of one 256 KiB block as a non-root subtree at its position,
 * and the parent node of two chaining values.
 */
export interface BlockHashing {
  /** Standard BLAKE3 hash of the bytes: the content root of content of at most one block. */
  hash(bytes: Uint8Array): Buffer;
  /**
   * Chaining value of block `index` (bytes [index·256 KiB, …)): the subtree of its chunks, hashed
   * with chunk counters from index·256 and without the ROOT flag. Only meaningful for content of
   * two blocks or more; `bytes` is 1 byte to 256 KiB.
   */
  blockChainingValue(bytes: Uint8Array, index: number): Buffer;
  /** Parent node of two chaining values; `root` applies the ROOT flag (top of the tree only). */
  parent(left: Uint8Array, right: Uint8Array, root: boolean): Buffer;
}

/**
 * Offsets in hash-wasm's saved BLAKE3 state: a 4-byte build tag, then `blake3_hasher` from its
 * src/blake3.c (the reference C code): key[8] u32, chunk state {cv[8] u32, counter u64, buf[64],
 * buf_len, blocks_compressed, flags}, cv_stack_len, cv_stack[55][32]. {@link selfCheck} proves the
 * layout against hash-wasm's own digest at load, so a hash-wasm update that moves it fails loudly.
 */
const STATE = { tag: 4, chunkCv: 32, counter: 64, buf: 72, bufLen: 136, blocksCompressed: 137, stackLen: 144, stack: 145 } as const;
const STATE_BYTES = 4 + 1912;

let loading: Promise<BlockHashing> | undefined;

/**
 * Loads hash-wasm's BLAKE3 once per process. The returned functions are synchronous (init, update
 * and digest never yield), so one WebAssembly instance is safely shared.
 */
export function loadBlockHashing(): Promise<BlockHashing> {
  loading ??= build();
  return loading;
}

async function build(): Promise<BlockHashing> {
  const plain = await createBLAKE3();
  const subtree = await createBLAKE3();
  subtree.init();
  const fresh = subtree.save();
  if (fresh.length !== STATE_BYTES) throw new Error(`hash-wasm's BLAKE3 state is ${fresh.length} bytes, expected ${STATE_BYTES}: its layout changed`);
  const hashing: BlockHashing = {
    hash: (bytes) => Buffer.from(plain.init().update(bytes).digest("binary")),
    blockChainingValue: (bytes, index) => blockChainingValue(subtree, fresh, bytes, index),
    parent: parentNode,
  };
  selfCheck(hashing);
  return hashing;
}

/**
 * hash-wasm hashes the bulk (the block's chunks, in WebAssembly); we only set where it starts and
 * finish the top of the subtree ourselves, since its digest would apply the ROOT flag.
 *
 * The hasher is started with its chunk counter at the block's first chunk and with as many
 * placeholder entries on its chaining-value stack as a hasher that had really hashed the content
 * before this block would hold (one per 1-bit of the counter): its lazy merging then merges this
 * block's subtrees exactly as in one pass over the whole content, and never touches the
 * placeholders, since the count of chunks it merges at stays within the block.
 */
function blockChainingValue(hasher: IHasher, fresh: Uint8Array, bytes: Uint8Array, index: number): Buffer {
  if (bytes.length === 0 || bytes.length > CHUNKS_PER_BLOCK * BLAKE3_CHUNK_LEN) throw new RangeError(`a block has 1 to 262144 bytes, got ${bytes.length}`);
  const firstChunk = index * CHUNKS_PER_BLOCK;
  const start = Uint8Array.from(fresh);
  const placeholders = popcount(firstChunk);
  new DataView(start.buffer).setBigUint64(STATE.tag + STATE.counter, BigInt(firstChunk), true);
  start[STATE.tag + STATE.stackLen] = placeholders;
  hasher.load(start).update(bytes);
  const state = hasher.save().subarray(STATE.tag);
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength);

  const stackTop = state[STATE.stackLen];
  const stackEntry = (i: number) => state.subarray(STATE.stack + i * 32, STATE.stack + (i + 1) * 32);
  const bufferedLength = state[STATE.blocksCompressed] * BLAKE3_BLOCK_LEN + state[STATE.bufLen];
  // As blake3_hasher_finalize, without ROOT: the partial chunk (if any) is the right-most node.
  let node: Buffer;
  let remaining: number;
  if (bufferedLength > 0) {
    const flags = (state[STATE.blocksCompressed] === 0 ? CHUNK_START : 0) | CHUNK_END;
    const chunkCv = wordsOf(state.slice(STATE.chunkCv, STATE.chunkCv + 32));
    const counter = Number(view.getBigUint64(STATE.counter, true));
    node = bytesOf(compress(chunkCv, state.subarray(STATE.buf, STATE.buf + BLAKE3_BLOCK_LEN), state[STATE.bufLen], counter, flags));
    remaining = stackTop - placeholders;
  } else {
    node = parentNode(stackEntry(stackTop - 2), stackEntry(stackTop - 1), false);
    remaining = stackTop - placeholders - 2;
  }
  while (remaining > 0) {
    remaining -= 1;
    node = parentNode(stackEntry(placeholders + remaining), node, false);
  }
  return node;
}

function popcount(value: number): number {
  let count = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

/**
 * Folds the chaining values of a three-block content (two full blocks and a 1-byte tail, so both
 * the parent and the chunk finishing paths run) and compares with hash-wasm's own hash.
 */
function selfCheck(hashing: BlockHashing): void {
  const size = CHUNKS_PER_BLOCK * BLAKE3_CHUNK_LEN;
  const content = Uint8Array.from({ length: 2 * size + 1 }, (_, i) => i % 251);
  const [a, b, c] = [0, 1, 2].map((i) => hashing.blockChainingValue(content.subarray(i * size, (i + 1) * size), i));
  if (!hashing.parent(hashing.parent(a, b, false), c, true).equals(hashing.hash(content))) {
    throw new Error("BLAKE3 subtree hashing disagrees with hash-wasm's own hash: its internal state layout changed");
  }
}
