/** What a Range header asks of content of a known length. */
export type RangeRequest =
  /** No usable range: serve the whole content with 200. */
  | { kind: "whole" }
  /** Serve bytes [start, end) with 206. */
  | { kind: "part"; start: number; end: number }
  /** Answer 416 with this explanation. */
  | { kind: "unsatisfiable"; reason: string };

/**
 * Interprets a Range header (RFC 9110 §14) for content of `length` bytes. One range is served
 * (`a-b`, `a-`, `-n`; an end past the content is clamped). A header in another unit is ignored,
 * as the RFC requires; several ranges are answered with the whole content, which the RFC allows
 * (multipart bodies are not worth their complexity here). A malformed bytes range or one that
 * starts past the end is refused with 416, so a client bug gets a clear answer.
 */
export function parseRange(header: string | undefined, length: number): RangeRequest {
  if (header === undefined) return { kind: "whole" };
  const unit = /^\s*bytes\s*=(.*)$/i.exec(header);
  if (!unit) return { kind: "whole" };
  const specs = unit[1].split(",").map((spec) => spec.trim());
  if (specs.length > 1) return { kind: "whole" };
  const match = /^(\d*)-(\d*)$/.exec(specs[0]);
  if (!match || (match[1] === "" && match[2] === "")) {
    return { kind: "unsatisfiable", reason: `malformed range ${JSON.stringify(header)}; expected bytes=a-b, bytes=a- or bytes=-n` };
  }
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || length === 0) return { kind: "unsatisfiable", reason: `empty suffix range for ${length} bytes` };
    return { kind: "part", start: Math.max(0, length - suffix), end: length };
  }
  const start = Number(match[1]);
  const last = match[2] === "" ? length - 1 : Number(match[2]);
  if (last < start) return { kind: "unsatisfiable", reason: `range ${specs[0]} ends before it starts` };
  if (start >= length) return { kind: "unsatisfiable", reason: `range starts at ${start}, content has ${length} bytes` };
  return { kind: "part", start, end: Math.min(last, length - 1) + 1 };
}
