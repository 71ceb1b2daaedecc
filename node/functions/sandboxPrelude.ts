import { SANDBOX_LOCKDOWN } from "./sandboxLockdown";
import { SANDBOX_URL } from "./sandboxUrl";

/**
 * The source run once in a function's context before its module: the small web API a function
 * sees (Headers, Request, Response, fetch, TextEncoder/TextDecoder, console, and URL and
 * URLSearchParams when the host sets `__fleekHostUrl`: sandboxUrl.ts), then the lockdown
 * (sandboxLockdown.ts). Its completion value is the entry the host calls for each request,
 * `run(namespace, request)`. A V8 isolate has only the language's built-ins; everything here is
 * plain JavaScript over copies of the request, so nothing of the host is reachable. `fetch` goes to
 * the host's checked proxy through `__fleekHostFetch`, a reference the host sets on the context;
 * the prelude captures it and deletes the global so the function cannot replace it.
 */
export const SANDBOX_PRELUDE = sandboxPrelude();

/**
 * The prelude with an `env` the module's handlers receive (`fetch(request, env)`, `alarm(env)`):
 * `envSource` is a JavaScript expression evaluated once in the context before the lockdown (the
 * agents' host API, node/agents/agentEnv.ts); functions get none (`env` undefined).
 */
export function sandboxPrelude(envSource = "undefined"): string {
  return String.raw`
"use strict";
(() => {
  const hostFetch = globalThis.__fleekHostFetch;
  delete globalThis.__fleekHostFetch;
  const { URL, URLSearchParams } = ${SANDBOX_URL}(globalThis.__fleekHostUrl);
  delete globalThis.__fleekHostUrl;
  const env = ${envSource};
  const encodeUtf8 = (text) => {
    const out = [];
    for (let i = 0; i < text.length; i++) {
      let c = text.codePointAt(i);
      if (c > 0xffff) i++;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  };
  const decodeUtf8 = (bytes) => {
    let s = "";
    for (let i = 0; i < bytes.length; ) {
      const b = bytes[i++];
      let c = b;
      if (b >= 0xf0) c = ((b & 7) << 18) | ((bytes[i++] & 63) << 12) | ((bytes[i++] & 63) << 6) | (bytes[i++] & 63);
      else if (b >= 0xe0) c = ((b & 15) << 12) | ((bytes[i++] & 63) << 6) | (bytes[i++] & 63);
      else if (b >= 0xc0) c = ((b & 31) << 6) | (bytes[i++] & 63);
      s += String.fromCodePoint(c);
    }
    return s;
  };
  const toBytes = (body) =>
    body == null ? null
    : typeof body === "string" ? encodeUtf8(body)
    : body instanceof Uint8Array ? body
    : body instanceof ArrayBuffer ? new Uint8Array(body)
    : ArrayBuffer.isView(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
    : encodeUtf8(String(body));

  class Headers {
    #map = new Map();
    constructor(init) {
      if (init instanceof Headers) init = init.entries();
      else if (init && !Array.isArray(init) && typeof init[Symbol.iterator] !== "function") init = Object.entries(init);
      for (const [k, v] of init ?? []) this.append(k, v);
    }
    get(k) { return this.#map.get(String(k).toLowerCase()) ?? null; }
    has(k) { return this.#map.has(String(k).toLowerCase()); }
    set(k, v) { this.#map.set(String(k).toLowerCase(), String(v)); }
    append(k, v) { const key = String(k).toLowerCase(); const old = this.#map.get(key); this.#map.set(key, old === undefined ? String(v) : old + ", " + v); }
    delete(k) { this.#map.delete(String(k).toLowerCase()); }
    forEach(f) { for (const [k, v] of this.#map) f(v, k, this); }
    entries() { return this.#map.entries(); }
    keys() { return this.#map.keys(); }
    values() { return this.#map.values(); }
    [Symbol.iterator]() { return this.#map.entries(); }
  }
  class Body {
    #bytes;
    constructor(body, headers) { this.#bytes = toBytes(body); this.headers = new Headers(headers); this.bodyUsed = false; }
    #take() { if (this.bodyUsed) throw new TypeError("body already read"); this.bodyUsed = true; return this.#bytes ?? new Uint8Array(0); }
    async arrayBuffer() { const b = this.#take(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }
    async bytes() { return this.#take().slice(); }
    async text() { return decodeUtf8(this.#take()); }
    async json() { return JSON.parse(await this.text()); }
    get _bytes() { return this.#bytes; }
  }
  class Request extends Body {
    constructor(input, init = {}) {
      const base = input instanceof Request ? input : undefined;
      super(init.body ?? base?._bytes ?? null, init.headers ?? base?.headers);
      this.url = base ? base.url : String(input);
      this.method = String(init.method ?? base?.method ?? "GET").toUpperCase();
    }
  }
  class Response extends Body {
    constructor(body = null, init = {}) {
      super(body, init.headers);
      this.status = init.status ?? 200;
      this.statusText = init.statusText ?? "";
      if (!Number.isInteger(this.status) || this.status < 200 || this.status > 599) throw new RangeError("status must be 200-599");
      if (typeof body === "string" && !this.headers.has("content-type")) this.headers.set("content-type", "text/plain;charset=UTF-8");
    }
    get ok() { return this.status >= 200 && this.status < 300; }
    static json(data, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(JSON.stringify(data), { ...init, headers });
    }
  }
  async function fetch(input, init = {}) {
    const request = new Request(input, init);
    const r = await hostFetch.apply(undefined, [request.url, request.method, [...request.headers], request._bytes], {
      arguments: { copy: true }, result: { promise: true, copy: true },
    });
    if (r.error !== undefined) throw new TypeError(r.error);
    return new Response(r.body, { status: r.status, headers: r.headers });
  }
  class TextEncoder { get encoding() { return "utf-8"; } encode(s = "") { return encodeUtf8(String(s)); } }
  class TextDecoder { get encoding() { return "utf-8"; } decode(b) { return b ? decodeUtf8(toBytes(b)) : ""; } }
  const quiet = () => {};
  const console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet };

  async function run(ns, req) {
    const request = new Request(req.url, { method: req.method, headers: req.headers, body: req.body });
    let result;
    if (req.alarm) {
      if (!ns.default || typeof ns.default.alarm !== "function") throw new TypeError("an alarm fired but the module exports no default.alarm(env)");
      await ns.default.alarm(env);
      return { status: 204, headers: [], body: new Uint8Array(0) };
    }
    if (ns.default && typeof ns.default.fetch === "function") result = await ns.default.fetch(request, env);
    else if (typeof ns.main === "function") result = await ns.main(req.params);
    else throw new TypeError("the module exports neither default.fetch(request) nor main(params)");
    if (!(result instanceof Response)) {
      result = typeof result === "string" ? new Response(result)
        : result === undefined ? new Response(null, { status: 204 })
        : Response.json(result);
    }
    const body = result._bytes;
    return { status: result.status, headers: [...result.headers], body: body ?? new Uint8Array(0) };
  }
  for (const [name, value] of Object.entries({ Headers, Request, Response, fetch, TextEncoder, TextDecoder, console, ...(URL ? { URL, URLSearchParams } : {}) })) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
  const lockdown = ${SANDBOX_LOCKDOWN};
  lockdown();
  return run;
})();
`;
}
