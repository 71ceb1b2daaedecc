/**
 * Indexer bench: seeds BENCH_EVENTS (default 500,000) FLK transfers on the in-process Hardhat
 * chain, times a full sync into PGlite and into PostgreSQL (events/s, split into RPC and database
 * time), then the same sync into PostgreSQL again with the RPC answers replayed from memory (the
 * indexer alone, as Ponder's "cached replay"), then loads `indexer serve` (its own process) on
 * PostgreSQL with autocannon (50 connections, five representative queries): requests/s, p50 and
 * p99, once as deployed (answers cached per indexed state) and once with `--cache-mb 0` (every
 * request executed against PostgreSQL: the cost of a first ask, or of a state that keeps moving). Besides wall time it prints the CPU time of this process and of the PostgreSQL backends
 * per event or request: on a shared machine wall time depends on the other load, CPU time much
 * less.
 * Run: `npx hardhat run bench/indexer/index.ts` (BENCH_EVENTS, BENCH_DATABASE_URL, BENCH_SECONDS).
 * Each figure is also printed as one `BENCH {json}` line (read by bench/run).
 */
import hre from "hardhat";
import pg from "pg";
import autocannon from "autocannon";
import { deploySuite } from "../../test/helpers/deploy";
import { suiteContracts } from "../../test/indexer/helpers";
import { allModules } from "../../indexer/derive";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { SyncEngine } from "../../indexer/sync/engine";
import { rpcFromEip1193, type Rpc } from "../../indexer/sync/rpc";
import { RecordedChain } from "./recorded-chain";
import { sql } from "kysely";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const PER_TX = 500;
const RECIPIENTS = 2_000;
const SERVER = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
/** `indexer serve --workers`: one process per core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? os.cpus().length);

async function seed() {
  const suite = await deploySuite();
  const signers = await hre.ethers.getSigners();
  const sprayer = await (await hre.ethers.getContractFactory("BenchTransfers")).deploy();
  await suite.vesting.release(6); // the sale schedule pays signers[16]
  await suite.flk.connect(signers[16]).transfer(await sprayer.getAddress(), BigInt(EVENTS));
  const started = Date.now();
  for (let sent = 0; sent < EVENTS; sent += PER_TX) {
    await sprayer.spray(await suite.flk.getAddress(), Math.min(PER_TX, EVENTS - sent), sent, RECIPIENTS);
  }
  console.log(`seeded ${EVENTS} transfers in ${((Date.now() - started) / 1000).toFixed(1)} s (${await hre.ethers.provider.getBlockNumber()} blocks)`);
  return { ...(await suiteContracts(suite)), beneficiary: suite.genesis.team.beneficiaries[0] };
}

// Random, not the pid: sessions in other containers (own pid namespaces) may share the server.
const BENCH_DATABASE = `indexer_bench_${randomBytes(6).toString("hex")}`;

async function adminQuery(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(statement);
  await admin.end();
}

async function freshServerDatabase(): Promise<string> {
  const name = BENCH_DATABASE;
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

/** CPU time (user + system) of a process, in ms, from /proc (Linux); undefined elsewhere. */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

/** CPU time of a process and its children (serve's cluster workers), in ms; undefined off Linux. */
function processTreeCpuMs(pid: number): number | undefined {
  let total = processCpuMs(pid);
  if (total === undefined) return undefined;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(fields[1]) === pid) total += processCpuMs(Number(entry)) ?? 0;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/** CPU time so far of the PostgreSQL backends serving `database`'s pool (local server only). */
async function backendCpuMs(database: IndexerDatabase): Promise<number | undefined> {
  if (database.kind !== "postgres") return undefined;
  const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(database.db);
  let total = 0;
  for (const { pid } of rows) {
    const ms = processCpuMs(pid);
    if (ms === undefined) return undefined;
    total += ms;
  }
  return total;
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(1)).join(" ");
}

