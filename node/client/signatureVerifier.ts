/**
 * Checks transaction signatures on worker threads, so a client's request never blocks the event
 * loop that runs consensus (docs/consensus.md "Client admission").
 *
 * The threads run the plain-JavaScript check below (worker threads do not load TypeScript): the
 * same test as `checkTransaction` in transaction.ts — ed25519 by the envelope's key over
 * H(TX_TAG | payload) — with the constants passed from there and from crypto.ts;
 * test/node/client/admission.test.ts holds the two to the same answers.
 */
import * as os from "node:os";
import { Worker } from "node:worker_threads";
import { SPKI_PREFIX } from "../consensus/types/crypto";
import { ENVELOPE, TX_TAG } from "./transaction";

const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash, createPublicKey, verify } = require("node:crypto");
const spki = Buffer.from(workerData.spkiPrefix);
const tag = Buffer.from(workerData.tag);
const envelope = workerData.envelope;
const keys = new Map();
function keyOf(raw) {
  const hex = raw.toString("hex");
  let key = keys.get(hex);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([spki, raw]), format: "der", type: "spki" });
    if (keys.size >= 4096) keys.clear();
    keys.set(hex, key);
  }
  return key;
}
parentPort.on("message", ({ id, bytes, lengths }) => {
  const all = Buffer.from(bytes);
  const ok = new Uint8Array(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const tx = all.subarray(at, at + lengths[i]);
    at += lengths[i];
    try {
      const message = createHash("sha256").update(tag).update(tx.subarray(envelope)).digest();
      ok[i] = verify(null, message, keyOf(tx.subarray(0, 32)), tx.subarray(32, envelope)) ? 1 : 0;
    } catch {
      ok[i] = 0;
    }
  }
  parentPort.postMessage({ id, ok }, [ok.buffer]);
});
`;

/**
 * Most transactions per task: small enough that requests of many connections interleave. A request
 * is split across all threads (down to MIN_CHUNK per task), so one small request keeps every core
 * busy rather than one.
 */
const CHUNK = 256;
const MIN_CHUNK = 16;

interface Task {
  id: number;
  bytes: ArrayBuffer;
  lengths: number[];
  resolve: (ok: Uint8Array) => void;
}

/** A pool of threads checking transaction signatures. */
export class SignatureVerifier {
  private readonly threads: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly running = new Map<Worker, Task>();
  private nextId = 0;

  /** Starts `threads` threads (default: one per core). */
  constructor(threads = os.availableParallelism()) {
    for (let i = 0; i < threads; i++) {
      const t = new Worker(THREAD_SOURCE, {
        eval: true,
        workerData: { spkiPrefix: SPKI_PREFIX, tag: TX_TAG, envelope: ENVELOPE },
      });
      t.unref();
      t.on("message", ({ id, ok }: { id: number; ok: Uint8Array }) => {
        const task = this.running.get(t);
        this.running.delete(t);
        if (task?.id === id) task.resolve(ok);
        this.idle.push(t);
        this.pump();
      });
      this.threads.push(t);
      this.idle.push(t);
    }
  }

  /**
   * Resolves with one boolean per transaction: its signature is valid. Transactions must have
   * passed `checkTransactionShape` (at least an envelope).
   */
  async verify(txs: Buffer[]): Promise<boolean[]> {
    const size = Math.min(CHUNK, Math.max(MIN_CHUNK, Math.ceil(txs.length / this.threads.length)));
    const parts: Promise<Uint8Array>[] = [];
    for (let i = 0; i < txs.length; i += size) {
      const chunk = txs.slice(i, i + size);
      const lengths = chunk.map((t) => t.length);
      // One copy into memory of our own (not the shared pool): safe to transfer to the thread.
      const bytes = Buffer.allocUnsafeSlow(lengths.reduce((a, b) => a + b, 0));
      let at = 0;
      for (const t of chunk) at += t.copy(bytes, at);
      parts.push(new Promise((resolve) => this.queue.push({ id: this.nextId++, bytes: bytes.buffer as ArrayBuffer, lengths, resolve })));
    }
    this.pump();
    const results = await Promise.all(parts);
    return results.flatMap((ok) => [...ok].map((v) => v === 1));
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const t = this.idle.pop()!;
      const task = this.queue.shift()!;
      this.running.set(t, task);
      t.postMessage({ id: task.id, bytes: task.bytes, lengths: task.lengths }, [task.bytes]);
    }
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
