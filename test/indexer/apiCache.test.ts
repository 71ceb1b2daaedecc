/**
 * The API's answer cache: answers are kept per indexed state (read at the start of each request),
 * served with an ETag naming that state, and dropped the moment the state changes, on PGlite and
 * on the PostgreSQL server (read through a handle opened as `indexer serve` opens it), also after
 * its connections are killed.
 */
import net from "node:net";
import { expect } from "chai";
import hre from "hardhat";
import pg from "pg";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { startApiServer, type ApiServer } from "../../indexer/api/server";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { writeChainHead } from "../../indexer/store/syncState";
import type { SyncEngine } from "../../indexer/sync/engine";
import { eventually } from "../node/consensus/cluster";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const QUERY = `{ tokenStats { transfers } health { indexedBlock chainHead } }`;

interface Answer {
  status: number;
  etag: string | null;
  cors: string | null;
  body: any;
}

async function post(api: ApiServer, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${api.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get("etag"), cors: res.headers.get("access-control-allow-origin"), body: text ? JSON.parse(text) : null };
}

const ask = (api: ApiServer, query: string, headers?: Record<string, string>) => post(api, JSON.stringify({ query }), headers);

/**
 * Waits until `api` answers QUERY from its cache at a state (cursor block, chain head) that
 * `wanted` accepts: its ETag names the state it was computed at.
 */
async function settled(api: ApiServer, wanted: (block: number, head: number) => boolean): Promise<Answer> {
  let answer: Answer | undefined;
  await eventually(
    "answers cached at the new state",
    async () => {
      answer = await ask(api, QUERY);
      const [block, , head] = answer.etag?.split(":")[0].split(".") ?? [];
      return block !== undefined && wanted(Number(block), Number(head));
    },
    10_000,
  );
  return answer!;
}