async function timeSync(label: string, database: IndexerDatabase, contracts: Record<string, string>, rpc: Rpc) {
  const engine = new SyncEngine({
    database,
    rpc,
    contracts,
    modules: allModules,
    startBlock: 0,
    finalityDepth: 5,
    batchEvents: 10_000,
    fetcher: { initialRange: 50, maxRange: 10_000, targetLogs: 10_000, concurrency: 2 },
  });
  await engine.init();
  const started = Date.now();
  const cpu = process.cpuUsage();
  const backendsBefore = (await backendCpuMs(database)) ?? 0;
  // Events indexed over time, sampled every 250 ms, for bench/run's events/s chart.
  const series: [number, number][] = [[0, 0]];
  const sampler = setInterval(() => series.push([(Date.now() - started) / 1000, engine.stats.events]), 250);
  await engine.syncToHead();
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const backends = await backendCpuMs(database);
  const s = engine.stats;
  const perEvent = (ms: number) => `${((ms * 1000) / s.events).toFixed(1)} µs/event`;
  series.push([seconds, s.events]);
  console.log(
    `${label.padEnd(17)} ${s.events} events in ${seconds.toFixed(2)} s = ${Math.round(s.events / seconds)} events/s ` +
      `(rpc ${(s.rpcMs / 1000).toFixed(2)} s, decode+handlers ${(s.handlerMs / 1000).toFixed(2)} s, db ${(s.dbMs / 1000).toFixed(2)} s ` +
      `of which waited ${(s.dbWaitMs / 1000).toFixed(2)} s, ${s.batches} batches; load ${loadAverage()})`,
  );
  console.log(
    `${"".padEnd(17)} cpu: this process ${perEvent((user + system) / 1000)}` +
      (backends !== undefined ? `, PostgreSQL backends ${perEvent(backends - backendsBefore)}` : ""),
  );
  console.log(`BENCH ${JSON.stringify({ bench: "indexer", kind: "sync", database: label, events: s.events, seconds, eventsPerSecond: Math.round(s.events / seconds), series })}`);
}

/** A free TCP port on the loopback interface. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** `indexer serve` in its own process (as deployed), ready once /health answers 200. */
async function startServe(databaseUrl: string, cacheMb: number): Promise<{ url: string; pid: number; close(): Promise<void> }> {
  const port = await freePort();
  const args = ["serve", "--port", String(port), "--workers", String(WORKERS), "--cache-mb", String(cacheMb), "--log-level", "warn"];
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../../indexer/cli.ts"), ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 200) throw new Error("indexer serve did not come up");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    close: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function loadApi(databaseUrl: string, beneficiary: string, cached: boolean) {
  const api = await startServe(databaseUrl, cached ? 64 : 0);
  const queries = [
    `{ tokenSupply { total circulating lockedInVesting burned emitted } }`,
    `{ accounts(first: 20, orderBy: BALANCE, orderDirection: DESC) { nodes { address balance } pageInfo { endCursor } } }`,
    `{ transfers(first: 20, where: { to: "0x0000000000000000000000000000000000010005" }, orderDirection: DESC) { nodes { blockNumber from value } } }`,
    `{ vestingSchedules(where: { beneficiary: "${beneficiary}" }) { nodes { id amount released vested releasable } } }`,
    `{ health { indexedBlock lagBlocks } tokenStats { holders transfers } emission { minted mintable } }`,
  ];
  // Check each query answers without errors before loading it.
  for (const query of queries) {
    const res = await fetch(`${api.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
    const body = await res.json();
    if (body.errors) throw new Error(`bench query failed: ${JSON.stringify(body.errors)}`);
  }
  const serveCpu = processTreeCpuMs(api.pid);
  const result = await autocannon({
    url: `${api.url}/graphql`,
    connections: 50,
    duration: SECONDS,
    requests: queries.map((query) => ({ method: "POST", path: "/graphql", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) })),
  });
  const label = cached ? "graphql" : "graphql (no cache)";
  console.log(
    `${label.padEnd(18)} ${Math.round(result.requests.average)} requests/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms ` +
      `(50 connections, 5 queries, ${SECONDS} s, ${result.non2xx} non-2xx, ${result.errors} errors; load ${loadAverage()})`,
  );
  const served = processTreeCpuMs(api.pid);
  if (serveCpu !== undefined && served !== undefined) console.log(`${"".padEnd(18)} cpu: serve ${(((served - serveCpu) * 1000) / result.requests.total).toFixed(0)} µs/request (${WORKERS} workers)`);
  console.log(`BENCH ${JSON.stringify({ bench: "indexer", kind: "graphql", cached, requestsPerSecond: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + result.non2xx })}`);
  await api.close();
}

async function main() {
  const { beneficiary, ...contracts } = await seed();
  const chain = new RecordedChain();
  const lite = await openDatabase({ dataDir: "memory://" });
  await timeSync("pglite", lite, contracts, chain.recording(rpcFromEip1193(hre.network.provider)));
  await lite.close();
  const replayed = await openDatabase({ databaseUrl: await freshServerDatabase() });
  await timeSync("postgres (replay)", replayed, contracts, chain.replay());
  await replayed.close();
  const url = await freshServerDatabase();
  const server = await openDatabase({ databaseUrl: url });
  await timeSync("postgres", server, contracts, rpcFromEip1193(hre.network.provider));
  await server.close();
  try {
    await loadApi(url, beneficiary, true);
    await loadApi(url, beneficiary, false);
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
