/**
 * The framed channel between the gateway and a service process (docs/functions.md "Service
 * framework"): one persistent socket, created by the supervisor as the child's extra stdio pipe
 * (a socketpair: no address, so no other process can reach it), carrying many requests at once
 * in small length-prefixed frames instead of one HTTP exchange per request. Frames:
 * `u32 payload length ‖ u32 exchange id ‖ u8 kind ‖ payload`; a payload is at most
 * {@link MAX_PAYLOAD} bytes, a head is JSON, a body goes in chunks of at most {@link CHUNK}. A
 * request without a body and a small answer are each one frame ({@link Kind.Request}'s `end`,
 * {@link Kind.Response}): the common warm request crosses as one frame each way.
 * A response body flows in windows of {@link WINDOW} bytes the gateway grants once its client took
 * the previous one, so a slow client never makes the node process hold a large answer.
 */
import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { LRUCache } from "lru-cache";

/** The service process's file descriptor of its end of the channel (its stdio pipe 4; the supervisor holds the other end). */
export const CHANNEL_FD = 4;
/** Largest payload of one frame; a peer that announces more is broken and the channel closes. */
export const MAX_PAYLOAD = 256 * 1024;
/** Largest body chunk in one frame. */
export const CHUNK = 64 * 1024;
/** Response body bytes the service may send before the gateway grants more. */
export const WINDOW = 4 * CHUNK;
const HEADER = 9;
/** Binary payloads up to this size are copied into their frame's buffer (see FrameSocket.send). */
const JOIN_BELOW = 4096;

/** Frame kinds. */
export const enum Kind {
  /** gateway → service: `{method, url, headers, end?}`; `end: true`: there is no body (no {@link RequestEnd} follows) */
  Request = 1,
  /** gateway → service: a chunk of the request body */
  RequestBody = 2,
  /** gateway → service: the request body is complete */
  RequestEnd = 3,
  /** gateway → service: the client left; drop the exchange */
  Cancel = 4,
  /** service → gateway: `{status, headers}` */
  ResponseHead = 5,
  /** service → gateway: a chunk of the response body */
  ResponseBody = 6,
  /** service → gateway: the response is complete */
  ResponseEnd = 7,
  /** gateway → service: send the next {@link WINDOW} of the response body */
  More = 8,
  /**
   * gateway → service: content handed with a request (a function's bundle, so a cold start does
   * not read it back over HTTP), announced in the request's head as `attachment: {key, length}`
   * and sent right after it, in one frame (at most {@link MAX_PAYLOAD} bytes). One that was not
   * announced, comes late or differs from its announced length is dropped: the request runs
   * without it, and the channel keeps serving.
   */
  Attachment = 9,
  /**
   * service → gateway: a whole answer, `u32 head length ‖ {status, headers} ‖ body`, the body at
   * most {@link CHUNK} bytes (within the first window): head, body and end in one frame.
   */
  Response = 10,
}

/** Content a gateway hands a service with one request (see {@link Kind.Attachment}). */
export interface Attachment {
  /** What the content is, in the service's terms (the functions service: the bundle's root). */
  key: string;
  bytes: Buffer;
}

/** A request as a service process receives it over the channel. */
export interface ServiceRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body, in chunks; ends early (with an error) when the client leaves. */
  body: AsyncIterable<Buffer>;
  /** Content the gateway handed with this request, if any (a function's bundle). */
  attachment?: Attachment;
}

/** A service's complete answer. */
export interface ServiceAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A broken peer: the channel closes and every exchange on it fails. */
export class ChannelError extends Error {}

/**
 * Frames in both directions over one socket: parses what arrives (refusing oversized or unknown
 * frames) and batches what is sent in one tick into one write.
 */
export class FrameSocket {
  private pending: Buffer | undefined;
  private corked = false;

  constructor(
    readonly socket: Socket,
    onFrame: (id: number, kind: Kind, payload: Buffer) => void,
    onClose: (reason: string) => void,
  ) {
    socket.on("data", (chunk: Buffer) => {
      try {
        this.read(chunk, onFrame);
      } catch (error) {
        socket.destroy();
        onClose(error instanceof Error ? error.message : String(error));
      }
    });
    socket.on("error", (error) => onClose(error.message));
    socket.on("close", () => onClose("channel closed"));
  }

