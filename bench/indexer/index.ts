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
 * Over HTTP (Hardhat's JSON-RPC server in this process), twice: on the sparse chain (the suite and
 * BENCH_SPARSE_BLOCKS blocks of mixed transactions) before the transfers are seeded, and on the
 * whole dense chain after: `indexer sync --exit-when-synced` and Ponder 1.0 (bench/indexer/ponder)
 * as their own processes, into fresh PGlite and PostgreSQL, events/s end to end and the ratio
 * ours/Ponder (BENCH_HTTP=0 leaves these out).
 * Run: `npx hardhat run bench/indexer/index.ts` (BENCH_EVENTS, BENCH_DATABASE_URL, BENCH_SECONDS;
 * BENCH_GRAPHQL_ONLY=1 times only the PostgreSQL sync and the API loads, BENCH_GRAPHQL_REPEAT=N
 * repeats the loads).
 * Each figure is also printed as one `BENCH {json}` line (read by bench/run).
 */
import hre from "hardhat";
import pg from "pg";
import autocannon from "autocannon";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { deploySuite, suiteContracts, type Suite } from "../../testkit/deploy";
import { FLK } from "../../protocol/units";
import { allModules } from "../../indexer/derive";
import { openDatabase, type IndexerDatabase } from "../../indexer/store/database";
import { SyncEngine } from "../../indexer/sync/engine";
import { rpcFromEip1193, type Rpc } from "../../indexer/sync/rpc";
import { RecordedChain } from "./recordedChain";
import { sql } from "kysely";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../testkit/freePorts";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const PER_TX = 500;
const RECIPIENTS = 2_000;
/** Blocks of one ordinary transaction each before the dense transfers (BENCH_SPARSE_BLOCKS). */
const SPARSE_BLOCKS = Number(process.env.BENCH_SPARSE_BLOCKS ?? 2_000);
/** BENCH_HTTP=0 leaves out the syncs over HTTP (ours and Ponder's). */
const HTTP = process.env.BENCH_HTTP !== "0";
/** Ponder is stopped (and the bench fails) if not synced by then (BENCH_PONDER_TIMEOUT_S). */
const PONDER_TIMEOUT_MS = Number(process.env.BENCH_PONDER_TIMEOUT_S ?? 1_200) * 1000;
const SERVER = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
/** BENCH_GRAPHQL_ONLY=1: seed, sync into PostgreSQL and load the API; no other sync is timed. */
const GRAPHQL_ONLY = process.env.BENCH_GRAPHQL_ONLY === "1";
/** Each API load (cached, then uncached) runs this many times (BENCH_GRAPHQL_REPEAT). */
const GRAPHQL_REPEAT = Number(process.env.BENCH_GRAPHQL_REPEAT ?? 1);
/** `indexer serve --workers`: one process per core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? os.cpus().length);

/**
 * The sparse part of the chain: the suite's deployment, then SPARSE_BLOCKS blocks of one ordinary
 * transaction each, mixed as the suite's users make them: transfers among holders, burns, vesting
 * releases and an emission mint every 100 blocks (a week apart).
 */
async function deployWithSparseActivity() {
  const suite = await deploySuite();
  const signers = await hre.ethers.getSigners();
  const sale = signers[16];
  await suite.vesting.release(6); // the sale schedule pays signers[16]
  const schedules = Number(await suite.vesting.scheduleCount());
  for (let i = 2; i < 7; i++) await suite.flk.connect(sale).transfer(signers[i].address, 1_000n * FLK);
  for (let i = 0; i < SPARSE_BLOCKS; i++) {
    if (i % 100 === 0) {
      await time.increase(7 * 24 * 3600);
      await suite.emission.mint();
    } else if (i % 100 === 50) {
      const id = i % schedules;
      if ((await suite.vesting.releasable(id)) > 0n) await suite.vesting.release(id);
      else await suite.flk.connect(sale).transfer(signers[2].address, FLK);
    } else if (i % 10 === 5) {
      await suite.flk.connect(signers[2 + (i % 5)]).burn(1n);
    } else {
      await suite.flk.connect(i % 3 === 0 ? sale : signers[2 + (i % 5)]).transfer(signers[2 + ((i + 1) % 5)].address, i % 3 === 0 ? 10n * FLK : 1n);
    }
  }
  console.log(`sparse activity: ${await hre.ethers.provider.getBlockNumber()} blocks`);
  return suite;
}

