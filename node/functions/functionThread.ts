/**
 * One runtime thread of the functions service (functionThreads.ts): a {@link FunctionRuntime} of
 * its own, with its isolates, spares and watchdog, serving the calls the service's thread sends.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { FunctionLimits } from "./functionLimits";
import { FunctionError, FunctionRuntime, messageOf, type FunctionFailure, type FunctionRequest, type MeteredResponse } from "./functionRuntime";
import { ownedBuffer } from "./functionThreads";

/** What the service's thread sends: a request to run, or `{ close: true }`. */
export type ThreadOrder = ThreadCall | { close: true };

/** A request to run, without the function's source when the thread was sent it before. */
export interface ThreadCall {
  id: number;
  root: string;
  source?: string;
  request: FunctionRequest;
  limits: FunctionLimits;
}

/** What the thread sends back: an answer, a failure, the source it needs, that it is ready, or that its lockdown plan was dropped. */
export type ThreadMessage =
  | { id: number; ok: MeteredResponse }
  | { id: number; needSource: true }
  | { id: number; failed: { failure?: FunctionFailure; message: string; cpuUs?: number } }
  | { ready: true }
  | { planDropped: number };

/** The thread's start options. */
export interface ThreadData {
  limits: FunctionLimits;
  refusedHosts: string[];
}

const port = parentPort!;
const { limits, refusedHosts } = workerData as ThreadData;
const post = (message: ThreadMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const runtime = new FunctionRuntime(limits, new Set(refusedHosts), (missed) => post({ planDropped: missed }));

/** Runs not yet answered: a closing thread ends once they are. */
let running = 0;
let closing = false;

port.on("message", (call: ThreadOrder) => {
  if ("close" in call) {
    // Disposed here, by the thread that made them, once no run holds one: terminating a thread
    // while isolated-vm still ran its isolates hung terminate() now and then. The thread ends once
    // its port is closed and its loop empty.
    closing = true;
    runtime.close();
    if (running === 0) port.close();
    return;
  }
  // Checked in the same turn as run() takes the isolate, so it cannot be evicted between the two.
  if (call.source === undefined && !runtime.holds(call.root, call.limits.memoryMiB)) return post({ id: call.id, needSource: true });
  running++;
  runtime
    .run(call.root, call.source ?? "", call.request, call.limits)
    .then(
      (ok) => post({ id: call.id, ok }, ownedBuffer(ok.body)),
      (error: unknown) =>
        post({
          id: call.id,
          failed: error instanceof FunctionError ? { failure: error.failure, message: error.message, cpuUs: error.cpuUs } : { message: messageOf(error) },
        }),
    )
    .finally(() => {
      if (--running === 0 && closing) port.close();
    });
});
post({ ready: true });