  /** Queues one frame; returns false when the socket's buffer is full (wait for `drain`). */
  send(id: number, kind: Kind, payload?: Uint8Array | string): boolean {
    if (this.socket.destroyed) return false;
    const length = typeof payload === "string" ? Buffer.byteLength(payload) : (payload?.byteLength ?? 0);
    if (length > MAX_PAYLOAD) throw new ChannelError(`frame of ${length} bytes over the ${MAX_PAYLOAD}-byte limit`);
    // A head (a string) or a small chunk goes in the same buffer as its frame header: one write
    // and one buffer per frame rather than two; a large chunk is not copied.
    const joined = typeof payload === "string" || length <= JOIN_BELOW;
    const frame = Buffer.allocUnsafe(joined ? HEADER + length : HEADER);
    frame.writeUInt32BE(length, 0);
    frame.writeUInt32BE(id, 4);
    frame.writeUInt8(kind, 8);
    if (typeof payload === "string") frame.write(payload, HEADER);
    else if (joined && payload) frame.set(payload, HEADER);
    this.corkForTick();
    const flowing = this.socket.write(frame);
    return joined ? flowing : this.socket.write(payload as Uint8Array);
  }

  /** Queues a {@link Kind.Response} frame: `head` and `body` (at most {@link CHUNK} bytes) as one answer. */
  sendResponse(id: number, head: string, body: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    const headLength = Buffer.byteLength(head);
    const length = 4 + headLength + body.byteLength;
    if (length > MAX_PAYLOAD || body.byteLength > CHUNK) throw new ChannelError(`an answer of ${length} bytes does not fit one frame`);
    // As in send: a small body is copied into the frame's buffer, a large one written after it.
    const joined = body.byteLength <= JOIN_BELOW;
    const frame = Buffer.allocUnsafe(HEADER + 4 + headLength + (joined ? body.byteLength : 0));
    frame.writeUInt32BE(length, 0);
    frame.writeUInt32BE(id, 4);
    frame.writeUInt8(Kind.Response, 8);
    frame.writeUInt32BE(headLength, HEADER);
    frame.write(head, HEADER + 4);
    if (joined) frame.set(body, HEADER + 4 + headLength);
    this.corkForTick();
    const flowing = this.socket.write(frame);
    return joined ? flowing : this.socket.write(body);
  }

  /** Every frame of this tick goes out in one write. */
  private corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private read(chunk: Buffer, onFrame: (id: number, kind: Kind, payload: Buffer) => void): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= HEADER) {
      const length = data.readUInt32BE(at);
      if (length > MAX_PAYLOAD) throw new ChannelError(`frame of ${length} bytes over the ${MAX_PAYLOAD}-byte limit`);
      if (data.length - at < HEADER + length) break;
      const kind = data.readUInt8(at + 8);
      if (kind < Kind.Request || kind > Kind.Response) throw new ChannelError(`unknown frame kind ${kind}`);
      onFrame(data.readUInt32BE(at + 4), kind, data.subarray(at + HEADER, at + HEADER + length));
      at += HEADER + length;
    }
    data = data.subarray(at);
    // Copied when kept, so a small remainder never pins a large read buffer.
    this.pending = data.length > 0 ? Buffer.from(data) : undefined;
  }
}

/** Called once per exchange with the service's status and headers (none: no answer came); returns the headers to send. */
export type ChannelHook = (status: number, headers: IncomingHttpHeaders | undefined) => IncomingHttpHeaders | undefined;

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  hook: ChannelHook;
  failed: (reason: string) => void;
  headSent: boolean;
  received: number;
  granted: number;
}

/** At most this many requests are in the service at once; more wait in order (as an HTTP agent's `maxSockets`). */
const MAX_INFLIGHT = 256;
/**
 * Keys of attachments a channel remembers having handed (the most recent); one forgotten is only
 * handed again, one the service dropped meanwhile is read by the service itself, as without one.
 */
const ATTACHED_KEYS = 4096;

/** The gateway's end of a service's channel. */
export class ChannelClient {
  private readonly frames: FrameSocket;
  private readonly exchanges = new Map<number, Exchange>();
  private readonly waiting: (() => void)[] = [];
  /** Requests whose body waits for the socket to drain. */
  private readonly paused = new Set<IncomingMessage>();
  private nextId = 0;
  private closedFor: string | undefined;
  private readonly attached = new LRUCache<string, true>({ max: ATTACHED_KEYS });

