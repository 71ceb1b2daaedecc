/**
 * The framed channel between the gateway and a service process (serviceChannel.ts), over a real
 * Unix socket with a real HTTP server in front, as the supervisor runs it (there over the
 * socketpair of the child's stdio; the supervisor's own path is in functions.test.ts: a crashed
 * service answers 502/503 and is restarted). What a broken or hostile service end can send must
 * fail its own requests, never the gateway.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { createServer, request, type Server } from "node:http";
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  ChannelClient,
  FrameSocket,
  Kind,
  MAX_PAYLOAD,
  serveChannel,
  WINDOW,
  type ServiceAnswer,
  type ServiceRequest,
} from "../../../node/services/serviceChannel";

/** Two connected sockets (the service's end first). */
async function socketPair(dir: string): Promise<[Socket, Socket]> {
  const file = path.join(dir, `pair-${Math.random().toString(36).slice(2)}.sock`);
  const server = createNetServer();
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const client = connect(file);
  const serviceEnd = await accepted;
  server.close();
  return [serviceEnd, client];
}

interface Gateway {
  url: string;
  server: Server;
  broken: string[];
  hooks: (number | undefined)[];
}

/** An HTTP server forwarding every request over the channel, as ServiceSupervisor.route does. */
async function gatewayOver(socket: Socket): Promise<Gateway> {
  const broken: string[] = [];
  const hooks: (number | undefined)[] = [];
  const channel = new ChannelClient(socket, (reason) => broken.push(reason));
  const server = createServer((req, res) => {
    channel.forward(
      req,
      res,
      req.url ?? "/",
      (status, headers) => {
        hooks.push(headers ? status : undefined);
        return headers;
      },
      (reason) => {
        hooks.push(undefined);
        if (res.headersSent) return res.destroy();
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `service failed while answering: ${reason}` }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, broken, hooks };
}

async function bodyOf(request: ServiceRequest): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of request.body) parts.push(part);
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("service channel (issue 19: the gateway → service hop)", function () {
  this.timeout(60_000);
  let dir: string;
  const servers: Server[] = [];
  const sockets: Socket[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "channel-"));
  });
  afterEach(() => {
    for (const s of servers.splice(0)) (s.closeAllConnections(), s.close());
    for (const s of sockets.splice(0)) s.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function setUp(invoke: (request: ServiceRequest) => Promise<ServiceAnswer>): Promise<Gateway> {
    const [serviceEnd, gatewayEnd] = await socketPair(dir);
    sockets.push(serviceEnd, gatewayEnd);
    serveChannel(serviceEnd, invoke, () => undefined);
    const gateway = await gatewayOver(gatewayEnd);
    servers.push(gateway.server);
    return gateway;
  }

  it("carries many requests at once over one socket, bodies both ways intact, an answer of many windows included", async () => {
    const gateway = await setUp(async (request) => {
      const body = await bodyOf(request);
      const size = Number(new URL(request.url, "http://x").searchParams.get("answer"));
      const answer = Buffer.alloc(size);
      for (let i = 0; i < size; i++) answer[i] = (i * 7 + 3) & 0xff;
      return { status: 200, headers: { "x-method": request.method, "x-request-sha": sha(body), "x-test": String(request.headers["x-test"]) }, body: answer };
    });
    // Sizes on both sides of the chunk (64 KiB) and window (256 KiB) boundaries; 3 MiB is 12 windows.
    const sizes = [0, 1, 65_535, 65_536, 65_537, WINDOW - 1, WINDOW, WINDOW + 1, 3 * 2 ** 20];
    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const requestBody = Buffer.alloc(sizes[(i + 3) % sizes.length], i & 0xff);
        const answerSize = sizes[i % sizes.length];
        const answer = await fetch(`${gateway.url}/echo?answer=${answerSize}`, {
          method: requestBody.length > 0 ? "POST" : "GET",
          body: requestBody.length > 0 ? requestBody : undefined,
          headers: { "x-test": `t${i}` },
        });
        const received = Buffer.from(await answer.arrayBuffer());
        const expected = Buffer.alloc(answerSize);
        for (let k = 0; k < answerSize; k++) expected[k] = (k * 7 + 3) & 0xff;
        expect(answer.status).to.equal(200);
        expect(answer.headers.get("x-request-sha")).to.equal(sha(requestBody));
        expect(answer.headers.get("x-test")).to.equal(`t${i}`);
        expect(answer.headers.get("content-length")).to.equal(String(answerSize));
        expect(received.equals(expected), `answer ${i} (${answerSize} bytes)`).to.equal(true);
        return answerSize;
      }),
    );
    expect(results.filter((s) => s > WINDOW).length).to.be.greaterThan(0);
    expect(gateway.broken).to.deep.equal([]);
  });

  it("sends a request without a body as one frame and a small answer as one frame; a large answer in windows as before", async () => {
    // The service end as serveChannel runs it, the gateway's end read frame by frame.
    const [serviceEnd, gatewayEnd] = await socketPair(dir);
    sockets.push(serviceEnd, gatewayEnd);
    const requests: { url: string; body: string }[] = [];
    serveChannel(
      serviceEnd,
      async (request) => {
        const body = (await bodyOf(request)).toString();
        requests.push({ url: request.url, body });
        const size = request.url === "/large" ? 65_537 : 5;
        return { status: 201, headers: { "x-url": request.url }, body: Buffer.alloc(size, 97) };
      },
      () => undefined,
    );
    const received: { id: number; kind: Kind; payload: Buffer }[] = [];
    const frames = new FrameSocket(
      gatewayEnd,
      (id, kind, payload) => received.push({ id, kind, payload: Buffer.from(payload) }),
      () => undefined,
    );
    frames.send(1, Kind.Request, JSON.stringify({ method: "GET", url: "/small", headers: {}, end: true }));
    await waitFor(() => received.length >= 1);
    // The head's `end`: the body is complete without a RequestEnd frame, and the answer is one frame.
    expect(requests).to.deep.equal([{ url: "/small", body: "" }]);
    expect(received.map((f) => [f.id, f.kind])).to.deep.equal([[1, Kind.Response]]);
    const headLength = received[0].payload.readUInt32BE(0);
    expect(JSON.parse(received[0].payload.subarray(4, 4 + headLength).toString())).to.deep.equal({
      status: 201,
      headers: { "x-url": "/small", "content-length": "5" },
    });
    expect(received[0].payload.subarray(4 + headLength).toString()).to.equal("aaaaa");
    // Without `end` the body still comes in frames; an answer over a chunk goes as head, body, end.
    frames.send(2, Kind.Request, JSON.stringify({ method: "POST", url: "/large", headers: {} }));
    frames.send(2, Kind.RequestBody, "posted");
    frames.send(2, Kind.RequestEnd);
    await waitFor(() => received.some((f) => f.id === 2 && f.kind === Kind.ResponseEnd));
    expect(requests[1]).to.deep.equal({ url: "/large", body: "posted" });
    expect(received.filter((f) => f.id === 2).map((f) => [f.kind, f.payload.length])).to.deep.equal([
      [Kind.ResponseHead, received.find((f) => f.id === 2)!.payload.length],
      [Kind.ResponseBody, 65_536],
      [Kind.ResponseBody, 1],
      [Kind.ResponseEnd, 0],
    ]);

    // The gateway's end, with the service's end read frame by frame: a GET is one frame, and a
    // one-frame answer reaches the client whole.
    const [rawService, rawGateway] = await socketPair(dir);
    sockets.push(rawService, rawGateway);
    const gateway = await gatewayOver(rawGateway);
    servers.push(gateway.server);
    const seen: [number, Kind][] = [];
    const service: FrameSocket = new FrameSocket(
      rawService,
      (id, kind, payload) => {
        seen.push([id, kind]);
        if (kind === Kind.Request && (JSON.parse(payload.toString()) as { end?: boolean }).end === true)
          service.sendResponse(id, JSON.stringify({ status: 202, headers: { "content-length": "2" } }), Buffer.from("ok"));
      },
      () => undefined,
    );
    const answer = await fetch(gateway.url + "/one");
    expect([answer.status, await answer.text()]).to.deep.equal([202, "ok"]);
    // A POST with an empty body (content-length: 0) is complete with its head too.
    const empty = await fetch(gateway.url + "/empty", { method: "POST", body: "" });
    expect([empty.status, await empty.text()]).to.deep.equal([202, "ok"]);
    expect(seen).to.deep.equal([
      [1, Kind.Request],
      [2, Kind.Request],
    ]);
    expect(gateway.hooks).to.deep.equal([202, 202]);
    // A small POST whose body came with its head: head, body and end in one write (the end is sent
    // with the body's last announced byte, not a tick later with the request's 'end' event).
    // The gateway end's socket writes, each a system call (net.Socket's _write and _writev).
    const socket = rawGateway as unknown as Record<"_write" | "_writev", (...args: unknown[]) => void>;
    const writes: number[] = [];
    for (const name of ["_write", "_writev"] as const) {
      const original = socket[name].bind(socket);
      socket[name] = (...args: unknown[]) => (writes.push(name === "_writev" ? (args[0] as unknown[]).length : 1), original(...args));
    }
    const posted = new Promise<void>((resolve, reject) => {
      const req = request(gateway.url + "/post", { method: "POST", headers: { "content-length": "5" } }, (res) => res.resume().on("end", resolve));
      req.on("error", reject);
      req.end("hello");
    });
    await waitFor(() => seen.some(([, kind]) => kind === Kind.RequestEnd));
    expect(seen.slice(2)).to.deep.equal([
      [3, Kind.Request],
      [3, Kind.RequestBody],
      [3, Kind.RequestEnd],
    ]);
    expect(writes).to.deep.equal([3]);
    service.sendResponse(3, JSON.stringify({ status: 200, headers: { "content-length": "0" } }), Buffer.alloc(0));
    await posted;
    expect(gateway.broken).to.deep.equal([]);
  });

  it("holds a slow client's answer in the service, not the gateway: the service sends only the windows the client took", async () => {
    const [serviceEnd, gatewayEnd] = await socketPair(dir);
    sockets.push(serviceEnd, gatewayEnd);
    let sent = 0;
    const write = serviceEnd.write.bind(serviceEnd) as (chunk: Uint8Array) => boolean;
    serviceEnd.write = ((chunk: Uint8Array) => {
      sent += chunk.byteLength;
      return write(chunk);
    }) as typeof serviceEnd.write;
    const size = 64 * 2 ** 20;
    serveChannel(
      serviceEnd,
      async () => ({ status: 200, headers: {}, body: Buffer.alloc(size, 7) }),
      () => undefined,
    );
    const gateway = await gatewayOver(gatewayEnd);
    servers.push(gateway.server);
    const response = await new Promise<import("node:http").IncomingMessage>((resolve) =>
      request(gateway.url + "/big", (r) => {
        r.pause();
        resolve(r);
      }).end(),
    );
    // Sockets and buffers between the client and the gateway take a few MiB; then the windows stop.
    let last = -1;
    let stable = 0;
    await waitFor(() => {
      stable = sent === last ? stable + 1 : 0;
      last = sent;
      return sent > 0 && stable >= 50;
    });
    expect(sent, "bytes the service sent while the client read nothing").to.be.below(size / 2);
    let received = 0;
    response.on("data", (chunk: Buffer) => (received += chunk.length));
    response.resume();
    await new Promise((resolve) => response.on("end", resolve));
    expect(received).to.equal(size);
    expect(gateway.broken).to.deep.equal([]);
  });

  it("answers 502 for headers or a status Node cannot send, and the channel keeps serving", async () => {
    const gateway = await setUp(async (request): Promise<ServiceAnswer> => {
      if (request.url === "/bad-name") return { status: 200, headers: { "bad name": "x" }, body: Buffer.from("x") };
      if (request.url === "/bad-value") return { status: 200, headers: { "x-a": "line\r\nx-injected: 1" }, body: Buffer.from("x") };
      if (request.url === "/bad-status") return { status: 1000, headers: {}, body: Buffer.from("x") };
      if (request.url === "/huge-headers") return { status: 200, headers: { "x-a": "a".repeat(MAX_PAYLOAD) }, body: Buffer.from("x") };
      return { status: 200, headers: {}, body: Buffer.from("fine") };
    });
    for (const [route, reason] of [
      ["/bad-name", /Header name must be a valid HTTP token/],
      ["/bad-value", /Invalid character in header content/],
      ["/bad-status", /status 1000 is not in 100-599/],
      ["/huge-headers", /headers are over 262144 bytes/],
    ] as const) {
      const answer = await fetch(gateway.url + route);
      expect(answer.status, route).to.equal(502);
      expect(((await answer.json()) as { error: string }).error).to.match(reason);
      expect(answer.headers.get("x-injected")).to.equal(null);
      const next = await fetch(gateway.url + "/ok");
      expect(await next.text()).to.equal("fine");
    }
    expect(gateway.broken).to.deep.equal([]);
  });

  it("drops an exchange whose client left: the service's body read fails, its answer is not sent, the channel keeps serving", async () => {
    let sawLeaving: string | undefined;
    let started = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const gateway = await setUp(async (request) => {
      if (request.url === "/slow") {
        started = true;
        try {
          await bodyOf(request);
        } catch (error) {
          sawLeaving = (error as Error).message;
        }
        await released;
        return { status: 200, headers: {}, body: Buffer.from("late") };
      }
      return { status: 200, headers: {}, body: Buffer.from("fine") };
    });
    // A request whose body never ends, then the client goes away.
    const port = Number(new URL(gateway.url).port);
    const pending = request({ host: "127.0.0.1", port, path: "/slow", method: "POST", headers: { "content-length": "1000" } });
    pending.on("error", () => undefined);
    pending.write("partial");
    await waitFor(() => started);
    pending.destroy();
    await waitFor(() => sawLeaving !== undefined);
    expect(sawLeaving).to.equal("the client went away");
    // The reservation a paid gateway made is released: the hook saw "no answer".
    expect(gateway.hooks).to.deep.equal([undefined]);
    release();
    expect(await (await fetch(gateway.url + "/ok")).text()).to.equal("fine");
    expect(gateway.broken).to.deep.equal([]);
  });

  it("hands an attachment with its request, once per key, and not one over a frame's size", async () => {
    const [serviceEnd, gatewayEnd] = await socketPair(dir);
    sockets.push(serviceEnd, gatewayEnd);
    const seen: { url: string; key?: string; sha?: string; length?: number }[] = [];
    serveChannel(
      serviceEnd,
      async (request) => {
        const a = request.attachment;
        seen.push({ url: request.url, key: a?.key, sha: a && sha(a.bytes), length: a?.bytes.length });
        return { status: 200, headers: {}, body: await bodyOf(request) };
      },
      () => undefined,
    );
    const channel = new ChannelClient(gatewayEnd, () => undefined);
    const bundle = Buffer.alloc(MAX_PAYLOAD, 7);
    const server = createServer((req, res) => {
      const key = req.url === "/big" ? "big" : "k1";
      const bytes = req.url === "/big" ? Buffer.alloc(MAX_PAYLOAD + 1) : bundle;
      const attachment = channel.wantsAttachment(key) ? { key, bytes } : undefined;
      channel.forward(
        req,
        res,
        req.url ?? "/",
        (_, headers) => headers,
        () => res.destroy(),
        attachment,
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const first = await fetch(url + "/a", { method: "POST", body: "with a body" });
    expect(await first.text()).to.equal("with a body");
    await (await fetch(url + "/b")).arrayBuffer();
    await (await fetch(url + "/big")).arrayBuffer();
    expect(seen).to.deep.equal([
      // Exactly MAX_PAYLOAD bytes cross, intact, with the request's own body after them.
      { url: "/a", key: "k1", sha: sha(bundle), length: MAX_PAYLOAD },
      // Handed once: the next request for the same key goes without.
      { url: "/b", key: undefined, sha: undefined, length: undefined },
      // One byte over a frame: not sent (the service reads it itself).
      { url: "/big", key: undefined, sha: undefined, length: undefined },
    ]);
    expect(channel.wantsAttachment("big")).to.equal(true);
  });

  it("drops a malformed, unannounced, late or mismatched attachment: the request runs without it and the service keeps serving", async () => {
    const [serviceEnd, gatewayEnd] = await socketPair(dir);
    sockets.push(serviceEnd, gatewayEnd);
    const seen = new Map<string, string | undefined>();
    let closed: string | undefined;
    serveChannel(
      serviceEnd,
      async (request) => {
        seen.set(request.url, request.attachment?.bytes.toString());
        return { status: 200, headers: {}, body: Buffer.from(request.url) };
      },
      (reason) => (closed = reason),
    );
    const answers = new Map<number, number>();
    const frames = new FrameSocket(
      gatewayEnd,
      (id, kind) => {
        if (kind === Kind.ResponseHead || kind === Kind.Response) answers.set(id, (answers.get(id) ?? 0) + 1);
      },
      () => undefined,
    );
    const head = (id: number, url: string, attachment?: unknown) =>
      frames.send(id, Kind.Request, JSON.stringify({ method: "GET", url, headers: {}, ...(attachment === undefined ? {} : { attachment }) }));
    // Announced 5 bytes, sent 3: dropped.
    head(1, "/short", { key: "k", length: 5 });
    frames.send(1, Kind.Attachment, "abc");
    frames.send(1, Kind.RequestEnd);
    // Announced over a frame's size, or not a length at all: the announcement is ignored, and so is what follows.
    head(2, "/huge", { key: "k", length: MAX_PAYLOAD + 1 });
    frames.send(2, Kind.Attachment, "abc");
    frames.send(2, Kind.RequestEnd);
    head(3, "/nokey", { length: 3 });
    frames.send(3, Kind.Attachment, "abc");
    frames.send(3, Kind.RequestEnd);
    // Not announced; and one for an exchange that never began.
    head(4, "/unannounced");
    frames.send(4, Kind.Attachment, "abc");
    frames.send(4, Kind.RequestEnd);
    frames.send(99, Kind.Attachment, "abc");
    // Announced, but the body's end came first: the request runs without it, the late one is dropped.
    head(5, "/late", { key: "k", length: 3 });
    frames.send(5, Kind.RequestEnd);
    frames.send(5, Kind.Attachment, "abc");
    // Announced and cancelled before it came: never run.
    head(6, "/cancelled", { key: "k", length: 3 });
    frames.send(6, Kind.Cancel);
    // A well-formed one after all that still arrives.
    head(7, "/good", { key: "k", length: 3 });
    frames.send(7, Kind.Attachment, "abc");
    frames.send(7, Kind.RequestEnd);
    await waitFor(() => answers.size === 6);
    expect(Object.fromEntries(seen)).to.deep.equal({
      "/short": undefined,
      "/huge": undefined,
      "/nokey": undefined,
      "/unannounced": undefined,
      "/late": undefined,
      "/good": "abc",
    });
    expect([...answers.keys()].sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 7]);
    expect(closed).to.equal(undefined);
  });

  for (const [name, frame, reason, headFirst] of [
    ["a frame over the size limit", header(MAX_PAYLOAD + 1, 1, 5), /frame of 262145 bytes over the 262144-byte limit/, false],
    ["a frame of an unknown kind", header(0, 1, 99), /unknown frame kind 99/, false],
    ["a head that is not JSON", Buffer.concat([header(3, 1, 5), Buffer.from("{{{")]), /JSON/, false],
    ["more body than the gateway granted", Buffer.concat([headFrame(1), ...bodyFrames(1, WINDOW + 1)]), /sent more body than granted/, true],
    ["an answer frame whose head overruns it", Buffer.concat([header(6, 1, 10), u32(100), Buffer.from("{}")]), /malformed answer frame/, false],
    [
      "an answer frame with more body than a chunk",
      Buffer.concat([header(4 + 2 + 65_537, 1, 10), u32(2), Buffer.from("{}"), Buffer.alloc(65_537)]),
      /answer frame with 65537 bytes of body/,
      false,
    ],
  ] as const) {
    it(`closes the channel on ${name} from the service: its requests fail (502, or cut once their head went out), the gateway keeps running`, async () => {
      const [serviceEnd, gatewayEnd] = await socketPair(dir);
      sockets.push(serviceEnd, gatewayEnd);
      const gateway = await gatewayOver(gatewayEnd);
      servers.push(gateway.server);
      // The service end answers the first request with the hostile bytes.
      serviceEnd.once("data", () => serviceEnd.write(frame));
      if (headFirst) {
        // The head went out: the answer is cut, never completed with the extra bytes.
        const cut = await fetch(gateway.url + "/x")
          .then((a) => a.arrayBuffer())
          .then(
            () => "completed",
            () => "cut",
          );
        expect(cut).to.equal("cut");
      } else {
        const answer = await fetch(gateway.url + "/x");
        expect(answer.status).to.equal(502);
        expect(((await answer.json()) as { error: string }).error).to.match(/service failed while answering/);
      }
      await waitFor(() => gateway.broken.length === 1);
      expect(gateway.broken[0]).to.match(reason);
      // Later requests fail at once with the reason, until the supervisor restarts the service.
      const later = await fetch(gateway.url + "/y");
      expect(later.status).to.equal(502);
      expect(((await later.json()) as { error: string }).error).to.match(reason);
    });
  }
});

function header(length: number, id: number, kind: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt32BE(length, 0);
  b.writeUInt32BE(id, 4);
  b.writeUInt8(kind, 8);
  return b;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

function headFrame(id: number): Buffer {
  const head = Buffer.from(JSON.stringify({ status: 200, headers: {} }));
  return Buffer.concat([header(head.length, id, 5), head]);
}

function bodyFrames(id: number, bytes: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let sent = 0; sent < bytes; sent += 65_536) {
    const n = Math.min(65_536, bytes - sent);
    frames.push(header(n, id, 6), Buffer.alloc(n));
  }
  return frames;
}

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
