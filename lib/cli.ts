/**
 * What the command lines (node, edge gateway, indexer) share: one kind of usage error, one way to
 * read a numeric flag (or its environment variable), and one rule for what counts as a usage
 * error (exit code 2 with the usage text) as opposed to a failure while running (exit code 1).
 */

/** A mistake in the command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/**
 * Reads an integer flag: `fallback` when absent or empty, else an integer ≥ `min` (and ≤ `max`),
 * or a {@link UsageError} that names the flag and what it got.
 */
export function integerFlag(name: string, value: string | undefined, opts: { min: number; max?: number; fallback: number }): number;
export function integerFlag(name: string, value: string | undefined, opts: { min: number; max?: number; fallback?: number }): number | undefined;
export function integerFlag(name: string, value: string | undefined, opts: { min: number; max?: number; fallback?: number }): number | undefined {
  if (value === undefined || value === "") return opts.fallback;
  const n = Number(value);
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < opts.min || n > max) {
    const range =
      opts.max !== undefined
        ? `an integer from ${opts.min} to ${opts.max}`
        : opts.min === 0
          ? "a non-negative integer"
          : opts.min === 1
            ? "a positive integer"
            : `an integer ≥ ${opts.min}`;
    throw new UsageError(`${name} must be ${range}, got "${value}"`);
  }
  return n;
}

/** Reads a positive number flag (fractions allowed), or a {@link UsageError}. */
export function positiveFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got "${value}"`);
  return n;
}

/** True for a {@link UsageError} and for `parseArgs`'s refusals of unknown or malformed flags. */
export function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || String((err as { code?: unknown } | undefined)?.code).startsWith("ERR_PARSE_ARGS");
}
