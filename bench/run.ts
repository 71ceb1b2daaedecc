/**
 * Runs every benchmark (gas, gateway, consensus at several input rates, indexer), reads the
 * `BENCH {json}` lines they print, and rewrites the generated part of bench/RESULTS.md (between
 * the `bench/run` markers: date, machine, load average, tables with the anchors) and the SVG
 * charts it links (bench/charts/*.svg). The hand-written analysis below the markers is kept.
 *
 *   bench/run [--quick] [--only gas,gateway,consensus,indexer]
 *
 * `--quick` runs each bench briefly to check the pipeline end to end and writes the results to a
 * temporary folder (printed), leaving bench/RESULTS.md alone: short runs on a busy machine are noise.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { barChart, lineChart } from "./charts";

const ROOT = path.resolve(__dirname, "..");
const BEGIN = "<!-- bench/run: generated below, do not edit by hand -->";
const END = "<!-- bench/run: generated above -->";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each bench prints lines of its own shape, read field by field below
type Json = Record<string, any>;

/** One benchmark run: its command, and what it printed. */
interface Run {
  name: string;
  command: string;
  ok: boolean;
  seconds: number;
  lines: Json[];
  tail: string;
}

/** Runs `args` from the repository root, echoing progress, collecting `BENCH {json}` lines. */
async function run(name: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const command = args.join(" ").replaceAll(`${ROOT}/node_modules/.bin/`, "npx ");
  process.stderr.write(`[bench] ${name}: ${command} …\n`);
  const started = Date.now();
  const lines: Json[] = [];
  let output = "";
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(args[0], args.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    child.stdout.on("data", (d) => {
      output += d;
      partial += d;
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.startsWith("BENCH ")) lines.push(JSON.parse(line.slice(6)));
      }
    });
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", resolve);
  });
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`[bench] ${name}: ${code === 0 ? "done" : `FAILED (${code})`} in ${seconds.toFixed(0)} s, ${lines.length} results\n`);
  return { name, command, ok: code === 0, seconds, lines, tail: output.slice(-1500) };
}

const fmt = (n: number | string) => Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 });

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

function gasSection(r: Run): string {
  const out = [`### Gas (\`${r.command}\`)`, "", "Execution gas (receipt gas − 21,000 − calldata), against the anchors of docs/gas-anchors.md.", ""];
  for (const section of r.lines) {
    out.push(`#### ${section.section}`, "", "| call | gas | anchor | vs anchor | goal |", "|---|---:|---:|---:|---|");
    for (const row of section.rows) {
      if (row.anchor === undefined) out.push(`| ${row.call} | ${fmt(row.gas)} | | | |`);
      else {
        const ratio = Number(row.gas) / Number(row.anchor);
        const goal = row.goal ?? 1;
        out.push(
          `| ${row.call} | ${fmt(row.gas)} | ${fmt(row.anchor)} | ${(ratio * 100).toFixed(1)}% | ≤ ${(goal * 100).toFixed(0)}%: ${ratio <= goal ? "met" : "MISSED"} |`,
        );
      }
    }
    out.push("");
  }
  return out.join("\n");
}

function gatewaySection(r: Run, charts: string): string {
  const out = [`### Gateway (\`${r.command}\`)`, "", "| object | server | req/s | MB/s |", "|---|---|---:|---:|"];
  for (const l of r.lines) out.push(`| ${l.object} | ${l.server} | ${fmt(l.requestsPerSecond)} | ${fmt(l.megabytesPerSecond)} |`);
  const objects = [...new Set(r.lines.map((l) => l.object as string))];
  fs.writeFileSync(
    path.join(charts, "gateway.svg"),
    barChart({
      title: "Gateway requests/s by object size (gateway vs nginx)",
      xLabel: "object size",
      yLabel: "requests/s",
      categories: objects,
      series: ["gateway", "nginx"].map((server) => ({
        name: server,
        values: objects.map((o) => r.lines.find((l) => l.object === o && l.server === server)?.requestsPerSecond ?? 0),
      })),
    }),
  );
  out.push("", "Goals: 4 KiB ≥ 50% of nginx's req/s, 1 MiB ≥ 80% of its MB/s.", "", "![gateway requests/s by object size](charts/gateway.svg)", "");
  return out.join("\n");
}

