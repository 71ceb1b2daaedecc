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
 * The walk that finds the intrinsics costs most of the lockdown (~4.5 of ~5.5 ms on a machine with
 * slow page faults, docs/functions.md "Cold start, sixth pass"), and it finds the same objects in
 * every isolate: the same V8 ran the same prelude, and no function's code ran yet. So a walk also
 * returns a plan, how each object it found is reached from one found before it (a hidden
 * intrinsic, a prototype, a property's value, getter or setter), and an isolate given the plan
 * reaches the objects directly instead of reading every property's descriptor. With `check`, it
 * also walks after following the plan, and counts (and freezes) what the plan missed: the host
 * trusts a plan only once a check passed, checks some isolates after that, and drops the plan with
 * every isolate built from it when a check finds anything (functionRuntime.ts).
 *
 * Evaluated as a function expression: the prelude calls it with its own globals defined, as
 * `(plan?, check?, wantPlan?)`. It returns `{ plan?, checked, missed }`: the plan of its walk when
 * it walked without one and `wantPlan` (none when a key is a symbol other than a well-known one,
 * which a plan cannot name); whether it checked a plan; how many objects a check found not frozen
 * yet (all the walk found when the plan did not fit: a step reached no object or threw).
 */
export const SANDBOX_LOCKDOWN = String.raw`
((plan, check, wantPlan) => {
  "use strict";
  const { freeze, getPrototypeOf, getOwnPropertyDescriptor, defineProperty, hasOwn, isFrozen } = Object;
  const ownKeys = Reflect.ownKeys;
  const isObject = (v) => (typeof v === "object" && v !== null) || typeof v === "function";

  // RegExp's legacy statics (RegExp.$1, input, lastMatch, leftContext...) hold the last match made
  // anywhere in the context: a request could read the previous one's (a token it matched in a
  // cookie), or set \`RegExp.input\` for the next. Removed, as SES removes them (review).
  for (const key of ownKeys(RegExp)) {
    if (typeof key !== "string") continue;
    const d = getOwnPropertyDescriptor(RegExp, key);
    if (d.get && d.configurable) delete RegExp[key];
  }

  // The inherited data properties code commonly shadows by assignment (SES "moderate" taming),
  // before the walk, so their accessors are found and frozen with the rest. The built-ins they
  // replace are then held only by the getters' closures, which no walk of descriptors reaches:
  // they are roots of the walk (\`shadowed\`), or a request could change what the next one calls
  // (\`Object.prototype.hasOwnProperty.call = ...\`).
  const shadowed = [];
  const shadowable = (prototype, key) => {
    const d = getOwnPropertyDescriptor(prototype, key);
    if (!d || !("value" in d) || !d.configurable) return;
    const value = d.value;
    if (isObject(value)) shadowed.push(value);
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
    ...shadowed,
  ];
  // Iterator helpers (V8 12, Node 22): their prototypes are reachable from no global.
  if (typeof Iterator === "function" && typeof Iterator.from === "function") {
    hidden.push(getPrototypeOf([].values().map((x) => x)), getPrototypeOf(Iterator.from({ next: () => ({ done: true }) })));
  }
  if (typeof Intl === "object" && typeof Intl.Segmenter === "function") {
    const segments = new Intl.Segmenter().segment("a");
    hidden.push(getPrototypeOf(segments), getPrototypeOf(segments[Symbol.iterator]()));
  }

  // How a plan reaches object i from an earlier one, j (-1: the global object), with key k.
  const HIDDEN = 0, PROTOTYPE = 1, VALUE = 2, GETTER = 3, SETTER = 4;
  const keyOf = (encoded) => (typeof encoded === "string" ? encoded : Symbol[encoded[0]]);

  // Walks everything reachable from the global object and the hidden intrinsics, key by key rather
  // than getOwnPropertyDescriptors (a descriptor map per object doubled its cost). With
  // \`planned\`, counts what it finds that is not frozen yet; with \`wantPlan\`, makes a plan.
  const walk = (planned) => {
    const reached = new Map();
    const ops = [];
    const keys = [];
    const keyIndex = new Map();
    let nameable = true;
    const indexOf = (key) => {
      if (!wantPlan) return 0;
      let index = keyIndex.get(key);
      if (index === undefined) {
        let encoded = key;
        if (typeof key === "symbol") {
          const name = String(key.description).slice(7);
          if (Symbol[name] !== key) nameable = false;
          encoded = [name];
        }
        index = keys.length;
        keys.push(encoded);
        keyIndex.set(key, index);
      }
      return index;
    };
    const pending = [];
    for (let i = 0; i < hidden.length; i++) pending.push(hidden[i], HIDDEN, i, 0);
    pending.push(getPrototypeOf(globalThis), PROTOTYPE, -1, 0);
    const follow = (object, from) => {
      const own = ownKeys(object);
      for (let i = 0; i < own.length; i++) {
        const d = getOwnPropertyDescriptor(object, own[i]);
        if ("value" in d) {
          if (isObject(d.value)) pending.push(d.value, VALUE, from, indexOf(own[i]));
        } else {
          if (d.get) pending.push(d.get, GETTER, from, indexOf(own[i]));
          if (d.set) pending.push(d.set, SETTER, from, indexOf(own[i]));
        }
      }
    };
    follow(globalThis, -1);
    let missed = 0;
    while (pending.length > 0) {
      const key = pending.pop(), from = pending.pop(), how = pending.pop(), value = pending.pop();
      if (!isObject(value) || value === globalThis || reached.has(value)) continue;
      const index = reached.size;
      reached.set(value, index);
      if (wantPlan) ops.push(how, from, key);
      if (planned && !isFrozen(value)) missed++;
      pending.push(getPrototypeOf(value), PROTOTYPE, index, 0);
      follow(value, index);
    }
    return { objects: reached.keys(), count: reached.size, plan: wantPlan && nameable ? { ops, keys } : undefined, missed };
  };

  // Follows a plan; undefined when a step does not reach an object, or throws (a property the plan
  // read as data is an accessor here, whose getter refuses the prototype): the plan is not this
  // isolate's.
  const reach = (plan) => {
    try {
      return reachAll(plan);
    } catch {
      return undefined;
    }
  };
  const reachAll = ({ ops, keys }) => {
    const objects = [];
    for (let i = 0; i < ops.length; i += 3) {
      const how = ops[i], from = ops[i + 1], owner = from < 0 ? globalThis : objects[from];
      let value;
      if (how === HIDDEN) value = hidden[from];
      else if (how === PROTOTYPE) value = getPrototypeOf(owner);
      else if (how === VALUE) {
        // An own property, as the walk found it: an inherited one means the plan is not this isolate's.
        const key = keyOf(keys[ops[i + 2]]);
        value = hasOwn(owner, key) ? owner[key] : undefined;
      }
      else {
        const d = getOwnPropertyDescriptor(owner, keyOf(keys[ops[i + 2]]));
        value = d && (how === GETTER ? d.get : d.set);
      }
      if (!isObject(value)) return undefined;
      objects.push(value);
    }
    return objects;
  };

  // Object.freeze gives an object V8's frozen elements kind, and V8 sends every element store on an
  // object with one in its prototype chain down a slow path: Uint8Array writes ran ~15x slower in a
  // locked-down context (endojs/endo#1563). The prototypes arrays, typed arrays and plain objects
  // inherit from get the same integrity level another way, sealed (sealed elements kind) with each
  // data property made read-only, then made a constructor's prototype so V8 gives them fast
  // properties again (the redefinitions left them in dictionary mode, which slows every look-up).
  const { seal } = Object;
  const typedArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const elementPrototypes = new Set([Object.prototype, Array.prototype, getPrototypeOf(Uint8Array.prototype), ...typedArrays.map((C) => C.prototype)]);
  const freezeAll = (objects) => {
    for (const value of objects) {
      if (isFrozen(value)) continue;
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
  };

  const planned = plan && reach(plan);
  const result = { checked: false, missed: 0 };
  if (planned) {
    freezeAll(planned);
    if (check) {
      const found = walk(true);
      result.checked = true;
      result.missed = found.missed;
      freezeAll(found.objects);
    }
  } else {
    const found = walk(false);
    freezeAll(found.objects);
    // A plan that did not fit missed everything.
    if (plan) result.missed = found.count;
    else result.plan = found.plan;
  }

  for (const key of ownKeys(globalThis)) {
    const d = getOwnPropertyDescriptor(globalThis, key);
    if (!d.configurable) continue;
    defineProperty(globalThis, key, "value" in d ? { writable: false, configurable: false } : { configurable: false });
  }
  return result;
})
`;
