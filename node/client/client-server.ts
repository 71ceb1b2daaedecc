/**
 * The client endpoint of a node: a TCP server speaking node/client/protocol.ts. Each connection
 * may submit transactions and/or subscribe to the committed sequence. A subscriber that does not
 * read is disconnected once its send buffer passes a cap, instead of growing the node's memory.
 */
import * as net from "node:net";
import { frame, FrameDecoder } from "../network/frame";
import { FleekNode } from "../node";
import { Logger } from "../logger";
import { decodeRequest, encodeCommitted, encodeSubmitResult } from "./protocol";

const MAX_REQUEST = 8 * 1024 * 1024;
const MAX_SUBSCRIBER_BUFFER = 256 * 1024 * 1024;

/** Serves clients of one node. */
export class ClientServer {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly node: FleekNode,
    private readonly logger: Logger,
  ) {}

  /** Listens on host:port. */
  async listen(host: string, port: number): Promise<void> {
    this.server = net.createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => resolve());
    });
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(MAX_REQUEST);
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
    socket.on("data", (chunk) => {
      try {
        for (const f of decoder.push(chunk)) {
          const req = decodeRequest(f);
          if (req.kind === "submit") send(encodeSubmitResult(this.node.submit(req.txs)));
          else unsubscribes.push(this.node.subscribe(req.from, (b) => send(encodeCommitted(b.epoch, b.subDagIndex, b.leaderRound, b.createdAt, b.batch))));
        }
      } catch (err) {
        this.logger.warn("malformed client request, disconnecting", { err: String(err) });
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      unsubscribes.forEach((u) => u());
      this.sockets.delete(socket);
    });
  }

  /** Closes the server and every client connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