function consensusSection(runs: Run[], charts: string): string {
  const out = [
    "### Consensus (`bench/consensus/run.ts`: 4 `node run` processes on loopback, 512-byte transactions)",
    "",
    "| nodes up | input tx/s | committed tx/s | p50 | p99 | refused | load avg | command |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  const rows: Json[] = runs.flatMap((r) => r.lines.map((l) => ({ ...l, command: r.command })));
  for (const l of rows) {
    out.push(
      `| ${l.nodes - l.crashed} | ${fmt(l.inputRate)} | ${fmt(l.committedTps)} | ${fmt(l.p50LatencyMs)} ms | ${fmt(l.p99LatencyMs)} ms | ${l.sent ? ((100 * l.refusedOrBackedUp) / l.sent).toFixed(0) : 0}% | ${Number(l.loadAverage).toFixed(1)} | \`${l.command}\` |`,
    );
  }
  const all = rows.filter((l) => l.crashed === 0).sort((a, b) => a.inputRate - b.inputRate);
  fs.writeFileSync(
    path.join(charts, "consensus.svg"),
    lineChart({
      title: "Consensus: latency against committed throughput (4 nodes, input rate rising)",
      xLabel: "committed tx/s",
      yLabel: "latency (ms)",
      series: [
        { name: "p50", points: all.map((l) => [l.committedTps, l.p50LatencyMs]) },
        { name: "p99", points: all.map((l) => [l.committedTps, l.p99LatencyMs]) },
      ],
    }),
  );
  out.push(
    "",
    "Goals: ≥ 50,000 tx/s with p50 < 1 s (4 up); ≥ 20,000 tx/s with one crashed.",
    "",
    "![consensus latency against throughput](charts/consensus.svg)",
    "",
  );
  return out.join("\n");
}

function indexerSection(r: Run, charts: string): string {
  const out = [`### Indexer (\`${r.command}\`)`, ""];
  const syncs = r.lines.filter((l) => l.kind === "sync");
  for (const l of syncs)
    out.push(`- sync into ${l.database}: ${fmt(l.events)} events in ${Number(l.seconds).toFixed(1)} s = **${fmt(l.eventsPerSecond)} events/s**`);
  for (const l of r.lines.filter((x) => x.kind === "graphql"))
    out.push(
      `- GraphQL (indexer serve on PostgreSQL, 50 connections, ${l.cached === false ? "no answer cache" : "answers cached per indexed state"}): **${fmt(l.requestsPerSecond)} requests/s**, p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, ${l.errors} errors`,
    );
  // events/s over the sync: the slope over the last second (a shorter window only at the start),
  // so batch commits do not show as spikes.
  const rate = (series: [number, number][]) =>
    series.flatMap(([t, e], i): [number, number][] => {
      let j = i;
      while (j > 0 && t - series[j][0] < 1) j--;
      const dt = t - series[j][0];
      return dt >= 0.25 ? [[t, (e - series[j][1]) / dt]] : [];
    });
  fs.writeFileSync(
    path.join(charts, "indexer.svg"),
    lineChart({
      title: "Indexer: events/s over the sync",
      xLabel: "seconds since the sync started",
      yLabel: "events/s",
      series: syncs.map((l) => ({ name: l.database, points: rate(l.series) })),
    }),
  );
  out.push("", "![indexer events/s over the sync](charts/indexer.svg)", "");
  return out.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, only: { type: "string" } } });
  const quick = values.quick ?? false;
  const only = new Set((values.only ?? "gas,gateway,consensus,indexer").split(","));
  const outDir = quick ? fs.mkdtempSync(path.join(os.tmpdir(), "bench-run-")) : path.join(ROOT, "bench");
  const charts = path.join(outDir, "charts");
  fs.mkdirSync(charts, { recursive: true });
  const loadBefore = os.loadavg();
  const started = new Date();
  const sections: string[] = [];
  const failures: Run[] = [];
  const keep = (r: Run) => (r.ok ? r : (failures.push(r), r));

  const npx = path.join(ROOT, "node_modules/.bin");
  if (only.has("gas")) sections.push(gasSection(keep(await run("gas", [`${npx}/hardhat`, "run", "bench/gas/index.ts"]))));
  if (only.has("gateway"))
    sections.push(gatewaySection(keep(await run("gateway", [`${npx}/tsx`, "bench/gateway/index.ts", ...(quick ? ["1", "1"] : ["5", "3"])])), charts));
  if (only.has("consensus")) {
    const rates = quick ? [2_000, 5_000] : [10_000, 25_000, 40_000, 50_000, 60_000];
    const window = quick ? ["--seconds", "5", "--warmup", "3"] : ["--seconds", "20", "--warmup", "5"];
    const runs: Run[] = [];
    for (const rate of rates) runs.push(keep(await run(`consensus ${rate} tx/s`, [`${npx}/tsx`, "bench/consensus/run.ts", "--rate", String(rate), ...window])));
    runs.push(
      keep(await run("consensus, 1 crashed", [`${npx}/tsx`, "bench/consensus/run.ts", "--rate", String(quick ? 2_000 : 25_000), "--crashed", "1", ...window])),
    );
    sections.push(consensusSection(runs, charts));
  }
  if (only.has("indexer")) {
    const env: Record<string, string> = quick ? { BENCH_EVENTS: "5000", BENCH_SECONDS: "2" } : {};
    sections.push(indexerSection(keep(await run("indexer", [`${npx}/hardhat`, "run", "bench/indexer/index.ts"], env)), charts));
  }

  const loadAfter = os.loadavg();
  const generated = [
    BEGIN,
    "",
    `## Latest \`bench/run\`${quick ? " (--quick: short runs, figures not comparable)" : ""}`,
    "",
    `Run ${started.toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine()}. Load average (1, 5, 15 min) ${loadBefore.map((l) => l.toFixed(1)).join(", ")} at the start, ${loadAfter.map((l) => l.toFixed(1)).join(", ")} at the end: on a shared machine the timings are lower bounds.`,
    "",
    ...sections,
    ...(failures.length
      ? [
          "### Failed runs",
          "",
          ...failures.map(
            (f) =>
              `- \`${f.command}\` failed; its output ended with:\n\n  \`\`\`\n${f.tail
                .split("\n")
                .map((l) => `  ${l}`)
                .join("\n")}\n  \`\`\``,
          ),
          "",
        ]
      : []),
    END,
  ].join("\n");

  const resultsFile = path.join(ROOT, "bench/RESULTS.md");
  const current = fs.readFileSync(resultsFile, "utf8");
  const at = current.indexOf(BEGIN);
  const rest = at >= 0 ? current.slice(0, at) + current.slice(current.indexOf(END) + END.length).replace(/^\n+/, "") : current;
  // The generated part goes right after the title; the hand-written notes stay below it.
  const titleEnd = rest.indexOf("\n") + 1;
  const updated = `${rest.slice(0, titleEnd)}\n${generated}\n\n${rest.slice(titleEnd).replace(/^\n+/, "")}`;
  const target = path.join(outDir, "RESULTS.md");
  fs.writeFileSync(target, updated);
  process.stderr.write(`[bench] wrote ${target} and ${charts}/*.svg${failures.length ? `; ${failures.length} run(s) failed` : ""}\n`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