/** The dense part: EVENTS FLK transfers, PER_TX per transaction (one transaction per block). */
async function seedDense(suite: Suite) {
  const signers = await hre.ethers.getSigners();
  const sprayer = await (await hre.ethers.getContractFactory("BenchTransfers")).deploy();
  await suite.flk.connect(signers[16]).transfer(await sprayer.getAddress(), BigInt(EVENTS));
  const started = Date.now();
  for (let sent = 0; sent < EVENTS; sent += PER_TX) {
    await sprayer.spray(await suite.flk.getAddress(), Math.min(PER_TX, EVENTS - sent), sent, RECIPIENTS);
  }
  console.log(`seeded ${EVENTS} transfers in ${((Date.now() - started) / 1000).toFixed(1)} s (${await hre.ethers.provider.getBlockNumber()} blocks)`);
}

// Random, not the pid: sessions in other containers (own pid namespaces) may share the server.
const BENCH_DATABASE = `indexer_bench_${randomBytes(6).toString("hex")}`;

async function adminQuery(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(statement);
  await admin.end();
}

/** The database the syncs over HTTP use (not the in-process one, which the API phase reads). */
const HTTP_DATABASE = `${BENCH_DATABASE}_http`;

async function freshServerDatabase(name = BENCH_DATABASE): Promise<string> {
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

/** Read and write system calls (socket reads and writes included) of a process and its children; undefined off Linux. */
function processTreeSyscalls(pid: number): { reads: number; writes: number } | undefined {
  const count = (p: number) => {
    const io = fs.readFileSync(`/proc/${p}/io`, "utf8");
    return { reads: Number(/syscr: (\d+)/.exec(io)?.[1]), writes: Number(/syscw: (\d+)/.exec(io)?.[1]) };
  };
  try {
    const total = count(pid);
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (Number(fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1]) !== pid) continue;
        const child = count(Number(entry));
        total.reads += child.reads;
        total.writes += child.writes;
      } catch {
        // gone meanwhile
      }
    }
    return total;
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

/** CPU time so far of every PostgreSQL backend connected to `databaseUrl`'s database, by pid (local server only). */
async function databaseBackendsCpu(databaseUrl: string): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [new URL(databaseUrl).pathname.slice(1)]);
    return new Map(rows.map(({ pid }) => [pid, processCpuMs(pid) ?? 0]));
  } finally {
    await client.end();
  }
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
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
  console.log(
    `BENCH ${JSON.stringify({ bench: "indexer", kind: "sync", database: label, events: s.events, seconds, eventsPerSecond: Math.round(s.events / seconds), series })}`,
  );
}

