/**
 * Functions benchmark (issue 19): this node's functions service and Cloudflare's workerd side by
 * side, in one run, with the same three functions (hello world, a JSON transform, a 50 KB bundle),
 * through HTTP. Cold start: the first request to a function the service has not seen (a distinct
 * root each time: bundle read through the gateway, new isolate, compile), in two series: back to
 * back (a burst of new functions, where each waits for the spare isolate its predecessor used to be
 * rebuilt) and spaced by {@link SPACED_PAUSE_MS} (new functions arriving one at a time, the spares
 * rebuilt between them); for workerd, which loads its workers at process start, the time from
 * spawning a one-worker workerd to its first answer.
 * Warm: autocannon, 32 connections, requests/s and p99 latency, and the CPU time each process of
 * ours spent per warm request (node with its gateway, functions service, load generator; read from
 * /proc, so Linux only): a figure the shared machine's load disturbs less than requests/s.
 * Run: `npx tsx bench/functions/index.ts [seconds per warm run, default 5] [cold samples, default 40]`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startFunctionNode } from "../../testkit/functionNode";

const SECONDS = Number(process.argv[2] ?? 5);
const COLD_SAMPLES = Number(process.argv[3] ?? 40);
const WORKERD_COLD_SAMPLES = 10;
/** Pause before each cold request of the spaced series: longer than a spare isolate's rebuild (12 ms on the slowest machine measured). */
const SPACED_PAUSE_MS = 50;
const CONNECTIONS = 32;
/**
 * The workerd binary itself, as the npm package's `main` names it. Its `.bin/workerd` is a Node
 * script that runs the binary as its child: killing the script left the binary serving (runs of
 * this bench left workerd processes behind).
 */
const WORKERD = (createRequire(__filename)("workerd") as { default: string }).default;
const WORKERD_BASE_PORT = 18_470;

/** A 50 KB module: a table of 1,000 records and a function that looks one up. */
function fiftyKilobyteBundle(): string {
  const rows = Array.from({ length: 1000 }, (_, i) => `{id:${i},name:"item-${i.toString(36).padStart(6, "0")}",price:${(i * 37) % 1000}}`);
  return `const TABLE = [${rows.join(",\n")}];\nexport default { async fetch(request) {\n  const row = TABLE[request.url.length % TABLE.length];\n  return Response.json({ row, count: TABLE.length });\n} };\n`;
}

const FUNCTIONS = [
  {
    name: "hello world",
    source: `export default { async fetch(request) { return new Response("Hello, world!"); } };\n`,
    method: "GET",
    body: undefined as string | undefined,
  },
  {
    name: "JSON transform",
    source: `export default { async fetch(request) {
  const { items } = await request.json();
  const out = items.map((i) => ({ id: i.id, name: i.name.toUpperCase(), total: i.price * i.qty }));
  return Response.json({ count: out.length, sum: out.reduce((s, i) => s + i.total, 0), items: out });
} };\n`,
    method: "POST",
    body: JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `widget-${i}`, price: 3 + i, qty: 1 + (i % 4) })) }),
  },
  { name: "50 KB bundle", source: fiftyKilobyteBundle(), method: "GET", body: undefined as string | undefined },
];

interface Warm {
  requestsPerSecond: number;
  p99: number;
  errors: number;
  /** CPU µs per request of [node and gateway, functions service, load generator], when measured. */
  cpuPerRequest?: number[];
}

/** CPU time of process `pid` so far, µs (user + system clock ticks from /proc, 100 per second). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function warm(url: string, method: string, body: string | undefined, pids: number[] = []): Promise<Warm> {
  const measured = pids.length > 0 && existsSync("/proc/self/stat");
  const before = measured ? [...pids.map(cpuOf), cpuOf(process.pid)] : [];
  const result = await autocannon({
    url,
    method: method as "GET",
    body,
    headers: body ? { "content-type": "application/json" } : {},
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  const after = measured ? [...pids.map(cpuOf), cpuOf(process.pid)] : [];
  const cpuPerRequest = measured ? after.map((t, i) => (t - before[i]) / Math.max(1, result.requests.total)) : undefined;
  return { requestsPerSecond: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuPerRequest };
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One connection kept open for the timed requests: node:http, lighter on the shared CPU than fetch (~1 ms less per request). */
const TIMED_AGENT = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** The latency of one request through {@link TIMED_AGENT}, ms; throws unless it answers 200. */
function timed(url: string, method: string, body: string | undefined): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent: TIMED_AGENT, headers: body ? { "content-type": "application/json" } : {} }, (answer) => {
      answer.resume();
      answer.on("end", () => (answer.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`${url}: HTTP ${answer.statusCode}`))));
      answer.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** workerd config with one worker per function, each on its own port. */
function workerdConfig(dir: string, functions: { source: string }[], basePort: number): string {
  const parts = functions.map((f, i) => {
    writeFileSync(join(dir, `fn${i}.js`), f.source);
    return {
      service: `(name = "fn${i}", worker = (modules = [(name = "fn${i}.js", esModule = embed "fn${i}.js")], compatibilityDate = "2024-09-23"))`,
      socket: `(name = "s${i}", address = "127.0.0.1:${basePort + i}", http = (), service = "fn${i}")`,
    };
  });
  const file = join(dir, `config-${basePort}.capnp`);
  writeFileSync(
    file,
    `using Workerd = import "/workerd/workerd.capnp";\nconst config :Workerd.Config = (\n  services = [${parts.map((p) => p.service).join(", ")}],\n  sockets = [${parts.map((p) => p.socket).join(", ")}],\n);\n`,
  );
  return file;
}

