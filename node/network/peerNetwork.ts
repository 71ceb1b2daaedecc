/**
 * Authenticated, framed TCP links to every other committee member for one protocol domain
 * (primary or worker).
 *
 * Each node dials every peer and sends only on its own outbound connection; it receives on the
 * connections peers dialled to it. So each direction has one owner that reconnects it (with
 * backoff) and one queue to bound:
 * - backpressure: frames wait in a per-peer queue while the socket is not writable; past
 *   `maxQueueBytes` new frames are dropped (and counted) — the protocols above tolerate loss
 *   (headers are re-sent, missing certificates and batches are fetched). While the peer is down
 *   the queue is cut to its newest `maxFrame` bytes and takes no more, so a crashed peer costs
 *   one frame of memory, not a full queue;
 * - a peer that fails the handshake or sends an oversized frame is disconnected and logged;
 * - before authentication a connection may buffer only a handshake's worth of bytes, at most
 *   MAX_UNAUTHENTICATED such connections are open at once, and an authenticated peer has one
 *   inbound connection (a new one replaces the old).
 */
import * as net from "node:net";
import { AuthorityIndex, Committee, Endpoint } from "../consensus/types/committee";
import { KeyPair } from "../consensus/types/crypto";
import { Logger } from "../logger";
import { frame, FrameDecoder } from "./frame";
import { Domain, EpochMismatch, Handshake } from "./handshake";

/** Options of a {@link PeerNetwork}. */
export interface PeerNetworkOptions {
  key: KeyPair;
  committee: Committee;
  /** Our own authority index. */
  me: AuthorityIndex;
  domain: Domain;
  /** Where each member listens for this domain. */
  endpointOf: (member: AuthorityIndex) => Endpoint;
  /** Largest accepted frame. */
  maxFrame: number;
  /** Largest per-peer send queue before frames are dropped. */
  maxQueueBytes: number;
  logger: Logger;
}

/** Handler of an authenticated frame from a peer. */
export type FrameHandler = (from: AuthorityIndex, payload: Buffer) => void;

const HANDSHAKE_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_MS = 2_000;
const MAX_HANDSHAKE_FRAME = 1024;
/** Bytes an unauthenticated connection may have sent beyond complete frames: Hello and Auth. */
const MAX_PRE_AUTH_BUFFER = 2 * (4 + MAX_HANDSHAKE_FRAME);
/** Connections still in their handshake; more are closed on accept. */
const MAX_UNAUTHENTICATED = 32;

/** One outbound link: the socket we send on, its queue and reconnection. */
class Outbound {
  private socket: net.Socket | undefined;
  private ready = false;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private backoff = 50;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Frames dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly peer: AuthorityIndex,
    private readonly options: PeerNetworkOptions,
  ) {
    this.connect();
  }

  send(payload: Buffer): boolean {
    const limit = this.ready ? this.options.maxQueueBytes : Math.min(this.options.maxQueueBytes, this.options.maxFrame);
    if (this.queuedBytes + payload.length > limit) {
      if (this.dropped++ % 1000 === 0) {
        this.options.logger.warn("send queue full, dropping frames", { peer: this.peer, dropped: this.dropped });
      }
      return false;
    }
    this.queue.push(payload);
    this.queuedBytes += payload.length;
    this.pump();
    return true;
  }

  /** Bytes waiting to be written. */
  get pending(): number {
    return this.queuedBytes + (this.socket?.writableLength ?? 0);
  }

  private pump(): void {
    const s = this.socket;
    if (!s || !this.ready) return;
    while (this.queue.length > 0 && !s.writableNeedDrain) {
      const payload = this.queue.shift()!;
      this.queuedBytes -= payload.length;
      const [len, body] = frame(payload);
      s.write(len);
      s.write(body);
    }
  }

  private connect(): void {
    if (this.closed) return;
    const { host, port } = this.options.endpointOf(this.peer);
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    const handshake = new Handshake(this.options.key, this.options.committee, this.options.domain);
    const decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME);
    const timeout = setTimeout(() => socket.destroy(new Error("handshake timeout")), HANDSHAKE_TIMEOUT_MS);
    socket.once("connect", () => socket.write(Buffer.concat(frame(handshake.hello()))));
    socket.on("data", (chunk) => {
      try {
        for (const f of decoder.push(chunk)) {
          if (this.ready) throw new Error("peer sent data on our outbound link");
          const reply = handshake.receive(f);
          if (reply === "done") {
            if (handshake.peer !== this.peer) throw new Error(`dialled ${this.peer}, answered by ${handshake.peer}`);
            clearTimeout(timeout);
            this.ready = true;
            this.backoff = 50;
            this.options.logger.debug("connected", { peer: this.peer });
            this.pump();
          } else {
            socket.write(Buffer.concat(frame(reply)));
          }
        }
      } catch (err) {
        const level = err instanceof EpochMismatch ? "info" : "warn";
        this.options.logger[level]("outbound peer refused", { peer: this.peer, err: String(err) });
        socket.destroy();
      }
    });
    socket.on("drain", () => this.pump());
    socket.on("error", () => {}); // "close" follows and handles it
    socket.on("close", () => {
      clearTimeout(timeout);
      if (this.socket === socket) {
        this.socket = undefined;
        this.ready = false;
        // Down: keep only the newest frames, at most one maxFrame's worth.
        while (this.queuedBytes > this.options.maxFrame) this.queuedBytes -= this.queue.shift()!.length;
      }
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }
}