/** CPU time (ms) of this process's children that have ended and been waited for (/proc/self/stat cutime + cstime). */
function endedChildrenCpuMs(): number | undefined {
  try {
    const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Where a run over HTTP writes: a fresh PostgreSQL database, or a fresh PGlite folder. */
type HttpTarget = { kind: "pglite"; dir: string } | { kind: "postgres"; url: string };

async function freshTarget(kind: HttpTarget["kind"]): Promise<HttpTarget> {
  if (kind === "postgres") return { kind, url: await freshServerDatabase(HTTP_DATABASE) };
  return { kind, dir: fs.mkdtempSync(path.join(os.tmpdir(), "indexer-bench-")) };
}

function dropTarget(target: HttpTarget): void {
  if (target.kind === "pglite") fs.rmSync(target.dir, { recursive: true, force: true });
}

/** A child process's exit, failing on a non-zero code or a signal other than the one that stopped it. */
function exited(child: ReturnType<typeof spawn>, label: string, expectedSignal?: NodeJS.Signals): Promise<void> {
  return new Promise((resolve, reject) =>
    child.once("exit", (code, signal) =>
      code === 0 || (signal !== null && signal === expectedSignal) ? resolve() : reject(new Error(`${label} exited with ${code ?? signal}`)),
    ),
  );
}

/** A sync over HTTP: events indexed, seconds end to end, CPU of the indexer and of the RPC; the block reached if short of the head. */
type HttpRun = { events: number; seconds: number; cpuMs?: number; rpcCpuMs: number; block?: number };

/**
 * `indexer sync --exit-when-synced` as its own process, as a user runs it, over HTTP from `rpcUrl`:
 * timed from spawn to exit (start-up, migrations and the whole sync). Its events come from its
 * own "synced" line.
 */
async function ourSyncOverHttp(rpcUrl: string, deployment: string, target: HttpTarget): Promise<HttpRun> {
  const where = target.kind === "postgres" ? ["--database-url", target.url] : ["--data-dir", target.dir];
  const args = ["sync", "--exit-when-synced", "--rpc-url", rpcUrl, "--deployment", deployment, ...where, "--log-level", "info"];
  const cpuBefore = endedChildrenCpuMs();
  const rpcCpu = process.cpuUsage();
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../../indexer/cli.ts"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let events: number | undefined;
  let tail = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    const lines = (tail + text).split("\n");
    tail = lines.pop()!;
    for (const line of lines) {
      let fields: { msg?: string; events?: number } | undefined;
      try {
        fields = JSON.parse(line);
      } catch {
        process.stderr.write(line + "\n"); // not a log line: a crash's stack
      }
      if (fields?.msg === "synced") events = fields.events;
      else if (fields?.msg !== "sync progress" && fields?.msg !== "sync started") process.stderr.write(line + "\n");
    }
  });
  await exited(child, "indexer sync");
  const seconds = (Date.now() - started) / 1000;
  const cpuAfter = endedChildrenCpuMs();
  if (events === undefined) throw new Error("indexer sync ended without its synced line");
  const { user, system } = process.cpuUsage(rpcCpu);
  return { events, seconds, cpuMs: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined, rpcCpuMs: (user + system) / 1000 };
}

/**
 * Ponder 1.0 (bench/indexer/ponder: FLK transfers into balances and a transfer table) as its own
 * process, `ponder start` over HTTP from `rpcUrl` into a fresh database: timed from spawn until
 * its /status reports it ready (its historical sync done; on a dense chain its realtime sync was
 * seen to stay a few blocks short of the head). Its events are the transfers its own GraphQL
 * counts at that moment.
 */
async function ponderOverHttp(rpcUrl: string, flk: string, head: number, target: HttpTarget): Promise<HttpRun> {
  const port = await freePort();
  const root = path.resolve(__dirname, "ponder");
  const where = target.kind === "postgres" ? { PONDER_DATABASE_URL: target.url } : { PONDER_PGLITE_DIR: target.dir };
  const cpuBefore = endedChildrenCpuMs();
  const rpcCpu = process.cpuUsage();
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      path.resolve(__dirname, "../../node_modules/ponder/dist/esm/bin/ponder.js"),
      "start",
      "--root",
      root,
      "--schema",
      "bench",
      "--port",
      String(port),
      "--hostname",
      "127.0.0.1",
      "--log-level",
      "warn",
    ],
    // In its folder: it writes generated/ where it runs.
    {
      cwd: root,
      env: { ...process.env, ...where, PONDER_RPC_URL: rpcUrl, PONDER_FLK: flk, PONDER_TELEMETRY_DISABLED: "true" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  // Ponder logs to stdout: kept in a file (named if it fails or takes long), its tail shown if it fails.
  const logFile = path.join(os.tmpdir(), `ponder-bench-${port}.log`);
  const logStream = fs.createWriteStream(logFile);
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    logStream.write(text);
    output = (output + text).slice(-4_000);
  });
  const done = exited(child, "ponder start", "SIGTERM").catch((err) => {
    throw new Error(`${(err as Error).message}; its last output (all in ${logFile}):\n${output}`);
  });
  done.finally(() => logStream.end()).catch(() => {});
  let failed: unknown;
  done.catch((err) => (failed = err));
  const url = `http://127.0.0.1:${port}`;
  type Status = Record<string, { ready: boolean; block: { number: number } | null }>;
  let reached = -1;
  for (;;) {
    if (failed) throw failed;
    if (Date.now() - started > PONDER_TIMEOUT_MS) {
      child.kill("SIGKILL");
      throw new Error(`ponder: not at block ${head} after ${PONDER_TIMEOUT_MS / 1000} s; its log: ${logFile}`);
    }
    const status = await fetch(`${url}/status`).then(
      (r) => (r.ok ? (r.json() as Promise<Status | null>) : null),
      () => null,
    );
    if (status && Object.values(status).length > 0 && Object.values(status).every((n) => n.ready)) {
      reached = Math.min(...Object.values(status).map((n) => n.block?.number ?? -1));
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (Date.now() - started) / 1000;
  const { user, system } = process.cpuUsage(rpcCpu);
  // Ready, Ponder may still answer a query with an empty body for a moment (seen on the dense
  // chain): ask again for up to 10 s before giving up.
  let data: { transfers: { totalCount: number } } | undefined;
  let last = "";
  for (const until = Date.now() + 10_000; !data && Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
    const answer = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ transfers { totalCount } }" }),
    }).catch((err: Error) => ({ status: 0, text: async () => err.message }));
    last = `${answer.status} ${await answer.text()}`;
    try {
      data = (JSON.parse(last.slice(last.indexOf(" ") + 1)) as { data?: typeof data }).data;
    } catch {
      // not JSON yet
    }
  }
  if (!data) throw new Error(`Ponder's GraphQL did not answer the transfer count: ${last.slice(0, 200)}`);
  child.kill("SIGTERM");
  await done;
  const cpuAfter = endedChildrenCpuMs();
  return {
    events: data.transfers.totalCount,
    seconds,
    cpuMs: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined,
    rpcCpuMs: (user + system) / 1000,
    block: reached,
  };
}

