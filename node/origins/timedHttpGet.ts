import { OriginError } from "./originError";

/** Time limits of one HTTP GET. */
export interface HttpTimeouts {
  /** Longest wait for the response headers. */
  responseMs: number;
  /** Longest silence inside the body. */
  idleMs: number;
  /** Longest whole exchange. */
  totalMs: number;
}

/**
 * GETs `url` and hands the response and its body to `consume`, aborting the request when the
 * headers are late, the body stalls or the whole exchange runs over; the abort surfaces as an
 * {@link OriginError} `timeout` whatever `consume` was doing. Bodies are requested without
 * content-encoding: lengths and digests are about the bytes as they are stored.
 */
export async function timedHttpGet<T>(
  url: URL,
  timeouts: HttpTimeouts,
  consume: (response: Response, body: AsyncIterable<Uint8Array>) => Promise<T>,
  headers: Record<string, string> = {},
): Promise<T> {
  const controller = new AbortController();
  let timeout: OriginError | undefined;
  const abortAfter = (ms: number, what: string) =>
    setTimeout(() => {
      timeout = new OriginError("timeout", `${what} from ${url.href} (${ms} ms)`);
      controller.abort();
    }, ms);
  const total = abortAfter(timeouts.totalMs, "exchange not finished");
  let idle = abortAfter(timeouts.responseMs, "no response");
  async function* watchedBody(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      clearTimeout(idle);
      idle = abortAfter(timeouts.idleMs, "body stalled");
      yield chunk;
    }
  }
  try {
    const response = await fetch(url, { signal: controller.signal, headers: { ...headers, "accept-encoding": "identity" } });
    clearTimeout(idle);
    idle = abortAfter(timeouts.idleMs, "body stalled");
    // A body-less response (204, 304) reads as empty.
    // Node's web ReadableStream is async-iterable; the global DOM-style typing (pulled in by
    // graphql-yoga's fetch types) does not say so.
    const body = (response.body ?? (async function* () {})()) as unknown as AsyncIterable<Uint8Array>;
    return await consume(response, watchedBody(body));
  } catch (error) {
    throw timeout ?? error;
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
  }
}
