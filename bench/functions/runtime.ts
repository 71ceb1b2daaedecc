/**
 * The functions runtime alone (issue 19), in this process, no HTTP: what a shared machine's load
 * disturbs less than bench/functions/index.ts. Cold: hello world under a new root each time, the
 * spare isolates given 40 ms to build between samples (wall and this process's CPU, p50). Warm:
 * hello world, 16 runs at once, CPU µs per run and runs/s.
 * Run: `npx tsx bench/functions/runtime.ts [cold samples, default 40] [warm runs, default 8000]`.
 */
import { loadavg } from "node:os";
import { functionLimitsFrom } from "../../node/functions/functionLimits";
import { FunctionRuntime, type FunctionRequest } from "../../node/functions/functionRuntime";

const COLD = Number(process.argv[2] ?? 40);
const WARM = Number(process.argv[3] ?? 8000);
const REQUEST: FunctionRequest = {
  method: "GET",
  url: "http://fn/",
  headers: [["host", "fn"]],
  body: null,
  params: { method: "GET", path: "/", query: {}, headers: {} },
};
const HELLO = `export default { async fetch(request) { return new Response("Hello, world!"); } };\n`;

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};
const p50 = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];

async function main(): Promise<void> {
  const runtime = new FunctionRuntime(functionLimitsFrom({}));
  try {
    await runtime.run("first", HELLO, REQUEST);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < COLD; i++) {
      await new Promise((resolve) => setTimeout(resolve, 40));
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await runtime.run(`cold-${i}`, `${HELLO}// variant ${i}\n`, REQUEST);
      wall.push(performance.now() - started);
      cpu.push(cpuMs(cpuBefore));
    }
    for (let i = 0; i < 3000; i++) await runtime.run("warm", HELLO, REQUEST);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, k) => {
        for (let i = k; i < WARM; i += 16) await runtime.run("warm", HELLO, REQUEST);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `cold hello world: wall p50 ${p50(wall).toFixed(2)} ms, CPU p50 ${p50(cpu).toFixed(2)} ms; warm, 16 at once: ${((cpuMs(cpuBefore) * 1000) / WARM).toFixed(1)} µs CPU per run, ${Math.round(WARM / seconds)} runs/s; load ${loadavg()[0].toFixed(1)}`,
    );
  } finally {
    runtime.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