/**
 * The chain as far as it goes, synced over HTTP from Hardhat's JSON-RPC server (served from this
 * process) by our indexer and by Ponder, each into PGlite and PostgreSQL, one after another:
 * events/s end to end and the ratio ours/Ponder. Ours indexes every contract of the suite, Ponder
 * FLK's transfers only.
 */
async function httpPhase(label: string, rpcUrl: string, contracts: Record<string, string>) {
  const head = await hre.ethers.provider.getBlockNumber();
  const deployment = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "indexer-bench-")), "addresses.json");
  fs.writeFileSync(deployment, JSON.stringify({ contracts, startBlock: 0, chainId: 31337 }));
  for (const kind of ["pglite", "postgres"] as const) {
    const runs: Record<string, HttpRun> = {};
    for (const [who, run] of [
      ["ours", (t: HttpTarget) => ourSyncOverHttp(rpcUrl, deployment, t)],
      ["ponder", (t: HttpTarget) => ponderOverHttp(rpcUrl, contracts.FLK, head, t)],
    ] as const) {
      const target = await freshTarget(kind);
      try {
        const r = (runs[who] = await run(target));
        const perEvent = (ms: number) => `${((ms * 1000) / r.events).toFixed(1)} µs/event`;
        console.log(
          `${`${label} http ${who}`.padEnd(20)} ${kind.padEnd(8)} ${r.events} events in ${r.seconds.toFixed(2)} s = ${Math.round(r.events / r.seconds)} events/s end to end ` +
            `(cpu: ${who === "ours" ? "indexer" : "ponder"} ${r.cpuMs !== undefined ? perEvent(r.cpuMs) : "?"}, Hardhat RPC ${perEvent(r.rpcCpuMs)}; ` +
            `${r.block !== undefined && r.block < head ? `ready at block ${r.block} of ${head}` : `${head} blocks`}; load ${loadAverage()})`,
        );
        console.log(
          `BENCH ${JSON.stringify({ bench: "indexer", kind: "http", chain: label, indexer: who, database: kind, events: r.events, seconds: r.seconds, eventsPerSecond: Math.round(r.events / r.seconds), cpuUsPerEvent: r.cpuMs !== undefined ? (r.cpuMs * 1000) / r.events : null })}`,
        );
      } finally {
        if (target.kind === "postgres") await adminQuery(`DROP DATABASE IF EXISTS ${HTTP_DATABASE} WITH (FORCE)`);
        dropTarget(target);
      }
    }
    // Each counts what it indexed: ours every contract's events to the head, Ponder FLK's
    // transfers up to ready (on the dense chain nearly all events are transfers); times beside.
    const ratio = runs.ours.events / runs.ours.seconds / (runs.ponder.events / runs.ponder.seconds);
    console.log(
      `${`${label} http`.padEnd(20)} ${kind.padEnd(8)} ours/Ponder = ${ratio.toFixed(2)}x events/s ` +
        `(time to synced: ours ${runs.ours.seconds.toFixed(1)} s, Ponder ${runs.ponder.seconds.toFixed(1)} s to ready, ${(runs.ponder.seconds / runs.ours.seconds).toFixed(2)}x)`,
    );
    console.log(
      `BENCH ${JSON.stringify({ bench: "indexer", kind: "http-ratio", chain: label, database: kind, oursOverPonder: ratio, timeRatio: runs.ponder.seconds / runs.ours.seconds })}`,
    );
  }
}

