import type { ContentHash } from "./contentHash";

/** The store holds no content with this root. */
export class ContentNotFoundError extends Error {
  constructor(readonly hash: ContentHash) {
    super(`no content with root ${hash}`);
  }
}

/**
 * A stored block no longer matches its hash (disk corruption or tampering). The store has already
 * evicted the whole object when this is thrown, so the bad bytes are never served again.
 */
export class CorruptContentError extends Error {
  constructor(
    readonly hash: ContentHash,
    readonly blockIndex: number,
  ) {
    super(`block ${blockIndex} of ${hash} does not match its hash; the local copy was evicted`);
  }
}

/** Incoming content differs from what the caller said it must be (root, block hash or length). */
export class IntegrityError extends Error {}

/** Incoming content is larger than the caller's limit or than the whole store. */
export class ContentTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`content exceeds the limit of ${limit} bytes`);
  }
}