  constructor(
    socket: Socket,
    /** Called once when the channel breaks (the service is then restarted by its owner). */
    private readonly onBroken: (reason: string) => void,
  ) {
    this.frames = new FrameSocket(
      socket,
      (id, kind, payload) => this.frame(id, kind, payload),
      (reason) => this.close(reason),
    );
    socket.on("drain", () => {
      for (const req of this.paused) req.resume();
      this.paused.clear();
    });
  }

  /** Whether an attachment keyed `key` is worth handing: this channel has not handed it before (as far as it remembers). */
  wantsAttachment(key: string): boolean {
    return this.closedFor === undefined && !this.attached.has(key);
  }

  /**
   * Sends `req` to the service as `url` and answers `res` with what comes back. `hook` sees the
   * status and headers first; `failed` writes the answer for a service that gave none.
   * `attachment` (at most {@link MAX_PAYLOAD} bytes, else not sent) goes with the request.
   */
  forward(req: IncomingMessage, res: ServerResponse, url: string, hook: ChannelHook, failed: (reason: string) => void, attachment?: Attachment): void {
    if (this.closedFor !== undefined) return failed(this.closedFor);
    if (this.exchanges.size >= MAX_INFLIGHT) {
      this.waiting.push(() => (res.destroyed ? failed("the client left") : this.forward(req, res, url, hook, failed, attachment)));
      return;
    }
    const attached = attachment !== undefined && attachment.bytes.byteLength <= MAX_PAYLOAD ? attachment : undefined;
    // A request without a body (no or a zero length, no chunked encoding) is complete with its head.
    const length = req.headers["content-length"];
    const bodyless = (length === undefined || length === "0") && req.headers["transfer-encoding"] === undefined;
    // Node's limit on a request's head (16 KiB) keeps this far below a frame's limit.
    const head = JSON.stringify({
      method: req.method,
      url,
      headers: req.headers,
      ...(attached ? { attachment: { key: attached.key, length: attached.bytes.byteLength } } : {}),
      ...(bodyless ? { end: true } : {}),
    });
    if (Buffer.byteLength(head) > MAX_PAYLOAD) return failed(`the request's head is over ${MAX_PAYLOAD} bytes`);
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    const exchange: Exchange = { req, res, hook, failed, headSent: false, received: 0, granted: WINDOW };
    this.exchanges.set(id, exchange);
    let requestSent = false;
    res.on("close", () => {
      if (this.exchanges.get(id) !== exchange) return;
      // The client left: the service drops the exchange, and no answer is owed (nor receipted).
      this.finish(id);
      if (!exchange.headSent) hook(502, undefined);
      // (A request whose head has not gone out is unknown to the service.)
      if (requestSent) this.frames.send(id, Kind.Cancel);
    });
    const sendHead = () => {
      requestSent = true;
      this.frames.send(id, Kind.Request, head);
      if (attached) {
        this.frames.send(id, Kind.Attachment, attached.bytes);
        this.attached.set(attached.key, true);
      }
    };
    if (bodyless) return sendHead();
    // A request with a body crosses with it: its head goes out with the body's first chunk (which
    // Node emits a tick after the head) and its end with the body's last announced byte (Node's
    // parser holds a body to its content-length) rather than a tick later with the 'end' event, so
    // a small POST is one write to the service, as a GET is, instead of three.
    const announced = length !== undefined ? Number(length) : -1;
    let received = 0;
    let ended = false;
    const end = () => {
      if (ended || this.exchanges.get(id) !== exchange) return;
      ended = true;
      if (!requestSent) sendHead();
      this.frames.send(id, Kind.RequestEnd);
    };
    req.on("data", (chunk: Buffer) => {
      if (this.exchanges.get(id) !== exchange) return;
      if (!requestSent) sendHead();
      let full = false;
      for (let at = 0; at < chunk.length; at += CHUNK) full = !this.frames.send(id, Kind.RequestBody, chunk.subarray(at, at + CHUNK)) || full;
      received += chunk.length;
      if (received === announced) end();
      if (full) {
        req.pause();
        this.paused.add(req);
      }
    });
    req.on("end", end);
  }

  /** Fails every exchange and refuses new ones. */
  close(reason: string): void {
    if (this.closedFor !== undefined) return;
    this.closedFor = reason;
    this.frames.socket.destroy();
    for (const [id, exchange] of [...this.exchanges]) {
      this.finish(id);
      if (exchange.headSent) exchange.res.destroy();
      else exchange.failed(reason);
    }
    for (const retry of this.waiting.splice(0)) retry();
    this.onBroken(reason);
  }