/** `indexer serve` in its own process (as deployed), ready once /health answers 200. */
async function startServe(databaseUrl: string, cacheMb: number): Promise<{ url: string; pid: number; close(): Promise<void> }> {
  const port = await freePort();
  const args = ["serve", "--port", String(port), "--workers", String(WORKERS), "--cache-mb", String(cacheMb), "--log-level", "warn"];
  // BENCH_SERVE_PROFILE=DIR: serve's processes write CPU profiles there when they stop.
  const profile = process.env.BENCH_SERVE_PROFILE ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_SERVE_PROFILE] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", path.resolve(__dirname, "../../indexer/cli.ts"), ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
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
  const syscallsBefore = processTreeSyscalls(api.pid);
  const backendsBefore = await databaseBackendsCpu(databaseUrl);
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
  const syscalls = processTreeSyscalls(api.pid);
  // Backends that started during the load count whole (their CPU before was none).
  let backends = 0;
  for (const [pid, ms] of await databaseBackendsCpu(databaseUrl)) backends += ms - (backendsBefore.get(pid) ?? 0);
  const perRequest = (ms: number) => `${((ms * 1000) / result.requests.total).toFixed(0)} µs/request`;
  if (serveCpu !== undefined && served !== undefined)
    console.log(`${"".padEnd(18)} cpu: serve ${perRequest(served - serveCpu)} (${WORKERS} workers), PostgreSQL backends ${perRequest(backends)}`);
  if (syscallsBefore && syscalls) {
    const per = (n: number) => (n / result.requests.total).toFixed(2);
    console.log(
      `${"".padEnd(18)} serve's system calls per request: ${per(syscalls.reads - syscallsBefore.reads)} reads, ${per(syscalls.writes - syscallsBefore.writes)} writes`,
    );
  }
  console.log(
    `BENCH ${JSON.stringify({ bench: "indexer", kind: "graphql", cached, requestsPerSecond: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors + result.non2xx })}`,
  );
  await api.close();
}

async function main() {
  const suite = await deployWithSparseActivity();
  const { beneficiary, ...contracts } = { ...(await suiteContracts(suite)), beneficiary: suite.genesis.team.beneficiaries[0] };
  const node = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
  const { address, port } = await node.listen();
  const rpcUrl = `http://${address}:${port}`;
  try {
    await benchChain(rpcUrl, suite, beneficiary, contracts);
  } finally {
    await node.close();
  }
}

async function benchChain(rpcUrl: string, suite: Suite, beneficiary: string, contracts: Record<string, string>) {
  if (HTTP && !GRAPHQL_ONLY) await httpPhase("sparse", rpcUrl, contracts);
  await seedDense(suite);
  if (GRAPHQL_ONLY) {
    const url = await freshServerDatabase();
    const server = await openDatabase({ databaseUrl: url });
    await timeSync("postgres", server, contracts, rpcFromEip1193(hre.network.provider));
    await server.close();
    return loadApis(url, beneficiary);
  }
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
  if (HTTP) await httpPhase("dense", rpcUrl, contracts);
  await loadApis(url, beneficiary);
}

/** The API loads, GRAPHQL_REPEAT times each, on the synced database `url` (dropped after). */
async function loadApis(url: string, beneficiary: string) {
  try {
    for (let i = 0; i < GRAPHQL_REPEAT; i++) {
      await loadApi(url, beneficiary, true);
      await loadApi(url, beneficiary, false);
    }
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
