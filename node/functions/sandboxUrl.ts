/**
 * `URL` and `URLSearchParams` in the sandbox (docs/functions.md "Isolation"). Parsing URLs by the
 * WHATWG rules is the host's: Node's own `URL` (the ada parser) answers through one reference the
 * host sets on the context, `__fleekHostUrl`, which the prelude captures and deletes as it does the
 * fetch proxy. Only strings cross, both ways (copies: nothing of the host is reachable), each
 * bounded by {@link MAX_URL_CHARS}. The classes inside are thin: they keep the host's answer and
 * ask again on every change, so every rule (setters, the query's form encoding) is the host's.
 */
import ivm from "isolated-vm";

/** Largest string one call hands the host (a URL, a base, a setter's value, a whole query), characters. */
export const MAX_URL_CHARS = 1024 * 1024;

/** The components of a parsed URL, as `URL`'s getters return them. */
const PARTS = ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"] as const;
type Parts = Record<(typeof PARTS)[number], string>;
const SETTABLE: ReadonlySet<string> = new Set(PARTS.filter((p) => p !== "origin"));

type Answer = Parts | { pairs: [string, string][] } | { query: string } | { error: string };

function partsOf(url: URL): Parts {
  const parts = {} as Parts;
  for (const name of PARTS) parts[name] = url[name];
  return parts;
}

function bounded(...texts: unknown[]): string | undefined {
  let total = 0;
  for (const text of texts) {
    if (typeof text !== "string") return "URL arguments must be strings";
    total += text.length;
  }
  return total > MAX_URL_CHARS ? `URL arguments over ${MAX_URL_CHARS} characters` : undefined;
}

/** The host's side: `op` is one of parse, set, parseQuery, serializeQuery; errors are answered, never thrown. */
export function hostUrl(op: unknown, a: unknown, b: unknown, c: unknown): Answer {
  try {
    switch (op) {
      case "parse": {
        const refused = b === undefined ? bounded(a) : bounded(a, b);
        if (refused) return { error: refused };
        return partsOf(b === undefined ? new URL(a as string) : new URL(a as string, b as string));
      }
      case "set": {
        const refused = bounded(a, b, c);
        if (refused || !SETTABLE.has(b as string)) return { error: refused ?? `URL has no settable ${String(b)}` };
        const url = new URL(a as string);
        (url as unknown as Record<string, string>)[b as string] = c as string;
        return partsOf(url);
      }
      case "parseQuery": {
        const refused = bounded(a);
        return refused ? { error: refused } : { pairs: [...new URLSearchParams(a as string)] };
      }
      case "serializeQuery": {
        if (!Array.isArray(a)) return { error: "query pairs must be an array" };
        const refused = bounded(...a.flat());
        return refused ? { error: refused } : { query: new URLSearchParams(a as [string, string][]).toString() };
      }
      default:
        return { error: "unknown URL operation" };
    }
  } catch (error) {
    return { error: error instanceof TypeError ? `Invalid URL: ${String(op === "set" ? c : a).slice(0, 200)}` : String(error) };
  }
}

/** The reference set on a context as `__fleekHostUrl`. */
export function hostUrlReference(): ivm.Reference {
  return new ivm.Reference(hostUrl);
}

/**
 * The sandbox's side, a function expression the prelude calls with the captured reference; it
 * returns `{ URL, URLSearchParams }`, or nothing when the host set no reference (then the sandbox
 * has no URL, as before).
 */
