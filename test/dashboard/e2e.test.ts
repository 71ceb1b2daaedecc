/**
 * End to end: the devnet's chain (scripts/chain.ts in a child process, so its clock jumps stay out of the
 * other tests' chain), the indexer following it (indexer/cli.ts `all` on PGlite in a temp folder),
 * the production build of the dashboard served as static files, and Debian's Chromium driven by
 * playwright-core with an EIP-6963 test wallet that signs with Hardhat account 0.
 * Every action is checked on-chain and on screen; screenshots land in test-artifacts/dashboard/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { expect } from "chai";
import { Contract, JsonRpcProvider, Wallet, formatUnits, keccak256, parseEther, toUtf8Bytes, type EventLog } from "ethers";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { GOVERNANCE, UNBONDING_PERIOD } from "../../protocol/governance";
import { serveDashboard, type DashboardServer } from "../../scripts/network/dashboard";
import { GENESIS_ALLOCATIONS, vestedAmount } from "../../protocol/genesis";
import { orderSignatures, quorum, reportDomain, signEpochReport, type ClientUsage } from "../../protocol/report";
import { completeEpochReport } from "../../protocol/reportRoots";
import { withContentCharges } from "../../testkit/reportCharges";
import { beaconCommitment } from "../../protocol/committee";
import { rewardProof } from "../../protocol/rewards";
import { stakingRewardRateBps } from "../../protocol/stakingRewards";
import { formatDateTime, formatDuration, formatShare, formatToken, formatUsdc } from "../../dashboard/src/lib/format";
import { installTestWallet, rawRpc, type TestWalletUser } from "../helpers/testWallet";
import { signNodeKeyProof } from "../../protocol/nodeKeyProof";
import { KeyPair } from "../../node/consensus/types/crypto";
import { blake3 } from "@noble/hashes/blake3";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BlockStore } from "../../node/blockstore/blockStore";
import { startGateway } from "../../node/gateway/gatewayServer";
import { OriginFetcher } from "../../node/origins/originFetcher";
import { QueuedAckSink } from "../../node/acks/deliveryAckDesk";
import { verifyComputeAck } from "../../node/acks/computeReceipt";
import { ed25519PrivateKeyFromSeed, rawEd25519PublicKey } from "../../node/acks/ed25519Keys";
import { FunctionDirectory } from "../../node/chain/functionDirectory";
import type { RpcProvider } from "../../node/chain/registryCommittee";
import { RegistryReporting } from "../../node/chain/registryReporting";
import { startEdgeNode } from "../../node/edge/edgeNode";
import { agentService } from "../../protocol/usage";
import { tokenVoucherDomain } from "../../protocol/tokenVoucher";
import { TokenCallDesk } from "../../node/acks/tokenCallDesk";
import { tokenCallChain } from "../../node/chain/tokenCallChain";
import { receiptBlock } from "../../node/chain/tokenCallKeeper";
import { agentsSupervisor } from "../../testkit/agentsSupervisor";
import type { ServiceSupervisor } from "../../node/services/serviceSupervisor";

const ROOT = path.resolve(__dirname, "../..");
/** This process's own build: the system test builds and serves dist/dashboard, maybe at the same time (scripts/test/run.sh). */
const DIST = path.join(os.tmpdir(), `dashboard-e2e-dist-${process.pid}`);
const ARTIFACTS = path.join(ROOT, "test-artifacts/dashboard");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Hardhat account 0 ("test test … junk"): the sale beneficiary of ignition/parameters/local.json. */
const KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/**
 * Consensus signers of the e2e's nodes (Hardhat accounts 1 to 3, public keys): nodes 1 and 2 of the
 * node cases, and the node the token case registers when it runs before them (alone or reordered).
 */
const NODE_SIGNERS = [
  new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
  new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
  new Wallet("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
];
const FIRST_PAGE_BUDGET_BYTES = 350 * 1024;
const INTERACTIVE_BUDGET_MS = 2000;
const OVERLOADED_CEILING_MS = 6000;
/** CPU time of the first page's main thread: half the 2 s budget (about 220 ms measured). */
const MAIN_THREAD_BUDGET_MS = 1000;

interface Deployment {
  chainId: number;
  rpcUrl: string;
  contracts: Record<string, string>;
}

/** The indexer's endpoints. */
interface Indexer {
  child: ChildProcess;
  graphqlUrl: string;
  healthUrl: string;
  /** Its log so far (stderr), for the errors of a test that waits on it. */
  log: () => string;
}

const abi = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, "artifacts/contracts", file), "utf8")).abi;

