/**
 * The client endpoint of a node: a TCP server speaking node/client/protocol.ts. Each connection
 * may submit transactions and/or subscribe to the committed sequence.
 *
 * Bounds (docs/consensus.md "Client admission"): at most MAX_CONNECTIONS connections; a connection
 * has at most MAX_PIPELINE requests in admission at once (verified concurrently, answered and added
 * in order; the socket is paused at the cap, so a client that pipelines further waits on TCP, not
 * in our memory); each connection may submit RATE_PER_CONNECTION
 * transactions a second (token bucket); a subscriber that does not read is disconnected once its
 * send buffer passes a cap.
 */
import * as net from "node:net";
import { frame, FrameDecoder } from "../network/frame";
import { FleekNode } from "../node";
import { Logger } from "../logger";
import { SubmitAdmission } from "./admission";
import { decodeRequest, encodeCommitted, encodeSubmitResult, encodeSubscribeRefused, SubmitResult, SubmitStatus } from "./protocol";
import { SignatureVerifier } from "./signatureVerifier";

const MAX_REQUEST = 8 * 1024 * 1024;
const MAX_SUBSCRIBER_BUFFER = 256 * 1024 * 1024;
/** Open client connections; more are closed on accept. */
const MAX_CONNECTIONS = 1024;
/** Transactions a second one connection may submit (also the burst). */
const RATE_PER_CONNECTION = 50_000;
/**
 * Requests of one connection in admission at once. Handled one at a time, a connection waited a
 * whole round trip through the verifier threads and a busy event loop per request, and
 * left the cores idle meanwhile (docs/consensus.md "Client admission").
 */
const MAX_PIPELINE = 4;

/**
 * A token bucket refilled at `rate` a second, holding at most `rate`. On the monotonic clock: a
 * wall clock stepped back (NTP) would drain it by the step, refusing the connection that long.
 */
class RateLimit {
  private tokens: number;
  private at = performance.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  /** Takes `n` tokens if there are that many. */
  take(n: number): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }
}

/** Serves clients of one node. */
export class ClientServer {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly verifier = new SignatureVerifier();
  private readonly admission: SubmitAdmission;
  private refusedConnections = 0;

  constructor(
    private readonly node: FleekNode,
    private readonly logger: Logger,
  ) {
    this.admission = new SubmitAdmission(node, node.txRules, this.verifier);
  }

  /** Listens on host:port. */
  async listen(host: string, port: number): Promise<void> {
    this.server = net.createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => resolve());
    });
  }

  private serve(socket: net.Socket): void {
    if (this.sockets.size >= MAX_CONNECTIONS) {
      if (this.refusedConnections++ % 1000 === 0)
        this.logger.warn("client connections above the cap, refusing", { cap: MAX_CONNECTIONS, refused: this.refusedConnections });
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(MAX_REQUEST);
    const rate = new RateLimit(RATE_PER_CONNECTION);
    const unsubscribes: (() => void)[] = [];
    const send = (payload: Buffer | Buffer[]): void => {
      if (socket.destroyed) return;
      if (socket.writableLength > MAX_SUBSCRIBER_BUFFER) {
        this.logger.warn("client too slow, disconnecting", { remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      for (const part of frame(payload)) socket.write(part);
    };
    const waiting: Buffer[] = [];
    let inFlight = 0;
    // Settles once every earlier request was answered (and its transactions added): never rejects.
    let tail: Promise<unknown> = Promise.resolve();
    const answer = (result: Promise<SubmitResult> | SubmitResult): void => {
      inFlight++;
      const previous = tail;
      tail = Promise.all([result, previous]).then(
        ([r]) => send(encodeSubmitResult(r)),
        (err) => {
          this.logger.warn("client request failed, disconnecting", { err: String(err) });
          socket.destroy();
        },
      );
      void tail.then(() => {
        inFlight--;
        pump();
      });
    };
    const handle = (f: Buffer): void => {
      const req = decodeRequest(f);
      if (req.kind === "subscribe") {
        unsubscribes.push(
          this.node.subscribe(
            req.from,
            (b) => send(encodeCommitted(b.epoch, b.subDagIndex, b.leaderRound, b.createdAt, b.batch)),
            (err) => send(encodeSubscribeRefused(err.epoch, err.retainedFrom, err.message)),
          ),
        );
      } else if (!rate.take(req.txs.length)) {
        answer({
          accepted: 0,
          status: SubmitStatus.Busy,
          reason: `above ${RATE_PER_CONNECTION} transactions a second on this connection, retry later`,
        });
      } else {
        answer(this.admission.admit(req.txs, tail));
      }
    };
    // Starts waiting requests up to the pipeline cap; reads the socket again once below it.
    const pump = (): void => {
      try {
        while (waiting.length > 0 && inFlight < MAX_PIPELINE && !socket.destroyed) handle(waiting.shift()!);
      } catch (err) {
        this.logger.warn("malformed client request, disconnecting", { err: String(err) });
        socket.destroy();
        return;
      }
      if (socket.destroyed) return;
      if (waiting.length > 0) socket.pause();
      else socket.resume();
    };
    socket.on("data", (chunk) => {
      try {
        waiting.push(...decoder.push(chunk));
      } catch (err) {
        this.logger.warn("malformed client stream, disconnecting", { err: String(err) });
        socket.destroy();
        return;
      }
      pump();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      unsubscribes.forEach((u) => u());
      this.sockets.delete(socket);
    });
  }

  /** Closes the server, every client connection and the verifier threads. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.verifier.close();
  }
}
