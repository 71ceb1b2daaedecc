/** Length in bytes of a content root and of every tree hash. */
export const HASH_BYTES = 32;

const HEX_HASH = /^[0-9a-f]{64}$/;

/** A content root as 64 lowercase hex characters: the blockstore's and the gateway's key. */
export type ContentHash = string & { readonly __contentHash: unique symbol };

/**
 * Parses a content root written in hex (either case); returns undefined for anything else so
 * callers can answer bad input with a 400 rather than an exception.
 */
export function parseContentHash(text: string): ContentHash | undefined {
  const lower = text.toLowerCase();
  return HEX_HASH.test(lower) ? (lower as ContentHash) : undefined;
}

/** The hex form of a 32-byte root. */
export function contentHashOf(root: Uint8Array): ContentHash {
  if (root.length !== HASH_BYTES) throw new Error(`a content root has ${HASH_BYTES} bytes, got ${root.length}`);
  return Buffer.from(root).toString("hex") as ContentHash;
}
