/**
 * The whole network on one machine: the chain with the suite (seeded on its first start), four
 * registered nodes running `node run` (with the functions service), the example edge function
 * deployed on them, the indexer, the dashboard, and the epoch keeper. Used by
 * `npm start` (scripts/network/cli.ts) and by the system test, so both run the same thing.
 *
 * Data folder layout: `chain/` (genesis date, block journal, the chain's addresses.json),
 * `addresses.json` (the deployment with `graphqlUrl` and `gateways`: what the indexer, the
 * dashboard and `npm run dashboard` read), `nodes/node-<i>/`, `indexer/` (PGlite), `dashboard/`
 * (the build), `logs/<process>.log`.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { accountTable, hardhatAccount, ROLES } from "./accounts";
import { startChain, type Chain } from "./chain";
import { deployExampleFunction, EXAMPLE_BUNDLE, type ExampleFunction } from "./exampleFunction";
import { deployExampleAgent, EXAMPLE_AGENT_BUNDLE, exampleAgentService, listExampleAgent, type ExampleAgent } from "./exampleAgent";
import { localProvider } from "./contracts";
import { buildDashboard, serveDashboard, type DashboardConfig, type DashboardServer } from "./dashboard";
import { startIndexer, type Indexer } from "./indexer";
import { startKeeper, type Keeper } from "./keeper";
import { checkRegisteredEndpoints, prepareNodes, registerNodes, startNodes, type LocalNode, type NodePorts } from "./nodes";
import { Processes, type Child } from "./processes";
import { seedHistory } from "./seed";

/** Where everything listens. */
export interface NetworkPorts {
  rpc: number;
  graphql: number;
  dashboard: number;
  nodes: NodePorts[];
}

/** Options of {@link startNetwork}. */
export interface NetworkOptions {
  /** Repository root (scripts, node_modules). */
  root: string;
  /** Data folder (default `.data/devnet`). */
  dataDir: string;
  ports: NetworkPorts;
  /** Delete the data folder first: a new chain, new keys, empty databases. */
  reset?: boolean;
  /** Where the dashboard build lives (default `<dataDir>/dashboard`). */
  dashboardDist?: string;
  /** Rebuild the dashboard even if a build is there. */
  rebuildDashboard?: boolean;
  /** Keeper polling period (ms). */
  keeperPollMs?: number;
  /** One line per step (default: nothing). */
  progress?: (line: string) => void;
  /** Aborting it stops the start-up before its next step (everything started is stopped). */
  signal?: AbortSignal;
}

/** A running network. */
export interface Network {
  dataDir: string;
  chain: Chain;
  nodes: LocalNode[];
  nodeProcesses: Child[];
  indexer: Indexer;
  dashboard: DashboardServer;
  keeper: Keeper;
  processes: Processes;
  /** The example edge function and the curl that calls it. */
  exampleFunction: ExampleFunction;
  /** The example agent and the curl that calls it. */
  exampleAgent: ExampleAgent;
  /** The deployment file with graphqlUrl and gateways. */
  deploymentFile: string;
  /** True when the chain was created (and seeded) by this start, false when its journal was replayed. */
  fresh: boolean;
  stop(): Promise<void>;
}

/** Ports of `nodes` nodes from `base`: node i uses primary base+10i, worker +1, client +2, gateway +3. */
export function nodePorts(base: number, nodes = 4): NodePorts[] {
  return Array.from({ length: nodes }, (_, i) => ({
    primary: base + 10 * i,
    worker: base + 10 * i + 1,
    mempool: base + 10 * i + 2,
    gateway: base + 10 * i + 3,
  }));
}

/** Default ports of `npm start`. */
export function defaultPorts(nodes = 4): NetworkPorts {
  return { rpc: 8545, graphql: 4000, dashboard: 5180, nodes: nodePorts(7000, nodes) };
}

/** Throws a clear error naming the first port of `ports` that something else listens on. */
export async function checkPortsFree(ports: NetworkPorts): Promise<void> {
  const named: [string, number][] = [
    ["chain RPC (DEVNET_PORT)", ports.rpc],
    ["GraphQL (INDEXER_PORT)", ports.graphql],
    ["dashboard (DASHBOARD_PORT)", ports.dashboard],
    ...ports.nodes.flatMap((p, i): [string, number][] => Object.entries(p).map(([k, v]) => [`node ${i} ${k} (NODE_BASE_PORT)`, v])),
  ];
  for (const [name, port] of named) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (!free) throw new Error(`port ${port} for the ${name} is in use: stop what listens there (\`ss -ltnp | grep :${port}\`) or choose another port`);
  }
}