export const SANDBOX_URL = String.raw`
((host) => {
  if (!host) return {};
  const call = (...args) => {
    const answer = host.applySync(undefined, args, { arguments: { copy: true }, result: { copy: true } });
    if (answer.error !== undefined) throw new TypeError(answer.error);
    return answer;
  };
  const PARTS = ${JSON.stringify(PARTS)};
  const urls = new WeakMap();
  const lists = new WeakMap();
  const owners = new WeakMap();
  const stateOf = (map, self) => {
    const state = map.get(self);
    if (state === undefined) throw new TypeError("Illegal invocation");
    return state;
  };
  const listOf = (self) => stateOf(lists, self);
  // A change to a URL's search params sets its query, as the WHATWG "update steps" say.
  const changed = (params) => {
    const url = owners.get(params);
    if (url !== undefined) urls.set(url, call("set", urls.get(url).href, "search", params.toString()));
  };

  class URLSearchParams {
    constructor(init = "") {
      let list;
      if (typeof init === "object" && init !== null) {
        list = [];
        if (typeof init[Symbol.iterator] === "function") {
          for (const pair of init) {
            const p = [...pair];
            if (p.length !== 2) throw new TypeError("Each query pair must be a [name, value] tuple");
            list.push([String(p[0]), String(p[1])]);
          }
        } else for (const key of Object.keys(init)) list.push([key, String(init[key])]);
      } else list = call("parseQuery", String(init)).pairs;
      lists.set(this, list);
    }
    get size() { return listOf(this).length; }
    append(name, value) { listOf(this).push([String(name), String(value)]); changed(this); }
    delete(name, value) {
      const list = listOf(this);
      const keep = list.filter(([k, v]) => k !== String(name) || (value !== undefined && v !== String(value)));
      list.splice(0, list.length, ...keep);
      changed(this);
    }
    get(name) { const hit = listOf(this).find(([k]) => k === String(name)); return hit ? hit[1] : null; }
    getAll(name) { return listOf(this).filter(([k]) => k === String(name)).map(([, v]) => v); }
    has(name, value) { return listOf(this).some(([k, v]) => k === String(name) && (value === undefined || v === String(value))); }
    set(name, value) {
      const list = listOf(this);
      const key = String(name);
      const first = list.findIndex(([k]) => k === key);
      if (first === -1) list.push([key, String(value)]);
      else {
        list[first] = [key, String(value)];
        const keep = list.filter(([k], i) => i <= first || k !== key);
        list.splice(0, list.length, ...keep);
      }
      changed(this);
    }
    sort() {
      // Stable, by UTF-16 code units, as the standard says.
      const list = listOf(this);
      const sorted = list.map((pair, i) => [pair, i]).sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j)).map(([pair]) => pair);
      list.splice(0, list.length, ...sorted);
      changed(this);
    }
    forEach(f, thisArg) { for (const [k, v] of listOf(this)) f.call(thisArg, v, k, this); }
    entries() { return listOf(this).map(([k, v]) => [k, v])[Symbol.iterator](); }
    keys() { return listOf(this).map(([k]) => k)[Symbol.iterator](); }
    values() { return listOf(this).map(([, v]) => v)[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return call("serializeQuery", listOf(this)).query; }
  }

  class URL {
    constructor(url, base) {
      urls.set(this, base === undefined ? call("parse", String(url)) : call("parse", String(url), String(base)));
    }
    static canParse(url, base) { try { new URL(url, base); return true; } catch { return false; } }
    static parse(url, base) { try { return new URL(url, base); } catch { return null; } }
    get searchParams() {
      let params = owners.get(this);
      if (params === undefined) {
        params = new URLSearchParams(stateOf(urls, this).search);
        owners.set(this, params);
        owners.set(params, this);
      }
      return params;
    }
    toString() { return stateOf(urls, this).href; }
    toJSON() { return stateOf(urls, this).href; }
  }
  for (const name of PARTS) {
    Object.defineProperty(URL.prototype, name, {
      get() { return stateOf(urls, this)[name]; },
      set: name === "origin" ? undefined : function (value) {
        urls.set(this, call("set", stateOf(urls, this).href, name, String(value)));
        const params = owners.get(this);
        if (params !== undefined && (name === "search" || name === "href")) {
          const list = lists.get(params);
          list.splice(0, list.length, ...call("parseQuery", urls.get(this).search).pairs);
        }
      },
      enumerable: true,
      configurable: true,
    });
  }
  return { URL, URLSearchParams };
})
`;
