/**
 * The indexer's command line: `sync` (follow the chain into the database), `serve` (GraphQL over
 * the database), `all` (both in one process; required for an embedded PGlite database, which only
 * one process can open). Every flag has an environment variable; see indexer/README.md.
 */
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { integerFlag, isUsageError, UsageError } from "../lib/cli";
import path from "node:path";
import { DEFAULT_FINALITY_DEPTH, FALLBACK_FINALITY_DEPTH, loadContractsConfig, type ContractsConfig } from "./config";
import { allModules } from "./derive";
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from "./log";
import type { ApiServer } from "./api/server";
import { openDatabase, redactUrl, type IndexerDatabase } from "./store/database";
import { acquireWriterLock, type WriterLock } from "./store/writerLock";
import { SyncEngine } from "./sync/engine";
import { RetryingRpc, rpcFromUrl } from "./sync/rpc";

const USAGE = `usage: indexer <sync|serve|all> [flags]

  --rpc-url URL              JSON-RPC endpoint (RPC_URL; default: the devnet's, else http://127.0.0.1:8545)
  --deployment PATH          devnet addresses.json, Ignition deployment folder or JSON of addresses
                             (INDEXER_DEPLOYMENT; default .data/devnet/addresses.json)
  --database-url URL         PostgreSQL (DATABASE_URL); without it an embedded PGlite database
  --data-dir DIR             PGlite data folder (INDEXER_DATA_DIR; default .data/indexer)
  --start-block N            first block to read (INDEXER_START_BLOCK; default from the deployment)
  --finality-depth N         blocks that may still reorg (INDEXER_FINALITY_DEPTH; Base 150, Hardhat 5)
  --batch-events N           events per backfill transaction (INDEXER_BATCH_EVENTS; default 10000)
  --poll-interval-ms N       head polling once caught up (INDEXER_POLL_INTERVAL_MS; default 1000)
  --exit-when-synced         sync: stop once the head is reached
  --wait-for-lock            sync: wait for another writer to stop instead of exiting
  --port N / --host H        serve: listen address (PORT / HOST; default 127.0.0.1:4000)
  --workers N                serve: processes sharing the port (INDEXER_WORKERS; default 1)
  --statement-timeout-ms N   serve: PostgreSQL statement timeout (INDEXER_STATEMENT_TIMEOUT_MS; default 5000)
  --cache-mb N               serve: MiB of answers cached per process for the current sync state
                             (INDEXER_CACHE_MB; default 64; 0 turns the cache off)
  --dev                      serve: GraphiQL and unmasked errors (NODE_ENV=development)
  --log-level L              ${LOG_LEVELS.join("|")} (LOG_LEVEL; default info: progress lines only)
`;

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "rpc-url": { type: "string" },
      deployment: { type: "string" },
      "database-url": { type: "string" },
      "data-dir": { type: "string" },
      "start-block": { type: "string" },
      "finality-depth": { type: "string" },
      "batch-events": { type: "string" },
      "poll-interval-ms": { type: "string" },
      "exit-when-synced": { type: "boolean" },
      "wait-for-lock": { type: "boolean" },
      port: { type: "string" },
      host: { type: "string" },
      "statement-timeout-ms": { type: "string" },
      workers: { type: "string" },
      "cache-mb": { type: "string" },
      dev: { type: "boolean" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const env = process.env;
  const command = positionals[0];
  if (values.help) return { help: true as const };
  if (!command || !["sync", "serve", "all"].includes(command) || positionals.length > 1) throw new UsageError(`expected one command: sync, serve or all`);
  const logLevel = (values["log-level"] ?? env.LOG_LEVEL ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  return {
    help: false as const,
    command: command as "sync" | "serve" | "all",
    rpcUrl: values["rpc-url"] ?? env.RPC_URL,
    deployment: values.deployment ?? env.INDEXER_DEPLOYMENT ?? ".data/devnet/addresses.json",
    databaseUrl: values["database-url"] ?? env.DATABASE_URL,
    dataDir: path.resolve(values["data-dir"] ?? env.INDEXER_DATA_DIR ?? ".data/indexer"),
    startBlock: integerFlag("--start-block", values["start-block"] ?? env.INDEXER_START_BLOCK, { min: 0 }),
    finalityDepth: integerFlag("--finality-depth", values["finality-depth"] ?? env.INDEXER_FINALITY_DEPTH, { min: 0 }),
    batchEvents: integerFlag("--batch-events", values["batch-events"] ?? env.INDEXER_BATCH_EVENTS, { min: 1, fallback: 10_000 }),
    pollIntervalMs: integerFlag("--poll-interval-ms", values["poll-interval-ms"] ?? env.INDEXER_POLL_INTERVAL_MS, { min: 1, fallback: 1_000 }),
    exitWhenSynced: values["exit-when-synced"] ?? false,
    waitForLock: values["wait-for-lock"] ?? false,
    port: integerFlag("--port", values.port ?? env.PORT, { min: 0, max: 65_535, fallback: 4000 }),
    host: values.host ?? env.HOST ?? "127.0.0.1",
    workers: integerFlag("--workers", values.workers ?? env.INDEXER_WORKERS, { min: 0, fallback: 1 }),
    statementTimeoutMs: integerFlag("--statement-timeout-ms", values["statement-timeout-ms"] ?? env.INDEXER_STATEMENT_TIMEOUT_MS, { min: 0, fallback: 5_000 }),
    cacheMb: integerFlag("--cache-mb", values["cache-mb"] ?? env.INDEXER_CACHE_MB, { min: 0, fallback: 64 }),
    dev: values.dev ?? env.NODE_ENV === "development",
    logLevel,
  };
}

type Options = Exclude<ReturnType<typeof parse>, { help: true }>;

async function sync(options: Options, deployment: ContractsConfig, database: IndexerDatabase, log: Logger, signal: AbortSignal): Promise<void> {
  const rpcUrl = options.rpcUrl ?? deployment.rpcUrl ?? "http://127.0.0.1:8545";
  const rpc = new RetryingRpc(rpcFromUrl(rpcUrl), { log });
  let chainId: number;
  try {
    chainId = Number(await rpc.send<string>("eth_chainId", []));
  } catch (err) {
    throw new Error(`cannot reach the RPC at ${rpcUrl}: ${(err as Error).message}`);
  }
  const engine = new SyncEngine({
    database,
    rpc,
    contracts: deployment.contracts,
    modules: allModules,
    startBlock: options.startBlock ?? deployment.startBlock,
    finalityDepth: options.finalityDepth ?? DEFAULT_FINALITY_DEPTH[chainId] ?? FALLBACK_FINALITY_DEPTH,
    batchEvents: options.batchEvents,
    pollIntervalMs: options.pollIntervalMs,
    log,
  });
  await engine.init();
  log.info("sync started", { chainId, rpcUrl, from: engine.cursor + 1, database: database.kind });
  if (options.exitWhenSynced) {
    await engine.syncToHead();
    log.info("synced", { block: engine.cursor, ...engine.stats });
  } else {
    await engine.run(signal);
  }
}

/**
 * Runs `serve` in `count` worker processes that share the listening port (node:cluster hands
 * each new connection to the next worker): one Node process handles requests on one core, the
 * readers are stateless, so more cores serve more requests. Signals are passed on; exits when all
 * workers have, failing if one failed.
 */
async function serveWorkers(count: number): Promise<void> {
  const workers = Array.from({ length: count }, () => cluster.fork());
  const stop = () => workers.forEach((w) => w.process.kill("SIGTERM"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const codes = await Promise.all(workers.map((w) => new Promise<number>((resolve) => w.once("exit", (code) => resolve(code ?? 1)))));
  if (codes.some((c) => c !== 0)) process.exitCode = 1;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const log = createLogger(options.logLevel);
  const serving = options.command !== "sync";
  if (options.command === "serve" && !options.databaseUrl) {
    throw new UsageError("serve needs DATABASE_URL: an embedded PGlite database opens in one process only; run `indexer all` to sync and serve it");
  }
  if (options.workers < 1 || (options.workers > 1 && options.command !== "serve"))
    throw new UsageError("--workers must be at least 1, and above 1 only with serve");
  if (options.workers > 1 && cluster.isPrimary) return serveWorkers(options.workers);
  // Read the deployment before touching the database, so a wrong path fails fast.
  const deployment = options.command === "serve" ? undefined : loadContractsConfig(options.deployment);
  const stop = new AbortController();
  const shutdown = () => stop.abort();
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  // The lock comes first: a PGlite folder must not be opened while another process has it open.
  let lock: WriterLock | undefined;
  if (options.command !== "serve") {
    const target = options.databaseUrl ? { kind: "postgres" as const, url: options.databaseUrl } : { kind: "pglite" as const, dataDir: options.dataDir };
    lock = await acquireWriterLock(target, options.waitForLock, 1000, (err) => {
      // Another writer may take over now: stop writing at once.
      log.error("lost the writer lock; exiting", { error: err.message });
      process.exit(1);
    });
  }
  let database: IndexerDatabase;
  try {
    database = await openDatabase({
      databaseUrl: options.databaseUrl,
      dataDir: options.dataDir,
      statementTimeoutMs: serving ? options.statementTimeoutMs : undefined,
      // `all` also writes: its engine's reads have many texts (key lists of every length).
      prepareSelects: options.command === "serve",
      // `serve` only reads: its queries share a few connections, pipelined.
      pipeline: options.command === "serve",
    });
  } catch (err) {
    await lock?.release();
    throw err;
  }
  let api: ApiServer | undefined;
  try {
    if (serving) {
      // graphql-js reads NODE_ENV when loaded: outside production every failed type check in
      // execution also compares class names across realms (bench/indexer: ~3% of serve's CPU).
      process.env.NODE_ENV ||= options.dev ? "development" : "production";
      const { startApiServer } = await import("./api/server");
      api = await startApiServer({ database, port: options.port, host: options.host, dev: options.dev, cacheMb: options.cacheMb });
      log.info("serving", {
        graphql: `${api.url}/graphql`,
        health: `${api.url}/health`,
        database: options.databaseUrl ? redactUrl(options.databaseUrl) : options.dataDir,
      });
    }
    if (options.command === "serve") await new Promise((resolve) => stop.signal.addEventListener("abort", resolve, { once: true }));
    else await sync(options, deployment!, database, log, stop.signal);
    if (options.command === "all" && options.exitWhenSynced) stop.abort();
  } finally {
    await api?.close();
    // Close before unlocking, so the next writer never opens a folder still being written.
    await database.close();
    await lock?.release();
    // A cluster worker's channel to the primary would keep it alive.
    cluster.worker?.disconnect();
  }
}

main().catch((err) => {
  process.stderr.write(`indexer: ${(err as Error).message}\n${isUsageError(err) ? USAGE : ""}`);
  process.exitCode = 1;
  // A worker that failed to start must exit too, so the primary sees the failure.
  cluster.worker?.disconnect();
});
