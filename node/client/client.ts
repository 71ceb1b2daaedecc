/**
 * A client of a node's client endpoint: submit transactions, subscribe to the committed sequence.
 * Used by tests and the benchmark; other programs can use it the same way.
 */
import * as net from "node:net";
import { frame, FrameDecoder } from "../network/frame";
import { CommittedFrame, decodeResponse, encodeSubmit, encodeSubscribe, SubmitResult, SubscribeRefused } from "./protocol";

/** A connection to one node. */
export class NodeClient {
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private readonly pending: ((r: SubmitResult) => void)[] = [];
  private committedListener: ((f: CommittedFrame) => void) | undefined;
  private refusedListener: ((r: SubscribeRefused) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk) => {
      for (const f of this.decoder.push(chunk)) {
        const res = decodeResponse(f);
        if (res.kind === "submit-result") this.pending.shift()?.(res.result);
        else if (res.kind === "committed") this.committedListener?.(res.frame);
        else this.refusedListener?.(res.refused);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      for (const p of this.pending.splice(0)) p({ accepted: 0, status: 3, reason: "connection closed" });
    });
  }

  /** Connects to host:port. */
  static connect(host: string, port: number): Promise<NodeClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(new NodeClient(socket)));
      socket.setNoDelay(true);
      socket.once("error", reject);
    });
  }

  /** Submits transactions; resolves with how many the node accepted and why it stopped. */
  submit(txs: Buffer[]): Promise<SubmitResult> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      for (const part of frame(encodeSubmit(txs))) this.socket.write(part);
    });
  }

  /** Bytes waiting in the socket (for callers pacing themselves). */
  get buffered(): number {
    return this.socket.writableLength;
  }

  /**
   * Streams committed batches from sub-DAG `from` on (one subscription per client). `onRefused`
   * is called if the node no longer holds the sequence from there (it was compacted).
   */
  subscribe(from: number, listener: (f: CommittedFrame) => void, onRefused?: (r: SubscribeRefused) => void): void {
    this.committedListener = listener;
    this.refusedListener = onRefused;
    for (const part of frame(encodeSubscribe(from))) this.socket.write(part);
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }
}