describe("indexer API answer cache", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    describe(name, function () {
      let suite: Suite;
      let database: IndexerDatabase;
      let serving: IndexerDatabase | undefined;
      let engine: SyncEngine;
      let api: ApiServer;

      const transfer = async () => {
        const holder = (await hre.ethers.getSigners())[16]; // the sale schedule's beneficiary
        await suite.flk.connect(holder).transfer(hre.ethers.Wallet.createRandom().address, 1n);
      };

      before(async function () {
        const backend = (await testBackends()).find((b) => b.name === name)!;
        if (!backend.fresh) return this.skip();
        suite = await loadFixture(deploySuite);
        await suite.vesting.release(6);
        database = await backend.fresh();
        engine = await newEngine(database, suite);
        await engine.syncToHead();
        // On PostgreSQL the API reads through its own handle, opened as `indexer serve` opens it.
        if (database.url) serving = await openDatabase({ databaseUrl: database.url, prepareSelects: true, pipeline: true });
        api = await startApiServer({ database: serving ?? database, port: 0 });
      });
      after(async () => {
        await api?.close();
        await serving?.close();
        await database?.close();
      });

      it("answers a repeated query from the cache with an ETag naming the indexed state, and 304 to If-None-Match", async () => {
        const first = await ask(api, QUERY);
        expect(first.status).to.equal(200);
        expect(first.body.data.health.indexedBlock).to.equal(engine.cursor);
        expect(first.etag).to.match(new RegExp(`^${engine.cursor}\\.[0-9a-f]{16}\\.${engine.cursor}:[A-Za-z0-9_-]{43}$`));
        const again = await ask(api, QUERY);
        expect(again).to.deep.equal(first);
        // A browser's cross-origin request gets the same answer with its CORS headers.
        const browser = await ask(api, QUERY, { origin: "http://localhost:5173" });
        expect([browser.status, browser.etag, browser.cors, browser.body]).to.deep.equal([200, first.etag, "http://localhost:5173", first.body]);
        for (const headers of [{}, { origin: "http://localhost:5173" }] as Record<string, string>[]) {
          const unchanged = await ask(api, QUERY, { "if-none-match": first.etag!, ...headers });
          expect([unchanged.status, unchanged.body]).to.deep.equal([304, null]);
        }
        // Variables are part of the key.
        const byVariable = (block: number) =>
          post(api, JSON.stringify({ query: `query($at: Int) { tokenSupply(at: $at) { timestamp } }`, variables: { at: block } }));
        const [a, b] = [await byVariable(1_000), await byVariable(2_000)];
        expect([a.body.data.tokenSupply.timestamp, b.body.data.tokenSupply.timestamp]).to.deep.equal([1_000, 2_000]);
        expect(a.etag).to.not.equal(b.etag);
      });

      it("drops every answer once a new block is indexed", async () => {
        const before = await ask(api, QUERY);
        await transfer();
        await engine.syncToHead();
        const after = await settled(api, (block) => block === engine.cursor);
        expect(after.body.data.health.indexedBlock).to.equal(engine.cursor);
        expect(after.body.data.tokenStats.transfers).to.equal(before.body.data.tokenStats.transfers + 1);
        expect(after.etag).to.not.equal(before.etag);
        // The old ETag no longer matches: the client gets the new answer.
        const stale = await ask(api, QUERY, { "if-none-match": before.etag! });
        expect([stale.status, stale.body]).to.deep.equal([200, after.body]);
      });

      it("drops answers when only the chain head moves (health's lag depends on it)", async () => {
        const head = engine.cursor + 7;
        await writeChainHead(database.db, head);
        const answer = await settled(api, (_, h) => h === head);
        expect(answer.body.data.health).to.deep.equal({ indexedBlock: engine.cursor, chainHead: head });
        expect((await ask(api, `{ health { lagBlocks } }`)).body.data.health.lagBlocks).to.equal(7);
      });

      it("never caches an answer with errors or one that depends on the wall clock", async () => {
        const failed = await ask(api, `{ account(address: "0xnot") { balance } }`);
        expect(failed.body.errors[0].extensions.code).to.equal("BAD_USER_INPUT");
        expect(failed.etag).to.equal(null);
        const clock = await ask(api, `{ health { lagSeconds } }`);
        expect(clock.body.data.health.lagSeconds).to.be.a("number");
        // The plugin names it but keeps nothing under that name: a revalidation gets a full answer.
        const again = await ask(api, `{ health { lagSeconds } }`, { "if-none-match": clock.etag ?? "none" });
        expect(again.status).to.equal(200);
      });

      it("answers malformed bodies exactly as yoga does without the cache in front", async () => {
        const bodies = [`{"query": "{ tokenStats { holders } }"`, `{}`, `[]`, `5`, `{"query": 5}`, `{"query": "{ nothing }"}`];
        for (const body of bodies) {
          const fast = await post(api, body);
          const viaYoga = await post(api, body, { origin: "http://localhost:5173" }); // cross-origin: never the fast path
          expect([fast.status, fast.body], body).to.deep.equal([viaYoga.status, viaYoga.body]);
          expect(fast.body.errors, body).to.have.length(1);
        }
      });

      it("keeps serving after a client leaves in the middle of its request body", async () => {
        // Outside a test runner an unhandled rejection ends the process (Node's default).
        const unhandled: unknown[] = [];
        const record = (reason: unknown) => unhandled.push(reason);
        process.on("unhandledRejection", record);
        try {
          const { hostname, port } = new URL(api.url);
          const socket = net.connect(Number(port), hostname);
          await new Promise((resolve) => socket.once("connect", resolve));
          socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query": "{ tok`);
          await new Promise((resolve) => setTimeout(resolve, 50));
          socket.destroy();
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(unhandled).to.deep.equal([]);
          expect((await ask(api, QUERY)).status).to.equal(200);
        } finally {
          process.off("unhandledRejection", record);
        }
      });

      if (name === "postgres") {
        it("never answers from an old state after its database connections are killed, and caches again", async () => {
          const before = await ask(api, QUERY);
          const admin = new pg.Client({ connectionString: database.url });
          await admin.connect();
          const { rows } = await admin.query(
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          );
          await admin.end();
          expect(rows[0].n).to.be.greaterThan(0);
          await transfer();
          // The engine's pool may hand out a killed connection before its termination notice was
          // read (CI 2026-12-05): that sync fails, as a sync loop's would, and the next one goes.
          for (let attempt = 1; ; attempt++) {
            try {
              await engine.syncToHead();
              break;
            } catch (error) {
              if (attempt === 3 || !/terminating connection due to administrator command/.test(String(error))) throw error;
            }
          }
          // Unconditionally: the first answer after the sync is of the new state.
          const meanwhile = await ask(api, QUERY);
          expect(meanwhile.status).to.equal(200);
          expect(meanwhile.body.data.health.indexedBlock).to.equal(engine.cursor);
          expect(meanwhile.body.data.tokenStats.transfers).to.equal(before.body.data.tokenStats.transfers + 1);
          expect((await ask(api, QUERY, { "if-none-match": before.etag! })).status).to.equal(200);
          // And it is cached again, under the new state.
          const again = await ask(api, QUERY, { "if-none-match": meanwhile.etag! });
          expect(again.status).to.equal(304);
          expect(meanwhile.etag!.startsWith(`${engine.cursor}.`)).to.equal(true);
        });
      }

      it("keeps at most cacheMb of answers, the least recently used leaving first", async () => {
        const small = await startApiServer({ database: serving ?? database, port: 0, cacheMb: 2_000 / 2 ** 20 }); // about 2,000 characters
        try {
          const kept = async (query: string) => {
            const first = await ask(small, query);
            return (await ask(small, query, { "if-none-match": first.etag! })).status === 304;
          };
          const tiny = (i: number) => `{ a${i}: tokenSupply(at: ${i}) { timestamp } }`; // ~34 characters each
          expect(await kept(tiny(0))).to.equal(true);
          // An answer larger than the whole cache is not kept, and does not push the others out.
          const large = `{ __type(name: "Query") { fields { name description } } }`;
          expect(JSON.stringify((await ask(small, large)).body).length).to.be.greaterThan(2_000);
          expect(await kept(large)).to.equal(false);
          expect(await kept(tiny(0))).to.equal(true);
          // Enough small ones push the first out; one re-read meanwhile stays (least recently used
          // leave first). 304 means kept: a cache 1,000 times larger would keep tiny(0) too.
          const etag0 = (await ask(small, tiny(0))).etag!;
          const etag1 = (await ask(small, tiny(1))).etag!;
          const etags: string[] = [];
          for (let i = 2; i <= 80; i++) {
            etags.push((await ask(small, tiny(i))).etag!);
            expect((await ask(small, tiny(1), { "if-none-match": etag1 })).status).to.equal(304);
          }
          expect((await ask(small, tiny(1), { "if-none-match": etag1 })).status).to.equal(304);
          expect((await ask(small, tiny(80), { "if-none-match": etags[etags.length - 1] })).status).to.equal(304);
          // Newest first: a 200 re-stores an answer and pushes out the least recently used, which
          // by then is one already counted.
          let stayed = 0;
          for (let i = 80; i >= 2; i--) if ((await ask(small, tiny(i), { "if-none-match": etags[i - 2] })).status === 304) stayed++;
          // ~2,000 characters of ~34-character answers: about 58 of the 79 stay.
          expect(stayed).to.be.within(40, 60);
          expect((await ask(small, tiny(0), { "if-none-match": etag0 })).status).to.equal(200);
        } finally {
          await small.close();
        }
      });

      it("with cacheMb 0, answers queries yoga validated before without yoga, exactly as yoga did (data, masked errors, codes, limits)", async () => {
        const uncached = await startApiServer({ database: serving ?? database, port: 0, cacheMb: 0 });
        const cursor = `query($c: String) { accounts(after: $c, orderBy: BALANCE) { nodes { address } } }`;
        const requests = [
          JSON.stringify({ query: QUERY }),
          JSON.stringify({
            query: `query($first: Int) { accounts(first: $first, orderBy: BALANCE, orderDirection: DESC) { nodes { address balance } pageInfo { endCursor } } }`,
            variables: { first: 3 },
          }),
          JSON.stringify({ query: `query A { tokenStats { holders } } query B { health { indexedBlock } }`, operationName: "B" }),
          // An execution error: masked to its code, data null beside it.
          JSON.stringify({ query: cursor, variables: { c: "not-a-cursor" } }),
          // Variables that do not coerce, an unknown operation: request errors, yoga's answer.
          JSON.stringify({ query: cursor, variables: { c: 5 } }),
          JSON.stringify({ query: QUERY, operationName: "Nope" }),
          // Past the limits and invalid: never remembered, yoga's answer each time.
          JSON.stringify({ query: `{ accounts(first: 1000000) { nodes { address } } }` }),
          JSON.stringify({ query: `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: tokenStats { holders }`).join(" ")} }` }),
          JSON.stringify({ query: `{ nope }` }),
        ];
        try {
          const first = [];
          for (const body of requests) first.push(await post(uncached, body));
          expect(uncached.fastPathAnswers()).to.equal(0);
          for (const [i, body] of requests.entries()) expect(await post(uncached, body), body).to.deep.equal(first[i]);
          // The four that execute to data (the three valid ones and the masked cursor error).
          expect(uncached.fastPathAnswers()).to.equal(4);
          expect(first[3].body.errors.map((e: any) => e.extensions.code)).to.deep.equal(["BAD_USER_INPUT"]);
          expect(first[6].body.errors.map((e: any) => e.extensions.code)).to.deep.equal(["QUERY_TOO_COMPLEX"]);
          expect(first[7].body.errors.map((e: any) => e.extensions.code)).to.include("QUERY_TOO_COMPLEX");
          expect(first[0].body.data.health.indexedBlock).to.equal(engine.cursor);
        } finally {
          await uncached.close();
        }
      });

      it("caches nothing with cacheMb 0", async () => {
        const uncached = await startApiServer({ database: serving ?? database, port: 0, cacheMb: 0 });
        try {
          const answer = await ask(uncached, QUERY);
          expect(answer.body.data.health.indexedBlock).to.equal(engine.cursor);
          expect(answer.etag).to.equal(null);
        } finally {
          await uncached.close();
        }
      });
    });
  }
});
