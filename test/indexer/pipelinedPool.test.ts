// `serve`'s pooled connections: shared, queries pipelined (indexer/store/pipelinedPool.ts).
import { spawn } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import { sql } from "kysely";
import pg from "pg";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite } from "../../testkit/deploy";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { dropTestDatabases, freshPostgresUrl, newEngine, testBackends } from "./helpers";

const CLI = path.resolve(__dirname, "../../indexer/cli.ts");

/** The pids of the backends connected to `url`'s database (other than the asking one). */
async function backends(url: string): Promise<number[]> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
    return rows.map((r) => r.pid);
  } finally {
    await admin.end();
  }
}

describe("indexer serve: pipelined shared connections", function () {
  this.timeout(60_000);
  after(dropTestDatabases);
  let database: IndexerDatabase | undefined;
  afterEach(async () => database?.close());

  before(async function () {
    const postgres = (await testBackends()).find((b) => b.name === "postgres")!;
    if (postgres.skipReason) this.skip();
  });

  it("answers every concurrent query with its own rows over at most poolSize connections; a failing query fails alone", async () => {
    const url = await freshPostgresUrl();
    database = await openDatabase({ databaseUrl: url, pipeline: true, prepareSelects: true, poolSize: 2 });
    const db = database.db;
    const reads = Array.from({ length: 300 }, (_, i) =>
      i % 50 === 7
        ? sql<{ v: number }>`SELECT 1 / (${i}::int - ${i}::int) AS v`.execute(db).then(
            () => "answered",
            (err: Error) => err.message,
          )
        : sql<{ v: number }>`SELECT ${i}::int AS v`.execute(db).then((r) => r.rows),
    );
    const answers = await Promise.all(reads);
    let answered = 0;
    let failed = 0;
    answers.forEach((answer, i) => {
      if (i % 50 === 7) {
        expect(answer).to.equal("division by zero");
        failed++;
      } else {
        expect(answer).to.deep.equal([{ v: i }]);
        answered++;
      }
    });
    expect([answered, failed]).to.deep.equal([294, 6]);
    const pids = await backends(url);
    expect(pids.length).to.be.within(1, 2);
  });

  it("refuses a transaction, which would take in other requests' queries", async () => {
    database = await openDatabase({ databaseUrl: await freshPostgresUrl(), pipeline: true });
    let error: Error | undefined;
    await database.db
      .transaction()
      .execute(async () => {})
      .catch((err: Error) => (error = err));
    expect(error?.message).to.match(/transactions are not supported on the pipelined pool/);
    expect((await sql<{ v: number }>`SELECT 5::int AS v`.execute(database.db)).rows).to.deep.equal([{ v: 5 }]);
  });

  it("fails the queries of a connection the server drops, and answers the next ones on a new connection", async () => {
    const url = await freshPostgresUrl();
    database = await openDatabase({ databaseUrl: url, pipeline: true, poolSize: 1 });
    const db = database.db;
    expect((await sql<{ v: number }>`SELECT 1::int AS v`.execute(db)).rows).to.deep.equal([{ v: 1 }]);
    const [pid] = await backends(url);
    // Queued behind a sleeping query on the one connection, then the server ends it.
    const slow = sql`SELECT pg_sleep(30)`.execute(db).then(
      () => "answered",
      () => "failed",
    );
    const behind = sql`SELECT 2::int AS v`.execute(db).then(
      () => "answered",
      () => "failed",
    );
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    for (const end = Date.now() + 20_000; ;) {
      if (Date.now() > end) throw new Error("the sleeping query never started");
      const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'", [pid]);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await admin.end();
    expect(await Promise.all([slow, behind])).to.deep.equal(["failed", "failed"]);
    expect((await sql<{ v: number }>`SELECT 3::int AS v`.execute(db)).rows).to.deep.equal([{ v: 3 }]);
    const now = await backends(url);
    expect(now).to.have.length(1);
    expect(now[0]).to.not.equal(pid);
  });

  it("keeps the statement timeout per query", async () => {
    database = await openDatabase({ databaseUrl: await freshPostgresUrl(), pipeline: true, poolSize: 1, statementTimeoutMs: 200 });
    const db = database.db;
    const slow = sql`SELECT pg_sleep(5)`.execute(db).then(
      () => "answered",
      (err: Error) => err.message,
    );
    const next = sql<{ v: number }>`SELECT 4::int AS v`.execute(db).then((r) => r.rows);
    expect(await slow).to.match(/statement timeout/);
    expect(await next).to.deep.equal([{ v: 4 }]);
  });

  it("`indexer serve --cache-mb 0` (a process, as deployed) executes every request over at most two connections", async () => {
    const suite = await loadFixture(deploySuite);
    const url = await freshPostgresUrl();
    database = await openDatabase({ databaseUrl: url });
    await (await newEngine(database, suite)).syncToHead();
    const head = (await sql<{ cursor_block: number }>`SELECT cursor_block FROM indexer_state`.execute(database.db)).rows[0].cursor_block;
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--port", "0", "--cache-mb", "0"], {
      env: { ...process.env, DATABASE_URL: url, NODE_ENV: undefined },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      // The "serving" log line names the address it listens on.
      const endpoint = await new Promise<string>((resolve, reject) => {
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => {
          stderr += d;
          const line = stderr.split("\n").find((l) => l.includes('"serving"'));
          if (line) resolve(JSON.parse(line).graphql);
        });
        void exited.then(() => reject(new Error(`serve exited: ${stderr}`)));
      });
      const query = `{ health { indexedBlock } tokenSupply { total } }`;
      const answers = [];
      // The first ask goes through yoga, the next ones through the fast path, all concurrent.
      for (let round = 0; round < 3; round++) {
        answers.push(
          ...(await Promise.all(
            Array.from({ length: 20 }, async () => {
              const res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
              expect(res.status).to.equal(200);
              return res.json();
            }),
          )),
        );
      }
      const supply = (await suite.flk.totalSupply()).toString();
      for (const answer of answers) expect(answer).to.deep.equal({ data: { health: { indexedBlock: head }, tokenSupply: { total: supply } } });
      expect(answers).to.have.length(60);
      // The test's own handle holds one connection (pg.Pool); serve holds at most two.
      expect((await backends(url)).length).to.be.within(2, 3);
    } finally {
      child.kill("SIGTERM");
      expect(await exited).to.equal(0);
    }
  });
});
