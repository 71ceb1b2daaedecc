import type ivm from "isolated-vm";
import { SANDBOX_LOCKDOWN } from "./sandboxLockdown";
import { SANDBOX_URL } from "./sandboxUrl";

/**
 * The source run once in a function's context before its module: the small web API a function
 * sees (Headers, Request, Response, fetch, TextEncoder/TextDecoder, console, and URL and
 * URLSearchParams when the host sets `__fleekHostUrl`: sandboxUrl.ts), then the lockdown
 * (sandboxLockdown.ts). Its completion value holds the entry the host calls for each request,
 * `run(namespace, request, mainBody?, handler?)`, and `handlerOf(namespace)`, which fixes a
 * function's handler once, when its module is evaluated. A V8 isolate has only the language's built-ins; everything here is
 * plain JavaScript over copies of the request, so nothing of the host is reachable. `fetch` goes to
 * the host's checked proxy through `__fleekHostFetch`, a reference the host sets on the context;
 * the prelude captures it and deletes the global so the function cannot replace it.
 */
export const SANDBOX_PRELUDE = sandboxPrelude();

/** The prelude's entries, from the reference to its completion value (which it releases). */
export interface PreludeEntries {
  run: ivm.Reference;
  handlerOf: ivm.Reference;
  /** Moves the context's clock to now: before a module's top level runs (run() moves it for each request). */
  tick: ivm.Reference;
}

