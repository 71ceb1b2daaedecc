import hre from "hardhat";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { logRangeLimit, RetryingRpc, RpcError, RpcTimeoutError, rpcFromUrl } from "../../indexer/sync/rpc";
import { LogFetcher } from "../../indexer/sync/logFetcher";
import { createLogger } from "../../indexer/log";
import { scriptedActivity } from "./activity";
import { RANGE_REFUSALS, startFaultProxy } from "./faultProxy";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

/** Blocks of 300 FLK transfers each (one BenchTransfers call per block), after the scripted activity. */
const DENSE_BLOCKS = 4;
const PER_BLOCK = 300;

async function mixedAndDense(): Promise<Suite> {
  const suite = await deploySuite();
  await scriptedActivity(suite);
  const sale = (await hre.ethers.getSigners())[16];
  const sprayer = await (await hre.ethers.getContractFactory("BenchTransfers")).deploy();
  await suite.flk.connect(sale).transfer(await sprayer.getAddress(), BigInt(DENSE_BLOCKS * PER_BLOCK));
  for (let i = 0; i < DENSE_BLOCKS; i++) await sprayer.spray(await suite.flk.getAddress(), PER_BLOCK, i * PER_BLOCK, 50);
  return suite;
}

/** The suite with a BenchTransfers contract holding 6,000 wei of FLK. */
async function fundedSprayer() {
  const suite = await deploySuite();
  await suite.vesting.release(6); // the sale schedule pays signers[16]
  const sale = (await hre.ethers.getSigners())[16];
  const sprayer = await (await hre.ethers.getContractFactory("BenchTransfers")).deploy();
  await suite.flk.connect(sale).transfer(await sprayer.getAddress(), 6_000n);
  return { suite, sprayer };
}

/** The in-process Hardhat network served over HTTP on a free loopback port (Hardhat's own JSON-RPC server). */
async function hardhatOverHttp(): Promise<{ url: string; close(): Promise<void> }> {
  const server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
  const { address, port } = await server.listen();
  return { url: `http://${address}:${port}`, close: () => server.close() };
}