/** Starts every part in order; on failure stops what was started and rethrows. */
export async function startNetwork(o: NetworkOptions): Promise<Network> {
  const progress = o.progress ?? (() => {});
  const dataDir = path.resolve(o.dataDir);
  if (o.reset) fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  await checkPortsFree(o.ports);
  const processes = new Processes(path.join(dataDir, "logs"));
  let keeper: Keeper | undefined;
  let dashboard: DashboardServer | undefined;
  const stopAll = async () => {
    await keeper?.stop();
    await dashboard?.close();
    await processes.stopAll();
  };
  try {
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      o.signal?.throwIfAborted();
      const started = Date.now();
      progress(`${name} …`);
      const result = await work();
      progress(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return result;
    };
    const chain = await step("chain: start, deploy the suite or replay the journal", () =>
      startChain(processes, { root: o.root, dir: path.join(dataDir, "chain"), port: o.ports.rpc }),
    );
    const fresh = chain.replayedBlocks === 0;
    const provider = localProvider(chain.deployment);
    // The build needs the compiled artifacts, which the chain's start made: build while seeding.
    const dashboardDist = path.resolve(o.dashboardDist ?? path.join(dataDir, "dashboard"));
    const built = step("dashboard: build (skipped when up to date)", () =>
      buildDashboard(o.root, dashboardDist, o.rebuildDashboard || dashboardIsStale(o.root, dashboardDist)),
    );
    built.catch(() => {}); // awaited below; an early rejection must not go unhandled meanwhile
    const nodes = prepareNodes(path.join(dataDir, "nodes"), o.ports.nodes, chain.deployment, await exampleAgentService(o.root));
    const seeded = path.join(dataDir, "chain", "seeded");
    if (fresh) {
      await step("seed: a month of history", () => seedHistory(chain.deployment, provider, (s) => progress(`  seed: ${s}`)));
      await step("agents: list the example agent", () => listExampleAgent(o.root, chain.deployment, provider));
      await step(`nodes: register ${nodes.length} nodes and start epoch 1`, () => registerNodes(nodes, chain.deployment, provider));
      fs.writeFileSync(seeded, new Date().toISOString() + "\n");
    } else if (!fs.existsSync(seeded)) {
      throw new Error(`the chain in ${dataDir} was stopped before its history and nodes were set up: start again with --reset`);
    } else {
      await checkRegisteredEndpoints(nodes, chain.deployment, provider);
    }
    const deploymentFile = path.join(dataDir, "addresses.json");
    const config: DashboardConfig = { ...chain.deployment, gateways: nodes.map((n) => n.gatewayUrl) };
    writeJson(deploymentFile, config);
    const nodeProcesses = await step(`nodes: start ${nodes.length} \`node run\``, () => startNodes(processes, o.root, nodes, progress));
    const exampleFunction = await step("functions: deploy the example function", () => deployExampleFunction(o.root, nodes, chain.deployment, provider));
    const exampleAgent = await step("agents: host the example agent", () =>
      deployExampleAgent(o.root, nodes, chain.deployment, provider, exampleFunction.headers),
    );
    keeper = startKeeper(chain.deployment, provider, hardhatAccount(ROLES.deployer), o.keeperPollMs, (epoch) =>
      progress(`keeper: no report for epoch ${epoch}, advanced the epoch`),
    );
    const indexer = await step("indexer: sync and serve GraphQL", () =>
      startIndexer(processes, { root: o.root, deploymentFile, dataDir: path.join(dataDir, "indexer"), port: o.ports.graphql }),
    );
    config.graphqlUrl = indexer.graphqlUrl;
    writeJson(deploymentFile, config);
    await built;
    o.signal?.throwIfAborted();
    dashboard = await serveDashboard(dashboardDist, () => config, o.ports.dashboard);
    return { dataDir, chain, nodes, nodeProcesses, indexer, dashboard, keeper, processes, exampleFunction, exampleAgent, deploymentFile, fresh, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The start-up banner: URLs and the test accounts. */
export function banner(net: Network): string {
  const lines = [
    "",
    "Fleek Network is running locally:",
    `  dashboard     ${net.dashboard.url}`,
    `  GraphQL       ${net.indexer.graphqlUrl}`,
    `  chain RPC     ${net.chain.rpcUrl}  (chain id ${net.chain.deployment.chainId})`,
    ...net.nodes.map(
      (n) => `  node ${n.index}        gateway ${n.gatewayUrl}  mempool 127.0.0.1:${n.ports.mempool}  key ${n.key.publicKey.toString("hex").slice(0, 16)}…`,
    ),
    `  deployment    ${path.relative(process.cwd(), net.deploymentFile)}    logs ${path.relative(process.cwd(), path.join(net.dataDir, "logs"))}/`,
    "",
    `Example edge function "${net.exampleFunction.name}" (${EXAMPLE_BUNDLE}, root ${net.exampleFunction.root}), paid by the demo client key:`,
    `  ${net.exampleFunction.curl}`,
    `Example agent ${net.exampleAgent.id} (${EXAMPLE_AGENT_BUNDLE}, listed on AgentMarketplace, hosted by node 0; it counts its calls):`,
    `  ${net.exampleAgent.curl}`,
    "",
    "Test accounts (Hardhat's public keys: never use them on a live chain):",
    ...accountTable().map((a) => `  #${String(a.index).padEnd(2)} ${a.address}  ${a.privateKey}  ${a.role}`),
    "",
    "Ctrl-C stops everything.",
  ];
  return lines.join("\n");
}

/** True when the dashboard build is missing or older than its sources or the contract artifacts. */
function dashboardIsStale(root: string, dist: string): boolean {
  const index = path.join(dist, "index.html");
  if (!fs.existsSync(index)) return true;
  const builtAt = fs.statSync(index).mtimeMs;
  const newest = (p: string): number =>
    !fs.existsSync(p) ? 0 : fs.statSync(p).isDirectory() ? Math.max(0, ...fs.readdirSync(p).map((e) => newest(path.join(p, e)))) : fs.statSync(p).mtimeMs;
  return ["dashboard/src", "dashboard/index.html", "protocol", "artifacts/contracts"].some((p) => newest(path.join(root, p)) > builtAt);
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + "\n");
  fs.renameSync(`${file}.tmp`, file);
}
