/**
 * The functions service's runtime threads (docs/functions.md "Runtime threads"): each runs a
 * {@link FunctionRuntime} of its own (functionThread.ts). The synchronous parts of a runtime's
 * work hold the thread that does them: building a spare isolate and its context (~5 ms on this
 * machine), disposing an evicted one (~2.5 ms), a function's own synchronous run. With one
 * runtime, a cold request that came right after another waited for the spare its predecessor
 * used to be rebuilt; with two, it goes to the other thread while the first rebuilds.
 *
 * A root goes to the thread that served it last (its warm isolate and code cache are there); a
 * new root to the thread with the fewest requests running, in turn among equals.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { LRUCache } from "lru-cache";
import type { FunctionLimits } from "./functionLimits";
import { FunctionError, type FunctionRequest, type FunctionRuntime, type MeteredResponse } from "./functionRuntime";
import type { ThreadCall, ThreadData, ThreadMessage, ThreadOrder } from "./functionThread";

const THREAD = path.join(__dirname, "functionThread.ts");
/** How long a closing thread may take to end on its own before it is terminated. */
const CLOSE_GRACE_MS = 2_000;
/** Roots remembered with the thread that served them: ~100 bytes each. */
const AFFINITY_ROOTS = 16_384;

/** What runs the service's functions: a runtime on its own thread, or runtime threads. */
export type FunctionRunner = Pick<FunctionRuntime, "run" | "close"> | Pick<FunctionThreads, "run" | "close">;

/** What the service hears of its threads. */
export interface ThreadEvents {
  /** A thread's lockdown plan was dropped (FunctionRuntime's `onPlanDropped`). */
  onPlanDropped: (missed: number) => void;
  /** A thread stopped (a fault of ours, never a function's): its requests failed; the service should restart. */
  onThreadFailed: (reason: string) => void;
}

interface RuntimeThread {
  worker: Worker;
  pending: Map<number, { call: ThreadCall; source: string; resolve: (answer: MeteredResponse) => void; reject: (error: Error) => void }>;
}

/** Runs functions on a pool of runtime threads, with {@link FunctionRuntime.run}'s contract. */
export class FunctionThreads {
  private readonly affinity = new LRUCache<string, RuntimeThread>({ max: AFFINITY_ROOTS });
  private nextCold = 0;
  private nextId = 0;
  private closed?: Promise<void>;

  private constructor(
    private readonly threads: RuntimeThread[],
    events: ThreadEvents,
  ) {
    for (const thread of threads) {
      thread.worker.on("message", (message: ThreadMessage) => {
        if ("planDropped" in message) return events.onPlanDropped(message.planDropped);
        if (!("id" in message)) return;
        const waiting = thread.pending.get(message.id);
        if ("needSource" in message) return waiting && thread.worker.postMessage({ ...waiting.call, source: waiting.source });
        thread.pending.delete(message.id);
        if ("ok" in message) return waiting?.resolve(message.ok);
        const { failure, message: text, cpuUs } = message.failed;
        const error = failure ? new FunctionError(failure, text) : new Error(text);
        if (error instanceof FunctionError) error.cpuUs = cpuUs;
        waiting?.reject(error);
      });
      const failed = (reason: string) => {
        if (this.closed) return;
        this.refusePending(thread, `the function runtime thread stopped: ${reason}`);
        events.onThreadFailed(reason);
      };
      thread.worker.on("error", (error) => failed(error.message));
      thread.worker.on("exit", (code) => failed(`exit code ${code}`));
    }
  }