/** Authenticated framed links to every committee member for one domain. */
export class PeerNetwork {
  private server: net.Server | undefined;
  private readonly outbound = new Map<AuthorityIndex, Outbound>();
  private readonly inbound = new Set<net.Socket>();
  /** The authenticated inbound connection of each peer. */
  private readonly inboundOf = new Map<AuthorityIndex, net.Socket>();
  private unauthenticated = 0;
  private handler: FrameHandler = () => {};

  constructor(private readonly options: PeerNetworkOptions) {}

  /** Sets the handler of frames from authenticated peers (and from ourselves). */
  onFrame(handler: FrameHandler): void {
    this.handler = handler;
  }

  /** Listens on our endpoint and starts dialling every peer. */
  async start(): Promise<void> {
    const { host, port } = this.options.endpointOf(this.options.me);
    this.server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => resolve());
    });
    for (let i = 0; i < this.options.committee.size; i++) {
      if (i !== this.options.me) this.outbound.set(i, new Outbound(i, this.options));
    }
  }

  private accept(socket: net.Socket): void {
    const log = this.options.logger;
    if (this.unauthenticated >= MAX_UNAUTHENTICATED) {
      log.debug("too many connections in handshake, refusing", { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    this.unauthenticated++;
    socket.setNoDelay(true);
    this.inbound.add(socket);
    const handshake = new Handshake(this.options.key, this.options.committee, this.options.domain);
    // One decoder for the whole stream: the peer's first data frames may share a chunk with its Auth.
    const decoder = new FrameDecoder(this.options.maxFrame);
    let peer: AuthorityIndex | undefined;
    const timeout = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    const authenticated = (p: AuthorityIndex): void => {
      peer = p;
      clearTimeout(timeout);
      this.unauthenticated--;
      this.inboundOf.get(p)?.destroy(); // a reconnecting peer: its old link is dead or dying
      this.inboundOf.set(p, socket);
    };
    socket.write(Buffer.concat(frame(handshake.hello())));
    socket.on("data", (chunk) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        log.warn("malformed stream from peer, disconnecting", { peer, err: String(err) });
        socket.destroy();
        return;
      }
      for (const f of frames) {
        if (peer !== undefined) {
          this.handler(peer, f);
          continue;
        }
        try {
          if (f.length > MAX_HANDSHAKE_FRAME) throw new Error("oversized handshake frame");
          const reply = handshake.receive(f);
          if (reply === "done") {
            authenticated(handshake.peer!);
            continue;
          }
          socket.write(Buffer.concat(frame(reply)));
        } catch (err) {
          const level = err instanceof EpochMismatch ? "info" : "warn";
          log[level]("inbound peer refused", { err: String(err), remote: socket.remoteAddress });
          socket.destroy();
          return;
        }
      }
      if (peer === undefined && decoder.bufferedBytes > MAX_PRE_AUTH_BUFFER) {
        log.warn("unauthenticated peer sent more than a handshake, disconnecting", { remote: socket.remoteAddress });
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timeout);
      this.inbound.delete(socket);
      if (peer === undefined) this.unauthenticated--;
      else if (this.inboundOf.get(peer) === socket) this.inboundOf.delete(peer);
    });
  }

  /**
   * Sends a frame to one member (to ourselves it is delivered asynchronously).
   * Returns false if it was dropped because that peer's queue is full.
   */
  send(to: AuthorityIndex, payload: Buffer): boolean {
    if (to === this.options.me) {
      setImmediate(() => this.handler(to, payload));
      return true;
    }
    return this.outbound.get(to)?.send(payload) ?? false;
  }

  /** Sends a frame to every other member. */
  broadcast(payload: Buffer): void {
    for (const o of this.outbound.values()) o.send(payload);
  }

  /** Bytes queued towards `peer` (for callers that want to slow down). */
  pending(peer: AuthorityIndex): number {
    return this.outbound.get(peer)?.pending ?? 0;
  }

  /** Closes every link and the listener. */
  async close(): Promise<void> {
    for (const o of this.outbound.values()) o.close();
    for (const s of this.inbound) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
