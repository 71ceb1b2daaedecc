/**
 * The lockdown run once in a function's context, after the prelude and before the function's
 * module (docs/functions.md "Isolation"): the context is reused by all the function's requests,
 * so nothing one request does to the shared built-ins may reach the next. In the manner of SES
 * `lockdown()`: every intrinsic reachable from the global object, and the hidden ones (generator
 * and async function prototypes, iterator prototypes, %TypedArray%), is frozen with everything
 * reachable from it; the global object's existing bindings become non-writable and
 * non-configurable. New globals stay possible: they are the function's own state, like its
 * module-scope variables.
 *
 * Freezing a prototype makes its data properties non-writable, and JavaScript then also refuses
 * an assignment that would shadow them on an object inheriting from it (the "override mistake"):
 * `this.name = "MyError"` in an Error subclass, `Foo.prototype.toString = ...`. As SES does, the
 * properties code commonly shadows become accessors whose setter defines the property on the
 * object assigned to, and still refuses it on the frozen prototype itself.
 *
 * Evaluated as a function expression: the prelude calls it with its own globals defined.
 */
export const SANDBOX_LOCKDOWN = String.raw`
(() => {
  "use strict";
  const { freeze, getPrototypeOf, getOwnPropertyDescriptor, defineProperty, hasOwn } = Object;
  const ownKeys = Reflect.ownKeys;
  const isObject = (v) => (typeof v === "object" && v !== null) || typeof v === "function";

  // Intrinsics no global names, found through values that have them as prototype.
  const hidden = [
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function () {}),
    getPrototypeOf(async function* () {}),
    getPrototypeOf([][Symbol.iterator]()),
    getPrototypeOf(new Map()[Symbol.iterator]()),
    getPrototypeOf(new Set()[Symbol.iterator]()),
    getPrototypeOf(""[Symbol.iterator]()),
    getPrototypeOf("a".matchAll(/a/g)),
    getPrototypeOf(Uint8Array),
  ];
  // Iterator helpers (V8 12, Node 22): their prototypes are reachable from no global.
  if (typeof Iterator === "function" && typeof Iterator.from === "function") {
    hidden.push(getPrototypeOf([].values().map((x) => x)), getPrototypeOf(Iterator.from({ next: () => ({ done: true }) })));
  }
  if (typeof Intl === "object" && typeof Intl.Segmenter === "function") {
    const segments = new Intl.Segmenter().segment("a");
    hidden.push(getPrototypeOf(segments), getPrototypeOf(segments[Symbol.iterator]()));
  }

  // Key by key rather than getOwnPropertyDescriptors: this runs cold in every new isolate, and
  // not allocating a descriptor map per object halves its cost (measured: ~1.2 ms, not ~2.8).
  const reached = new Set();
  const pending = [...hidden, getPrototypeOf(globalThis)];
  const follow = (object) => {
    const keys = ownKeys(object);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwnPropertyDescriptor(object, keys[i]);
      if ("value" in d) {
        if (isObject(d.value)) pending.push(d.value);
      } else {
        if (d.get) pending.push(d.get);
        if (d.set) pending.push(d.set);
      }
    }
  };
  follow(globalThis);
  while (pending.length > 0) {
    const value = pending.pop();
    if (!isObject(value) || value === globalThis || reached.has(value)) continue;
    reached.add(value);
    pending.push(getPrototypeOf(value));
    follow(value);
  }

  // The inherited data properties code commonly shadows by assignment (SES "moderate" taming).
  const shadowable = (prototype, key) => {
    const d = getOwnPropertyDescriptor(prototype, key);
    if (!d || !("value" in d) || !d.configurable) return;
    const value = d.value;
    defineProperty(prototype, key, {
      get() { return value; },
      set(next) {
        if (this === prototype) throw new TypeError("Cannot assign to read only property '" + String(key) + "' of a frozen built-in");
        if (hasOwn(this, key)) this[key] = next;
        else defineProperty(this, key, { value: next, writable: true, enumerable: true, configurable: true });
      },
      enumerable: d.enumerable,
      configurable: false,
    });
  };
  for (const key of ["constructor", "toString", "toLocaleString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable"]) shadowable(Object.prototype, key);
  for (const key of ["constructor", "toString"]) shadowable(Function.prototype, key);
  for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError]) {
    for (const key of ["constructor", "name", "message", "toString"]) shadowable(E.prototype, key);
  }
  for (const C of [Array, Promise, Map, Set, Date, RegExp]) shadowable(C.prototype, "constructor");
  // Object.freeze gives an object V8's frozen elements kind, and V8 sends every element store on an
  // object with one in its prototype chain down a slow path: Uint8Array writes ran ~15x slower in a
  // locked-down context (endojs/endo#1563). The prototypes arrays, typed arrays and plain objects
  // inherit from get the same integrity level another way, sealed (sealed elements kind) with each
  // data property made read-only, then made a constructor's prototype so V8 gives them fast
  // properties again (the redefinitions left them in dictionary mode, which slows every look-up).
  const { seal } = Object;
  const typedArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const elementPrototypes = new Set([Object.prototype, Array.prototype, getPrototypeOf(Uint8Array.prototype), ...typedArrays.map((C) => C.prototype)]);
  for (const value of reached) {
    if (!elementPrototypes.has(value)) {
      freeze(value);
      continue;
    }
    seal(value);
    const keys = ownKeys(value);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwnPropertyDescriptor(value, keys[i]);
      if ("value" in d && d.writable) defineProperty(value, keys[i], { writable: false });
    }
    function Fast() {}
    Fast.prototype = value;
    new Fast();
  }

  for (const key of ownKeys(globalThis)) {
    const d = getOwnPropertyDescriptor(globalThis, key);
    if (!d.configurable) continue;
    defineProperty(globalThis, key, "value" in d ? { writable: false, configurable: false } : { configurable: false });
  }
})
`;