/**
 * The processes this run started and has not stopped (workerd, and our node, whose functions
 * service exits with it): killed when the run exits, on an error or a signal too.
 */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function killedOnExit(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

function startWorkerd(config: string): ChildProcess {
  return killedOnExit(spawn(WORKERD, ["serve", config], { stdio: ["ignore", "ignore", "pipe"] }));
}

async function untilAnswers(url: string, method: string, body: string | undefined, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await fetch(url, { method, body }).then(
      (r) => r.arrayBuffer().then(() => r.ok),
      () => false,
    );
    if (ok) return;
    if (Date.now() > end) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const thousands = (n: number) => Math.round(n).toLocaleString("en-US");
const cpuText = (w: Warm) => (w.cpuPerRequest ? `node ${f0(w.cpuPerRequest[0])}, service ${f0(w.cpuPerRequest[1])}, load ${f0(w.cpuPerRequest[2])}` : "n/a");

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "bench-functions-"));
  // Each function once for the warm runs, then 2 × COLD_SAMPLES distinct variants (distinct roots) for the two cold series.
  const bundles = FUNCTIONS.flatMap((f) => [f.source, ...Array.from({ length: 2 * COLD_SAMPLES }, (_, i) => `${f.source}// variant ${i}\n`)]);
  const node = await startFunctionNode(bundles);
  killedOnExit(node.child);
  const services = (await (await fetch(`${node.gatewayUrl}/services`)).json()) as { services: { id: string; pid: number }[] };
  const pids = [node.child.pid!, services.services.find((s) => s.id === "functions")!.pid];
  const rows: { name: string; cold: number[]; spaced: number[]; workerdCold: number[]; ours: Warm; theirs: Warm }[] = [];
  try {
    const workerdWarm = startWorkerd(workerdConfig(dir, FUNCTIONS, WORKERD_BASE_PORT));
    try {
      for (const [i, f] of FUNCTIONS.entries()) {
        const base = i * (2 * COLD_SAMPLES + 1);
        const url = (k: number) => `${node.gatewayUrl}/fn/blake3/${node.roots[base + k]}/`;
        const cold: number[] = [];
        for (let k = 1; k <= COLD_SAMPLES; k++) cold.push(await timed(url(k), f.method, f.body));
        const spaced: number[] = [];
        for (let k = COLD_SAMPLES + 1; k <= 2 * COLD_SAMPLES; k++) {
          await new Promise((resolve) => setTimeout(resolve, SPACED_PAUSE_MS));
          spaced.push(await timed(url(k), f.method, f.body));
        }
        const workerdCold: number[] = [];
        for (let k = 0; k < WORKERD_COLD_SAMPLES; k++) {
          const port = WORKERD_BASE_PORT + 10 + k;
          const config = workerdConfig(dir, [f], port);
          const started = performance.now();
          const child = startWorkerd(config);
          try {
            await untilAnswers(`http://127.0.0.1:${port}/`, f.method, f.body);
            workerdCold.push(performance.now() - started);
          } finally {
            await stopChild(child);
          }
        }
        await timed(url(0), f.method, f.body);
        const workerdUrl = `http://127.0.0.1:${WORKERD_BASE_PORT + i}/`;
        await untilAnswers(workerdUrl, f.method, f.body);
        const ours = await warm(url(0), f.method, f.body, pids);
        const theirs = await warm(workerdUrl, f.method, f.body);
        rows.push({ name: f.name, cold, spaced, workerdCold, ours, theirs });
        console.log(
          `${f.name}: cold p50 ${f1(percentile(cold, 50))} ms p99 ${f1(percentile(cold, 99))} ms back to back, p50 ${f1(percentile(spaced, 50))} ms p99 ${f1(percentile(spaced, 99))} ms spaced (workerd process start p50 ${f0(percentile(workerdCold, 50))} ms); warm ${thousands(ours.requestsPerSecond)} req/s p99 ${ours.p99} ms vs workerd ${thousands(theirs.requestsPerSecond)} req/s p99 ${theirs.p99} ms (${f0((100 * ours.requestsPerSecond) / theirs.requestsPerSecond)}%), errors ${ours.errors}/${theirs.errors}; CPU µs per warm request: ${cpuText(ours)}`,
        );
      }
    } finally {
      await stopChild(workerdWarm);
    }
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg();
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(", ");
  console.log(
    `\nRun ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} cores (${cpus()[0].model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}. Load average ${load(loadBefore)} at the start, ${load(loadAfter)} at the end.\n`,
  );
  console.log(
    "| function | cold p50 | cold p99 | cold spaced p50 | cold spaced p99 | workerd process start p50 | warm req/s (p99) | workerd warm req/s (p99) | vs workerd | errors (ours/workerd) | CPU µs / warm request |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${f1(percentile(r.cold, 50))} ms | ${f1(percentile(r.cold, 99))} ms | ${f1(percentile(r.spaced, 50))} ms | ${f1(percentile(r.spaced, 99))} ms | ${f0(percentile(r.workerdCold, 50))} ms | ${thousands(r.ours.requestsPerSecond)} (${r.ours.p99} ms) | ${thousands(r.theirs.requestsPerSecond)} (${r.theirs.p99} ms) | ${f0((100 * r.ours.requestsPerSecond) / r.theirs.requestsPerSecond)}% | ${r.ours.errors}/${r.theirs.errors} | ${cpuText(r.ours)} |`,
    );
  }
}

// Exits once printed: a handle left by the runs (fetch's keep-alive pool) kept it alive for minutes.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
