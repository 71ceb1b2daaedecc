import { createBLAKE3, type IHasher } from "hash-wasm";

/**
 * The three hash functions of the block tree (docs/blockstore.md), each BLAKE3 in keyed mode with
 * its own key so that a leaf can never be passed off as a parent or a root (domain separation
 * without prefix bytes, which would misalign BLAKE3's 1 KiB chunks and cost ~40% of throughput).
 */
export interface BlockHashing {
  /** Hash of one block's bytes. */
  leaf(block: Uint8Array): Buffer;
  /** Hash of two child hashes. */
  parent(left: Uint8Array, right: Uint8Array): Buffer;
  /** The content root: binds the content length to the top of the tree. */
  root(length: number, top: Uint8Array): Buffer;
}

/** Domain strings whose plain BLAKE3 hashes are the keys of the three functions. */
const DOMAINS = {
  leaf: "fleek-edge/blockstore/v1/leaf",
  parent: "fleek-edge/blockstore/v1/parent",
  root: "fleek-edge/blockstore/v1/root",
} as const;

let loading: Promise<BlockHashing> | undefined;

/**
 * Loads the WebAssembly hashers once per process. The returned functions are synchronous: each
 * call runs init/update/digest without yielding, so one hasher instance is safely shared.
 */
export function loadBlockHashing(): Promise<BlockHashing> {
  loading ??= build();
  return loading;
}

async function build(): Promise<BlockHashing> {
  const plain = await createBLAKE3();
  const keyOf = (domain: string) => {
    plain.init();
    plain.update(domain);
    return plain.digest("binary");
  };
  const leafHasher = await createBLAKE3(256, keyOf(DOMAINS.leaf));
  const parentHasher = await createBLAKE3(256, keyOf(DOMAINS.parent));
  const rootHasher = await createBLAKE3(256, keyOf(DOMAINS.root));
  const digest = (hasher: IHasher, ...parts: Uint8Array[]) => {
    hasher.init();
    for (const part of parts) hasher.update(part);
    return Buffer.from(hasher.digest("binary"));
  };
  return {
    leaf: (block) => digest(leafHasher, block),
    parent: (left, right) => digest(parentHasher, left, right),
    root: (length, top) => {
      const lengthBytes = Buffer.alloc(8);
      lengthBytes.writeBigUInt64LE(BigInt(length));
      return digest(rootHasher, lengthBytes, top);
    },
  };
}