  private frame(id: number, kind: Kind, payload: Buffer): void {
    const exchange = this.exchanges.get(id);
    // Frames of an exchange the client already left are dropped.
    if (!exchange) return;
    const { res } = exchange;
    if (kind === Kind.ResponseHead && !exchange.headSent) {
      this.writeHead(id, exchange, payload);
    } else if (kind === Kind.Response && !exchange.headSent) {
      const headLength = payload.length >= 4 ? payload.readUInt32BE(0) : -1;
      if (headLength < 0 || headLength > payload.length - 4) throw new ChannelError(`exchange ${id}: malformed answer frame`);
      const body = payload.subarray(4 + headLength);
      if (body.length > CHUNK) throw new ChannelError(`exchange ${id}: answer frame with ${body.length} bytes of body`);
      if (!this.writeHead(id, exchange, payload.subarray(4, 4 + headLength))) return;
      this.finish(id);
      res.end(body);
    } else if (kind === Kind.ResponseBody && exchange.headSent) {
      exchange.received += payload.length;
      if (exchange.received > exchange.granted) throw new ChannelError(`exchange ${id} sent more body than granted`);
      const flowing = res.write(payload);
      if (exchange.received === exchange.granted) {
        const grant = () => {
          if (this.exchanges.get(id) !== exchange) return;
          exchange.granted += WINDOW;
          this.frames.send(id, Kind.More);
        };
        if (flowing) grant();
        else res.once("drain", grant);
      }
    } else if (kind === Kind.ResponseEnd && exchange.headSent) {
      this.finish(id);
      res.end();
    } else {
      throw new ChannelError(`unexpected frame kind ${kind} for exchange ${id}`);
    }
  }

  /** Writes the head the service sent; false when Node refused it (that exchange alone fails). */
  private writeHead(id: number, exchange: Exchange, payload: Buffer): boolean {
    const head = JSON.parse(payload.toString("utf8")) as { status: number; headers: IncomingHttpHeaders };
    if (!Number.isInteger(head.status) || head.status < 100 || head.status > 599) throw new ChannelError(`bad status ${head.status}`);
    exchange.headSent = true;
    try {
      exchange.res.writeHead(head.status, exchange.hook(head.status, head.headers) ?? head.headers);
      return true;
    } catch {
      // Headers Node refuses to send (the service checks them first): this exchange fails alone.
      this.finish(id);
      this.frames.send(id, Kind.Cancel);
      exchange.res.destroy();
      return false;
    }
  }

  private finish(id: number): void {
    const exchange = this.exchanges.get(id);
    if (!exchange) return;
    this.exchanges.delete(id);
    this.paused.delete(exchange.req);
    // The rest of a body the service no longer wants is read and dropped by Node's server.
    exchange.req.removeAllListeners("data");
    exchange.req.resume();
    this.waiting.shift()?.();
  }
}