/** Starts scripts/chain.ts on a free port and resolves with what it wrote to addresses.json. */
async function startDevnet(dir: string): Promise<{ child: ChildProcess; deployment: Deployment }> {
  const out = path.join(dir, "addresses.json");
  const child = spawn(path.join(ROOT, "node_modules/.bin/hardhat"), ["run", "scripts/chain.ts"], {
    cwd: ROOT,
    env: { ...process.env, DEVNET_PORT: "0", DEVNET_ADDRESSES: out },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: the hardhat launcher runs the script in a child node process, which a
    // signal to the launcher alone would leave running.
    detached: true,
  });
  // Should the test process end before `after` runs, the chain must not outlive it.
  const orphanGuard = () => child.exitCode === null && child.pid !== undefined && process.kill(-child.pid, "SIGTERM");
  process.once("exit", orphanGuard);
  child.once("exit", () => process.off("exit", orphanGuard));
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(out) || !log.includes("Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`devnet exited:\n${log}`);
    if (Date.now() > deadline) {
      await stopGroup(child);
      throw new Error(`devnet did not start in 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, deployment: JSON.parse(fs.readFileSync(out, "utf8")) };
}

/**
 * Starts `indexer/cli.ts all` (sync and GraphQL in one process, as PGlite requires) on a free port
 * against the devnet, and resolves with its URLs once it serves.
 */
async function startIndexer(dir: string, deploymentFile: string): Promise<Indexer> {
  const args = [
    "--import",
    "tsx",
    path.join(ROOT, "indexer/cli.ts"),
    "all",
    "--deployment",
    deploymentFile,
    "--data-dir",
    path.join(dir, "indexer"),
    "--port",
    "0",
    "--poll-interval-ms",
    "200",
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], detached: true });
  const orphanGuard = () => child.exitCode === null && child.pid !== undefined && process.kill(-child.pid, "SIGTERM");
  process.once("exit", orphanGuard);
  child.once("exit", () => process.off("exit", orphanGuard));
  let log = "";
  return new Promise((resolve, reject) => {
    // PGlite's initdb and the migrations take seconds on a quiet machine, minutes on a loaded one.
    const timer = setTimeout(() => void stopGroup(child).then(() => reject(new Error(`indexer did not serve in 180 s:\n${log}`))), 180_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`indexer exited with ${code}:\n${log}`));
    });
    child.stderr!.on("data", (d) => {
      log += d;
      // `serving` is logged once the API listens: {"msg":"serving","graphql":"http://…/graphql",…}
      const line = log.split("\n").find((l) => l.includes('"msg":"serving"'));
      if (!line) return;
      clearTimeout(timer);
      const { graphql, health } = JSON.parse(line) as { graphql: string; health: string };
      resolve({ child, graphqlUrl: graphql, healthUrl: health, log: () => log });
    });
  });
}

/** Stops a child started in its own process group (devnet, indexer) and waits for it to exit. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  await exited;
}

/** Gzipped bytes of what the first page loads: index.html and the assets it references (lazy pages excluded). */
function firstPageGzipBytes(): number {
  const html = fs.readFileSync(path.join(DIST, "index.html"), "utf8");
  const assets = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
  return [Buffer.from(html), ...assets.map((a) => fs.readFileSync(path.join(DIST, a)))].reduce((sum, b) => sum + zlib.gzipSync(b, { level: 9 }).length, 0);
}

/** Stores the example counter agent in `edge`'s blockstore and runs it as listing `id`, owned by `owner`. */
async function hostCounterAgent(edge: { store: BlockStore }, supervisor: ServiceSupervisor, id: number, owner: string): Promise<void> {
  const put = async (file: string, type: string) => (await edge.store.put([fs.readFileSync(path.join(ROOT, file))], { contentType: type })).hash;
  const [config, bundle] = [await put("examples/agents/counter.json", "application/json"), await put("examples/agents/counter.js", "text/javascript")];
  await supervisor.reconcile({ agents: { agents: { [String(id)]: { config, bundle, owner, marketId: id } } } });
  await supervisor.whenRunning("agents");
}

describe("Dashboard end to end (Chromium, devnet, built app)", function () {
  this.timeout(300_000);

  let tmp: string;
  let devnet: ChildProcess | undefined;
  let indexer: Indexer | undefined;
  let deployment: Deployment;
  let server: DashboardServer | undefined;
  let url: string;
  let context: BrowserContext | undefined;
  let page: Page;
  let rpc: JsonRpcProvider;
  let wallet: Wallet;
  let walletUser: TestWalletUser;
  const consoleErrors: string[] = [];
  /** Uncaught exceptions in the page: each fails the case it happened in. */
  const pageErrors: string[] = [];
  /** Set by the case that stops the indexer: the browser then logs its refused requests, which are expected. */
  let indexerStopped = false;
  /** The gateways the served addresses.json names (the Functions case starts one). */
  const gateways: string[] = [];

  async function advanceTime(seconds: bigint) {
    await rawRpc(deployment.rpcUrl, "evm_increaseTime", [Number(seconds)]);
    await rawRpc(deployment.rpcUrl, "evm_mine", []);
    await indexerCaughtUp();
  }

  /**
   * Waits until the indexer has reached the chain's head. The page waits by itself after its own
   * transactions; the test's direct chain changes (time jumps, epoch changes) need this before a reload.
   */
  async function indexerCaughtUp() {
    const head = await rpc.getBlockNumber();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const response = await fetch(indexer!.healthUrl);
      const { indexedBlock } = (await response.json()) as { indexedBlock: number | null };
      if (indexedBlock !== null && indexedBlock >= head) return;
      if (Date.now() > deadline)
        throw new Error(`the indexer is at block ${indexedBlock}, the chain at ${head}; its log ends:\n${indexer!.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Ends the current epoch with a report signed by a quorum of its committee (the nodes' signers),
   * built as a committee builds it (protocol/reportRoots.ts): `served` gives reported nodes their
   * revenue (USDC units) and reputation, `usage` bills clients. Then waits for the indexer.
   */
  async function reportEpoch(served: readonly { nodeId: number; revenue: bigint; reputation: number }[] = [], usage: readonly ClientUsage[] = []) {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);
    const epoch: bigint = await registry.epoch();
    const nodes = served.map((n) => ({ ...n, uptime: 100, latencyMs: 20, bytesServed: 0n, deliveryAcks: 0n }));
    const standing = new Map(await Promise.all(served.map(async (n) => [n.nodeId, await registry.getNode(n.nodeId)] as const)));
    const { report, rewards } = completeEpochReport(
      withContentCharges({ epoch, nodes, usage }),
      new Map([...standing].map(([id, n]) => [id, { owner: n.owner as string, lockedUntil: n.lockedUntil as bigint }])),
    );
    const committee = (await registry.committee())[3] as { id: bigint; signer: string }[];
    const members = committee.map((m) => NODE_SIGNERS.find((w) => w.address === m.signer)!);
    const domain = reportDomain(BigInt(deployment.chainId), deployment.contracts.registry);
    const signatures = orderSignatures(await Promise.all(members.slice(0, quorum(members.length)).map((w) => signEpochReport(w, domain, report))));
    // The members' beacon, as their nodes run it (a member that does not commit and reveal is jailed):
    // commits before the epoch's end, reveals after it, before reports open.
    const secret = (id: bigint) => keccak256(toUtf8Bytes(`e2e-${epoch}-${id}`));
    const as = (i: number) => registry.connect(members[i].connect(rpc)) as Contract;
    const end: bigint = await registry.epochEnd();
    const now = BigInt((await rpc.getBlock("latest"))!.timestamp);
    expect(now + 1n < end, "reportEpoch needs the epoch's commit window still open").to.equal(true);
    for (const [i, m] of committee.entries()) await (await as(i).commitBeacon(m.id, beaconCommitment(epoch, Number(m.id), secret(m.id)))).wait();
    await advanceTime(end - BigInt((await rpc.getBlock("latest"))!.timestamp));
    for (const [i, m] of committee.entries()) await (await as(i).revealBeacon(m.id, secret(m.id))).wait();
    const latest = BigInt((await rpc.getBlock("latest"))!.timestamp);
    const opens: bigint = await registry.reportOpensAt();
    if (latest < opens) await advanceTime(opens - latest);
    await (await registry.submitEpochReport(report, signatures)).wait();
    await indexerCaughtUp();
    return { epoch, rewards };
  }

  async function screenshot(name: string, on: Page = page) {
    await on.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  /** Opens a page from the navigation, through the Menu button where it is folded (narrow screens), and checks it folds again. */
  async function openPage(name: string, on: Page = page) {
    const menu = on.getByRole("button", { name: "Menu", exact: true });
    const folded = await menu.isVisible();
    if (folded) {
      expect(await on.getByRole("link", { name }).isVisible(), "links hidden while the menu is folded").to.equal(false);
      await menu.click();
      await on.getByRole("button", { name: "Menu", exact: true, expanded: true }).waitFor({ timeout: 5_000 });
    }
    await on.getByRole("link", { name }).click();
    // The menu folds once the new route renders (an effect of the hash change), not within the click.
    if (folded) await on.getByRole("button", { name: "Menu", exact: true, expanded: false }).waitFor({ timeout: 5_000 });
  }

  /** The browser's launch options: headless Chromium, no background traffic. */
  const launchOptions = {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  };

  /** Connects the page's test wallet unless the page reconnected it silently (a case run alone starts unconnected). */
  async function connectWallet() {
    if (!page.url().startsWith(url)) await page.goto(url);
    const remembered = await page.evaluate(() => localStorage.getItem("fleek.dashboard.wallet"));
    if (!remembered) {
      await page.getByRole("button", { name: "Connect wallet" }).click();
      await page.getByRole("button", { name: /Hardhat test wallet/ }).click();
    }
    await page.getByTestId("account").filter({ hasText: "0xf39F…2266" }).waitFor();
  }

  /** Makes the wallet hold at least `amount` FLK wei, releasing its vested sale allocation when it holds less. */
  async function holdFlk(amount: bigint) {
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    if ((await flk.balanceOf(wallet.address)) >= amount) return;
    const vesting = new Contract(deployment.contracts.vesting, abi("token/Vesting.sol/Vesting.json"), wallet);
    for (const id of (await vesting.scheduleIdsOf(wallet.address)) as bigint[])
      if ((await vesting.releasable(id)) > 0n) await (await vesting.release(id)).wait();
    expect(await flk.balanceOf(wallet.address)).to.be.greaterThanOrEqual(amount);
  }

  /** Makes the wallet hold at least `amount` wei of its own creator token (its first buy launches it); returns the token. */
  async function holdOwnCreatorTokens(amount: bigint): Promise<Contract> {
    const market = new Contract(deployment.contracts.creatorMarket, abi("creator/CreatorMarket.sol/CreatorMarket.json"), wallet);
    const token = new Contract(await market.tokenOf(wallet.address), abi("creator/CreatorToken.sol/CreatorToken.json"), wallet);
    const held: bigint = (await market.tokenExists(wallet.address)) ? await token.balanceOf(wallet.address) : 0n;
    if (held < amount) {
      const [cost] = (await market.buyCost(wallet.address, amount - held)) as [bigint];
      await holdFlk(cost);
      const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), wallet);
      await (await flk.approve(deployment.contracts.creatorMarket, cost)).wait();
      const deadline = BigInt((await rpc.getBlock("latest"))!.timestamp) + 3_600n;
      await (await market.buy(wallet.address, amount - held, cost, deadline)).wait();
    }
    expect(await token.balanceOf(wallet.address)).to.be.greaterThanOrEqual(amount);
    return token;
  }

  /**
   * A registered node for deposits to name (TokenCallEscrow refuses an unknown node id): node 1,
   * registered here by the wallet (signer: Hardhat account 3) when no case has registered one.
   */
  async function someNode(): Promise<number> {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);
    if ((await registry.nodeCount()) === 0n) {
      const stake: bigint = await registry.minimumStake();
      await holdFlk(stake);
      const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), wallet);
      await (await flk.approve(deployment.contracts.registry, stake)).wait();
      const signer = NODE_SIGNERS[2];
      const p = await signNodeKeyProof(
        BigInt(deployment.chainId),
        deployment.contracts.registry,
        wallet.address,
        KeyPair.fromSeed(Buffer.alloc(32, 0x7a)),
        signer,
      );
      const endpoints = { host: "node3.example.org", ports: { primary: 1, worker: 2, mempool: 3, rpc: 4, pool: 5, gateway: 6 } };
      await (await registry.register(p.nodeKey, signer.address, endpoints, stake, p.signerProof, p.keyProof)).wait();
    }
    return 1;
  }

  /** Waits until `step`'s transaction in `scope` settles and returns its status line, failing with the reason shown. */
  async function settled(scope: ReturnType<Page["locator"]>, step: string) {
    const status = scope.getByTestId("tx-status").filter({ hasText: new RegExp(`^${step}(: confirmed| failed)`) });
    await status.waitFor({ timeout: 30_000 });
    const text = await status.textContent();
    expect(await status.getAttribute("data-status"), text ?? "").to.equal("confirmed");
    return text;
  }

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.CI === "true") throw new Error(`Chromium not found at ${CHROMIUM}: CI must install it (apt-get install -y chromium)`);
      console.log(
        `    skipped: Chromium not found at ${CHROMIUM}; run \`apt-get install -y chromium\` (or set CHROMIUM_PATH) to run the dashboard end-to-end test`,
      );
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-e2e-"));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // Build and start the chain at once: both take a while on a shared machine.
    const build = new Promise<void>((resolve, reject) => {
      const child = spawn(
        path.join(ROOT, "node_modules/.bin/vite"),
        ["build", "--config", "dashboard/vite.config.ts", "--logLevel", "warn", "--outDir", DIST, "--emptyOutDir"],
        {
          cwd: ROOT,
          stdio: "inherit",
        },
      );
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}`))));
    });
    const started = await startDevnet(tmp);
    devnet = started.child;
    deployment = started.deployment;
    [indexer] = await Promise.all([startIndexer(tmp, path.join(tmp, "addresses.json")), build]);
    const graphqlUrl = indexer.graphqlUrl;
    server = await serveDashboard(DIST, () => ({ ...deployment, graphqlUrl, gateways }));
    url = server.url;
    // No response cache: the wallet must see each new nonce right after the previous transaction.
    rpc = new JsonRpcProvider(deployment.rpcUrl, deployment.chainId, { staticNetwork: true, cacheTimeout: -1 });
    wallet = new Wallet(KEY, rpc);
    await indexerCaughtUp();

    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), { ...launchOptions, viewport: { width: 1280, height: 900 } });
    walletUser = await installTestWallet(context, wallet, deployment.chainId, deployment.rpcUrl);
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => pageErrors.push(`${e.name}: ${e.message}`));
  });

  // Any uncaught error or console error fails the case it happened in (a page that renders its
  // error boundary logs one too), except the refused requests to a stopped indexer.
  afterEach(() => {
    const errors = [
      ...pageErrors.splice(0),
      ...consoleErrors.splice(0).filter((e) => !(indexerStopped && /Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(e))),
    ];
    if (errors.length > 0) throw new Error(`the page logged errors:\n${errors.join("\n")}`);
  });

  /** Fails when `figure.chart` text sticks out of its SVG's view box (a clipped axis label). */
  async function chartLabelsInside(on: Page = page) {
    const outside = await on.evaluate(() =>
      [...document.querySelectorAll("figure.chart svg")].flatMap((svg) => {
        const box = (svg as SVGSVGElement).viewBox.baseVal;
        return [...svg.querySelectorAll("text")]
          .map((t) => ({ text: t.textContent, b: (t as SVGTextElement).getBBox() }))
          .filter(({ b }) => b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5)
          .map(({ text }) => `${svg.getAttribute("aria-label")}: "${text}"`);
      }),
    );
    expect(outside, "chart labels outside the chart").to.deep.equal([]);
  }

  after(async () => {
    await context?.close();
    await server?.close();
    if (indexer) await stopGroup(indexer.child);
    if (devnet) await stopGroup(devnet);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(DIST, { recursive: true, force: true });
  });

  it("keeps the first page within 350 KB gzipped and interactive within 2 s", async () => {
    const bytes = firstPageGzipBytes();
    // The main thread's busy time: what the page costs in CPU, which a loaded machine stretches.
    const cdp = await context!.newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
    await page.goto(url, { waitUntil: "commit" });
    await page.getByTestId("total-supply").waitFor();
    // Set by the Overview once it has rendered the indexer's data (dashboard/src/pages/Overview.tsx).
    const interactiveMs = await page.evaluate(() => performance.getEntriesByName("fleek:first-page-interactive")[0].startTime);
    const [load] = os.loadavg();
    const cores = os.cpus().length;
    console.log(
      `    first page: ${(bytes / 1024).toFixed(1)} KB gzipped (budget 350 KB), interactive in ${interactiveMs.toFixed(0)} ms (budget ${INTERACTIVE_BUDGET_MS} ms; load average ${load.toFixed(1)} on ${cores} cores)`,
    );
    // Where the time went: the script, the deployment, the indexer's first answer.
    const phases = await page.evaluate(() =>
      (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
        .filter((r) => /\.js$|addresses\.json|graphql/.test(r.name))
        .map((r) => `${r.name.replace(/^.*\//, "")} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)} ms`),
    );
    const { metrics } = await cdp.send("Performance.getMetrics");
    const busy = (name: string) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
    console.log(
      `    (${phases.join(", ")}; main thread busy ${busy("TaskDuration").toFixed(0)} ms of CPU, of which script ${busy("ScriptDuration").toFixed(0)} ms)`,
    );
    await cdp.detach();
    expect(bytes).to.be.at.most(FIRST_PAGE_BUDGET_BYTES);
    // Asserted whatever the load: the page's own CPU time (thread time, which neighbours barely stretch).
    expect(busy("TaskDuration")).to.be.below(MAIN_THREAD_BUDGET_MS);
    // The 2 s wall-clock budget is for this machine, not for it running several other builds at
    // once: over one runnable process per core the timing measures the neighbours (1.6 to 3.8 s at
    // a load of 21 to 27 on 2 cores), so only a gross regression fails the test then.
    if (load <= cores) expect(interactiveMs).to.be.below(INTERACTIVE_BUDGET_MS);
    else {
      console.log(`    (2 s budget not asserted: the machine is oversubscribed; ceiling ${OVERLOADED_CEILING_MS} ms)`);
      expect(interactiveMs).to.be.below(OVERLOADED_CEILING_MS);
    }
    // The supply on screen is the chain's.
    expect(await page.getByTestId("total-supply").textContent()).to.equal("100,000,000 FLK");
    // docs/spec.md §2: 28M unlocked at the TGE, the rest locked (a few FLK have vested in the seconds since).
    expect(await page.getByTestId("circulating").textContent()).to.match(/^28,000,0\d\d FLK$/);
    expect(await page.getByTestId("locked").textContent()).to.match(/^71,999,9\d\d FLK$/);
    // The page computes "locked" with the genesis formulas instead of a second round trip: it
    // must agree with the contract's own view to within a wei per schedule.
    const vesting = new Contract(deployment.contracts.vesting, abi("token/Vesting.sol/Vesting.json"), rpc);
    const [now, tge] = [BigInt((await rpc.getBlock("latest"))!.timestamp), await vesting.start()];
    const formula = GENESIS_ALLOCATIONS.reduce((sum, a) => sum + a.total - vestedAmount(a, a.total, now - tge), 0n);
    const onChain: bigint = await vesting.lockedAt(now);
    expect(formula - onChain).to.be.within(-8n, 8n);
    // The unlock calendar lists the allocations the indexer read from the Vesting contract, and the
    // supply chart plots the indexer's measured history.
    await page.getByTestId("unlock-row").nth(5).waitFor();
    expect(await page.getByTestId("unlock-row").count()).to.equal(GENESIS_ALLOCATIONS.length);
    expect(await page.getByTestId("unlock-row").first().textContent()).to.contain("Team");
    await page.getByRole("img", { name: /measured from the TGE/ }).waitFor();
    // At 1,400 px the calendar fits, and its scroll area (for narrow screens) is a named, focusable region.
    await page.setViewportSize({ width: 1400, height: 900 });
    const calendar = page.getByRole("region", { name: "Unlock calendar table" });
    expect(await calendar.getAttribute("tabindex")).to.equal("0");
    expect(await calendar.evaluate((e) => e.scrollWidth - e.clientWidth)).to.be.at.most(0);
    await chartLabelsInside();
    // The stacked supply chart's tooltip follows the pointer: the left edge is the TGE's sample.
    const supplyChart = page.getByRole("img", { name: /stacked, measured from the TGE/ });
    await supplyChart.scrollIntoViewIfNeeded();
    const box = (await supplyChart.boundingBox())!;
    await supplyChart.hover({ position: { x: box.width * 0.05, y: box.height / 2 } });
    const tip = page.getByTestId("chart-tip");
    await tip.waitFor();
    expect(await tip.textContent()).to.match(
      new RegExp(`^${formatDateTime(tge).replace(/ UTC$/, "")}.*Circulating and reserves: .*Staked: 0 .*Locked in vesting: 72M .*Burned: 0$`),
    );
    await page.mouse.move(0, 0);
    await tip.waitFor({ state: "detached" });
    // Etherscan's counts and tabs, from the token's own events: holders are accounts with a positive balance.
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const transfers = (await flk.queryFilter(flk.filters.Transfer())) as EventLog[];
    const accounts = [...new Set(transfers.flatMap((e) => [e.args.from as string, e.args.to as string]))].filter((a) => BigInt(a) !== 0n);
    const holders = (await Promise.all(accounts.map(async (a) => ((await flk.balanceOf(a)) as bigint) > 0n))).filter(Boolean).length;
    await page
      .getByTestId("holders")
      .filter({ hasText: holders.toLocaleString("en-US") })
      .waitFor();
    expect(await page.getByTestId("transfers").textContent()).to.equal(transfers.length.toLocaleString("en-US"));
    expect(await page.getByTestId("flk-address").textContent()).to.equal(deployment.contracts.flk);
    const tabs = page.getByRole("tablist", { name: "Holders and transfers" });
    expect(await tabs.getByRole("tab").allTextContents()).to.deep.equal([`Holders (${holders})`, `Transfers (${transfers.length})`]);
    await page.getByTestId("holder-row").first().waitFor();
    expect(await page.getByTestId("holder-row").count()).to.equal(Math.min(holders, 25));
    await tabs.getByRole("tab", { name: /^Transfers/ }).click();
    const latest = transfers[transfers.length - 1];
    await page.getByTestId("transfer-row").first().waitFor();
    expect(await page.getByTestId("transfer-row").first().locator("td").nth(1).textContent()).to.equal(String(latest.blockNumber));
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot("overview");
  });

  it("connects the EIP-6963 test wallet", async () => {
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByRole("button", { name: /Hardhat test wallet/ }).click();
    expect(await page.getByTestId("account").textContent()).to.equal("0xf39F…2266");
  });

  it("releases the sale allocation and stakes 20,000 FLK", async () => {
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const staking = new Contract(deployment.contracts.staking, abi("staking/Staking.sol/Staking.json"), rpc);
    await page.getByRole("link", { name: "Account" }).click();
    const vesting = page.locator("section", { has: page.getByRole("heading", { name: "Vesting" }) });
    // Each schedule's progress, next unlock and the amount on its Release button (the sale is released in full at the TGE).
    await vesting.getByTestId("vesting-row").filter({ hasText: "100%" }).waitFor();
    await vesting.getByRole("button", { name: "Release" }).click();
    await settled(vesting, "Release");
    expect(await flk.balanceOf(wallet.address)).to.equal(parseEther("20000000"));
    await page.getByTestId("balance").filter({ hasText: "20,000,000 FLK" }).waitFor();

    const stake = page.locator("section", { has: page.getByRole("heading", { name: "Stake", exact: true }) });
    await stake.getByLabel("Amount to stake").fill("20,000");
    // Approve, then stake: said as two steps before the wallet asks twice.
    expect(await stake.getByRole("list", { name: "Steps" }).textContent()).to.equal(
      "Approve 20,000 FLK for the staking contract (to do)Stake 20,000 FLK (to do)",
    );
    await stake.getByRole("button", { name: "Stake", exact: true }).click();
    await settled(stake, "Stake");
    expect(await staking.stakeOf(wallet.address)).to.equal(parseEther("20000"));
    expect(await staking.getVotes(wallet.address)).to.equal(parseEther("20000"));
    await page.getByTestId("staked-balance").filter({ hasText: "20,000 FLK" }).waitFor();
    expect(await page.getByTestId("tier").textContent()).to.equal("2 of 3");
    // The reward rate: the stakers' next 365 days of emission over all stake (protocol/stakingRewards.ts), at the chain's clock.
    const emission = new Contract(deployment.contracts.emission, abi("token/Emission.sol/Emission.json"), rpc);
    const rate = stakingRewardRateBps(await emission.start(), BigInt((await rpc.getBlock("latest"))!.timestamp), await staking.totalStaked());
    await page
      .getByTestId("reward-rate")
      .filter({ hasText: `${Number(rate) / 100}% a year` })
      .waitFor();
    expect(await page.getByTestId("yearly-rewards").textContent()).to.equal(formatToken((parseEther("20000") * rate!) / 10_000n, "FLK", 18, 2));
    // Claiming a day of rewards puts the payment in the reward history (the indexer's).
    const rewardsSection = page.locator("section", { has: page.getByRole("heading", { name: "Staking rewards" }) });
    expect(await rewardsSection.getByText("No rewards claimed or compounded yet.").count()).to.equal(1);
    await advanceTime(86_400n);
    await page.reload();
    await stake.getByRole("button", { name: /^Claim / }).click();
    await settled(stake, "Claim rewards");
    const [claimed] = (await staking.queryFilter(staking.filters.RewardClaimed(wallet.address))) as EventLog[];
    await rewardsSection.getByTestId("reward-payment").first().waitFor();
    expect(await rewardsSection.getByTestId("reward-payment").allTextContents()).to.deep.equal([
      `${formatDateTime((await claimed.getBlock()).timestamp)}Claimed to the wallet${formatToken(claimed.args.amount)}${claimed.transactionHash.slice(0, 6)}…${claimed.transactionHash.slice(-4)} Copy`,
    ]);
    // Credits per month are the indexer's: the running month, counted from the stake.
    const month = page.getByTestId("credit-month");
    await month.first().waitFor();
    expect(await month.count()).to.equal(1);
    expect(await month.first().textContent()).to.match(/^\d{4}-\d{2} \(so far\)<?[\d,.]+ credits<?[\d,.]+ FLK\d$/);

    // Unstaking more than staked is refused before sending; the unbonding time is said first.
    await stake.getByLabel("Amount to unstake").fill("30000");
    await stake.locator(".error").filter({ hasText: "You have 20,000 FLK staked." }).waitFor();
    expect(await stake.getByRole("button", { name: "Unstake" }).isDisabled()).to.equal(true);
    expect(await stake.getByTestId("unbonding-note").textContent()).to.contain(`after the unbonding period of ${UNBONDING_PERIOD / 86_400n} days`);
    // The withdrawable date runs on the chain's clock (a day ahead of the browser's here), not the browser's.
    await stake.getByLabel("Amount to unstake").fill("10000");
    const note = (await stake.getByTestId("unbonding-note").filter({ hasText: "from about" }).textContent())!;
    const shown = Date.parse(note.match(/from about (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC/)![1].replace(" ", "T") + ":00Z") / 1000;
    const expected = Number(BigInt((await rpc.getBlock("latest"))!.timestamp) + UNBONDING_PERIOD);
    expect(shown).to.be.within(expected - 120, expected + 120);
    // A failing transaction shows the contract's reason in words.
    const delegation = page.locator("section", { has: page.getByRole("heading", { name: "Delegation" }) });
    await delegation.getByLabel(/Delegate your votes to/).fill(`0x${"0".repeat(40)}`);
    await delegation.getByRole("button", { name: "Delegate", exact: true }).click();
    const failed = delegation.locator('[data-status="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.textContent()).to.equal("Delegate failed: Delegate to an address, not the zero address.");
    await screenshot("account");
  });

  it("proposes a parameter change, votes for it, queues and executes it", async () => {
    const governor = new Contract(deployment.contracts.governor, abi("governance/FleekGovernor.sol/FleekGovernor.json"), rpc);
    const staking = new Contract(deployment.contracts.staking, abi("staking/Staking.sol/Staking.json"), rpc);
    await page.getByRole("link", { name: "Governance" }).click();
    await page.getByText("No proposals yet.").waitFor();
    await page.getByLabel("Parameter", { exact: true }).selectOption({ label: "Staking unbonding period" });
    // The range and the value in force are shown; 9 seconds (in days) is refused before sending.
    const unbonding: bigint = await staking.unbondingPeriod();
    await page
      .getByTestId("param-range")
      .filter({ hasText: `Allowed: 1 to 90 days. Now: ${unbonding / 86_400n} days.` })
      .waitFor();
    await page.getByLabel(/New value/).fill(String(9 / 86_400));
    await page.getByLabel(/Description/).fill("Nine-second unbonding");
    // The proposer's voting power beside the threshold it must reach.
    expect(await page.getByTestId("proposer-power").textContent()).to.equal(
      `Your voting power: 20,000 FLK; proposing needs ${formatToken(GOVERNANCE.proposalThreshold, "FLK", 18, 0)}.`,
    );
    expect(await page.getByTestId("param-error").textContent()).to.equal("The unbonding period must be 1 to 90 days.");
    expect(await page.getByRole("button", { name: "Propose" }).isDisabled()).to.equal(true);
    await page.getByLabel(/New value/).fill("3");
    await page.getByLabel(/Description/).fill("Shorten unbonding to 3 days\nFaster exits for stakers.");
    await page.getByRole("button", { name: "Propose" }).click();
    await settled(page.locator("form", { has: page.getByRole("button", { name: "Propose" }) }), "Propose");
    const [created] = await governor.queryFilter(governor.filters.ProposalCreated());
    const id = (created as EventLog).args.proposalId as bigint;
    const proposal = page.getByTestId("proposal");
    await proposal.filter({ hasText: "Shorten unbonding to 3 days" }).waitFor();
    expect(await proposal.getByTestId("proposal-state").textContent()).to.equal("Pending");
    expect(await proposal.getByTestId("proposal-body").textContent()).to.equal("Faster exits for stakers.");
    // The timeline: created at the proposal's block, voting opens at the snapshot with a countdown, the rest ahead.
    const createdAt = (await created.getBlock()).timestamp;
    const snapshot: bigint = await governor.proposalSnapshot(id);
    const steps = proposal.getByTestId("timeline-step");
    const deadline: bigint = await governor.proposalDeadline(id);
    const latest = BigInt((await rpc.getBlock("latest"))!.timestamp);
    const texts = await steps.allTextContents();
    // The countdowns tick with the wall clock from the chain's time: some seconds may have passed since the page read it.
    const ticked = (step: string, due: bigint) =>
      Array.from({ length: 121 }, (_, s) => `${step} ${formatDateTime(due)} (in ${formatDuration(due - latest - BigInt(s))})`);
    expect(ticked("Voting opens", snapshot)).to.include(texts[1]);
    expect(ticked("Voting closes", deadline)).to.include(texts[2]);
    expect([texts[0], ...texts.slice(3)]).to.deep.equal([
      `Created ${formatDateTime(createdAt)}`,
      "Queued after the vote, if it passes",
      "Executable after the vote, if it passes",
    ]);

    await advanceTime(GOVERNANCE.votingDelay + 1n);
    await page.reload();
    await proposal.and(page.locator('[data-state="Active"]')).waitFor();
    await proposal.getByRole("button", { name: "Vote For" }).click();
    await settled(proposal, "Vote For");
    expect(await governor.hasVoted(id, wallet.address)).to.equal(true);
    const [, forVotes] = await governor.proposalVotes(id);
    expect(forVotes).to.equal(parseEther("20000"));
    await proposal.getByTestId("votes-for").filter({ hasText: "20,000 FLK (100%)" }).waitFor();
    // The tally as a bar with the quorum marked, said in words for screen readers.
    const quorumVotes: bigint = await governor.quorum((await governor.proposalSnapshot(id)) as bigint);
    expect(await proposal.getByTestId("vote-bar").getAttribute("aria-label")).to.equal(
      `For 20,000 FLK, against 0 FLK, abstain 0 FLK; quorum ${formatToken(quorumVotes, "FLK", 18, 0)}, ${quorumVotes <= parseEther("20000") ? "reached" : "not reached"}`,
    );
    // The vote is said, and the buttons are gone (a second click could only fail).
    expect(await proposal.getByTestId("your-vote").textContent()).to.equal("You voted For.");
    expect(await proposal.getByRole("button", { name: /^Vote / }).count()).to.equal(0);
    await page.reload();
    await proposal.getByTestId("your-vote").filter({ hasText: "You voted For." }).waitFor();
    expect(await proposal.getByRole("button", { name: /^Vote / }).count()).to.equal(0);
    // Voters and delegates are the indexer's lists: the voter's side, weight and share of the votes cast;
    // the delegate's rank, share of all voting power (the staked FLK) and own stake, already the wallet's delegate.
    expect(await proposal.getByTestId("vote").allTextContents()).to.deep.equal(["0xf39F…2266For20,000 FLK100%—"]);
    expect(await page.getByTestId("delegate-row").allTextContents()).to.deep.equal([
      `10xf39F…2266 (you)20,000 FLK${formatShare(parseEther("20000"), await staking.totalStaked())}20,000 FLKYour delegate`,
    ]);
    await screenshot("governance-voted");

    await advanceTime(GOVERNANCE.votingPeriod + 1n);
    await page.reload();
    await proposal.getByRole("button", { name: "Queue in the timelock" }).click();
    await settled(proposal, "Queue");
    expect(await governor.state(id)).to.equal(5n); // Queued
    await advanceTime(GOVERNANCE.timelockDelay + 1n);
    await page.reload();
    await proposal.getByRole("button", { name: "Execute" }).click();
    await settled(proposal, "Execute");
    expect(await staking.unbondingPeriod()).to.equal(3n * 86_400n);
    await proposal.and(page.locator('[data-state="Executed"]')).waitFor();
    // Every step done, queue and execution at their transactions' block times.
    const at = async (name: "ProposalQueued" | "ProposalExecuted") =>
      formatDateTime((await (await governor.queryFilter(governor.filters[name]()))[0].getBlock()).timestamp);
    expect(await steps.evaluateAll((li) => li.map((l) => l.className))).to.deep.equal(["done", "done", "done", "done", "done"]);
    expect((await steps.allTextContents()).slice(3)).to.deep.equal([
      `Queued ${await at("ProposalQueued")}Copy`,
      `Executed ${await at("ProposalExecuted")}Copy`,
    ]);
    await screenshot("governance-executed");
  });

  it("launches its own creator token, buys and sells it with a quote, slippage and deadline, and claims the creator fees", async () => {
    const CREATOR = wallet.address;
    const market = new Contract(deployment.contracts.creatorMarket, abi("creator/CreatorMarket.sol/CreatorMarket.json"), rpc);
    await page.getByRole("link", { name: "Creator tokens" }).click();
    await page.getByText("No creator tokens yet.").waitFor();
    await page.getByLabel(/Creator address/).fill(CREATOR);
    const form = page.locator("form", { has: page.getByRole("radiogroup") });
    await form.getByLabel("Tokens").fill("10");
    await form
      .getByTestId("quote")
      .filter({ hasText: /^Costs/ })
      .waitFor();
    // Slippage typed as people type it is refused in words, not crashed on (BigInt(NaN) blanked the app).
    const slippage = form.getByTestId("slippage");
    for (const [typed, reason] of [
      ["0,5", "Use a dot for decimals, like 0.5."],
      ["1%", "Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals)."],
      ["1e400", "Enter a percentage from 0 to 50, like 0.5 (without %; at most two decimals)."],
    ]) {
      await slippage.fill(typed);
      await form.getByText(reason).waitFor();
      expect(await form.getByRole("button", { name: "Buy" }).isDisabled()).to.equal(true);
    }
    await slippage.fill("1");
    const [expectedCost] = await market.buyCost(CREATOR, parseEther("10"));
    const flkToken = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const flkBefore = await flkToken.balanceOf(wallet.address);
    await form.getByRole("button", { name: "Buy" }).click();
    await settled(form, "Buy");
    const token = new Contract(await market.tokenOf(CREATOR), abi("creator/CreatorToken.sol/CreatorToken.json"), rpc);
    expect(await token.balanceOf(wallet.address)).to.equal(parseEther("10"));
    const flkAfter = await flkToken.balanceOf(wallet.address);
    expect(flkBefore - flkAfter).to.equal(expectedCost);
    await page.getByTestId("creator-balance").filter({ hasText: /^10$/ }).waitFor();
    await page.getByTestId("creator-row").first().waitFor();
    expect(await page.getByTestId("curve-supply").textContent()).to.equal("10");

    await form.getByLabel("Sell").check();
    await form.getByLabel("Tokens").fill("4");
    await form
      .getByTestId("quote")
      .filter({ hasText: /^Returns/ })
      .waitFor();
    await form.getByRole("button", { name: "Sell" }).click();
    await settled(form, "Sell");
    expect(await token.balanceOf(wallet.address)).to.equal(parseEther("6"));
    await page.getByTestId("creator-balance").filter({ hasText: /^6$/ }).waitFor();
    // Selling is bounded by what is held (6), not by the supply, and says so with the token's symbol.
    const symbol: string = await token.symbol();
    await form.getByLabel("Tokens").fill("7");
    await form
      .locator(".error")
      .filter({ hasText: `You hold 6 ${symbol}.` })
      .waitFor();
    expect(await form.getByRole("button", { name: "Sell" }).isDisabled()).to.equal(true);
    await form.getByLabel("Tokens").fill("");
    // The token's page, pump.fun style: the indexer's trades (newest first), holders, and the list's symbol, holders and volume.
    const trades = page.getByTestId("trade-row");
    await trades.nth(1).waitFor();
    expect(await trades.count()).to.equal(2);
    expect(await trades.nth(0).textContent()).to.contain("0xf39F…2266sell4");
    expect(await trades.nth(1).textContent()).to.contain("0xf39F…2266buy10");
    expect(await page.getByTestId("holder-row").allTextContents()).to.deep.equal(["0xf39F…22666"]);
    await page.getByRole("img", { name: "Price of one token after each trade over time" }).waitFor();
    const listed = page.getByTestId("creator-row").first();
    await listed.getByTestId("holders").filter({ hasText: /^1$/ }).waitFor();
    expect(await listed.textContent()).to.contain(symbol);
    expect(await listed.getByTestId("volume").textContent()).to.match(/^[\d,.]+ FLK$/);
    await page.getByTestId("your-token").filter({ hasText: "Your token" }).waitFor();
    const fees = await market.creatorFeesOf(CREATOR);
    expect(fees).to.be.greaterThan(0n);
    const feesSection = page.locator("section", { has: page.getByRole("heading", { name: "Your creator fees" }) });
    const flkBeforeClaim = await flkToken.balanceOf(wallet.address);
    await feesSection.getByRole("button", { name: "Claim" }).click();
    await settled(feesSection, "Claim creator fees");
    expect(await market.creatorFeesOf(CREATOR)).to.equal(0n);
    expect((await flkToken.balanceOf(wallet.address)) - flkBeforeClaim).to.equal(fees);
    await feesSection
      .getByTestId("creator-fees")
      .filter({ hasText: /^0 FLK$/ })
      .waitFor();
    await screenshot("creators");
  });

  it("registers a node with an FLK approval, adds and locks stake, and shows a registry revert in words", async () => {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), rpc);
    // The node's keys stay with the node: `node prove` signs for the wallet, the form takes its JSON.
    const proofFor = async (operator: string) => ({
      chainId: String(deployment.chainId),
      registry: deployment.contracts.registry,
      operator,
      signer: NODE_SIGNERS[0].address,
      ...(await signNodeKeyProof(
        BigInt(deployment.chainId),
        deployment.contracts.registry,
        operator,
        KeyPair.fromSeed(Buffer.alloc(32, 0x5e)),
        NODE_SIGNERS[0],
      )),
    });
    const proof = await proofFor(wallet.address);
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("heading", { name: "Nodes" }).waitFor();
    const [epoch] = await registry.committee();
    expect(await page.getByTestId("epoch").textContent()).to.equal(epoch.toString());
    const nodeId = Number(await registry.nodeCount()) + 1;

    const form = page.getByRole("form", { name: "Register a node" });
    const fill = async () => {
      await form.getByTestId("node-proof").fill(JSON.stringify(proof));
      await form.getByLabel("Host", { exact: true }).fill("node1.example.org");
      await form.getByLabel(/^Stake/).fill("1500");
    };
    // The form refuses what the contract would: a proof made for another wallet keeps the submit disabled.
    await form.getByTestId("node-proof").fill(JSON.stringify(await proofFor(NODE_SIGNERS[1].address)));
    await form.getByText(`The proof names ${NODE_SIGNERS[1].address} as the operator; run \`node prove\` again with --operator ${wallet.address}.`).waitFor();
    expect(await form.getByRole("button", { name: "Approve and register" }).isDisabled()).to.equal(true);
    await fill();
    await form.getByRole("button", { name: "Approve and register" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Register a node" }) });
    await settled(section, "Register node");
    const [node] = await registry.getNodes([nodeId]);
    expect(node.owner).to.equal(wallet.address);
    expect(node.nodeKey).to.equal(proof.nodeKey);
    expect(node.signer).to.equal(NODE_SIGNERS[0].address);
    expect(node.status).to.equal(1n); // Pending until the next epoch change
    expect(node.stake).to.equal(parseEther("1500"));
    expect(node.endpoints.host).to.equal("node1.example.org");
    expect(node.endpoints.ports.gateway).to.equal(4220n);
    const row = page.getByTestId(`node-${nodeId}`);
    await row
      .getByTestId("node-status")
      .filter({ hasText: /^pending$/ })
      .waitFor();
    expect(await row.textContent()).to.contain("1,500 FLK");

    // Registering the same key again: the wallet's estimate fails and the registry's error is shown in words.
    await fill();
    await form.getByRole("button", { name: "Approve and register" }).click();
    const failed = section.locator('[data-status="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.textContent()).to.equal(`Register node failed: This node key is already registered, by node ${nodeId}.`);

    const own = page.locator("section", { has: page.getByRole("heading", { name: `Your node ${nodeId}` }) });
    await own.getByLabel("Add stake", { exact: true }).fill("250");
    await own.getByRole("button", { name: "Add stake" }).click();
    await settled(own, "Add stake");
    expect((await registry.getNodes([nodeId]))[0].stake).to.equal(parseEther("1750"));
    await row.filter({ hasText: "1,750 FLK" }).waitFor();

    await own.getByLabel("Lock for more epochs").fill("30");
    await own.getByRole("button", { name: "Lock stake" }).click();
    await settled(own, "Lock stake");
    const lockedUntil = (await registry.getNodes([nodeId]))[0].lockedUntil;
    expect(lockedUntil).to.equal((await registry.currentEpoch()) + 30n);
    await row.filter({ hasText: new RegExp(`${lockedUntil}$`) }).waitFor();
    await screenshot("nodes-registered");
  });

  it("shows the next epoch's committee once the registered node has joined the active set", async () => {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);
    // No committee yet, so the epoch may change without a report once it has ended.
    const latest = BigInt((await rpc.getBlock("latest"))!.timestamp);
    await advanceTime((await registry.epochEnd()) - latest + 1n);
    await (await registry.advanceEpoch()).wait();
    await indexerCaughtUp();
    const [epoch, start, , members] = await registry.committee();
    expect(epoch).to.equal(1n);
    expect(members.map((m: { id: bigint }) => m.id)).to.deep.equal([1n]);
    expect((await registry.getNodes([1]))[0].status).to.equal(2n); // Active

    // The page reads the registry again when it is opened again.
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("total-supply").waitFor();
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("heading", { name: "Committee of epoch 1" }).waitFor();
    expect(await page.getByTestId("epoch-start").textContent()).to.equal(`${new Date(Number(start) * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`);
    expect(await page.getByRole("list", { name: "Committee members" }).getByRole("listitem").allTextContents()).to.deep.equal([
      `Node 1 (node1.example.org), signer 0x7099…79C8`,
    ]);
    expect(await page.getByTestId("node-1").getByTestId("node-status").textContent()).to.equal("active");
    await screenshot("nodes-committee");
  });

  it("unstakes, refuses early withdrawals and short rejoins in words, rejoins an exited node and withdraws after 5 epochs", async () => {
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), wallet);
    // A second node, registered directly: the form was tested above. Not locked, not yet active.
    await (await flk.approve(deployment.contracts.registry, parseEther("1500"))).wait();
    const p = await signNodeKeyProof(
      BigInt(deployment.chainId),
      deployment.contracts.registry,
      wallet.address,
      KeyPair.fromSeed(Buffer.alloc(32, 0x6f)),
      NODE_SIGNERS[1],
    );
    const endpoints = { host: "node2.example.org", ports: { primary: 1, worker: 2, mempool: 3, rpc: 4, pool: 5, gateway: 6 } };
    await (await registry.register(p.nodeKey, NODE_SIGNERS[1].address, endpoints, parseEther("1500"), p.signerProof, p.keyProof)).wait();
    const id = 2;
    await indexerCaughtUp();
    await page.reload();
    const own = page.locator("section", { has: page.getByRole("heading", { name: `Your node ${id}` }) });
    await own.getByLabel("Unstake", { exact: true }).fill("1000");
    await own.getByRole("button", { name: "Unstake" }).click();
    await settled(own, "Unstake");
    const epoch: bigint = await registry.currentEpoch();
    let [node] = await registry.getNodes([id]);
    expect(node.stake).to.equal(parseEther("500"));
    expect(node.unstaking).to.equal(parseEther("1000"));
    expect(node.unstakeReadyAt).to.equal(epoch + 5n);
    expect(await own.getByTestId("unstaking").textContent()).to.equal(`Unstaking: 1,000 FLK, withdrawable from epoch ${epoch + 5n} (this is epoch ${epoch}).`);

    // Withdrawing before the delay: the registry's refusal in words.
    await own.getByRole("button", { name: "Withdraw 1,000 FLK" }).click();
    const failed = own.locator('[data-status="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    expect(await failed.textContent()).to.equal(`Withdraw failed: Nothing to withdraw yet: the unstaked FLK is withdrawable from epoch ${epoch + 5n}.`);

    // At the epoch change the pending node, now under the minimum stake, exits.
    await reportEpoch();
    expect((await registry.getNodes([id]))[0].status).to.equal(4n); // Exited
    await page.reload();
    await page
      .getByTestId(`node-${id}`)
      .getByTestId("node-status")
      .filter({ hasText: /^exited$/ })
      .waitFor();
    await own.getByRole("button", { name: "Rejoin" }).click();
    const refused = own.locator('[data-status="failed"]').filter({ hasText: /^Rejoin/ });
    await refused.waitFor({ timeout: 30_000 });
    expect(await refused.textContent()).to.equal("Rejoin failed: A node needs at least 1,000 FLK of stake; 500 FLK is not enough.");
    await own.getByLabel("Add stake", { exact: true }).fill("500");
    await own.getByRole("button", { name: "Add stake" }).click();
    await settled(own, "Add stake");
    await own.getByRole("button", { name: "Rejoin" }).click();
    await settled(own, "Rejoin");
    expect((await registry.getNodes([id]))[0].status).to.equal(1n); // Pending again
    await page
      .getByTestId(`node-${id}`)
      .getByTestId("node-status")
      .filter({ hasText: /^pending$/ })
      .waitFor();

    // Four more epochs reach the withdrawal epoch (the rejoined node becomes active and signs too).
    for (let i = 0; i < 4; i++) await reportEpoch();
    expect(await registry.currentEpoch()).to.equal(epoch + 5n);
    expect((await registry.getNodes([id]))[0].status).to.equal(2n); // Active
    await page.reload();
    await own.getByTestId("unstaking").filter({ hasText: "withdrawable now" }).waitFor();
    const before: bigint = await flk.balanceOf(wallet.address);
    await own.getByRole("button", { name: "Withdraw 1,000 FLK" }).click();
    await settled(own, "Withdraw");
    expect((await flk.balanceOf(wallet.address)) - before).to.equal(parseEther("1000"));
    [node] = await registry.getNodes([id]);
    expect(node.unstaking).to.equal(0n);
    await screenshot("nodes-exit-rejoin");
  });

  it("charts reputation over epochs and claims the epochs' FLK and USDC with the indexer's proofs", async () => {
    const rewards = new Contract(deployment.contracts.rewards, abi("registry/EpochRewards.sol/EpochRewards.json"), rpc);
    const usdc = new Contract(deployment.contracts.usdc, abi("test/MockUSDC.sol/MockUSDC.json"), wallet);
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const escrow = new Contract(deployment.contracts.escrow, abi("payments/ServiceEscrow.sol/ServiceEscrow.json"), wallet);
    // The test account is also a client of the network: 40 then 100 USDC of usage (the nodes'
    // revenue: a report's revenue is USDC debited), 80% of it to the nodes.
    const USDC = 10n ** 6n;
    await (await usdc.mint(wallet.address, 140n * USDC)).wait();
    await (await usdc.approve(deployment.contracts.escrow, 140n * USDC)).wait();
    await (await escrow.deposit(wallet.address, 140n * USDC)).wait();
    // Two reported epochs: reputation 80 then 90 for node 1, 60 then 70 for node 2 (both the test account's).
    const first = await reportEpoch(
      [
        { nodeId: 1, revenue: 30n * USDC, reputation: 80 },
        { nodeId: 2, revenue: 10n * USDC, reputation: 60 },
      ],
      [{ client: wallet.address, amount: 40n * USDC }],
    );
    const second = await reportEpoch(
      [
        { nodeId: 1, revenue: 60n * USDC, reputation: 90 },
        { nodeId: 2, revenue: 40n * USDC, reputation: 70 },
      ],
      [{ client: wallet.address, amount: 100n * USDC }],
    );
    // What the contract will pay the test account's leaf in each epoch.
    const owed = await Promise.all(
      [first, second].map(async ({ epoch, rewards: tree }) => {
        const { leaf } = rewardProof(tree, wallet.address);
        const [flkAmount, usdcAmount]: [bigint, bigint] = await rewards.claimable(epoch, leaf.flkWeight, leaf.usdcWeight);
        return { epoch, flkAmount, usdcAmount };
      }),
    );
    expect(owed[0].usdcAmount).to.equal(32n * USDC);
    expect(owed[1].usdcAmount).to.equal(80n * USDC);
    const flkOwed = owed[0].flkAmount + owed[1].flkAmount;
    expect(flkOwed).to.be.greaterThan(0n);

    await page.reload();
    const own = page.locator("section", { has: page.getByRole("heading", { name: "Your node 1" }) });
    await own.getByRole("img", { name: "Reputation of node 1 over epochs, 0 to 100" }).waitFor();
    // The registry table: committee seats and each node's recent reputation as a sparkline.
    const row1 = page.getByTestId("node-1");
    await row1.getByRole("img", { name: `Reputation 80, 90 in epochs ${first.epoch} to ${second.epoch}` }).waitFor();
    expect(await row1.getByTestId("node-reputation").textContent()).to.equal(" 90");
    const [, , , committeeNow] = await new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), rpc).committee();
    for (const id of [1, 2]) {
      const member = committeeNow.some((m: { id: bigint }) => m.id === BigInt(id));
      expect(await page.getByTestId(`node-${id}`).getByTestId("node-committee").textContent()).to.equal(member ? "member" : "—");
    }
    expect(await own.getByTestId("reward-row").count()).to.equal(2);
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Your rewards" }) });
    const claim = section.getByRole("button", { name: /^Claim/ });
    expect(await claim.textContent()).to.equal(`Claim ${formatToken(flkOwed)} and 112 USDC`);
    const [flkBefore, usdcBefore]: bigint[] = await Promise.all([flk.balanceOf(wallet.address), usdc.balanceOf(wallet.address)]);
    await claim.click();
    await settled(section, "Claim rewards");
    for (const { epoch } of owed) expect(await rewards.claimed(epoch, wallet.address)).to.equal(true);
    expect((await flk.balanceOf(wallet.address)) - flkBefore).to.equal(flkOwed);
    expect((await usdc.balanceOf(wallet.address)) - usdcBefore).to.equal(112n * USDC);
    await section.getByRole("button", { name: "Nothing to claim" }).waitFor();
    // The node's history is its own query: it may answer a moment after the claim section does.
    await own.getByTestId("reward-row").filter({ hasText: /no$/ }).first().waitFor({ state: "detached" });
    expect(await own.getByTestId("reward-row").allTextContents()).to.satisfy((rows: string[]) => rows.length === 2 && rows.every((r) => r.endsWith("yes")));
    await screenshot("nodes-rewards");
  });

  it("sets the escrow's spending limit from the next epoch, deposits USDC and shows both, on chain and in the page", async () => {
    const escrow = new Contract(deployment.contracts.escrow, abi("payments/ServiceEscrow.sol/ServiceEscrow.json"), rpc);
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);
    const usdc = new Contract(deployment.contracts.usdc, abi("test/MockUSDC.sol/MockUSDC.json"), wallet);
    const USDC = 10n ** 6n;
    // Its own 30 USDC to deposit, whatever the earlier cases left in the wallet and the escrow.
    await (await usdc.mint(wallet.address, 30n * USDC)).wait();
    await indexerCaughtUp();
    const epoch = Number(await registry.epoch());
    const before: bigint = (await escrow.accounts(wallet.address)).balance;
    // A client that never set a limit has the default, 1,000 USDC per epoch.
    expect(await escrow.spendingLimit(wallet.address, epoch)).to.equal(1000n * USDC);
    await page.getByRole("link", { name: "Account" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Service escrow" }) });
    await section
      .getByTestId("escrow-balance")
      .filter({ hasText: formatUsdc(before) })
      .waitFor();
    expect(await section.getByTestId("spending-limit").textContent()).to.equal("1,000 USDC per epoch");
    expect(await section.getByTestId("pending-limit").textContent()).to.equal("unchanged");

    // A limit with more decimals than USDC has is refused before sending.
    const limitField = section.getByLabel("New spending limit per epoch");
    await limitField.fill("1.0000001");
    await section.locator(".error").filter({ hasText: "At most 6 decimals." }).waitFor();
    const setLimit = section.getByRole("button", { name: `Set limit from epoch ${epoch + 1}` });
    expect(await setLimit.isDisabled()).to.equal(true);
    expect(await section.getByTestId("limit-note").textContent()).to.contain(`Takes effect at the next epoch (epoch ${epoch + 1})`);
    await limitField.fill("25.5");
    await setLimit.click();
    await settled(section, "Set spending limit");
    // On chain: this epoch keeps the default, the next one has the new limit.
    expect(await escrow.spendingLimit(wallet.address, epoch)).to.equal(1000n * USDC);
    expect(await escrow.spendingLimit(wallet.address, epoch + 1)).to.equal(25_500_000n);
    await section
      .getByTestId("pending-limit")
      .filter({ hasText: `25.5 USDC from epoch ${epoch + 1}` })
      .waitFor();
    expect(await section.getByTestId("spending-limit").textContent()).to.equal("1,000 USDC per epoch");

    // Deposit 30 USDC: an exact approval, then the deposit.
    await section.getByLabel("Amount to deposit").fill("30");
    await section.getByRole("button", { name: "Deposit", exact: true }).click();
    await settled(section, "Deposit");
    expect((await escrow.accounts(wallet.address)).balance).to.equal(before + 30n * USDC);
    await section
      .getByTestId("escrow-balance")
      .filter({ hasText: formatUsdc(before + 30n * USDC) })
      .waitFor();
    await screenshot("account-escrow");

    // The next epoch, through the committee's report. The new limit is then in force and bounds the reserve.
    await reportEpoch();
    expect(Number(await registry.epoch())).to.equal(epoch + 1);
    expect((await escrow.debitable([wallet.address], epoch + 1))[0]).to.equal(25_500_000n);
    await page.reload();
    await section.getByTestId("spending-limit").filter({ hasText: "25.5 USDC per epoch" }).waitFor();
    expect(await section.getByText(`Spending limit in epoch ${epoch + 1}`).count()).to.equal(1);
    expect(await section.getByTestId("pending-limit").textContent()).to.equal("unchanged");
    expect(await section.getByTestId("escrow-reserved").textContent()).to.equal("25.5 USDC");
  });

  it("keeps the Account page for a top-tier staker (100,000 FLK), also right after the stake that reaches it", async () => {
    const staking = new Contract(deployment.contracts.staking, abi("staking/Staking.sol/Staking.json"), rpc);
    const credits = new Contract(deployment.contracts.serviceCredits, abi("staking/ServiceCredits.sol/ServiceCredits.json"), rpc);
    const thresholds: bigint[] = [...(await credits.tierThresholds())];
    const top = thresholds[thresholds.length - 1];
    expect(top).to.equal(parseEther("100000"));
    await page.getByRole("link", { name: "Account" }).click();
    const stake = page.locator("section", { has: page.getByRole("heading", { name: "Stake", exact: true }) });
    const missing = top - ((await staking.stakeOf(wallet.address)) as bigint);
    await stake.getByLabel("Amount to stake").fill(formatUnits(missing, 18));
    await stake.getByRole("button", { name: "Stake", exact: true }).click();
    await settled(stake, "Stake");
    expect(await staking.stakeOf(wallet.address)).to.equal(top);
    await page.getByTestId("staked-balance").filter({ hasText: "100,000 FLK" }).waitFor();
    expect(await page.getByTestId("tier").textContent()).to.equal(`${thresholds.length} of ${thresholds.length}`);
    await page.getByText("top tier reached").waitFor();
    // Opened afresh as a top-tier account, and every page at both widths: no error boundary, navigation kept.
    for (const width of [1400, 390]) {
      await page.setViewportSize({ width, height: 900 });
      for (const [link, heading] of [
        ["Overview", "FLK overview"],
        ["Account", "Account"],
        ["Governance", "Governance"],
        ["Nodes", "Nodes"],
        ["Creator tokens", "Creator tokens"],
      ]) {
        await openPage(link);
        await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
        if (link === "Account") await page.getByTestId("tier").waitFor();
        expect(await page.getByTestId("page-error").count(), `${link} at ${width} px`).to.equal(0);
      }
      await screenshot(`top-tier-${width}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("shows every page to an empty account (no FLK, no stake, no history) at 1,400 and 390 px, in words and without errors", async () => {
    // A fresh key: no ETH, no FLK, no stake, no votes, no vesting, no node, no escrow, no history.
    const empty = new Wallet(Wallet.createRandom().privateKey, rpc);
    const ctx = await chromium.launchPersistentContext(path.join(tmp, "profile-empty"), { ...launchOptions, viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    try {
      await installTestWallet(ctx, empty, deployment.chainId, deployment.rpcUrl);
      const p = ctx.pages()[0] ?? (await ctx.newPage());
      p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      p.on("pageerror", (e) => errors.push(`${e.name}: ${e.message}`));
      await p.goto(url);
      await p.getByTestId("total-supply").waitFor();
      await p.getByRole("button", { name: "Connect wallet" }).click();
      await p.getByRole("button", { name: /Hardhat test wallet/ }).click();
      await p
        .getByTestId("account")
        .filter({ hasText: `${empty.address.slice(0, 6)}…${empty.address.slice(-4)}` })
        .waitFor();
      for (const width of [1400, 390]) {
        await p.setViewportSize({ width, height: 900 });
        // Nothing is wider than the screen: tables scroll inside their own regions.
        const fits = async (where: string) => {
          const { overflow, widest } = await p.evaluate(() => {
            const right = document.documentElement.clientWidth;
            // The innermost elements past the right edge, to say what is too wide.
            const past = [...document.querySelectorAll("main *")].filter(
              (e) => e.getBoundingClientRect().right > right + 0.5 && ![...e.children].some((c) => c.getBoundingClientRect().right > right + 0.5),
            );
            return {
              overflow: document.documentElement.scrollWidth - right,
              widest: past.slice(0, 3).map((e) => `${e.tagName.toLowerCase()}: ${e.textContent?.slice(0, 60)}`),
            };
          });
          expect(overflow, `${where} at ${width} px is wider than the screen: ${widest.join("; ")}`).to.be.at.most(0);
        };

        await openPage("Overview", p);
        await p.getByTestId("holder-row").first().waitFor();
        await fits("Overview");

        await openPage("Account", p);
        await p.getByRole("heading", { name: "Account", level: 1 }).waitFor();
        await p
          .getByTestId("balance")
          .filter({ hasText: /^0 FLK$/ })
          .waitFor();
        expect(await p.getByTestId("staked-balance").textContent()).to.equal("0 FLK");
        expect(await p.getByTestId("votes").textContent()).to.equal("0 FLK");
        expect(await p.getByTestId("tier").textContent()).to.equal("0 of 3");
        expect(await p.getByRole("heading", { name: "Vesting" }).count()).to.equal(0);
        // Others stake, so the rate is shown; this account would earn nothing at it yet.
        await p
          .getByTestId("reward-rate")
          .filter({ hasText: /% a year$/ })
          .waitFor();
        expect(await p.getByTestId("yearly-rewards").textContent()).to.equal("0 FLK");
        await p.getByText("No rewards claimed or compounded yet.").waitFor();
        await p.getByText("No credits yet: staking earns them from the month of your first stake.").waitFor();
        const stake = p.locator("section", { has: p.getByRole("heading", { name: "Stake", exact: true }) });
        await stake.getByLabel("Amount to stake").fill("1");
        await stake.locator(".error").filter({ hasText: "Your wallet holds 0 FLK." }).waitFor();
        expect(await stake.getByRole("button", { name: "Stake", exact: true }).isDisabled()).to.equal(true);
        await stake.getByLabel("Amount to stake").fill("");
        for (const button of [/^Withdraw /, /^Claim /, /^Compound /]) expect(await stake.getByRole("button", { name: button }).isDisabled()).to.equal(true);
        await p.getByTestId("escrow-balance").waitFor();
        await fits("Account");
        await screenshot(`empty-account-${width}`, p);

        await openPage("Governance", p);
        await p.getByTestId("delegate-row").first().waitFor();
        // No delegate chosen yet: every row offers Delegate.
        expect(await p.getByTestId("delegate-row").getByText("Your delegate").count()).to.equal(0);
        expect(await p.getByTestId("your-vote").count()).to.equal(0);
        await fits("Governance");

        await openPage("Nodes", p);
        await p.getByRole("form", { name: "Register a node" }).waitFor();
        expect(await p.getByRole("heading", { name: /^Your node/ }).count()).to.equal(0);
        await fits("Nodes");

        await openPage("Creator tokens", p);
        await p.getByTestId("creator-row").first().waitFor();
        expect(await p.getByTestId("your-token").textContent()).to.equal("Launch your token");
        await fits("Creator tokens");

        await openPage("Agents", p);
        await p.getByText("No report has debited your escrow account yet.").waitFor();
        expect(await p.getByTestId("earned-balance").textContent()).to.equal("0 USDC");
        await fits("Agents");

        expect(await p.getByTestId("page-error").count(), `error boundary at ${width} px`).to.equal(0);
        if (width === 390) await chartLabelsInside(p);
      }
    } finally {
      await ctx.close();
    }
    expect(errors, "the empty account's page logged errors").to.deep.equal([]);
  });

  it("deploys an edge function: uploads the bundle through a gateway, registers it, lists it with its cost, refuses the same root and publishes a second version", async () => {
    // A real gateway with its blockstore, and an origin serving the example bundle once asked.
    const bundle = fs.readFileSync(path.join(ROOT, "examples/functions/hello.js"));
    const store = await BlockStore.open({ directory: fs.mkdtempSync(path.join(tmp, "blocks-")), maxBytes: 64 * 1024 * 1024, verifiedCacheBytes: 0 });
    // It reads FunctionRegistry, so it also takes a registered bundle the page uploads without a token.
    const gateway = await startGateway({
      store,
      origins: new OriginFetcher(store),
      operatorToken: "e2e-token",
      functions: new FunctionDirectory(rpc as unknown as RpcProvider, deployment.contracts.functionRegistry),
    });
    // Version 2 is the same module with a comment: another root.
    const bundle2 = Buffer.concat([bundle, Buffer.from("\n// version 2\n")]);
    const origin = http.createServer((req, res) => res.writeHead(200, { "content-type": "text/javascript" }).end(req.url === "/hello-2.js" ? bundle2 : bundle));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    gateways.push(gateway.url);
    try {
      await page.reload();
      await openPage("Functions");
      await page.getByRole("heading", { name: "Edge functions" }).waitFor();
      // The escrow's defaults: $0.30 per million requests and $0.02 per million CPU-ms.
      expect(await page.getByTestId("price-requests").textContent()).to.contain("0.3 USDC");
      expect(await page.getByTestId("price-cpu").textContent()).to.contain("0.02 USDC");
      const form = page.getByRole("form", { name: "Deploy a function" });
      await form.getByTestId("function-name").fill("E2E");
      await form.locator(".error").filter({ hasText: "Use only lower-case letters a-z, digits and '-'." }).waitFor();
      await form.getByTestId("function-name").fill("e2e-hello");
      const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
      await form.getByTestId("bundle-url").fill(`${originUrl}/hello.js`);
      expect(await form.getByTestId("gateway-url").inputValue()).to.equal(new URL("gateways/0", url).href);
      await form.getByTestId("operator-token").fill("e2e-token");
      await form.getByTestId("limit-cpuMs").fill("20");
      await form.getByRole("button", { name: "Upload and register" }).click();
      await settled(form, "Register e2e-hello");
      const root = `0x${Buffer.from(blake3(bundle)).toString("hex")}`;
      expect(await form.getByTestId("uploaded-root").textContent()).to.contain(root);
      // On chain: the wallet owns version 1 with that root and the limits typed.
      const registry = new Contract(deployment.contracts.functionRegistry, abi("functions/FunctionRegistry.sol/FunctionRegistry.json"), rpc);
      const [id, version, latest] = await registry.resolve("e2e-hello");
      expect([Number(version), latest.root, Number(latest.limits.cpuMs), Number(latest.limits.memoryMiB)]).to.deep.equal([1, root, 20, 128]);
      expect((await registry.functions(id))[0]).to.equal(wallet.address);
      // Listed from the indexer: at its 20 ms CPU limit a million calls cost at most 300,000 + 20 × 20,000 units.
      const row = page.getByTestId("function-row").filter({ hasText: "e2e-hello" });
      await row.waitFor();
      expect(await row.getByTestId("function-version").textContent()).to.equal("1");
      expect(await row.getByTestId("function-cost").textContent()).to.equal("0.7 USDC");
      // Nobody has called it yet: no invocation in any report, nothing paid.
      expect([await row.getByTestId("function-invocations").textContent(), await row.getByTestId("function-revenue").textContent()]).to.deep.equal([
        "0",
        "0 USDC",
      ]);

      // The same bundle again is refused before any transaction; another bundle is version 2.
      const deploy = form.getByRole("button", { name: "Upload and register" });
      await deploy.click();
      await form.getByTestId("deploy-error").filter({ hasText: "This bundle is already version 1 of the function; a new version needs a new root." }).waitFor();
      await form.getByTestId("bundle-url").fill(`${originUrl}/hello-2.js`);
      await deploy.click();
      await settled(form, "Publish version 2");
      const root2 = `0x${Buffer.from(blake3(bundle2)).toString("hex")}`;
      expect((await registry.resolve("e2e-hello"))[2].root).to.equal(root2);
      await row.getByTestId("function-version").filter({ hasText: "2" }).waitFor();
      await row.getByRole("button", { name: "Versions" }).click();
      const versions = page.getByTestId("version-row");
      await versions.nth(1).waitFor();
      expect(await versions.locator("code").allTextContents()).to.deep.equal([root2, root]);

      // Version 3 from a file: hashed by the page, published with the wallet, then uploaded with no token.
      const bundle3 = Buffer.concat([bundle, Buffer.from("\n// version 3, from a file\n")]);
      const root3 = `0x${Buffer.from(blake3(bundle3)).toString("hex")}`;
      await form.getByTestId("bundle-url").fill("");
      await form.getByTestId("operator-token").fill("");
      await form.getByTestId("bundle-file").setInputFiles({ name: "hello-3.js", mimeType: "text/javascript", buffer: bundle3 });
      await deploy.click();
      await settled(form, "Publish version 3");
      await form.getByTestId("uploaded-root").filter({ hasText: root3 }).waitFor();
      expect((await registry.resolve("e2e-hello"))[2].root).to.equal(root3);
      const served = await fetch(`${gateway.url}/blake3/${root3.slice(2)}`);
      expect(Buffer.from(await served.arrayBuffer()).equals(bundle3)).to.equal(true);
      await screenshot("functions");
    } finally {
      gateways.splice(0);
      await gateway.close();
      await new Promise((resolve) => origin.close(resolve));
    }
  });

  it("deploys an agent through a gateway, lists it with its price from the next epoch, sets its price, pauses it, refuses an empty withdrawal and calls it through the page's host", async () => {
    // A real gateway (no services: it hosts no agent) and an origin serving the agent's config and bundle.
    const config = Buffer.from(JSON.stringify({ name: "e2e agent", greeting: "hi" }));
    const bundle = Buffer.from('export default { async fetch() { return new Response("hi"); } };\n');
    const store = await BlockStore.open({ directory: fs.mkdtempSync(path.join(tmp, "agent-blocks-")), maxBytes: 64 * 1024 * 1024, verifiedCacheBytes: 0 });
    const gateway = await startGateway({ store, origins: new OriginFetcher(store), operatorToken: "e2e-token" });
    const origin = http.createServer((req, res) =>
      req.url === "/agent.json"
        ? res.writeHead(200, { "content-type": "application/json" }).end(config)
        : res.writeHead(200, { "content-type": "text/javascript" }).end(bundle),
    );
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    gateways.push(gateway.url);
    try {
      await page.reload();
      await openPage("Agents");
      await page.getByRole("heading", { name: "Agents", exact: true }).waitFor();
      // The default split, and no call revenue yet: nothing burned through the marketplace.
      expect(await page.getByTestId("market-split").textContent()).to.contain("20% to the serving node, 70% to the agent's owner and 10% to BuybackBurner");
      expect(await page.getByTestId("market-burns").textContent()).to.equal("0 USDC");

      const form = page.getByRole("form", { name: "Deploy an agent" });
      const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
      await form.getByTestId("agent-name").fill("e2e agent");
      await form.getByTestId("config-url").fill(`${originUrl}/agent.json`);
      await form.getByTestId("agent-bundle-url").fill(`${originUrl}/agent.js`);
      await form.getByTestId("agent-operator-token").fill("e2e-token");
      await form.getByTestId("agent-memory").fill("5000");
      await form.locator(".error").filter({ hasText: "Memory is a whole number of MiB from 1 to 4,096." }).waitFor();
      expect(await form.getByRole("button", { name: "Upload and register" }).isDisabled()).to.equal(true);
      await form.getByTestId("agent-memory").fill("64");
      await form.getByTestId("agent-price-input").fill("0.25");
      await form.getByRole("button", { name: "Upload and register" }).click();
      await settled(form, "Register e2e agent");
      const configRoot = `0x${Buffer.from(blake3(config)).toString("hex")}`;
      const bundleRoot = `0x${Buffer.from(blake3(bundle)).toString("hex")}`;
      const market = new Contract(deployment.contracts.agentMarketplace, abi("agents/AgentMarketplace.sol/AgentMarketplace.json"), rpc);
      const id = Number(await market.agentCount());
      const agent = await market.agents(id);
      const version = await market.versionOf(id, 1);
      expect([agent.owner, agent.name, Number(agent.memoryMiB), version.configRoot, version.bundleRoot]).to.deep.equal([
        wallet.address,
        "e2e agent",
        64,
        configRoot,
        bundleRoot,
      ]);
      // Served and priced from the epoch after its registration.
      const epoch = Number(await new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), rpc).epoch());
      const row = page.getByTestId("agent-row").filter({ hasText: "e2e agent" });
      await row
        .getByTestId("agent-price")
        .filter({ hasText: `0.25 USDC from epoch ${epoch + 1}` })
        .waitFor();
      expect([await row.getByTestId("agent-state").textContent(), await row.getByTestId("agent-calls").textContent()]).to.deep.equal(["Listed", "0"]);

      // The owner's page: a new price from the next epoch, then a pause at once.
      await page.getByRole("button", { name: `Manage e2e agent (#${id})` }).click();
      const manage = page.getByRole("form", { name: "Manage e2e agent" });
      expect(await manage.textContent()).to.contain("A new price applies from the next epoch");
      await manage.getByTestId("set-price").fill("0.5");
      await manage.getByRole("button", { name: "Set price" }).click();
      await settled(manage, "Set the price of e2e agent");
      expect((await market.priceAt(id, epoch + 1)).price).to.equal(500_000n);
      await row
        .getByTestId("agent-price")
        .filter({ hasText: `0.5 USDC from epoch ${epoch + 1}` })
        .waitFor();
      // Registered with an empty lease: the page says it ran out; funded from the page: 1.75 USDC on chain
      // (64 MiB at 7,000 units per GiB-hour is 437.5 units an hour: a few of them may be charged by now).
      await manage.getByTestId("manage-lease").filter({ hasText: "calls refused until funded" }).waitFor();
      await manage.getByTestId("fund-lease").fill("1.75");
      await manage.getByRole("button", { name: "Fund lease" }).click();
      await settled(manage, "Fund the hosting lease of e2e agent");
      const leaseBalance = await market.leaseBalance(id);
      expect(leaseBalance > 1_749_000n && leaseBalance <= 1_750_000n, `lease balance ${leaseBalance}`).to.equal(true);
      expect(await market.leaseEnds(id)).to.be.greaterThan(BigInt(Math.floor(Date.now() / 1000)) + 3_000n * 3_600n);
      await manage.getByTestId("manage-lease").filter({ hasText: "Hosting: Funded until" }).waitFor();
      await manage.getByRole("button", { name: "Pause calls" }).click();
      await settled(manage, "Pause e2e agent");
      expect(await market.paused(id)).to.equal(true);
      await row.getByTestId("agent-state").filter({ hasText: "Paused" }).waitFor();
      // Nothing settled for this owner: refused in words, no transaction.
      expect(await page.getByTestId("earned-balance").textContent()).to.equal("0 USDC");
      await page.getByRole("button", { name: "Withdraw", exact: true }).click();
      await page.getByTestId("withdraw-error").filter({ hasText: "Nothing to withdraw" }).waitFor();

      // A call goes through the page's host to the gateway's /agents/<id>/ path: this gateway hosts no agent and says so.
      const call = page.getByRole("form", { name: "Call an agent" });
      expect(await page.getByTestId("agent-gateway").inputValue()).to.equal(new URL("gateways/0", url).href);
      await call.getByTestId("call-id").fill(String(id));
      await call.getByTestId("call-path").fill("/hello");
      await call.getByRole("button", { name: "Call" }).click();
      await call.getByTestId("answer-status").filter({ hasText: "404" }).waitFor();
      expect(await call.getByTestId("answer-body").textContent()).to.contain("this node runs no services");
      // Chromium logs every 4xx answer to a fetch; this one is the expected answer the page shows.
      consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 404 \(Not Found\)/.test(e)));
      await screenshot("agents");
    } finally {
      gateways.splice(0);
      await gateway.close();
      await new Promise((resolve) => origin.close(resolve));
    }
  });

  it("calls the example agent from the page, paid from the wallet's escrow: the page's key bound by a wallet signature on the node's 402, a 200 with a receipt, the ack accepted", async () => {
    // A paid node: its gateway charges calls from the caller's escrow (terms read from the devnet's
    // chain at the epoch's first block), its agents service hosts examples/agents/counter.js as the
    // marketplace agent the previous case deployed.
    const market = new Contract(deployment.contracts.agentMarketplace, abi("agents/AgentMarketplace.sol/AgentMarketplace.json"), wallet);
    const id = Number(await market.agentCount());
    expect((await market.agents(id)).name).to.equal("e2e agent");
    await (await market.setPaused(id, false)).wait();
    // 5 USDC more in escrow (the node reads what the escrow may debit at the epoch's first block: earlier cases' deposits).
    const usdc = new Contract(deployment.contracts.usdc, abi("test/MockUSDC.sol/MockUSDC.json"), wallet);
    const escrow = new Contract(deployment.contracts.escrow, abi("payments/ServiceEscrow.sol/ServiceEscrow.json"), wallet);
    await (await usdc.mint(wallet.address, 5_000_000n)).wait();
    await (await usdc.approve(deployment.contracts.escrow, 5_000_000n)).wait();
    await (await escrow.deposit(wallet.address, 5_000_000n)).wait();
    // The agent was registered in this epoch, after its first block, where a node reads prices; this test's node
    // reads its price now instead, so the epoch need not change (skipping it would jail the committee the later cases use).
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), rpc);
    const epoch: bigint = await registry.epoch();
    const reporting = new RegistryReporting(rpc, BigInt(deployment.chainId), deployment.contracts.registry);
    const marketRoot = agentService(id).slice(2);

    const dir = fs.mkdtempSync(path.join(tmp, "paid-node-"));
    const seed = Buffer.alloc(32, 7);
    const sink = new QueuedAckSink();
    const { supervisor, agentKeys } = agentsSupervisor(() => edge.gateway.url, dir, seed);
    const edge = await startEdgeNode({
      directory: path.join(dir, "blocks"),
      maxBytes: 2 ** 28,
      nodeKey: ed25519PrivateKeyFromSeed(seed),
      ackSink: sink,
      services: supervisor,
      compute: { terms: (account) => reporting.computeTerms(account), cpuLimitMs: 100 },
      agents: {
        ...agentKeys,
        paid: {
          marketId: (agent) => (agent === String(id) ? BigInt(id) : undefined),
          priceOf: async (_, at) => ((await market.priceAt(id, at)) as [bigint])[0],
          cpuLimitMs: 100,
        },
      },
    });
    gateways.push(edge.gateway.url);
    try {
      await hostCounterAgent(edge, supervisor, id, wallet.address);

      await page.reload();
      await openPage("Agents");
      const call = page.getByRole("form", { name: "Call an agent" });
      await call.getByTestId("call-payment").filter({ hasText: "Paid from the escrow account of" }).waitFor();
      await call.getByTestId("call-id").fill(String(id));
      await call.getByTestId("call-path").fill("/");
      await call.getByRole("button", { name: "Call" }).click();
      // The agents service opens the agent's store on its first call: seconds on a loaded machine.
      await call.getByTestId("answer-ack").waitFor({ timeout: 60_000 });
      expect(await call.getByTestId("answer-status").textContent()).to.equal("200");
      expect(JSON.parse((await call.getByTestId("answer-body").textContent())!)).to.deep.equal({
        agent: "counter",
        greeting: "Hello from an agent on the Fleek Network devnet",
        calls: 1,
      });
      expect(await call.getByTestId("answer-ack").textContent()).to.match(/^Acknowledged: the node measured [\d,]+ µs of CPU/);
      // The node took the page's binding (the wallet's account pays for the page's key) and its countersigned receipt.
      const key = await page.evaluate((slot) => localStorage.getItem(slot), `fleek.agents.callerKey.${wallet.address.toLowerCase()}`);
      const publicKey = rawEd25519PublicKey(ed25519PrivateKeyFromSeed(Buffer.from(key!, "hex")));
      expect(edge.acks!.payerOf(publicKey)?.account).to.equal(wallet.address);
      const acks = sink.drainCompute();
      expect(acks.map((a) => [a.receipt.clientKey.toString("hex"), a.receipt.functionRoot.toString("hex"), verifyComputeAck(a)])).to.deep.equal([
        [publicKey.toString("hex"), marketRoot, true],
      ]);
      await page.getByTestId("session-spend").filter({ hasText: "This page acknowledged 1 call" }).waitFor();
      // The node did not know the page's key: it answered the first try 402, the page bound the key and called again
      // (Chromium logs every 4xx answer to a fetch; this one is expected).
      consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 402 \(Payment Required\)/.test(e)));
      // A second call: no new wallet signature needed, the agent's store counts on.
      await call.getByRole("button", { name: "Call" }).click();
      await call.getByTestId("answer-body").filter({ hasText: '"calls":2' }).waitFor({ timeout: 30_000 });
      await page.getByTestId("session-spend").filter({ hasText: "This page acknowledged 2 calls" }).waitFor();
      expect(sink.drainCompute()).to.have.length(1);
      expect(await registry.epoch()).to.equal(epoch);
      await screenshot("agents-paid-call");
    } finally {
      gateways.splice(0);
      await supervisor.close();
      await edge.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("deploys an agent priced in its owner's creator token from the page and pays it in that token: the listing and the chain show both prices, the deposit is for the gateway's node, one too small is refused in the node's words, one approved and made from the page pays a 200, and a withdrawal is requested, stops backing calls and is taken after the delay", async () => {
    // What this case needs, made here (it runs alone or in any order): the wallet's own creator token with 5 tokens
    // held for the deposits, and a registered node to make them for.
    const token = await holdOwnCreatorTokens(parseEther("5"));
    const tokenAddress = await token.getAddress();
    const symbol: string = await token.symbol();
    const nodeId = await someNode();
    const market = new Contract(deployment.contracts.agentMarketplace, abi("agents/AgentMarketplace.sol/AgentMarketplace.json"), wallet);
    const tokenEscrow = new Contract(deployment.contracts.tokenCallEscrow, abi("agents/TokenCallEscrow.sol/TokenCallEscrow.json"), rpc);
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), wallet);

    // A node taking token-paid calls as node `nodeId`, reading the deposit and the price from the devnet's chain; its
    // gateway also takes the page's uploads (operator token) from an origin serving the example counter agent.
    const chain = tokenCallChain({
      provider: rpc,
      escrow: deployment.contracts.tokenCallEscrow,
      marketplace: deployment.contracts.agentMarketplace,
      epochStartBlock: () => rpc.getBlockNumber(),
    });
    const desk = new TokenCallDesk({ nodeId, domain: tokenVoucherDomain(BigInt(deployment.chainId), deployment.contracts.tokenCallEscrow), chain });
    const dir = fs.mkdtempSync(path.join(tmp, "token-node-"));
    const seed = Buffer.alloc(32, 9);
    const { supervisor, agentKeys } = agentsSupervisor(() => edge.gateway.url, dir, seed);
    /** The agent's id, known once the page has registered it. */
    let id = 0;
    const edge = await startEdgeNode({
      directory: path.join(dir, "blocks"),
      maxBytes: 2 ** 28,
      nodeKey: ed25519PrivateKeyFromSeed(seed),
      ackSink: new QueuedAckSink(),
      operatorToken: "e2e-token",
      services: supervisor,
      agents: {
        ...agentKeys,
        tokenPaid: {
          desk,
          nodeId,
          marketId: (agent) => (agent === String(id) ? BigInt(id) : undefined),
          epoch: async () => Number(await registry.epoch()),
        },
      },
    });
    const [config, bundle] = ["examples/agents/counter.json", "examples/agents/counter.js"].map((f) => fs.readFileSync(path.join(ROOT, f)));
    const origin = http.createServer((req, res) =>
      req.url === "/agent.json"
        ? res.writeHead(200, { "content-type": "application/json" }).end(config)
        : res.writeHead(200, { "content-type": "text/javascript" }).end(bundle),
    );
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    gateways.push(edge.gateway.url);
    try {
      // Deployed from the owner's form at 0.5 USDC or 2 of the wallet's token a call (register, then setPrice).
      await page.reload();
      await connectWallet();
      await openPage("Agents");
      const deploy = page.getByRole("form", { name: "Deploy an agent" });
      const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
      await deploy.getByText(`Price per call in your creator token (${symbol})`).waitFor();
      await deploy.getByTestId("agent-name").fill("e2e token agent");
      await deploy.getByTestId("config-url").fill(`${originUrl}/agent.json`);
      await deploy.getByTestId("agent-bundle-url").fill(`${originUrl}/agent.js`);
      await deploy.getByTestId("agent-operator-token").fill("e2e-token");
      await deploy.getByTestId("agent-price-input").fill("0.5");
      // A bad amount is refused in words before the wallet, and keeps the submit disabled.
      await deploy.getByTestId("agent-token-price-input").fill("1000000001");
      await deploy.locator(".error").filter({ hasText: "A token price is at most 1,000,000,000 tokens per call." }).waitFor();
      expect(await deploy.getByRole("button", { name: "Upload and register" }).isDisabled()).to.equal(true);
      await deploy.getByTestId("agent-token-price-input").fill("2");
      // The wallet's user rejects the second transaction: the agent is registered without its token
      // price, and the form then sets that price for it instead of registering it again.
      const agentsBefore = Number(await market.agentCount());
      walletUser.rejectNextTransaction(market.interface.getFunction("setPrice")!.selector);
      await deploy.getByRole("button", { name: "Upload and register" }).click();
      await deploy
        .getByTestId("tx-status")
        .filter({ hasText: /^Set the token price of e2e token agent failed/ })
        .waitFor({ timeout: 30_000 });
      id = Number(await market.agentCount());
      expect(id).to.equal(agentsBefore + 1);
      await deploy.getByRole("button", { name: `Set the token price of agent ${id}` }).click();
      await settled(deploy, "Set the token price of e2e token agent");
      expect(Number(await market.agentCount()), "agents after the retry").to.equal(id);
      const version = await market.versionOf(id, 1);
      expect([(await market.agents(id)).name, version.configRoot, version.bundleRoot]).to.deep.equal([
        "e2e token agent",
        `0x${Buffer.from(blake3(config)).toString("hex")}`,
        `0x${Buffer.from(blake3(bundle)).toString("hex")}`,
      ]);
      // Both prices from the next epoch, in the wallet's own token, as the contract reads them back; none before.
      const epoch: bigint = await registry.epoch();
      expect([...(await market.priceAt(id, epoch + 1n))]).to.deep.equal([500_000n, tokenAddress, parseEther("2")]);
      expect([...(await market.priceAt(id, epoch))]).to.deep.equal([0n, "0x0000000000000000000000000000000000000000", 0n]);
      await page
        .getByTestId("agent-row")
        .filter({ hasText: "e2e token agent" })
        .getByTestId("agent-price")
        .filter({ hasText: `0.5 USDC or 2 ${symbol} from epoch ${epoch + 1n}` })
        .waitFor();
      // The owner's price form starts from both prices set: "Set price" sets both, so an empty token field would end it.
      await page.getByRole("button", { name: `Manage e2e token agent (#${id})` }).click();
      const manage = page.getByRole("form", { name: "Manage e2e token agent" });
      expect([await manage.getByTestId("set-price").inputValue(), await manage.getByTestId("set-token-price").inputValue()]).to.deep.equal(["0.5", "2"]);
      await hostCounterAgent(edge, supervisor, id, wallet.address);

      // The page signs at the current epoch's price, as the node charges it: the prices start with the next epoch.
      // The devnet's 60 s epoch is long over by now, so its committee's commit window has closed: the epoch is
      // skipped once its report window has passed, as a keeper does (NodeRegistry.advanceEpoch).
      const skipEpoch = async () => {
        const members = (await registry.committee())[3] as unknown[];
        const opensAt: bigint = members.length === 0 ? await registry.epochEnd() : (await registry.reportOpensAt()) + (await registry.epochDuration());
        const now = BigInt((await rpc.getBlock("latest"))!.timestamp);
        if (now < opensAt) await advanceTime(opensAt - now);
        await (await registry.advanceEpoch()).wait();
      };
      const members = ((await registry.committee())[3] as { id: bigint }[]).map((m) => m.id);
      await skipEpoch();
      // That jailed the committee that did not commit (the wallet's node 1, which the later cases use): it rejoins and,
      // with no committee left, is active again from the next epoch change, at the end of this one.
      if (members.length > 0) {
        for (const m of members) await (await registry.rejoin(m)).wait();
        await skipEpoch();
      }
      await indexerCaughtUp();
      for (const m of members) expect((await registry.getNode(m)).status).to.equal(2n); // Active
      expect(await registry.epoch()).to.equal(epoch + (members.length > 0 ? 2n : 1n));
      expect((await market.priceAt(id, await registry.epoch())).tokenPrice).to.equal(parseEther("2"));

      const callForm = async () => {
        await page.reload();
        await openPage("Agents");
        const form = page.getByRole("form", { name: "Call an agent" });
        await form.getByTestId("call-id").fill(String(id));
        await form.getByTestId("call-path").fill("/");
        return form;
      };
      const call = await callForm();
      const pay = call.getByTestId("token-payment");
      await pay
        .getByTestId("token-price")
        .filter({ hasText: `2 ${symbol}` })
        .waitFor();
      // The page asked the gateway which node takes its token calls (GET /health): deposits are per serving node.
      expect(await pay.getByTestId("token-node").textContent()).to.equal(`#${nodeId}`);
      const deposited = async (): Promise<bigint> => (await tokenEscrow.deposits(wallet.address, tokenAddress, nodeId)).balance;
      const before = await deposited();
      expect(await pay.getByTestId("token-deposit").textContent()).to.equal(formatToken(before, symbol));

      // 1 token deposited: less than a call costs, the node refuses it before the agent runs and the page says why.
      await pay.getByLabel("Amount to deposit").fill("1");
      await pay
        .getByTestId("approval-steps")
        .filter({ hasText: `Approve 1 ${symbol} for TokenCallEscrow (to do)` })
        .waitFor();
      await pay.getByRole("button", { name: "Deposit", exact: true }).click();
      await settled(pay, `Deposit ${symbol}`);
      expect(await deposited()).to.equal(before + parseEther("1"));
      await pay
        .getByTestId("token-deposit")
        .filter({ hasText: formatToken(before + parseEther("1"), symbol) })
        .waitFor();
      await pay.getByRole("button", { name: "Call with token" }).click();
      await call.getByTestId("call-refusal").waitFor({ timeout: 60_000 });
      expect(await call.getByTestId("call-refusal").textContent()).to.equal(
        `Your deposit for node #${nodeId} covers ${formatToken(before + parseEther("1"), symbol)} (less a requested withdrawal), and with this call you would owe it ${formatToken(parseEther("2"), symbol)} over all its agents: deposit more of the creator token above.`,
      );
      expect(desk.due()).to.deep.equal([]);
      consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 402 \(Payment Required\)/.test(e)));

      // 4 more: the call is paid by a voucher for 2 tokens, the agent answers, and the node holds the voucher to redeem.
      await pay.getByLabel("Amount to deposit").fill("4");
      await pay.getByRole("button", { name: "Deposit", exact: true }).click();
      await settled(pay, `Deposit ${symbol}`);
      await pay
        .getByTestId("token-deposit")
        .filter({ hasText: formatToken(before + parseEther("5"), symbol) })
        .waitFor();
      await pay.getByRole("button", { name: "Call with token" }).click();
      await call.getByTestId("answer-status").filter({ hasText: "200" }).waitFor({ timeout: 60_000 });
      expect(JSON.parse((await call.getByTestId("answer-body").textContent())!)).to.deep.include({ agent: "counter", calls: 1 });
      expect(desk.due().map((d) => [d.voucher.caller, d.voucher.agentId, d.voucher.nodeId, d.voucher.token, d.voucher.cumulative])).to.deep.equal([
        [wallet.address, BigInt(id), nodeId, tokenAddress, parseEther("2")],
      ]);
      // The page kept the channel's cumulative: the next call vouches 4 tokens in all.
      await pay.getByRole("button", { name: "Call with token" }).click();
      await call.getByTestId("answer-body").filter({ hasText: '"calls":2' }).waitFor({ timeout: 30_000 });
      expect(desk.due().map((d) => d.voucher.cumulative)).to.deep.equal([parseEther("4")]);
      await screenshot("agents-token-call");

      // The whole deposit asked back: it stops backing calls at once, and leaves only after the delay.
      const all = before + parseEther("5");
      await pay.getByLabel("Amount to withdraw").fill(formatUnits(all, 18));
      await pay.getByRole("button", { name: "Request withdrawal" }).click();
      await settled(pay, "Request withdrawal");
      const [, pending, readyAt] = (await tokenEscrow.deposits(wallet.address, tokenAddress, nodeId)) as [bigint, bigint, bigint];
      expect(pending).to.equal(all);
      await pay
        .getByTestId("token-withdrawal")
        .filter({ hasText: `${formatToken(all, symbol)} from ${formatDateTime(readyAt)}` })
        .waitFor();
      expect(await pay.getByTestId("token-withdraw-note").textContent()).to.equal(
        `${formatToken(all, symbol)} can be withdrawn from ${formatDateTime(readyAt)}; it no longer backs new calls.`,
      );
      expect(await pay.getByRole("button", { name: "Withdraw", exact: true }).isDisabled()).to.equal(true);
      await pay.getByRole("button", { name: "Call with token" }).click();
      await call
        .getByTestId("call-refusal")
        .filter({ hasText: `covers ${formatToken(0n, symbol)} (less a requested withdrawal)` })
        .waitFor({ timeout: 60_000 });
      consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !/status of 402 \(Payment Required\)/.test(e)));
      // The node redeems what it served before the delay ends (its keeper does so on the request).
      const escrowAsWallet = new Contract(deployment.contracts.tokenCallEscrow, abi("agents/TokenCallEscrow.sol/TokenCallEscrow.json"), wallet);
      expect(await desk.redeemDue(async ({ voucher, signature }) => receiptBlock(await (await escrowAsWallet.redeem(voucher, signature)).wait()))).to.equal(1);
      await advanceTime(readyAt - BigInt((await rpc.getBlock("latest"))!.timestamp));
      // The page reads the chain's time again, and offers what the redemption left.
      const later = (await callForm()).getByTestId("token-payment");
      await later
        .getByTestId("token-withdraw-note")
        .filter({ hasText: `${formatToken(all, symbol)} can be withdrawn now` })
        .waitFor();
      const held: bigint = await token.balanceOf(wallet.address);
      await later.getByRole("button", { name: "Withdraw", exact: true }).click();
      await settled(later, "Withdraw");
      expect((await token.balanceOf(wallet.address)) - held).to.equal(all - parseEther("4"));
      expect(await deposited()).to.equal(0n);
      await later.getByTestId("token-withdrawal").filter({ hasText: "none" }).waitFor();
    } finally {
      gateways.splice(0);
      await supervisor.close();
      await edge.close();
      await new Promise((resolve) => origin.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows the nodes page and logs no console errors anywhere", async () => {
    await page.getByRole("link", { name: "Nodes" }).click();
    await page.getByRole("heading", { name: "Nodes" }).waitFor();
    // The node half of emission streams to the registry's rewards pool (ignition/modules/Fleek.ts).
    const emission = new Contract(deployment.contracts.emission, abi("token/Emission.sol/Emission.json"), rpc);
    expect(await emission.nodeRecipient()).to.equal(deployment.contracts.rewards);
    expect(await page.getByTestId("node-recipient").textContent()).to.contain("the epoch rewards pool (EpochRewards)");
    expect(await page.getByTestId("node-emission").textContent()).to.match(/^[\d,]+(\.\d+)? FLK$/);
    // With the indexer up its lists are used: no stale-data banner (a refused query would show one).
    expect(await page.getByTestId("stale-banner").count()).to.equal(0);
    await screenshot("nodes");
    await page.setViewportSize({ width: 390, height: 844 });
    await openPage("Overview");
    await page.getByTestId("total-supply").waitFor();
    // The creator trades burned their 1% fee: two burns, listed newest first, summed in "Burned".
    const burnRows = page.getByTestId("burn-row");
    await burnRows.nth(1).waitFor();
    expect(await burnRows.count()).to.equal(2);
    expect(await burnRows.first().textContent()).to.contain("Creator market (trading fee)");
    const flk = new Contract(deployment.contracts.flk, abi("token/FLK.sol/FLK.json"), rpc);
    const burned = BigInt(await flk.totalMinted()) - BigInt(await flk.totalSupply());
    expect(burned).to.be.greaterThan(0n);
    expect(await page.getByTestId("burned").textContent()).to.equal(
      `${formatUnits(burned, 18)
        .replace(/(\.\d{6})\d*$/, "$1")
        .replace(/(\.\d*?)0+$/, "$1")
        .replace(/\.$/, "")} FLK`,
    );
    await screenshot("overview-mobile");
    expect(consoleErrors).to.deep.equal([]);
  });

  it("says in words that the indexer is unreachable instead of showing a blank page", async () => {
    await stopGroup(indexer!.child);
    indexer = undefined;
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.reload();
    const alert = page.getByRole("alert").filter({ hasText: "Could not load the supply" });
    await alert.waitFor();
    expect(await alert.textContent()).to.match(/^Could not load the supply: The indexer at http:\/\/127\.0\.0\.1:\d+\/graphql is unreachable/);
    indexerStopped = true;
    // The Overview keeps the formula-only projection and calendar, under a "may be stale, retry" banner.
    await page.getByRole("img", { name: /Unlocked genesis supply and cumulative emission/ }).waitFor();
    expect(await page.getByTestId("unlock-row").count()).to.equal(GENESIS_ALLOCATIONS.length);
    expect(await alert.textContent()).to.contain("Data may be stale.");
    await alert.getByRole("button", { name: "Retry" }).waitFor();
    await screenshot("indexer-down");
    // The pages that read the chain directly still work: the wallet's account page.
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByTestId("balance").waitFor();
    // The Nodes page reads the registry from the chain: the operator's forms still send.
    const registry = new Contract(deployment.contracts.registry, abi("registry/NodeRegistry.sol/NodeRegistry.json"), rpc);
    await page.getByRole("link", { name: "Nodes" }).click();
    await page
      .getByTestId("stale-banner")
      .filter({ hasText: /^Could not load the indexer's node list: .*Data may be stale\./ })
      .waitFor();
    expect(await page.getByTestId("node-1").getByTestId("node-status").textContent()).to.equal("active");
    expect(await page.getByTestId("node-1").getByTestId("node-reputation").textContent()).to.equal("needs the indexer");
    const own = page.locator("section", { has: page.getByRole("heading", { name: "Your node 1" }) });
    const before: bigint = (await registry.getNodes([1]))[0].stake;
    await own.getByLabel("Add stake", { exact: true }).fill("1");
    await own.getByRole("button", { name: "Add stake" }).click();
    await settled(own, "Add stake");
    expect((await registry.getNodes([1]))[0].stake).to.equal(before + parseEther("1"));
    await page.getByRole("form", { name: "Register a node" }).waitFor();
    await screenshot("indexer-down-nodes");
  });
});
