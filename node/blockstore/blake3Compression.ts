/**
 * The BLAKE3 compression function (BLAKE3 paper, section 2.2), for the few nodes of the tree that
 * hash-wasm does not finish for us: the last chunk of a block, and parent nodes, which must be
 * compressed *without* the ROOT flag (docs/blockstore.md says why no library exposes these).
 * Speed is irrelevant here: it runs a handful of times per 256 KiB block.
 */

/** BLAKE3's IV (SHA-256's), also the key words of the plain hash mode. */
const IV: readonly number[] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Domain flags of the compression function. */
export const CHUNK_START = 1;
export const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;

/** Bytes per compression block and per chunk. */
export const BLAKE3_BLOCK_LEN = 64;
export const BLAKE3_CHUNK_LEN = 1024;

const MESSAGE_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

const rotateRight = (word: number, bits: number) => (word >>> bits) | (word << (32 - bits));

function mix(state: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number): void {
  state[a] = state[a] + state[b] + x;
  state[d] = rotateRight(state[d] ^ state[a], 16);
  state[c] = state[c] + state[d];
  state[b] = rotateRight(state[b] ^ state[c], 12);
  state[a] = state[a] + state[b] + y;
  state[d] = rotateRight(state[d] ^ state[a], 8);
  state[c] = state[c] + state[d];
  state[b] = rotateRight(state[b] ^ state[c], 7);
}

/**
 * Compresses one 64-byte block (zero-padded when `blockLength` < 64) into the next chaining value:
 * the first 8 output words, which are also the first 32 output bytes when ROOT is set.
 * `counter` is the chunk counter (0 for parents), up to 2^53.
 */
export function compress(chainingValue: Uint32Array, block: Uint8Array, blockLength: number, counter: number, flags: number): Uint32Array {
  const padded = new Uint8Array(BLAKE3_BLOCK_LEN);
  padded.set(block.subarray(0, blockLength));
  let message = wordsOf(padded);
  const state = new Uint32Array(16);
  state.set(chainingValue, 0);
  state.set(IV.slice(0, 4), 8);
  state[12] = counter % 2 ** 32;
  state[13] = Math.floor(counter / 2 ** 32);
  state[14] = blockLength;
  state[15] = flags;
  for (let round = 0; round < 7; round++) {
    mix(state, 0, 4, 8, 12, message[0], message[1]);
    mix(state, 1, 5, 9, 13, message[2], message[3]);
    mix(state, 2, 6, 10, 14, message[4], message[5]);
    mix(state, 3, 7, 11, 15, message[6], message[7]);
    mix(state, 0, 5, 10, 15, message[8], message[9]);
    mix(state, 1, 6, 11, 12, message[10], message[11]);
    mix(state, 2, 7, 8, 13, message[12], message[13]);
    mix(state, 3, 4, 9, 14, message[14], message[15]);
    message = Uint32Array.from(MESSAGE_PERMUTATION, (from) => message[from]);
  }
  const out = new Uint32Array(8);
  for (let i = 0; i < 8; i++) out[i] = state[i] ^ state[i + 8];
  return out;
}

/** Little-endian words of a byte string whose length is a multiple of 4. */
export function wordsOf(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

/** The 32 bytes of a chaining value (little-endian words). */
export function bytesOf(words: Uint32Array): Buffer {
  const bytes = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => bytes.writeUInt32LE(word, i * 4));
  return bytes;
}

/** Chaining value of the parent node of two child chaining values; with `root`, the tree's hash. */
export function parentNode(left: Uint8Array, right: Uint8Array, root: boolean): Buffer {
  const block = new Uint8Array(BLAKE3_BLOCK_LEN);
  block.set(left, 0);
  block.set(right, 32);
  return bytesOf(compress(Uint32Array.from(IV), block, BLAKE3_BLOCK_LEN, 0, PARENT | (root ? ROOT : 0)));
}
