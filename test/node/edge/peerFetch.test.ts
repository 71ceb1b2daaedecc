import { expect } from "chai";
import { join } from "node:path";
import type { BlockStore } from "../../../node/blockstore/blockStore";
import { BLOCK_SIZE } from "../../../node/blockstore/blockTree";
import type { ContentHash } from "../../../node/blockstore/contentHash";
import { startEdgeNode } from "../../../node/edge/edgeNode";
import type { RunningGateway } from "../../../node/gateway/gatewayServer";
import { PeerFetchError } from "../../../node/peerfetch/peerFetcher";
import { collect, inPieces, patternBytes, tempDirectory } from "./fixtures";
import { startLoopbackServer, type LoopbackServer } from "./loopbackServer";

const MiB = 1024 * 1024;

describe("edge: peer fetch between two nodes", function () {
  this.timeout(30_000);
  const content = patternBytes(5 * BLOCK_SIZE + 77, 11);
  let dir: Awaited<ReturnType<typeof tempDirectory>>;
  let holder: { store: BlockStore; gateway: RunningGateway; requests: string[] };
  let hash: ContentHash;
  const cleanups: (() => Promise<void>)[] = [];

  /** A node with its own store and gateway that fetches what it lacks from `peers`. */
  async function startNode(name: string, peers: string[]) {
    const node = await startEdgeNode({
      directory: join(dir.path, name),
      maxBytes: 256 * MiB,
      peers,
      peerFetch: { timeouts: { responseMs: 500, idleMs: 500 } },
    });
    const requests: string[] = [];
    node.gateway.server.on("request", (req) => requests.push(req.url ?? ""));
    cleanups.push(() => node.close());
    return { ...node, requests };
  }

  /** A peer that announces the true outboard but sends altered bytes at `badOffset`; `sent` counts what it wrote before the fetcher hung up. */
  async function startLyingPeer(badOffset: number): Promise<LoopbackServer & { sent: () => number }> {
    let sent = 0;
    const server = await startLoopbackServer(async (req, res) => {
      if (req.url?.endsWith("/outboard")) {
        const real = await fetch(`${holder.gateway.url}${req.url}`);
        res.writeHead(200, { "x-fleek-content-length": real.headers.get("x-fleek-content-length")! });
        return res.end(Buffer.from(await real.arrayBuffer()));
      }
      const forged = Buffer.from(content);
      forged[badOffset] ^= 0xff;
      res.writeHead(200, { "content-length": forged.length });
      for (let at = 0; at < forged.length && !res.destroyed; at += 64 * 1024) {
        res.write(forged.subarray(at, at + 64 * 1024));
        sent = Math.min(forged.length, at + 64 * 1024);
        // Paced, so that socket buffers cannot hide whether the fetcher hung up early.
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      res.end();
    });
    cleanups.push(() => server.close());
    return { ...server, sent: () => sent };
  }

  beforeEach(async () => {
    dir = await tempDirectory("peerfetch");
    holder = await startNode("holder", []);
    hash = (await holder.store.put(inPieces(content, 100_000), { contentType: "video/mp4" })).hash;
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    await dir.remove();
  });

  it("serves content it lacks by fetching it, verified, from the node that holds it (once for concurrent clients)", async () => {
    const fetcher = await startNode("fetcher", [holder.gateway.url]);
    const responses = await Promise.all(Array.from({ length: 4 }, () => fetch(`${fetcher.gateway.url}/blake3/${hash}`, { headers: { range: "bytes=1-" } })));
    for (const res of responses) {
      expect(res.status).to.equal(206);
      expect(res.headers.get("content-type")).to.equal("video/mp4");
      expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(1))).to.equal(true);
    }
    expect(holder.requests).to.deep.equal([`/blake3/${hash}/outboard`, `/blake3/${hash}`]);
    expect(fetcher.store.has(hash)).to.equal(true);
    expect((await collect(fetcher.store.read(hash))).equals(content)).to.equal(true);
  });

  it("drops a lying peer at its first bad block and gets the content from an honest one", async () => {
    const liar = await startLyingPeer(BLOCK_SIZE + 5);
    const fetcher = await startNode("fetcher", [liar.base, holder.gateway.url]);
    const object = await fetcher.peerFetcher.fetch(hash);
    expect(object.hash).to.equal(hash);
    expect(liar.hits()).to.equal(2);
    expect(liar.sent()).to.be.below(content.length - BLOCK_SIZE);
    expect((await collect(fetcher.store.read(hash))).equals(content)).to.equal(true);
  });

  it("reports why each peer failed, keeps nothing, and the gateway answers 404", async () => {
    const liar = await startLyingPeer(7);
    const silent = await startLoopbackServer(() => undefined);
    cleanups.push(() => silent.close());
    const fetcher = await startNode("fetcher", [liar.base, silent.base]);
    try {
      await fetcher.peerFetcher.fetch(hash);
      expect.fail("fetch from lying and silent peers succeeded");
    } catch (error) {
      expect(error).to.be.instanceOf(PeerFetchError);
      const reasons = (error as PeerFetchError).reasons;
      expect(reasons[0]).to.match(/block 0 does not match/);
      expect(reasons[1]).to.match(/no response/);
    }
    expect(fetcher.store.bytesUsed).to.equal(0);
    expect((await fetch(`${fetcher.gateway.url}/blake3/${hash}`)).status).to.equal(404);
  });

  it("refuses a peer with a wrong outboard and one that cuts the stream short, and serves nothing", async () => {
    /** A peer that answers the outboard with `outboard(real)` and the content with `body(content)`, chunked. */
    async function startPeer(outboard: (real: Buffer) => Buffer, body: (bytes: Buffer) => Buffer) {
      const server = await startLoopbackServer(async (req, res) => {
        if (req.url?.endsWith("/outboard")) {
          const real = await fetch(`${holder.gateway.url}${req.url}`);
          res.writeHead(200, { "x-fleek-content-length": real.headers.get("x-fleek-content-length")! });
          return res.end(outboard(Buffer.from(await real.arrayBuffer())));
        }
        res.writeHead(200);
        res.end(body(content));
      });
      cleanups.push(() => server.close());
      return server;
    }
    const wrongOutboard = await startPeer(
      (real) => Buffer.from(real).fill(0, 40, 41),
      (bytes) => bytes,
    );
    const truncating = await startPeer(
      (real) => real,
      (bytes) => bytes.subarray(0, 3 * BLOCK_SIZE + 10),
    );
    const fetcher = await startNode("fetcher", [wrongOutboard.base, truncating.base]);
    try {
      await fetcher.peerFetcher.fetch(hash);
      expect.fail("fetch from a peer with a wrong outboard and a truncating one succeeded");
    } catch (error) {
      expect(error).to.be.instanceOf(PeerFetchError);
      const reasons = (error as PeerFetchError).reasons;
      expect(reasons[0]).to.match(/the announced block hashes do not produce the expected root$/);
      expect(reasons[1]).to.match(new RegExp(`the stream ended after ${3 * BLOCK_SIZE + 10} of ${content.length} bytes$`));
    }
    expect(fetcher.store.bytesUsed).to.equal(0);
    expect((await fetch(`${fetcher.gateway.url}/blake3/${hash}`)).status).to.equal(404);
  });

  it("re-fetches a copy found corrupt on disk from its peer instead of failing the request", async () => {
    const fetcher = await startNode("fetcher", [holder.gateway.url]);
    await fetcher.peerFetcher.fetch(hash);
    const { open } = await import("node:fs/promises");
    const file = await open(join(dir.path, "fetcher", "objects", `${hash}.data`), "r+");
    await file.write(Buffer.from([1, 2, 3]), 0, 3, 0);
    await file.close();
    const res = await fetch(`${fetcher.gateway.url}/blake3/${hash}`, { headers: { range: "bytes=0-9" } });
    expect(res.status).to.equal(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(0, 10))).to.equal(true);
  });
});