  /**
   * Starts `count` threads, each with its share of the node's warm isolates and code cache, and
   * resolves once all are ready (each builds its spare isolates as it starts).
   */
  static async start(limits: FunctionLimits, refusedHosts: Iterable<string>, events: ThreadEvents, count: number): Promise<FunctionThreads> {
    const data: ThreadData = {
      limits: { ...limits, warmIsolates: Math.ceil(limits.warmIsolates / count), codeCacheBytes: Math.ceil(limits.codeCacheBytes / count) },
      refusedHosts: [...refusedHosts],
    };
    const threads = Array.from({ length: count }, () => {
      // A worker thread takes no --import hooks on Node 20: it registers tsx itself to load the TypeScript entry.
      const worker = new Worker(`require("tsx/cjs"); require(${JSON.stringify(THREAD)});`, { eval: true, workerData: data });
      return { worker, pending: new Map() } satisfies RuntimeThread;
    });
    try {
      await Promise.all(
        threads.map(
          ({ worker }) =>
            new Promise<void>((resolve, reject) => {
              worker.once("message", (m: ThreadMessage) => ("ready" in m ? resolve() : reject(new Error("the function runtime thread did not start"))));
              worker.once("error", reject);
              worker.once("exit", (code) => reject(new Error(`the function runtime thread exited (code ${code})`)));
            }),
        ),
      );
    } catch (error) {
      await Promise.all(threads.map(({ worker }) => worker.terminate()));
      throw error;
    }
    return new FunctionThreads(threads, events);
  }

  /** Number of runtime threads. */
  get size(): number {
    return this.threads.length;
  }

  /** {@link FunctionRuntime.run} on the thread that serves `root`. */
  run(root: string, source: string, request: FunctionRequest, limits: FunctionLimits): Promise<MeteredResponse> {
    if (this.closed) return Promise.reject(new Error("the functions service closed"));
    const known = this.affinity.get(root);
    const thread = known ?? this.coldThread(root);
    // A thread that served the root likely holds it warm: its source (up to a 1 MiB copy) is sent
    // only if the thread asks (`needSource`), which costs a root it evicted one more hop. A body
    // that is a view of a larger buffer (Node's 8 KiB pool for a small one) is cut to its own
    // bytes: the whole buffer would be copied across. It is copied, not moved: the service hashes
    // it for the receipt afterwards.
    const body = request.body && ownedBuffer(request.body).length === 0 ? new Uint8Array(request.body) : request.body;
    const call: ThreadCall = { id: this.nextId++, root, source: known ? undefined : source, request: { ...request, body }, limits };
    return new Promise<MeteredResponse>((resolve, reject) => {
      thread.pending.set(call.id, { call, source, resolve, reject });
      thread.worker.postMessage(call);
    });
  }

  /** Disposes every isolate and stops the threads; requests not answered yet are refused. */
  close(): Promise<void> {
    this.closed ??= this.stop();
    return this.closed;
  }

  private async stop(): Promise<void> {
    for (const thread of this.threads) this.refusePending(thread, "the functions service closed");
    await Promise.all(
      this.threads.map(async ({ worker }) => {
        const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
        worker.postMessage({ close: true } satisfies ThreadOrder);
        // A thread whose runs do not end (a function awaiting forever, until its wall limit) is
        // terminated; one whose termination hangs is left to the process's exit.
        if (await settlesWithin(exited, CLOSE_GRACE_MS)) return;
        void worker.terminate();
        if (!(await settlesWithin(exited, CLOSE_GRACE_MS))) worker.unref();
      }),
    );
  }

  private refusePending(thread: RuntimeThread, reason: string): void {
    for (const { reject } of thread.pending.values()) reject(new Error(reason));
    thread.pending.clear();
  }

  /** The thread a root no thread served goes to. */
  private coldThread(root: string): RuntimeThread {
    let thread = this.threads[this.nextCold % this.threads.length];
    for (let i = 1; i < this.threads.length; i++) {
      const other = this.threads[(this.nextCold + i) % this.threads.length];
      if (other.pending.size < thread.pending.size) thread = other;
    }
    this.nextCold = (this.threads.indexOf(thread) + 1) % this.threads.length;
    this.affinity.set(root, thread);
    return thread;
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The buffer under `bytes` when `bytes` is all of it, to move between threads rather than copy (a
 * fresh copy costs this machine's page faults: a 1 MB body 1.2-2.8 ms); none for a view of a
 * larger buffer, which would carry the whole buffer across.
 */
export function ownedBuffer(bytes: Uint8Array): ArrayBuffer[] {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? [buffer] : [];
}
