import { createHash, timingSafeEqual, type Hash } from "node:crypto";

const SRI_ALGORITHMS = ["sha512", "sha384", "sha256"] as const;
type SriAlgorithm = (typeof SRI_ALGORITHMS)[number];

/** Expected digests from a Subresource Integrity string, strongest algorithm only (per the W3C spec). */
export interface IntegrityExpectation {
  algorithm: SriAlgorithm;
  digests: Buffer[];
}

/**
 * Parses an SRI metadata string such as `sha256-<base64> sha384-<base64>`. Returns undefined when
 * no supported algorithm is present, so the caller can reject the request instead of skipping
 * the check the client asked for.
 */
export function parseIntegrity(metadata: string): IntegrityExpectation | undefined {
  const entries = metadata
    .trim()
    .split(/\s+/)
    .map((token) => /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ algorithm: match[1] as SriAlgorithm, digest: Buffer.from(match[2], "base64") }));
  for (const algorithm of SRI_ALGORITHMS) {
    const digests = entries.filter((entry) => entry.algorithm === algorithm).map((entry) => entry.digest);
    if (digests.length > 0) return { algorithm, digests };
  }
  return undefined;
}

/** Hashes bytes as they stream past, then says whether they matched one of the expected digests. */
export class IntegrityCheck {
  private readonly hash: Hash;

  constructor(private readonly expectation: IntegrityExpectation) {
    this.hash = createHash(expectation.algorithm);
  }

  /** Feeds the next piece of content. */
  update(bytes: Uint8Array): void {
    this.hash.update(bytes);
  }

  /** Whether everything fed so far matches. Call once, at the end. */
  matches(): boolean {
    const actual = this.hash.digest();
    return this.expectation.digests.some((digest) => digest.length === actual.length && timingSafeEqual(digest, actual));
  }
}
