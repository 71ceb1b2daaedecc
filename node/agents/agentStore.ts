/**
 * An agent's private store (docs/agents-runtime.md "Store"): one PGlite database per agent in
 * its own data folder, run in a worker thread (agentStoreWorker.ts) so that a query over its time
 * limit is stopped by terminating the thread. The key-value API is a table of that database
 * (`fleek_kv`), so a snapshot of the folder holds both. Bounded: a query's time, and the
 * database's size over its empty size (checked after every statement that may write; past the
 * quota only reads and deletes are served).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { LRUCache } from "lru-cache";
import { agentSqlRefusal } from "./agentSqlRole";
import type { StoreAnswer, StoreCall, StoreWorkerData } from "./agentStoreWorker";

const WORKER = path.join(__dirname, "agentStoreWorker.ts");

/** The bounds of one agent's store. */
export interface StoreLimits {
  /** Bytes the database may grow over its empty size. */
  storageBytes: number;
  /** Time one query may run, ms; past it the store's thread is terminated. */
  queryMs: number;
  /** Longest key, bytes. */
  keyBytes: number;
  /** Largest value, bytes (JSON text). */
  valueBytes: number;
  /** Most rows one SQL query or `kv.list` answers. */
  rows: number;
}

/** Why a store call failed; `kind` says which bound or error. */
/** Longest a snapshot's dump of the store may take, ms. */
const DUMP_MS = 120_000;

export class StoreError extends Error {
  constructor(
    readonly kind: "quota" | "query-time" | "bad-input" | "sql" | "closed",
    message: string,
  ) {
    super(message);
  }
}

let modules: Promise<Pick<StoreWorkerData, "pgliteWasmModule" | "initdbWasmModule">> | undefined;

/** PGlite's WebAssembly, compiled once per process and shared with every store's thread (compiling it takes seconds). */
function pgliteModules(): Promise<Pick<StoreWorkerData, "pgliteWasmModule" | "initdbWasmModule">> {
  const dist = path.dirname(require.resolve("@electric-sql/pglite"));
  modules ??= (async () => ({
    pgliteWasmModule: await WebAssembly.compile(await fs.promises.readFile(path.join(dist, "pglite.wasm"))),
    initdbWasmModule: await WebAssembly.compile(await fs.promises.readFile(path.join(dist, "initdb.wasm"))),
  }))();
  return modules;
}

/** A statement that cannot write (checked before a write over quota is refused). */
const READ_ONLY = /^\s*(select|show|explain|values)\b/i;
const DELETES = /^\s*(delete|drop|truncate)\b/i;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // awaited by flush when a request waits; unobserved otherwise
  return { promise, resolve, reject };
}

/**
 * A PostgreSQL string literal (standard_conforming_strings is on: only quotes are special). Keys
 * and values have no NUL (checked), which would end the statement's C string early.
 */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** One agent's open store. */
