/**
 * CPU per request of the agents path (issue 20), the figure a loaded machine distorts least: a
 * real node, autocannon (16 connections per agent), and the CPU time (all threads) the gateway's
 * and the agents service's processes used over each load, from `/proc/<pid>/stat`. "hello" touches
 * no store (gateway, service and isolate alone); "rmw" is a kv read-modify-write per request.
 * Run: `npx tsx bench/agents/cpuPerRequest.ts [seconds per load, default 6]`.
 */
import * as fs from "node:fs";
import { loadavg } from "node:os";
import autocannon from "autocannon";
import { startAgentNode } from "../../testkit/agentNode";

const RMW = `export default { async fetch(request, env) {
  const n = ((await env.kv.get("n")) ?? 0) + 1;
  await env.kv.put("n", n);
  return Response.json({ n });
} }`;
const HELLO = `export default { async fetch() { return Response.json({ n: 1 }); } }`;

function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 6);
  const agents: Record<string, { bundle: string; config: unknown }> = { hello: { bundle: HELLO, config: {} } };
  for (let i = 0; i < 4; i++) agents[`rmw-${i}`] = { bundle: RMW, config: {} };
  const node = await startAgentNode(agents, { limits: { idleMs: 60_000, maxOpen: 8, cpuMs: 200, queryMs: 60_000, wallMs: 120_000 } });
  try {
    const { services } = (await (await fetch(`${node.gatewayUrl}/services`)).json()) as { services: { id: string; pid: number }[] };
    const service = services.find((s) => s.id === "agents")!.pid;
    const gateway = node.child.pid!;
    for (const names of [["hello"], ["rmw-0"], ["rmw-0", "rmw-1", "rmw-2", "rmw-3"]]) {
      for (const name of names) await fetch(`${node.gatewayUrl}/agents/${name}/`);
      const [g0, s0] = [cpuMs(gateway), cpuMs(service)];
      const runs = await Promise.all(names.map((n) => autocannon({ url: `${node.gatewayUrl}/agents/${n}/`, connections: 16, duration: seconds })));
      const total = runs.reduce((s, r) => s + r.requests.total, 0);
      const per = (ms: number) => `${((ms * 1000) / Math.max(1, total)).toFixed(0)} µs`;
      console.log(
        `${names.join(", ")}: ${(total / seconds).toFixed(0)} req/s, p99 ${Math.max(...runs.map((r) => r.latency.p99))} ms, errors ${runs.reduce((s, r) => s + r.errors + r.non2xx, 0)}; CPU per request: gateway ${per(cpuMs(gateway) - g0)}, service ${per(cpuMs(service) - s0)}; load ${loadavg()[0].toFixed(2)}`,
      );
    }
  } finally {
    await node.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