/** A request body as it arrives: its chunks in order, then its end, or the client's leaving (an error). */
class IncomingBody implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Drops what is buffered; a reader still waiting gets `error`. */
  fail(error: Error): void {
    this.error = error;
    this.chunks.length = 0;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      if (this.error) throw this.error;
      const chunk = this.chunks.shift();
      if (chunk) yield chunk;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

interface Answering {
  body: IncomingBody;
  cancelled: boolean;
  /** The request, held until the attachment its head announced arrives. */
  awaiting?: { request: ServiceRequest; key: string; length: number };
  /** Set once the answer is known: sends the next window of its body. */
  more?: () => void;
}

/**
 * The service process's end: each request is handed to `invoke` with its body as a stream, and
 * its answer sent back, its body in windows the gateway grants.
 */
export function serveChannel(socket: Socket, invoke: (request: ServiceRequest) => Promise<ServiceAnswer>, onClose: (reason: string) => void): void {
  const answering = new Map<number, Answering>();
  const frames: FrameSocket = new FrameSocket(
    socket,
    (id, kind, payload) => {
      const current = answering.get(id);
      if (kind === Kind.Request && !current) {
        const head = JSON.parse(payload.toString("utf8")) as { method: string; url: string; headers: IncomingHttpHeaders; attachment?: unknown; end?: unknown };
        const state: Answering = { body: new IncomingBody(), cancelled: false };
        if (head.end === true) state.body.end();
        answering.set(id, state);
        const request: ServiceRequest = { method: head.method, url: head.url, headers: head.headers, body: state.body };
        const announced = announcedAttachment(head.attachment);
        if (announced) state.awaiting = { request, ...announced };
        else void answer(id, state, request);
        return;
      }
      if (!current) return; // An exchange this side already finished: the rest of its body, or a late cancel.
      const awaiting = current.awaiting;
      if (awaiting) {
        // The attachment comes right after its head or not at all: any other frame runs the request without it
        // (a cancel: not at all).
        current.awaiting = undefined;
        if (kind === Kind.Cancel) return void answering.delete(id);
        const fits = kind === Kind.Attachment && payload.length === awaiting.length;
        void answer(id, current, fits ? { ...awaiting.request, attachment: { key: awaiting.key, bytes: Buffer.from(payload) } } : awaiting.request);
        if (kind === Kind.Attachment) return;
      }
      if (kind === Kind.RequestBody) current.body.push(payload);
      else if (kind === Kind.RequestEnd) current.body.end();
      else if (kind === Kind.Cancel) {
        current.cancelled = true;
        current.body.fail(new Error("the client went away"));
        answering.delete(id);
      } else if (kind === Kind.More) current.more?.();
      else if (kind === Kind.Attachment)
        return; // not announced, or a second one: dropped
      else throw new ChannelError(`unexpected frame kind ${kind} for exchange ${id}`);
    },
    onClose,
  );

  async function answer(id: number, state: Answering, request: ServiceRequest): Promise<void> {
    let reply: ServiceAnswer;
    try {
      reply = await invoke(request);
    } catch (error) {
      const body = Buffer.from(JSON.stringify({ error: `internal error: ${error instanceof Error ? error.message : String(error)}` }));
      reply = { status: 500, headers: { "content-type": "application/json" }, body };
    }
    if (state.cancelled) return;
    let head = headOf(reply);
    const refused =
      !Number.isInteger(reply.status) || reply.status < 100 || reply.status > 599
        ? `status ${reply.status} is not in 100-599`
        : Buffer.byteLength(head) > MAX_PAYLOAD
          ? `its headers are over ${MAX_PAYLOAD} bytes`
          : invalidHeader(reply.headers);
    if (refused !== undefined) {
      reply = {
        status: 502,
        headers: { "content-type": "application/json" },
        body: Buffer.from(JSON.stringify({ error: `the service's answer cannot be sent: ${refused}` })),
      };
      head = headOf(reply);
    }
    const body = reply.body;
    if (body.byteLength <= CHUNK && Buffer.byteLength(head) + body.byteLength + 4 <= MAX_PAYLOAD) {
      // The whole answer in one frame: one buffer, one frame to parse at the gateway.
      answering.delete(id);
      state.body.fail(new Error("the request was answered"));
      frames.sendResponse(id, head, body);
      return;
    }
    frames.send(id, Kind.ResponseHead, head);
    let sent = 0;
    let allowed = WINDOW;
    state.more = () => {
      allowed += WINDOW;
      send();
    };
    const send = () => {
      while (sent < body.byteLength && sent < allowed) {
        const end = Math.min(body.byteLength, sent + CHUNK, allowed);
        frames.send(id, Kind.ResponseBody, body.subarray(sent, end));
        sent = end;
      }
      if (sent === body.byteLength && answering.get(id) === state) {
        answering.delete(id);
        state.body.fail(new Error("the request was answered"));
        frames.send(id, Kind.ResponseEnd);
      }
    };
    send();
  }
}

/** An attachment a request's head announces, if well formed (`{key: string, length: 0..MAX_PAYLOAD}`); anything else is ignored. */
function announcedAttachment(value: unknown): { key: string; length: number } | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { key, length } = value as { key?: unknown; length?: unknown };
  if (typeof key !== "string" || !Number.isInteger(length) || (length as number) < 0 || (length as number) > MAX_PAYLOAD) return undefined;
  return { key, length: length as number };
}

function headOf(reply: ServiceAnswer): string {
  return JSON.stringify({ status: reply.status, headers: { ...reply.headers, "content-length": String(reply.body.byteLength) } });
}

/** What Node's HTTP server would refuse to send in `headers` (checked here, so one bad answer never breaks the channel). */
function invalidHeader(headers: Record<string, string>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
  return undefined;
}
