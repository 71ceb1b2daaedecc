/**
 * Reads consistent with the cursor: once `/health` (of any API process) reports block N, every
 * query of every API process reflects at least N, even for answers cached before N. The writer
 * follows the chain in the background (as `indexer sync` / `indexer all` do); one API shares its
 * database handle (`indexer all`), on PostgreSQL two more have their own connections as a separate
 * `indexer serve` opens them (shared, pipelined; one of them without the answer cache) reaching the
 * server over a link that delays every byte from the server by 50 ms, as a serve process on
 * another host sees it (its notifications arrive late too).
 * Expected values come from the chain (balanceOf, totalSupply at the block).
 */
import net from "node:net";
import hre from "hardhat";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite } from "../../testkit/deploy";
import { startApiServer, type ApiServer } from "../../indexer/api/server";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

async function funded() {
  const suite = await deploySuite();
  await suite.vesting.release(6); // the sale schedule pays signers[16]
  return suite;
}

/** A TCP relay to `target` that delays everything the server sends by `ms` (order kept). */
async function laggyLink(target: URL, ms: number): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => (client.destroy(), upstream.destroy()));
    }
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => setTimeout(() => client.writable && client.write(d), ms));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function gql(api: ApiServer, query: string) {
  const res = await fetch(`${api.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function healthBlock(api: ApiServer): Promise<number | null> {
  const res = await fetch(`${api.url}/health`);
  return res.ok ? (await res.json()).indexedBlock : null;
}

describe("indexer API reads consistent with /health", function () {
  this.timeout(120_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: after /health reports a transaction's block, every query on every API process reflects it`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const suite = await loadFixture(funded);
      const holder = (await hre.ethers.getSigners())[16];
      const database = await backend.fresh();
      const databases: IndexerDatabase[] = [database];
      const stop = new AbortController();
      let running: Promise<void> | undefined;
      const apis: ApiServer[] = [];
      let link: { url: string; close(): Promise<void> } | undefined;
      try {
        const engine = await newEngine(database, suite, { pollIntervalMs: 5 });
        await engine.syncToHead();
        running = engine.run(stop.signal);
        apis.push(await startApiServer({ database, port: 0 }));
        if (database.url) {
          link = await laggyLink(new URL(database.url), 50);
          // As `indexer serve` opens it: prepared reads on shared, pipelined connections.
          const own = await openDatabase({ databaseUrl: link.url, prepareSelects: true, pipeline: true });
          databases.push(own);
          apis.push(await startApiServer({ database: own, port: 0 }));
          // Without the answer cache: every request executed on the pipelined connections.
          apis.push(await startApiServer({ database: own, port: 0, cacheMb: 0 }));
        }
        const recipient = hre.ethers.Wallet.createRandom().address;
        // `past` asks for the supply at a time after the round's block (other suites move the clock, so no fixed date).
        let later = 0;
        const read = (api: ApiServer) =>
          gql(
            api,
            `{ account(address: "${recipient}") { balance } tokenStats { transfers } tokenSupply { total burned } past: tokenSupply(at: ${later}) { total } health { indexedBlock } }`,
          );
        let transfers = Number((await read(apis[0])).tokenStats.transfers);
        const rounds = 12;
        let checked = 0;
        for (let round = 1; round <= rounds; round++) {
          // Fill every process's cache at the current state.
          for (const api of apis) await read(api);
          const burn = round % 3 === 0;
          const tx = burn ? await suite.flk.connect(holder).burn(BigInt(round)) : await suite.flk.connect(holder).transfer(recipient, BigInt(round));
          const block = (await tx.wait())!.blockNumber;
          later = (await hre.ethers.provider.getBlock(block))!.timestamp + 60;
          transfers++; // a burn is a Transfer to the zero address
          const balance = await suite.flk.balanceOf(recipient, { blockTag: block });
          const supply = await suite.flk.totalSupply({ blockTag: block });
          // Wait on one process's /health (turn by turn), then ask every process at once.
          const watched = apis[round % apis.length];
          for (const end = Date.now() + 20_000; ;) {
            const at = await healthBlock(watched);
            if (at !== null && at >= block) break;
            if (Date.now() > end) throw new Error(`health still at ${at}, not ${block}`);
          }
          for (const api of apis) {
            const data = await read(api);
            expect(data.health.indexedBlock, `round ${round} ${api.url}`).to.be.at.least(block);
            expect(BigInt(data.account.balance), `round ${round} balance`).to.equal(balance);
            expect(BigInt(data.tokenSupply.total), `round ${round} supply`).to.equal(supply);
            expect(BigInt(data.past.total), `round ${round} supply at a later time`).to.equal(supply);
            expect(Number(data.tokenStats.transfers), `round ${round} transfers`).to.equal(transfers);
            checked++;
          }
        }
        expect(checked).to.equal(rounds * apis.length);
      } finally {
        stop.abort();
        await running;
        for (const api of apis) await api.close();
        for (const d of databases.reverse()) await d.close();
        await link?.close();
      }
    });
  }
});
