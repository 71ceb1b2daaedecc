import { expect } from "chai";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { BlockStore } from "../../../node/blockstore/blockStore";
import { OriginError, type OriginFailure } from "../../../node/origins/originError";
import { OriginFetcher } from "../../../node/origins/originFetcher";
import { collect, inPieces, patternBytes, tempDirectory } from "./fixtures";
import { startLoopbackServer, type LoopbackServer } from "./loopbackServer";

const content = patternBytes(700_000, 42);
const sri = (bytes: Buffer, algorithm = "sha256") => `${algorithm}-${createHash(algorithm).update(bytes).digest("base64")}`;

/** CIDv1 (raw codec, SHA2-256) of `bytes`, base32: what an IPFS gateway serves raw bytes under. */
function rawCid(bytes: Buffer): string {
  const binary = Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), createHash("sha256").update(bytes).digest()]);
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = "";
  for (const byte of binary) bits += byte.toString(2).padStart(8, "0");
  let text = "b";
  for (let at = 0; at < bits.length; at += 5) text += alphabet[parseInt(bits.slice(at, at + 5).padEnd(5, "0"), 2)];
  return text;
}

describe("edge: origins", function () {
  this.timeout(20_000);
  let dir: Awaited<ReturnType<typeof tempDirectory>>;
  let store: BlockStore;
  let origin: LoopbackServer;
  /** Bytes the origin serves under /ipfs/<cid> (settable to make the gateway lie). */
  let ipfsBytes = content;

  before(async () => {
    origin = await startLoopbackServer((req, res) => {
      const path = req.url ?? "/";
      if (path === "/file.bin") {
        res.writeHead(200, { "content-type": "application/x-test", "content-length": content.length });
        // Dribble the body in pieces so fetches overlap for the single-flight test.
        const pieces = [content.subarray(0, 300_000), content.subarray(300_000)];
        res.write(pieces[0]);
        setTimeout(() => res.end(pieces[1]), 150);
      } else if (path === "/slow-headers") {
        // Never answers.
      } else if (path === "/stall") {
        res.writeHead(200, { "content-length": content.length });
        res.write(content.subarray(0, 1000)); // then nothing, connection left open
      } else if (path === "/short") {
        res.writeHead(200, { "content-length": content.length });
        // Lies about its length, then hangs up.
        res.write(content.subarray(0, 5000), () => res.socket?.destroy());
      } else if (path === "/big") {
        res.writeHead(200);
        res.end(patternBytes(2 * 1024 * 1024));
      } else if (path.startsWith("/ipfs/")) {
        res.writeHead(200);
        res.end(ipfsBytes);
      } else {
        res.writeHead(404);
        res.end("nope");
      }
    });
  });
  after(async () => {
    await origin.close();
  });
  beforeEach(async () => {
    dir = await tempDirectory("origins");
    store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * 1024 * 1024 });
    ipfsBytes = content;
  });
  afterEach(async () => {
    await dir.remove();
  });

  /** Expects the fetch to fail for `failure` and to leave the store empty. */
  async function expectFailure(fetching: Promise<unknown>, failure: OriginFailure): Promise<void> {
    try {
      await fetching;
      expect.fail(`fetch succeeded; expected ${failure}`);
    } catch (error) {
      expect(error, String(error)).to.be.instanceOf(OriginError);
      expect((error as OriginError).failure, (error as Error).message).to.equal(failure);
    }
    expect(store.bytesUsed).to.equal(0);
    expect(await readdir(join(dir.path, "tmp"))).to.deep.equal([]);
  }

  it("fetches, verifies against SRI and stores under the content root with the origin's type", async () => {
    const fetcher = new OriginFetcher(store);
    const expected = await (await BlockStore.open({ directory: join(dir.path, "ref"), maxBytes: 1e8 })).put(inPieces(content, 65536));
    const stored = await fetcher.fetch(`${origin.base}/file.bin`, sri(content, "sha384"));
    expect(stored).to.deep.equal({ hash: expected.hash, length: content.length, contentType: "application/x-test" });
    expect((await collect(store.read(stored.hash))).equals(content)).to.equal(true);
    // The SRI may also ride in the URL fragment, and the store root may be demanded.
    const again = await new OriginFetcher(store).fetch(`${origin.base}/file.bin#integrity=${encodeURIComponent(sri(content))}`, undefined);
    expect(again.hash).to.equal(stored.hash);
    expect((await new OriginFetcher(store).fetch(`${origin.base}/file.bin`, `blake3-${stored.hash}`)).hash).to.equal(stored.hash);
  });

  it("shares one origin request among concurrent fetches and does not fetch again while stored", async () => {
    const fetcher = new OriginFetcher(store);
    const before = origin.hits();
    const results = await Promise.all(Array.from({ length: 6 }, () => fetcher.fetch(`${origin.base}/file.bin`)));
    expect(new Set(results.map((r) => r.hash)).size).to.equal(1);
    await fetcher.fetch(`${origin.base}/file.bin`);
    expect(origin.hits() - before).to.equal(1);
    // Once evicted, the pointer is fetched anew.
    await store.evict(results[0].hash);
    await fetcher.fetch(`${origin.base}/file.bin`);
    expect(origin.hits() - before).to.equal(2);
  });

  it("times out an origin that never answers and one whose body stalls", async () => {
    const fetcher = new OriginFetcher(store, { responseTimeoutMs: 300, idleTimeoutMs: 300 });
    const started = Date.now();
    await expectFailure(fetcher.fetch(`${origin.base}/slow-headers`), "timeout");
    await expectFailure(fetcher.fetch(`${origin.base}/stall`), "timeout");
    expect(Date.now() - started).to.be.below(3000);
  });

  it("rejects an origin that lies: wrong SRI, wrong root, short body, error status", async () => {
    const fetcher = new OriginFetcher(store);
    await expectFailure(fetcher.fetch(`${origin.base}/file.bin`, sri(Buffer.from("other"))), "integrity");
    await expectFailure(fetcher.fetch(`${origin.base}/file.bin`, `blake3-${"ab".repeat(32)}`), "integrity");
    await expectFailure(fetcher.fetch(`${origin.base}/short`), "network");
    await expectFailure(fetcher.fetch(`${origin.base}/missing`), "upstream-status");
  });

  it("refuses oversized content, bad URLs and unknown integrity formats", async () => {
    const fetcher = new OriginFetcher(store, { maxLength: 1024 * 1024 });
    await expectFailure(fetcher.fetch(`${origin.base}/big`), "too-large");
    await expectFailure(fetcher.fetch(`${origin.base}/file.bin`, "md5-abc"), "bad-pointer");
    await expectFailure(fetcher.fetch("ftp://example.com/x"), "bad-pointer");
    await expectFailure(fetcher.fetch("not a url"), "bad-pointer");
    await expectFailure(fetcher.fetch("ipfs://not-a-cid"), "bad-pointer");
  });

  it("fetches ipfs:// through its gateways and checks raw CIDs, moving past a lying gateway", async () => {
    const cid = rawCid(content);
    const liar = await startLoopbackServer((_req, res) => res.end(Buffer.from("forged bytes")));
    try {
      const fetcher = new OriginFetcher(store, { ipfsGateways: [liar.base, origin.base] });
      const stored = await fetcher.fetch(`ipfs://${cid}`);
      expect(liar.hits()).to.equal(1);
      expect((await collect(store.read(stored.hash))).equals(content)).to.equal(true);
      // A gateway URL is an IPFS pointer too, so its raw CID is checked against what it serves.
      ipfsBytes = Buffer.from("the gateway lies");
      await store.evict(stored.hash);
      await expectFailure(new OriginFetcher(store).fetch(`${origin.base}/ipfs/${cid}`), "integrity");
      await expectFailure(new OriginFetcher(store).fetch(`ipfs://${cid}`), "bad-pointer"); // no gateways configured
    } finally {
      await liar.close();
    }
  });
});
