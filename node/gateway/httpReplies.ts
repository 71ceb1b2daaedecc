import type { IncomingHttpHeaders, ServerResponse } from "node:http";

/** Sends a JSON body with the right length. */
export function replyJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": bytes.length });
  res.end(bytes);
}

/** Sends an error as `{ "error": message }`: every 4xx/5xx of the gateway says what went wrong. */
export function replyError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  replyJson(res, status, { error: message }, headers);
}

/** Thrown by {@link readJsonBody} for a body that is too big or not JSON (a 4xx, not a crash). */
export class BadBodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a small JSON request body, refusing more than `maxBytes`. */
export async function readJsonBody(req: { headers: IncomingHttpHeaders } & AsyncIterable<Uint8Array>, maxBytes = 16 * 1024): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
    throw new BadBodyError(415, "send the body as application/json");
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of req) {
    size += part.length;
    if (size > maxBytes) throw new BadBodyError(413, `request body over ${maxBytes} bytes`);
    parts.push(part);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    throw new BadBodyError(400, "request body is not valid JSON");
  }
}

/** Waits until the response can take more data, or the client has gone (then returns false). */
export function drained(res: ServerResponse): Promise<boolean> {
  // A client that left while the next block was read closed the response already: no event
  // would come, and the handler would hold its file open until garbage collection.
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve(!res.destroyed);
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