describe("indexer over HTTP behind a faulty endpoint", function () {
  this.timeout(240_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: range caps in providers' shapes (in turn), result caps, timeouts, 429s and dropped connections end in a clean run's state`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const suite = await loadFixture(mixedAndDense);
      const node = await hardhatOverHttp();
      const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
      console.log(`      fault proxy seed ${seed} (FAULT_SEED=${seed} replays it)`);
      const proxy = await startFaultProxy(node.url, {
        maxRange: 50,
        maxResults: 400,
        slowAbove: 700,
        rateLimit: 0.05,
        drop: 0.04,
        hang: 0.02,
        serverError: 0.04,
        resultCapFirst: true,
        seed,
      });
      const clean = await backend.fresh();
      const faulty = await backend.fresh();
      try {
        await (await newEngine(clean, suite)).syncToHead();
        const rpc = new RetryingRpc(rpcFromUrl(proxy.url, 1_500), { baseDelayMs: 1, maxDelayMs: 20, timeoutMs: 1_500 });
        // The defaults, as the CLI runs: no range cut by hand.
        const engine = await newEngine(faulty, suite, { rpc, fetcher: { initialRange: 1_000 } });
        await engine.syncToHead();
        expect(await dumpDerived(faulty)).to.deep.equal(await dumpDerived(clean));
        const transfers = (await dumpDerived(faulty)).transfers ?? [];
        expect(transfers.length).to.be.greaterThan(DENSE_BLOCKS * PER_BLOCK);
        // Every kind of fault happened at least once (else this test proves less than it says).
        for (const kind of ["429", "dropped", "hang", "503", "result cap", "slow dense range", "refused base"]) {
          expect(proxy.counts[kind] ?? 0, `${kind} (seed ${seed}): ${JSON.stringify(proxy.counts)}`).to.be.greaterThan(0);
        }
      } finally {
        await clean.close();
        await faulty.close();
        await proxy.close();
        await node.close();
      }
    });
  }

  it("reports progress over HTTP with blocks, events/s and an ETA within 25% from the first 10% of the range", async function () {
    const backend = (await testBackends()).find((b) => b.name === "pglite")!;
    const { suite, sprayer } = await loadFixture(fundedSprayer);
    const node = await hardhatOverHttp();
    // A distant endpoint (200 ms a call) capping ranges at one block: the sync lasts seconds, one
    // block a batch, its pace set by the endpoint, not by this shared machine's CPU (few events a block).
    const proxy = await startFaultProxy(node.url, {
      maxRange: 1,
      maxResults: 1e9,
      slowAbove: 1e9,
      rateLimit: 0,
      drop: 0,
      hang: 0,
      serverError: 0,
      seed: 1,
      latencyMs: 200,
      refusals: ["base"],
    });
    const database = await backend.fresh!();
    const lines: { at: number; fields: Record<string, any> }[] = [];
    const log = createLogger("info", (line) => {
      const fields = JSON.parse(line);
      if (fields.msg === "sync progress") lines.push({ at: Date.now(), fields });
    });
    try {
      // The deployment first; then 80 blocks of 5 transfers each, a range of even density where
      // a block-rate ETA can be right, synced over HTTP.
      await (await newEngine(database, suite)).syncToHead();
      for (let i = 0; i < 80; i++) await sprayer.spray(await suite.flk.getAddress(), 5, i * 5, 500);
      const engine = await newEngine(database, suite, { rpc: new RetryingRpc(rpcFromUrl(proxy.url)), batchEvents: 5, log, progressEveryMs: 0 });
      const first = engine.cursor;
      await engine.syncToHead();
      const end = Date.now();
      const range = engine.cursor - first;
      let judged = 0;
      for (const { at, fields } of lines) {
        expect(fields).to.include.keys("block", "target", "events", "eventsPerSecond", "blocksPerSecond", "etaSeconds");
        const remaining = (end - at) / 1000;
        // Judged from the first 10%: the fetcher learning the one-block cap answers its first
        // ranges as whole chunks, which the engine cuts into batches of the same even pace. Not in
        // the last 2 s, where one slow call on this shared machine is most of what is left.
        if (fields.block - first < range / 10 || remaining < 2) continue;
        judged++;
        expect(fields.eventsPerSecond).to.be.greaterThan(0);
        expect(Math.abs(fields.etaSeconds - remaining), `eta ${fields.etaSeconds} s at block ${fields.block}, ${remaining} s left`).to.be.at.most(
          // 25%, plus 0.6 s: a few 200 ms calls' worth of the machine's jitter.
          0.25 * remaining + 0.6,
        );
      }
      expect(judged, JSON.stringify(lines.map((l) => l.fields))).to.be.at.least(3);
    } finally {
      await database.close();
      await proxy.close();
      await node.close();
    }
  });

  it("splits ranges on each provider's refusal shape and gets every log", async function () {
    const suite = await loadFixture(mixedAndDense);
    // Thousands of blocks, as in a full test run (the halving used to refuse ~2^depth times, and
    // learned caps were doubled past again).
    await mine(3_000);
    const node = await hardhatOverHttp();
    const addresses = [await suite.flk.getAddress(), await suite.vesting.getAddress()];
    const head = await hre.ethers.provider.getBlockNumber();
    try {
      const direct = await new LogFetcher(rpcFromUrl(node.url), addresses, { initialRange: 100_000 }).fetchRange(0, head);
      for (const shape of Object.keys(RANGE_REFUSALS)) {
        const proxy = await startFaultProxy(node.url, {
          maxRange: 7,
          maxResults: 1e9,
          slowAbove: 1e9,
          rateLimit: 0,
          drop: 0,
          hang: 0,
          serverError: 0,
          seed: 1,
          refusals: [shape],
        });
        try {
          const fetcher = new LogFetcher(new RetryingRpc(rpcFromUrl(proxy.url), { baseDelayMs: 1 }), addresses, { initialRange: 1_000 });
          const logs = [];
          for await (const chunk of fetcher.fetch(0, head)) logs.push(...chunk.logs);
          expect(logs, shape).to.deep.equal(direct.logs);
          expect(proxy.counts[`refused ${shape}`], shape).to.be.greaterThan(0);
          // Learned: later ranges stay within the cap. Halving from 1,000 to 7 blocks takes
          // ⌈log2(1000 / 7)⌉ = 8 refusals for each of the 2 ranges in flight at the start, then one
          // probe above the cap per 256 answers (~450 here): at most 16 + 2, plus 4 for races
          // between the two. The old fetcher refused 127 times (a binary tree of halves).
          expect(proxy.counts[`refused ${shape}`], shape).to.be.at.most(22);
        } finally {
          await proxy.close();
        }
      }
    } finally {
      await node.close();
    }
  });

  it("reads a 10 MB answer sent in 20,000 chunks in linear time (Hardhat writes one chunk per log)", async function () {
    // ethers' Node transport copied the whole body so far for every chunk: 20,000 chunks of a
    // 10 MB answer meant ~100 GB of copying (minutes). Read once and parsed once, it is ~0.1 s.
    const log = {
      address: "0x" + "11".repeat(20),
      topics: ["0x" + "22".repeat(32)],
      data: "0x" + "33".repeat(150),
      blockNumber: "0x1",
      blockHash: "0x" + "44".repeat(32),
      transactionHash: "0x" + "55".repeat(32),
      logIndex: "0x0",
    };
    const piece = JSON.stringify(log);
    const server = http.createServer((req, res) => {
      req.resume().on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"jsonrpc":"2.0","id":1,"result":[');
        for (let i = 0; i < 20_000; i++) res.write(i ? "," + piece : piece);
        res.end("]}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const started = Date.now();
      const logs = await rpcFromUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 60_000).send<unknown[]>("eth_getLogs", [{}]);
      expect(logs).to.have.length(20_000);
      expect(logs[19_999]).to.deep.equal(log);
      // Generous for a shared machine (the test server's own writes take 0.4-2 s here); the old transport took minutes.
      expect(Date.now() - started).to.be.lessThan(20_000);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("never asks a range refused for its size again: splits to the stated or half size, bounded retries of one block", async function () {
    const asked: string[] = [];
    const rpc = new RetryingRpc(
      {
        async send(_method: string, params: unknown[]) {
          const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
          asked.push(`${Number(fromBlock)}-${Number(toBlock)}`);
          throw new RpcTimeoutError("timed out");
        },
      },
      { attempts: 3, baseDelayMs: 1 },
    );
    const fetcher = new LogFetcher(rpc, ["0x0000000000000000000000000000000000000001"], { initialRange: 8 });
    await expect(fetcher.fetchRange(0, 7)).to.be.rejectedWith("timed out");
    await new Promise((r) => setTimeout(r, 50)); // the other halves' retries end too
    // Halves down to single blocks; every range of several blocks asked once, each block at most 3 times.
    const times = new Map<string, number>();
    for (const a of asked) times.set(a, (times.get(a) ?? 0) + 1);
    for (const [range, n] of times) {
      const [from, to] = range.split("-").map(Number);
      expect(n, range).to.be.at.most(from === to ? 3 : 1);
    }
    expect(asked.slice(0, 2)).to.deep.equal(["0-7", "0-3"]);
    expect(times.get("0-0")).to.equal(3);
  });

  it("reads the limit every known provider states, and halves on the ones that state none", function () {
    const e = (message: string, code?: number, status?: number) => new RpcError(message, status, code);
    const cases: [unknown, number][] = [
      [e("Log response size exceeded. … Based on your parameters, this block range should work: [0x10, 0x2f]", -32602), 32],
      [e("query returned more than 10000 results. Try with this block range [0x100, 0x1ff].", -32005), 256],
      [e("eth_getLogs is limited to a 10,000 range", -32614), 10_000],
      [e("eth_getLogs and eth_newFilter are limited to a 10,000 blocks range"), 10_000],
      [e("please limit the query to at most 1000 blocks", -32000), 1_000],
      [e("block range too large", -32000), 50_000], // Base public endpoint
      [e("block range is too wide", -32600), 50_000], // Ankr
      [e("query returned more than 10000 results", -32005), 50_000], // geth, erigon, reth
      [e("limit exceeded", -32005), 50_000],
      [e("Payload Too Large", undefined, 413), 50_000],
      [e("backend response too large"), 50_000], // Optimism
      [e("logs matched by query exceeds limit of 10000"), 50_000], // Arbitrum
      [e("requested too many blocks from 0 to 100000, maximum is set to 2048"), 2_048], // Avalanche
      [e("invalid block range params", -32602), 50_000],
      [new RpcTimeoutError("rpc eth_getLogs timed out after 30000 ms"), 50_000],
    ];
    for (const [err, want] of cases) expect(logRangeLimit(err, 100_000), (err as Error).message).to.equal(want);
    for (const other of [
      e("Too Many Requests", undefined, 429),
      e("rate limit exceeded", -32005),
      e("internal error", -32603),
      e("fetch failed (other side closed)"),
    ]) {
      expect(logRangeLimit(other, 100_000), (other as Error).message).to.equal(undefined);
    }
  });
});
