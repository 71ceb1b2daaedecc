/**
 * `npm start`: the whole Fleek Network on this machine on embedded defaults (see
 * docs/network.md). Ctrl-C stops every process it started.
 *
 *   npm start [-- --reset] [--data-dir .data/devnet] [--rebuild-dashboard]
 *
 * Ports: DEVNET_PORT (chain RPC, 8545), INDEXER_PORT (GraphQL, 4000), DASHBOARD_PORT (5180),
 * NODE_BASE_PORT (7000: node i uses base+10i primary, +1 worker, +2 client, +3 gateway).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { banner, defaultPorts, nodePorts, startNetwork } from "./network";

const USAGE = `usage: npm start -- [--reset] [--data-dir DIR] [--rebuild-dashboard]

  --reset               delete the data folder first: new chain, new history, new node keys, empty index
                        (without it a second start replays the chain's journal and keeps everything)
  --data-dir DIR        where state and logs live (DEVNET_DIR; default .data/devnet)
  --rebuild-dashboard   rebuild the dashboard even if its build is up to date

  DASHBOARD_DIST        where the dashboard build lives (default <data-dir>/dashboard)
  ports: DEVNET_PORT (8545), INDEXER_PORT (4000), DASHBOARD_PORT (5180),
         NODE_BASE_PORT (7000; node i: base+10i primary, +1 worker, +2 client, +3 gateway)
`;

function port(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { reset: { type: "boolean" }, "data-dir": { type: "string" }, "rebuild-dashboard": { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const ports = defaultPorts();
  const nodeBase = port("NODE_BASE_PORT", 7000);
  ports.rpc = port("DEVNET_PORT", ports.rpc);
  ports.graphql = port("INDEXER_PORT", ports.graphql);
  ports.dashboard = port("DASHBOARD_PORT", ports.dashboard);
  ports.nodes = nodePorts(nodeBase, ports.nodes.length);

  const started = Date.now();
  const say = (line: string) => process.stderr.write(`[network] ${line}\n`);
  // Ctrl-C reaches this process more than once (from the terminal and relayed by npm): every
  // signal after the first is acknowledged and ignored, so the stop always runs to its end.
  const stop = new AbortController();
  const onSignal = () => {
    if (!stop.signal.aborted) stop.abort();
    else say("already stopping: every process is being stopped, then this exits");
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
  let net;
  try {
    net = await startNetwork({
      root: path.resolve(__dirname, "../.."),
      dataDir: values["data-dir"] ?? process.env.DEVNET_DIR ?? ".data/devnet",
      ports,
      reset: values.reset,
      rebuildDashboard: values["rebuild-dashboard"],
      dashboardDist: process.env.DASHBOARD_DIST,
      progress: say,
      signal: stop.signal,
    });
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    say("interrupted during the start-up; everything started so far is stopped");
    return;
  }
  say(`${net.fresh ? "new network" : "network resumed from its journal"}, up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(banner(net) + "\n");
  if (!stop.signal.aborted) await new Promise((resolve) => stop.signal.addEventListener("abort", resolve, { once: true }));
  say("stopping …");
  await net.stop();
  say("stopped");
}

main().catch((err) => {
  process.stderr.write(`[network] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