/** The prelude's entries, from the reference to its completion value (which it releases). */
export function preludeEntries(completion: ivm.Reference): PreludeEntries {
  const entries = {
    run: completion.getSync("run", { reference: true }) as ivm.Reference,
    handlerOf: completion.getSync("handlerOf", { reference: true }) as ivm.Reference,
    tick: completion.getSync("tick", { reference: true }) as ivm.Reference,
  };
  completion.release();
  return entries;
}

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
  // No WebAssembly: its memories live outside the V8 heap, so the isolate's memory limit never
  // counted them (one function held 512 MiB past 128), and it compiles on V8's background threads,
  // off the function's CPU clock. No FinalizationRegistry, Atomics or SharedArrayBuffer: V8 runs a
  // registry's cleanups and Atomics.waitAsync's wake-ups as tasks of their own, after the request,
  // where no limit holds (a loop there held the runtime for good), and isolated-vm ends the process
  // on a timed waitAsync; without threads, shared memory serves nothing. Each global is the only
  // way to its objects: nothing else in a context names them (docs/functions.md "Removed globals").
  for (const name of ["WebAssembly", "FinalizationRegistry", "Atomics", "SharedArrayBuffer"]) delete globalThis[name];
  const env = ${envSource};
  // A clock that stands still while the function runs and moves when it waits (its request
  // starts, a subrequest answers), as Workers' does: a function timing its own code, or another
  // tenant's through the machine they share, reads nothing finer than the waits it makes
  // (docs/functions.md "Clock"). Date and Intl's formatting of "now" are the isolate's only clocks.
  const RealDate = Date;
  const realNow = RealDate.now;
  let clock = realNow();
  const tick = () => { clock = realNow(); };
  function FrozenDate(...args) {
    if (new.target === undefined) return new RealDate(clock).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [clock] : args, new.target);
  }
  Object.defineProperties(FrozenDate, {
    name: { value: "Date" },
    length: { value: 7 },
    prototype: { value: RealDate.prototype },
    // Methods, as the built-ins are: not constructors.
    now: { value: ({ now() { return clock; } }).now, writable: true, configurable: true },
    parse: { value: RealDate.parse, writable: true, configurable: true },
    UTC: { value: RealDate.UTC, writable: true, configurable: true },
  });
  Object.defineProperty(RealDate.prototype, "constructor", { value: FrozenDate, writable: true, configurable: true });
  Object.defineProperty(globalThis, "Date", { value: FrozenDate, writable: true, configurable: true });
  if (typeof Intl === "object") {
    const formats = Intl.DateTimeFormat.prototype;
    const boundFormat = Object.getOwnPropertyDescriptor(formats, "format").get;
    const realFormatToParts = formats.formatToParts;
    const bound = new WeakMap();
    Object.defineProperty(formats, "format", {
      get() {
        let f = bound.get(this);
        if (!f) { const real = boundFormat.call(this); f = (date) => real(date === undefined ? clock : date); bound.set(this, f); }
        return f;
      },
      configurable: true,
    });
    Object.defineProperty(formats, "formatToParts", {
      value: ({ formatToParts(date) { return realFormatToParts.call(this, date === undefined ? clock : date); } }).formatToParts,
      writable: true, configurable: true,
    });
  }
  // UTF-8 by hand (an isolate has no TextEncoder): exact-size output, ASCII runs copied byte for
  // byte, lone surrogates as U+FFFD, as the web's TextEncoder does.
  const encodeUtf8 = (text) => {
    const n = text.length;
    let size = n;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) continue;
      if (c < 0x800) size += 1;
      else if (c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { size += 2; i++; }
      else size += 2;
    }
    const out = new Uint8Array(size);
    for (let i = 0, j = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) { out[j++] = c; continue; }
      if (c < 0x800) { out[j++] = 0xc0 | (c >> 6); out[j++] = 0x80 | (c & 63); continue; }
      if ((c & 0xf800) === 0xd800) {
        const d = text.charCodeAt(i + 1);
        if (c < 0xdc00 && (d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[j++] = 0xf0 | (c >> 18); out[j++] = 0x80 | ((c >> 12) & 63); out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      out[j++] = 0xe0 | (c >> 12); out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
    }
    return out;
  };
  // The WHATWG UTF-8 decoder (a malformed sequence is one U+FFFD, as TextDecoder's). The string is
  // built from pieces of up to 4,096 code units, ASCII runs straight from the bytes: a string grown
  // a character at a time is a chain of V8 cons strings, megabytes of it for a large text.
  const decodeUtf8 = (bytes) => {
    const n = bytes.length;
    let s = "";
    const units = [];
    const flush = () => {
      s += String.fromCharCode.apply(undefined, units);
      units.length = 0;
    };
    const unit = (c) => {
      if (c > 0xffff) { c -= 0x10000; units.push(0xd800 | (c >> 10), 0xdc00 | (c & 0x3ff)); }
      else units.push(c);
      if (units.length >= 4096) flush();
    };
    let need = 0, seen = 0, code = 0, lower = 0x80, upper = 0xbf;
    for (let i = 0; i < n; ) {
      if (need === 0 && bytes[i] < 0x80) {
        const start = i;
        const stop = Math.min(n, i + 4096);
        while (i < stop && bytes[i] < 0x80) i++;
        if (i - start < 256) {
          // A short run joins the pending units: "aé" repeated must not make a piece per character.
          for (let k = start; k < i; k++) unit(bytes[k]);
        } else {
          if (units.length > 0) flush();
          s += String.fromCharCode.apply(undefined, bytes.subarray(start, i));
        }
        continue;
      }
      const b = bytes[i++];
      if (need === 0) {
        if (b >= 0xc2 && b <= 0xdf) { need = 1; code = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) { if (b === 0xe0) lower = 0xa0; else if (b === 0xed) upper = 0x9f; need = 2; code = b & 0xf; }
        else if (b >= 0xf0 && b <= 0xf4) { if (b === 0xf0) lower = 0x90; else if (b === 0xf4) upper = 0x8f; need = 3; code = b & 7; }
        else unit(0xfffd);
        continue;
      }
      if (b < lower || b > upper) {
        // The byte that broke the sequence starts the next one.
        need = seen = code = 0; lower = 0x80; upper = 0xbf;
        unit(0xfffd);
        i--;
        continue;
      }
      lower = 0x80; upper = 0xbf;
      code = (code << 6) | (b & 0x3f);
      if (++seen === need) {
        unit(code);
        need = seen = code = 0;
      }
    }
    if (need !== 0) unit(0xfffd);
    if (units.length > 0) flush();
    return s;
  };
  // A view over a buffer of its own, for what leaves the isolate: isolated-vm copies a view's whole
  // buffer out, so a 1-byte view of 64 MiB cost the host a 64 MiB copy, off the function's clock.
  // The getters are read now, before the function could reach them; new Uint8Array(view) copies only the view.
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const viewLength = Object.getOwnPropertyDescriptor(typedArrayProto, "byteLength").get;
  const viewBuffer = Object.getOwnPropertyDescriptor(typedArrayProto, "buffer").get;
  const bufferLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
  // A Uint8Array's own tag: another typed array (a Float64Array's 16 bytes read as 2) is copied too.
  const viewTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag).get;
  const ownBytes = (bytes) => {
    try {
      if (viewTag.call(bytes) === "Uint8Array" && bufferLength.call(viewBuffer.call(bytes)) === viewLength.call(bytes)) return bytes;
    } catch {}
    return new Uint8Array(bytes);
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
    const r = await hostFetch.apply(undefined, [request.url, request.method, [...request.headers], request._bytes && ownBytes(request._bytes)], {
      arguments: { copy: true }, result: { promise: true, copy: true },
    });
    if (r.error !== undefined) throw new TypeError(r.error);
    // After an answer only: a refusal comes at once, and ticking on it gave back a clock to the ms.
    tick();
    return new Response(r.body, { status: r.status, headers: r.headers });
  }
  class TextEncoder { get encoding() { return "utf-8"; } encode(s = "") { return encodeUtf8(String(s)); } }
  class TextDecoder { get encoding() { return "utf-8"; } decode(b) { return b ? decodeUtf8(toBytes(b)) : ""; } }
  const quiet = () => {};
  const console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet };

  // What an answer crosses to the host as: strings, numbers and bytes made here. isolated-vm
  // copies an answer's properties on the host's thread once V8's timeout has ended, so a getter
  // among them (a Response's status and headers are the function's to replace) that never
  // returned held that thread for good; read here, the module's getters run under its limits.
  function ownAnswer(result) {
    const status = Number(result.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError("status must be 200-599");
    // At most what the channel sends on (256 KiB of headers, serviceChannel.ts), counted before the
    // copy: a 512 MiB header value cost the host its copy first (review).
    const headers = [];
    let headerChars = 0;
    for (const [name, value] of result.headers) {
      const pair = [String(name), String(value)];
      headerChars += pair[0].length + pair[1].length;
      if (headerChars > 262144) throw new RangeError("the response's headers are over 256 KiB");
      headers.push(pair);
    }
    const body = result._bytes;
    return { status, headers, body: body ? ownBytes(body) : new Uint8Array(0) };
  }

  // The handler that serves a module's requests. A function's is read once, when its module is
  // evaluated (functionRuntime.ts), so the host builds main(params) only for a module main serves:
  // a getter on default.fetch is module code, which runs here under the module's limits.
  function handlerOf(ns) {
    if (ns.default && typeof ns.default.fetch === "function") return "fetch";
    return typeof ns.main === "function" ? "main" : "none";
  }
  // mainBody: main(params)'s body, a string argument of its own (functionRuntime.ts). handler:
  // fixed by handlerOf for a function; an agent's is read per request.
  async function run(ns, req, mainBody, handler) {
    tick();
    if (mainBody !== undefined) req.params.body = mainBody;
    const request = new Request(req.url, { method: req.method, headers: req.headers, body: req.body });
    if (req.alarm) {
      if (!ns.default || typeof ns.default.alarm !== "function") throw new TypeError("an alarm fired but the module exports no default.alarm(env)");
      await ns.default.alarm(env);
      return { status: 204, headers: [], body: new Uint8Array(0) };
    }
    handler ??= handlerOf(ns);
    let result;
    if (handler === "fetch") result = await ns.default.fetch(request, env);
    else if (handler === "main") result = await ns.main(req.params);
    else throw new TypeError("the module exports neither default.fetch(request) nor main(params)");
    if (!(result instanceof Response)) {
      result = typeof result === "string" ? new Response(result)
        : result === undefined ? new Response(null, { status: 204 })
        : Response.json(result);
    }
    return ownAnswer(result);
  }
  for (const [name, value] of Object.entries({ Headers, Request, Response, fetch, TextEncoder, TextDecoder, console, ...(URL ? { URL, URLSearchParams } : {}) })) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
  // The lockdown's plan and its result, when the host asks (functionRuntime.ts): gone before the
  // lockdown, set again after it for the host to read and delete before the function's module.
  const lockdownAsked = globalThis.__fleekLockdown;
  delete globalThis.__fleekLockdown;
  const locked = ${SANDBOX_LOCKDOWN}(lockdownAsked?.plan, lockdownAsked?.check, lockdownAsked?.wantPlan);
  if (lockdownAsked) globalThis.__fleekLockdown = locked;
  return { run, handlerOf, tick };
})();
`;
}