export class AgentStore {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private broken: StoreError | undefined;
  /** The database's size when empty (a fresh PGlite database is ~7.6 MB of catalogs). */
  private baseline = 0;
  private size = 0;
  /**
   * Values read or written through the kv API (null: absent). The store has one writer, this
   * object, so the copy is exact; a SQL statement that may write clears it (it may touch fleek_kv).
   */
  private readonly kvCache = new LRUCache<string, { value: string | null }>({
    maxSize: 1024 * 1024,
    sizeCalculation: (e, k) => k.length + (e.value?.length ?? 0) + 1,
  });
  private writesSinceMeasure = 0;
  private bytesSinceMeasure = 0;
  /**
   * kv writes not yet sent to the thread, by key: sent when it has no batch in hand (group
   * commit). A later write of a key replaces the queued one: the batch commits as one transaction,
   * so no reader could see the value it replaces (a read or SQL statement sends the queue first).
   */
  private queued = new Map<string, string>();
  private queuedDone: Deferred | undefined;
  /** The batch the thread is committing, if any. */
  private committing: Promise<void> | undefined;
  /** Why a batch of kv writes did not commit: every later flush fails. */
  private writeFailed: StoreError | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly limits: StoreLimits,
  ) {
    worker.on("message", (message: StoreAnswer) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new StoreError("sql", message.error));
    });
    worker.on("exit", () => this.fail(this.broken ?? new StoreError("closed", "the agent's store closed")));
    worker.on("error", (error) => this.fail(new StoreError("closed", `the agent's store failed: ${error.message}`)));
  }

  /**
   * Opens the store in `dataDir`: from `load` (a snapshot's tarball) when given, else the folder
   * as it is, else a copy of `template` (an empty database: PGlite's initdb takes seconds).
   */
  static async open(dataDir: string, limits: StoreLimits, options: { template?: string; load?: Uint8Array; baseline?: number } = {}): Promise<AgentStore> {
    // Copied off the event loop: ~38 MiB, it held every other agent's requests for ~0.8 s when synchronous.
    if (!options.load && !fs.existsSync(path.join(dataDir, "PG_VERSION")) && options.template)
      await fs.promises.cp(options.template, dataDir, { recursive: true });
    const data: StoreWorkerData = { dataDir, load: options.load, ...(await pgliteModules()) };
    // A worker thread takes no --import hooks on Node 20: it registers tsx itself to load the TypeScript entry.
    const worker = new Worker(`require("tsx/cjs"); require(${JSON.stringify(WORKER)});`, { eval: true, workerData: data });
    await new Promise<void>((resolve, reject) => {
      worker.once("message", (m: { ready?: true; failed?: string }) =>
        m.ready ? resolve() : reject(new Error(`the agent's store did not open: ${m.failed}`)),
      );
      worker.once("error", reject);
    });
    const store = new AgentStore(worker, limits);
    store.size = (await store.call({ op: "size" })) as number;
    store.baseline = options.baseline ?? store.size;
    return store;
  }

  /** Creates an empty database in `dir` once (the template new agents' folders are copied from); returns its size. */
  static async prepareTemplate(dir: string, limits: StoreLimits): Promise<number> {
    const marker = path.join(dir, ".fleek-template-size");
    if (fs.existsSync(marker)) return Number(fs.readFileSync(marker, "utf8"));
    fs.rmSync(dir, { recursive: true, force: true });
    const store = await AgentStore.open(dir, { ...limits, queryMs: 600_000 });
    const size = store.size;
    await store.close();
    fs.writeFileSync(marker, String(size));
    return size;
  }

  /** Bytes the database uses over its empty size (as last measured). */
  get usedBytes(): number {
    return Math.max(0, this.size - this.baseline);
  }

  /** Whether the thread is gone (a query ran over its time, or the store was closed). */
  get closed(): boolean {
    return this.broken !== undefined;
  }

  /** Runs one SQL statement with `$1...` parameters; writes past the quota are refused. */
  async query(sql: string, params: unknown[] = []): Promise<{ rows: Record<string, unknown>[]; affectedRows: number }> {
    if (typeof sql !== "string" || !Array.isArray(params)) throw new StoreError("bad-input", "sql.query(sql: string, params?: array)");
    const refusal = agentSqlRefusal(sql);
    if (refusal) throw new StoreError("bad-input", refusal);
    const writes = !READ_ONLY.test(sql);
    if (writes && this.usedBytes > this.limits.storageBytes && !DELETES.test(sql)) throw this.overQuota();
    if (writes) this.kvCache.clear();
    const result = (await this.call({ op: "query", sql, params })) as { rows: Record<string, unknown>[]; affectedRows: number };
    if (writes && this.measureDue(sql, params)) await this.measure();
    if (result.rows.length > this.limits.rows)
      throw new StoreError("bad-input", `the query answered ${result.rows.length} rows, over the ${this.limits.rows}-row limit: add a LIMIT`);
    return result;
  }

  /** `env.kv.get`: the value's JSON text, or null. */
  async get(key: string): Promise<string | null> {
    const cached = this.cached(key);
    if (cached) return cached.value;
    const { rows } = (await this.call({ op: "exec", sql: `select value from fleek_kv where key = ${literal(key)}` })) as { rows: { value: string }[] };
    const value = rows.length ? rows[0].value : null;
    this.kvCache.set(key, { value });
    return value;
  }

  /**
   * `env.kv.put` with the value's JSON text. Queued, not awaited: the handler goes on with the
   * value in the cache (the single writer's exact copy), later reads reach the thread after it,
   * and the request that wrote it (or read it) is answered only once {@link flush} says it is
   * committed. Queued writes of consecutive requests are committed in one transaction.
   */
  async put(key: string, value: string): Promise<void> {
    await this.queuePut(key, value);
  }

  /**
   * {@link put}'s work, synchronous: it throws what `put` rejects with and queues the write; the
   * promise it answers (only when a measure is due) is what `put` would still wait for.
   */
  queuePut(key: string, value: string): Promise<void> | undefined {
    this.checkKey(key);
    if (typeof value !== "string" || value.includes("\0")) throw new StoreError("bad-input", "kv.put needs a JSON-serialisable value");
    if (Buffer.byteLength(value) > this.limits.valueBytes) throw new StoreError("bad-input", `value over the ${this.limits.valueBytes}-byte limit`);
    if (this.broken) throw this.broken;
    if (this.usedBytes > this.limits.storageBytes) throw this.overQuota();
    const sql = `insert into fleek_kv (key, value) values (${literal(key)}, ${literal(value)}) on conflict (key) do update set value = excluded.value`;
    this.kvCache.set(key, { value });
    const done = (this.queuedDone ??= deferred());
    this.queued.set(key, sql);
    if (!this.committing) this.sendQueued();
    // A measure due (every 32nd write, 16 KiB, near the quota) waits for the write: the quota's bound holds.
    if (this.measureDue(sql, [])) return done.promise.then(() => this.measure());
    return undefined;
  }

  /** The value of `key` if the cache holds it (the single writer's exact copy), else undefined: {@link get} would read the thread. */
  cached(key: string): { value: string | null } | undefined {
    this.checkKey(key);
    return this.kvCache.get(key);
  }

  /** Resolves once every kv write queued so far is committed; rejects if the store failed before. */
  async flush(): Promise<void> {
    if (this.queuedDone) await this.queuedDone.promise;
    else if (this.committing) await this.committing;
    if (this.writeFailed) throw this.writeFailed;
  }

  /** `env.kv.delete`: whether the key existed. */
  async delete(key: string): Promise<boolean> {
    this.checkKey(key);
    this.kvCache.delete(key);
    const existed = ((await this.call({ op: "exec", sql: `delete from fleek_kv where key = ${literal(key)}` })) as { affectedRows: number }).affectedRows > 0;
    this.kvCache.set(key, { value: null });
    if (this.measureDue("delete", [key])) await this.measure();
    return existed;
  }

  /** `env.kv.list`: keys from `prefix`, in order, with their JSON text, at most `limit` (≤ the row limit). */
  async list(prefix: string, limit: number): Promise<[string, string][]> {
    if (typeof prefix !== "string" || !Number.isSafeInteger(limit) || limit < 1)
      throw new StoreError("bad-input", "kv.list({prefix?: string, limit?: positive integer})");
    const rows = await this.query("select key, value from fleek_kv where starts_with(key, $1) order by key limit $2", [
      prefix,
      Math.min(limit, this.limits.rows),
    ]);
    return rows.rows.map((r) => [r.key as string, r.value as string]);
  }

  /** The data folder as a tarball (PGlite `dumpDataDir`): the agent's snapshot. */
  async dump(): Promise<Uint8Array> {
    // The node's own work, not the agent's query: bounded by DUMP_MS, as a loaded machine
    // (load 18 on 2 cores) takes over the agent's 2 s query time to gzip the folder.
    return (await this.call({ op: "dump" }, DUMP_MS)) as Uint8Array;
  }

  /** Closes the database cleanly and ends its thread. */
  async close(): Promise<void> {
    if (this.broken) return;
    await this.call({ op: "close" }).catch(() => undefined);
    this.broken = new StoreError("closed", "the agent's store closed");
    await this.worker.terminate();
  }

  /**
   * Measuring the database (the thread stats every file of its folder, agentStoreWorker.ts
   * `databaseBytes`) costs more than a small write, so it is measured after every 32nd write, after one whose text and parameters
   * were over 16 KiB since the last measure, and after every write once within 1 MiB of the quota.
   */
  private measureDue(sql: string, params: unknown[]): boolean {
    this.writesSinceMeasure++;
    for (const p of params) this.bytesSinceMeasure += typeof p === "string" ? p.length : JSON.stringify(p ?? null).length;
    this.bytesSinceMeasure += sql.length;
    const near = this.limits.storageBytes - this.usedBytes < 2 ** 20;
    if (!near && this.writesSinceMeasure < 32 && this.bytesSinceMeasure < 16 * 1024) return false;
    this.writesSinceMeasure = 0;
    this.bytesSinceMeasure = 0;
    return true;
  }

  private async measure(): Promise<void> {
    this.size = (await this.call({ op: "size" })) as number;
  }

  /** Sends the queued kv writes as one batch; the next batch goes when this one is committed. */
  private sendQueued(): void {
    const sql = [...this.queued.values()];
    const done = this.queuedDone!;
    this.queued = new Map();
    this.queuedDone = undefined;
    const committing = this.send({ op: "writes", sql }).then(
      () => done.resolve(),
      (error: Error) => {
        // A kv write that did not commit leaves the cache ahead of the database: the store is
        // stopped, every request that saw the write fails, and the next one reopens the folder.
        this.writeFailed = new StoreError("closed", `the agent's store failed to write: ${error.message}`);
        this.broken ??= this.writeFailed;
        void this.worker.terminate();
        done.reject(this.writeFailed);
      },
    );
    this.committing = committing;
    void committing.finally(() => {
      if (this.committing !== committing) return;
      this.committing = undefined;
      if (this.queued.size > 0) this.sendQueued();
    });
  }

  private checkKey(key: string): void {
    if (typeof key !== "string" || key.length === 0 || Buffer.byteLength(key) > this.limits.keyBytes || key.includes("\0"))
      throw new StoreError("bad-input", `a key is a non-empty string of at most ${this.limits.keyBytes} bytes, without NUL`);
  }

  private overQuota(): StoreError {
    return new StoreError("quota", `the agent's storage quota is used up (${this.usedBytes} of ${this.limits.storageBytes} bytes): delete data to write again`);
  }

  /** Any call but a batch of kv writes: the writes queued before it go first (the thread answers in order). */
  private call(call: DistributiveOmit<StoreCall, "id">, timeoutMs = this.limits.queryMs): Promise<unknown> {
    if (this.queued.size > 0) this.sendQueued();
    return this.send(call, timeoutMs);
  }

  private send(call: DistributiveOmit<StoreCall, "id">, timeoutMs = this.limits.queryMs): Promise<unknown> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.broken = new StoreError("query-time", `the agent's query ran over its time limit (${timeoutMs} ms); its store was stopped`);
        void this.worker.terminate();
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.worker.postMessage({ ...call, id } as StoreCall);
    });
  }

  private fail(error: StoreError): void {
    this.broken ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.broken);
    this.pending.clear();
  }
}
