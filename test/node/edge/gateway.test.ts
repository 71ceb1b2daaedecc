import { expect } from "chai";
import { generateKeyPairSync, sign } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { DeliveryAckDesk, QueuedAckSink } from "../../../node/acks/deliveryAckDesk";
import { rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";
import { payerBindingToJson, signPayerBinding } from "../../../node/acks/payerBinding";
import { loadBlockHashing } from "../../../node/blockstore/blockHashing";
import { BlockStore } from "../../../node/blockstore/blockStore";
import { FunctionDirectory } from "../../../node/chain/functionDirectory";
import { BLOCK_SIZE, leavesFromOutboard, verifyBlockProof } from "../../../node/blockstore/blockTree";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import { createGatewayHandler, startGateway, type RunningGateway, type ServiceRouter } from "../../../node/gateway/gatewayServer";
import { drained } from "../../../node/gateway/httpReplies";
import type { IncomingMessage, ServerResponse } from "node:http";
import { OriginFetcher } from "../../../node/origins/originFetcher";
import { inPieces, patternBytes, tempDirectory, vectorInput } from "./fixtures";
import { startLoopbackServer, type LoopbackServer } from "./loopbackServer";
import { waitFor } from "../consensus/cluster";

const TOKEN = "operator-secret";

/** A raw HTTP GET that keeps whatever body arrived even if the server cuts the connection. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; cut: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      let cut = false;
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("aborted", () => (cut = true));
      res.on("error", () => (cut = true));
      res.on("close", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), cut: cut || !res.complete }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function corruptByte(directory: string, hash: ContentHash, offset: number): Promise<void> {
  const file = await open(join(directory, "objects", `${hash}.data`), "r+");
  await file.write(Buffer.from([0x5a ^ 0xff]), 0, 1, offset);
  await file.close();
}

describe("edge: HTTP gateway", function () {
  this.timeout(30_000);
  const content = patternBytes(3 * BLOCK_SIZE + 5, 3);
  let dir: Awaited<ReturnType<typeof tempDirectory>>;
  let store: BlockStore;
  let gateway: RunningGateway;
  let origin: LoopbackServer;
  let hash: ContentHash;
  const node = generateKeyPairSync("ed25519");
  const sink = new QueuedAckSink();

  before(async () => {
    origin = await startLoopbackServer((req, res) => {
      if (req.url === "/page.html") return res.writeHead(200, { "content-type": "text/html" }).end("<p>hi</p>");
      if (req.url === "/stall") return void res.writeHead(200, { "content-length": 10 }).write("ab");
      res.writeHead(200).end("not what you asked for");
    });
  });
  after(async () => {
    await origin.close();
  });
  beforeEach(async () => {
    dir = await tempDirectory("gateway");
    store = await BlockStore.open({ directory: dir.path, maxBytes: 256 * 1024 * 1024, verifiedCacheBytes: 0 });
    hash = (await store.put(inPieces(content, 100_000))).hash;
    gateway = await startGateway({
      store,
      origins: new OriginFetcher(store, { responseTimeoutMs: 300, idleTimeoutMs: 300 }),
      operatorToken: TOKEN,
      acks: new DeliveryAckDesk({ nodeKey: rawEd25519PublicKey(node.privateKey), sink }),
    });
  });
  afterEach(async () => {
    await gateway.close();
    await dir.remove();
  });

  it("serves whole content with immutable caching, the root as ETag, length and type", async () => {
    const res = await fetch(`${gateway.url}/blake3/${hash.toUpperCase()}`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("etag")).to.equal(`"${hash}"`);
    expect(res.headers.get("cache-control")).to.equal("public, max-age=31536000, immutable");
    expect(res.headers.get("content-length")).to.equal(String(content.length));
    expect(res.headers.get("content-type")).to.equal("application/octet-stream");
    expect(res.headers.get("accept-ranges")).to.equal("bytes");
    expect(res.headers.get("x-fleek-node")).to.equal(rawEd25519PublicKey(node.privateKey).toString("hex"));
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).to.equal(true);
    const typed = await fetch(`${gateway.url}/blake3/${hash}?mime=image/png`);
    expect(typed.headers.get("content-type")).to.equal("image/png");
    await typed.arrayBuffer();
  });

  it("serves hot content from its verified cache with the same bytes and headers", async () => {
    const cachedStore = await BlockStore.open({ directory: join(dir.path, "cached"), maxBytes: 64 * 1024 * 1024 });
    await cachedStore.put(inPieces(content, 100_000));
    const cachedGateway = await startGateway({ store: cachedStore });
    try {
      for (const range of [undefined, "bytes=0-0", `bytes=${BLOCK_SIZE - 2}-${2 * BLOCK_SIZE + 3}`, "bytes=-3"]) {
        const bodies: Buffer[] = [];
        for (let pass = 0; pass < 2; pass++) {
          const res = await fetch(`${cachedGateway.url}/blake3/${hash}`, { headers: range ? { range } : {} });
          expect(res.status).to.equal(range ? 206 : 200);
          bodies.push(Buffer.from(await res.arrayBuffer()));
        }
        expect(bodies[1].equals(bodies[0]), String(range)).to.equal(true);
      }
      expect(cachedStore.cachedSlices(hash, 0, content.length)?.length).to.equal(4);
      expect(Buffer.concat(cachedStore.cachedSlices(hash, 5, BLOCK_SIZE + 5)!).equals(content.subarray(5, BLOCK_SIZE + 5))).to.equal(true);
    } finally {
      await cachedGateway.close();
    }
  });

  it("answers range requests at the edges", async () => {
    const n = content.length;
    const cases: [string, number, number][] = [
      ["bytes=0-0", 0, 1],
      [`bytes=${BLOCK_SIZE - 1}-${BLOCK_SIZE}`, BLOCK_SIZE - 1, BLOCK_SIZE + 1],
      [`bytes=${BLOCK_SIZE}-${2 * BLOCK_SIZE - 1}`, BLOCK_SIZE, 2 * BLOCK_SIZE],
      ["bytes=-1", n - 1, n],
      [`bytes=-${n + 10}`, 0, n],
      [`bytes=${n - 1}-`, n - 1, n],
      ["bytes=5-99999999999", 5, n],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(`${gateway.url}/blake3/${hash}`, { headers: { range } });
      expect(res.status, range).to.equal(206);
      expect(res.headers.get("content-range"), range).to.equal(`bytes ${start}-${end - 1}/${n}`);
      expect(res.headers.get("content-length"), range).to.equal(String(end - start));
      expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(start, end)), range).to.equal(true);
    }
    for (const range of [`bytes=${n}-`, `bytes=${n + 5}-${n + 9}`, "bytes=5-2", "bytes=abc", "bytes=-0", "bytes=-"]) {
      const res = await fetch(`${gateway.url}/blake3/${hash}`, { headers: { range } });
      expect(res.status, range).to.equal(416);
      expect(res.headers.get("content-range"), range).to.equal(`bytes */${n}`);
      expect(((await res.json()) as { error: string }).error, range).to.be.a("string").and.not.empty;
    }
    // Other units are ignored (RFC 9110), several ranges get the whole content.
    for (const range of ["items=0-1", "bytes=0-1,5-6"]) {
      const res = await fetch(`${gateway.url}/blake3/${hash}`, { headers: { range } });
      expect(res.status, range).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.equal(n);
    }
    const empty = (await store.put(inPieces(Buffer.alloc(0), 1))).hash;
    expect((await fetch(`${gateway.url}/blake3/${empty}`, { headers: { range: "bytes=0-0" } })).status).to.equal(416);
    const whole = await fetch(`${gateway.url}/blake3/${empty}`);
    expect([whole.status, whole.headers.get("content-length"), (await whole.arrayBuffer()).byteLength]).to.deep.equal([200, "0", 0]);
  });

  it("honours If-None-Match and If-Range, and answers HEAD without a body", async () => {
    expect((await fetch(`${gateway.url}/blake3/${hash}`, { headers: { "if-none-match": `"${hash}"` } })).status).to.equal(304);
    const stale = await fetch(`${gateway.url}/blake3/${hash}`, { headers: { range: "bytes=0-0", "if-range": '"other"' } });
    expect(stale.status).to.equal(200);
    await stale.arrayBuffer();
    const head = await rawGet(`${gateway.url}/blake3/${hash}`);
    expect(head.status).to.equal(200);
    const res = await fetch(`${gateway.url}/blake3/${hash}`, { method: "HEAD", headers: { range: "bytes=1-2" } });
    expect([res.status, res.headers.get("content-length"), (await res.arrayBuffer()).byteLength]).to.deep.equal([206, "2", 0]);
  });

  it("gives clear 4xx for bad hashes, unknown content, bad media types and wrong methods", async () => {
    const expectError = async (res: Response, status: number, pattern: RegExp) => {
      expect(res.status).to.equal(status);
      expect(((await res.json()) as { error: string }).error).to.match(pattern);
    };
    await expectError(await fetch(`${gateway.url}/blake3/xyz`), 400, /not a content root/);
    await expectError(await fetch(`${gateway.url}/blake3/${hash.slice(2)}`), 400, /64 hex/);
    await expectError(await fetch(`${gateway.url}/blake3/${"0".repeat(64)}`), 404, /no content/);
    await expectError(await fetch(`${gateway.url}/blake3/${hash}?mime=not a type`), 400, /media type/);
    await expectError(await fetch(`${gateway.url}/blake3/${hash}`, { method: "DELETE" }), 405, /GET or HEAD/);
    await expectError(await fetch(`${gateway.url}/nothing`), 404, /no route/);
    await expectError(await fetch(`${gateway.url}/blake3/${hash}/proof/4`), 400, /0\.\.3/);
  });

  it("never serves a corrupt block: 502 before headers, a cut body after, and the copy is evicted", async () => {
    await corruptByte(dir.path, hash, 10);
    const early = await fetch(`${gateway.url}/blake3/${hash}`);
    expect(early.status).to.equal(502);
    expect(((await early.json()) as { error: string }).error).to.match(/does not match its hash/);
    expect(store.has(hash)).to.equal(false);

    hash = (await store.put(inPieces(content, 100_000))).hash;
    await corruptByte(dir.path, hash, 2 * BLOCK_SIZE + 1);
    const late = await rawGet(`${gateway.url}/blake3/${hash}`);
    expect(late.status).to.equal(200);
    expect(late.cut).to.equal(true);
    expect(late.body.length).to.be.at.most(2 * BLOCK_SIZE);
    expect(late.body.equals(content.subarray(0, late.body.length))).to.equal(true);
    expect(store.has(hash)).to.equal(false);
  });

  it("streams: a client that stops reading stops the disk reads too (backpressure)", async () => {
    const big = patternBytes(32 * 1024 * 1024, 5);
    const bigHash = (await store.put(inPieces(big, 1024 * 1024))).hash;
    /** Bytes this process has read through read(2)/pread(2) so far (Linux). */
    const bytesRead = async () => Number(/rchar: (\d+)/.exec(await readFile("/proc/self/io", "utf8"))![1]);
    const received: Buffer[] = [];
    let readWhilePaused = 0;
    await new Promise<void>((resolve, reject) => {
      request(`${gateway.url}/blake3/${bigHash}`, (res) => {
        res.once("data", async (first: Buffer) => {
          received.push(first);
          res.pause();
          const before = await bytesRead();
          await new Promise((wait) => setTimeout(wait, 400));
          readWhilePaused = (await bytesRead()) - before;
          res.on("data", (part: Buffer) => received.push(part));
          res.resume();
        });
        res.on("end", resolve);
        res.on("error", reject);
      }).end();
    });
    expect(readWhilePaused).to.be.below(8 * 1024 * 1024);
    expect(Buffer.concat(received).equals(big)).to.equal(true);
  });

  it("stops streaming to a client that left while the next block was read: the wait for drain ends at once", async () => {
    // The handler's state when the client leaves during a disk read: the response already closed,
    // so neither 'drain' nor 'close' comes again.
    let afterLeaving: Promise<boolean | "still waiting"> | undefined;
    const server = await startLoopbackServer((_req, res) => {
      res.writeHead(200, { "content-length": 8 * 1024 * 1024 });
      res.write(Buffer.alloc(1024 * 1024));
      res.once("close", () => {
        expect(res.write(Buffer.alloc(1024)), "a write after the client left").to.equal(false);
        afterLeaving = Promise.race([drained(res), new Promise<"still waiting">((r) => setTimeout(() => r("still waiting"), 2_000))]);
      });
    });
    try {
      await new Promise<void>((resolve) => {
        const req = request(`${server.base}/`, (res) => res.once("data", () => (req.destroy(), resolve())));
        req.on("error", () => undefined);
        req.end();
      });
      await waitFor("the response closed", () => afterLeaving !== undefined, 5_000);
      expect(await afterLeaving).to.equal(false);
    } finally {
      await server.close();
    }
  });

  it("lets a client verify any block against the root alone via outboard and proof", async () => {
    const hashing = await loadBlockHashing();
    const outboard = Buffer.from(await (await fetch(`${gateway.url}/blake3/${hash}/outboard`)).arrayBuffer());
    expect(leavesFromOutboard(outboard).length).to.equal(4);
    for (let index = 0; index < 4; index++) {
      const res = await fetch(`${gateway.url}/blake3/${hash}/proof/${index}`);
      expect(res.headers.get("x-fleek-content-length")).to.equal(String(content.length));
      const proofBytes = Buffer.from(await res.arrayBuffer());
      const proof = leavesFromOutboard(proofBytes);
      const block = content.subarray(index * BLOCK_SIZE, (index + 1) * BLOCK_SIZE);
      expect(verifyBlockProof(hashing, Buffer.from(hash, "hex"), content.length, index, block, proof)).to.equal(true);
      expect(verifyBlockProof(hashing, Buffer.from(hash, "hex"), content.length, index, Buffer.from(block).fill(1, 0, 1), proof)).to.equal(false);
    }
  });

  it("names content added from an origin by the root b3sum prints, and proves its blocks against that root", async () => {
    // Four blocks and a tail of the BLAKE3 test-vector input; the root is b3sum 1.2.0's output.
    const vector = vectorInput(4 * BLOCK_SIZE + 12345);
    const b3sum = "7a7e1c6a800e0cfbd45304d16a3544d5d55e2a723a11fc021bf9fb45ee8c1472";
    const source = await startLoopbackServer((_req, res) => res.writeHead(200).end(vector));
    try {
      const added = await fetch(`${gateway.url}/origins`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `${source.base}/bundle.js`, integrity: `blake3-${b3sum}` }),
      });
      expect(added.status).to.equal(201);
      expect(((await added.json()) as { hash: string }).hash).to.equal(b3sum);
    } finally {
      await source.close();
    }
    expect(Buffer.from(await (await fetch(`${gateway.url}/blake3/${b3sum}`)).arrayBuffer()).equals(vector)).to.equal(true);
    const hashing = await loadBlockHashing();
    for (let index = 0; index < 5; index++) {
      const proof = leavesFromOutboard(Buffer.from(await (await fetch(`${gateway.url}/blake3/${b3sum}/proof/${index}`)).arrayBuffer()));
      const block = vector.subarray(index * BLOCK_SIZE, (index + 1) * BLOCK_SIZE);
      expect(verifyBlockProof(hashing, Buffer.from(b3sum, "hex"), vector.length, index, block, proof), `block ${index}`).to.equal(true);
    }
  });

  it("adds content from an origin only for the operator, with clear errors for lying and stalling origins", async () => {
    const post = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }) =>
      fetch(`${gateway.url}/origins`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
    expect((await post({ url: `${origin.base}/page.html` }, { "content-type": "application/json" })).status).to.equal(401);
    expect((await post({ url: `${origin.base}/page.html` }, { authorization: "Bearer wrong", "content-type": "application/json" })).status).to.equal(401);
    expect((await post({ url: `${origin.base}/page.html` }, { authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" })).status).to.equal(415);
    expect((await post("{not json")).status).to.equal(400);
    expect((await post({ href: "x" })).status).to.equal(400);
    expect((await post({ url: "gopher://x" })).status).to.equal(400);
    expect((await post({ url: `${origin.base}/lie`, integrity: "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" })).status).to.equal(502);
    expect((await post({ url: `${origin.base}/stall` })).status).to.equal(504);

    const added = await post({ url: `${origin.base}/page.html` });
    expect(added.status).to.equal(201);
    const { hash: addedHash, length } = (await added.json()) as { hash: string; length: number };
    expect(length).to.equal(9);
    const page = await fetch(`${gateway.url}/blake3/${addedHash}`);
    expect([page.headers.get("content-type"), await page.text()]).to.deep.equal(["text/html", "<p>hi</p>"]);

    const closed = await startGateway({ store, origins: new OriginFetcher(store) });
    try {
      const res = await fetch(`${closed.url}/origins`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).to.equal(403);
    } finally {
      await closed.close();
    }
  });

  it("hands a client the ack to sign and accepts it once", async () => {
    const client = generateKeyPairSync("ed25519");
    const clientHex = rawEd25519PublicKey(client.privateKey).toString("hex");
    const draft = (await (await fetch(`${gateway.url}/acks/draft?hash=${hash}&bytes=${content.length}&client=${clientHex}`)).json()) as {
      ack: Record<string, unknown>;
      sign: string;
    };
    const signature = sign(null, Buffer.from(draft.sign, "hex"), client.privateKey).toString("hex");
    const submit = (body: unknown) =>
      fetch(`${gateway.url}/acks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    sink.drain();
    expect((await submit({ ...draft.ack, signature })).status).to.equal(202);
    expect((await submit({ ...draft.ack, signature })).status).to.equal(409);
    expect((await submit({ ...draft.ack, bytes: 1e9, signature })).status).to.equal(401);
    expect((await submit({ ...draft.ack, signature: "00" })).status).to.equal(400);
    expect((await fetch(`${gateway.url}/acks/draft?hash=${hash}`)).status).to.equal(400);
    const accepted = sink.drain();
    expect(accepted.length).to.equal(1);
    expect(accepted[0].ack.bytes).to.equal(content.length);
  });

  it("takes a client's payer binding only with both signatures, and answers peers' health pings", async () => {
    const client = generateKeyPairSync("ed25519");
    const clientKey = rawEd25519PublicKey(client.privateKey);
    const account = Wallet.createRandom();
    const binding = payerBindingToJson(await signPayerBinding(client.privateKey, clientKey, account));
    const post = (body: unknown) =>
      fetch(`${gateway.url}/acks/payer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post({ ...binding, account: Wallet.createRandom().address })).status).to.equal(401);
    expect((await post({ ...binding, clientKey: "ab".repeat(32) })).status).to.equal(401);
    expect((await post({ ...binding, accountSignature: "00" })).status).to.equal(400);
    expect(sink.payers.size).to.equal(0);
    expect((await post(binding)).status).to.equal(202);
    expect(sink.payers.get(clientKey.toString("hex"))?.account).to.equal(account.address);
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).to.equal(200);
    const reported = (await health.json()) as { node: string; tokenNodeId: number | null };
    expect(reported.node).to.equal(rawEd25519PublicKey(node.privateKey).toString("hex"));
    // No creator-token calls on this gateway: no node to deposit for.
    expect(reported.tokenNodeId).to.equal(null);
  });

  it("answers 503 with retry-after, not 500, when the chain's RPC is down for a function's registry read", async () => {
    // A port nothing listens on: the registry read fails to connect.
    const closed = await startLoopbackServer((_, res) => res.end());
    const rpcUrl = closed.base;
    await closed.close();
    const provider = new JsonRpcProvider(rpcUrl, Network.from(31337), { staticNetwork: true });
    let routed = 0;
    const services = { route: () => void routed++, status: () => ({}), wantsAttachment: () => false, optionsOf: () => undefined };
    const withRegistry = await startGateway({ store, services, functions: new FunctionDirectory(provider, `0x${"11".repeat(20)}`) });
    try {
      const res = await fetch(`${withRegistry.url}/fn/blake3/${"ab".repeat(32)}/`);
      expect(res.status).to.equal(503);
      expect(res.headers.get("retry-after")).to.equal("5");
      expect(((await res.json()) as { error: string }).error).to.match(/^this node could not read the chain \(.*ECONNREFUSED.*\); retry shortly$/);
      expect(routed, "the function never ran without its registered limits").to.equal(0);
      // The gateway serves on.
      expect((await fetch(`${withRegistry.url}/blake3/${hash}`)).status).to.equal(200);
    } finally {
      await withRegistry.close();
      provider.destroy();
    }
  });
  it("routes an unpaid node's function request before its handler returns, with a cold root's bundle, read and verified, and without the service's meter", async () => {
    const bundle = Buffer.from(`export default { fetch() { return new Response("hi"); } };`);
    const { hash: root } = await store.put(inPieces(bundle, 7));
    const routed: {
      id: string;
      url: string;
      req: IncomingMessage;
      attachment?: { key: string; bytes: Buffer };
      hook?: Parameters<ServiceRouter["route"]>[4];
    }[] = [];
    const handed = new Set<string>();
    const services: ServiceRouter = {
      route: (id, req, _res, url, hook, attachment) => void routed.push({ id, url, req, attachment, hook }),
      status: () => ({}),
      wantsAttachment: (_, key) => !handed.has(key),
      optionsOf: () => ({}),
    };
    const handle = createGatewayHandler({ store, services });
    const call = (headers: Record<string, string> = {}) =>
      handle({ url: `/fn/blake3/${root}/a?b=1`, method: "GET", headers } as unknown as IncomingMessage, {} as ServerResponse);
    call({ "x-fleek-limits": '{"cpuMs":999}' });
    // Synchronously: no promise between the client's request and the service's channel.
    expect(routed.map((r) => [r.id, r.url])).to.deep.equal([["functions", `/fn/blake3/${root}/a?b=1`]]);
    expect(routed[0].attachment?.key).to.equal(root);
    expect(routed[0].attachment?.bytes.equals(bundle)).to.equal(true);
    handed.add(root);
    call();
    expect(routed).to.have.length(2);
    expect(routed[1].attachment).to.equal(undefined);
    // A client's limits header never reaches the service; the service's meter never reaches the client.
    expect(routed[0].req.headers).to.deep.equal({});
    expect(routed[0].hook!(200, { "x-fleek-meter": "{}", "x-a": "b" })).to.deep.equal({ "x-a": "b" });
  });
});
