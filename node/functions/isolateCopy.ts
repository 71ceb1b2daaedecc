/**
 * Values the host hands into an isolate. isolated-vm deserializes a copy inside the isolate, on
 * the function's CPU clock: a 1 MB body cost the function 1.2-2.8 ms of charged CPU there, where a
 * transferred buffer costs ~0.1 ms (docs/functions.md "What a request is charged as CPU").
 */
import ivm from "isolated-vm";

/**
 * `value` for the isolate, its `body` bytes moved in rather than copied there. The bytes are first
 * copied into a buffer of their own on the host: they may be a view of a Node Buffer's shared pool,
 * which a transfer would detach, and the caller keeps its own.
 */
export function copyIntoIsolate<T extends object>(value: T): ivm.Copy<T> {
  const body = "body" in value ? value.body : undefined;
  if (!(body instanceof Uint8Array)) return new ivm.ExternalCopy(value).copyInto();
  // Never the view itself, even empty: V8 serializes a view with its whole backing buffer, and a
  // Buffer's is Node's shared pool (others' bytes).
  if (body.byteLength === 0) return new ivm.ExternalCopy({ ...value, body: new Uint8Array(0) }).copyInto();
  const own = new Uint8Array(body);
  return new ivm.ExternalCopy({ ...value, body: own }, { transferList: [own.buffer] }).copyInto({ transferIn: true });
}

/**
 * The answer to a host call made, or answered, after the request it served ended: none. Code
 * resumed then ran unwatched and uncharged, and a loop there held the isolate, so the next
 * request's call blocked the service's thread for good (`fetch(x).catch(() => { for (;;); })`
 * in a function that answers at once hung it). A promise that never settles resumes nothing; it
 * is freed with the isolate.
 */
export function unanswered<T>(): Promise<T> {
  return new Promise<T>(() => {});
}
