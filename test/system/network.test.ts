/**
 * The system test: the whole network exactly as `npm start` runs it (scripts/network/cli.ts in
 * its own process group, a temporary data folder, free ports), driven through several epochs,
 * checked for agreement between its parts: chain views and the indexer, the four nodes'
 * committed sequences, content added through one gateway and served by another, the dashboard in
 * Chromium. Then Ctrl-C (twice, as a terminal and npm deliver it) must leave no process behind,
 * and a second start must resume the same chain from its journal.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { JsonRpcProvider } from "ethers";
import { chromium } from "playwright-core";
import { formatToken } from "../../dashboard/src/lib/format";
import { NodeClient } from "../../node/client/client";
import type { CommittedFrame } from "../../node/client/protocol";
import { signTransaction, transactionPayload } from "../../node/client/transaction";
import { KeyPair } from "../../node/consensus/types/crypto";
import type { NodeConfigFile } from "../../node/config";
import { deployedSuite, localProvider } from "../../scripts/network/contracts";
import type { Deployment } from "../../scripts/network/chain";
import type { DashboardConfig } from "../../scripts/network/dashboard";
import { eventually } from "../node/consensus/cluster";

const ROOT = path.resolve(__dirname, "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Ports nobody listens on right now (held open together so they are distinct). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => resolve(s)); })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Pids of every process whose command line or environment names `dir` (the network's data folder). */
function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const text = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8") + fs.readFileSync(`/proc/${entry}/environ`, "utf8");
      if (text.includes(dir)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** `npm start`'s program on the given ports and folder; resolves once it printed its banner. */
async function startCli(dataDir: string, env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/network/cli.ts", "--data-dir", dataDir], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own group, as a terminal's foreground job
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const guard = () => child.pid && child.exitCode === null && process.kill(-child.pid, "SIGINT");
  process.once("exit", guard);
  child.once("exit", () => process.off("exit", guard));
  const deadline = Date.now() + 240_000;
  while (!out.includes("Ctrl-C stops everything.")) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start not up after 240 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out };
}

/** Ctrl-C as a terminal delivers it (SIGINT to the group), twice; resolves with the exit code. */
async function interrupt(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  process.kill(-child.pid!, "SIGINT");
  setTimeout(() => child.exitCode === null && process.kill(-child.pid!, "SIGINT"), 300);
  return exited;
}

/** The query's data; GraphQL errors (NOT_INDEXED before the first batch) throw. */
async function graphql<T>(url: string, query: string): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

describe("System: the whole network as npm start runs it", function () {
  this.timeout(600_000);

  let dataDir: string;
  let env: Record<string, string>;
  let cli: { child: ChildProcess; output: () => string } | undefined;
  let deployment: DashboardConfig & Deployment;
  let provider: JsonRpcProvider;
  let nodes: NodeConfigFile[];
  const subscribers: NodeClient[] = [];
  /** What each node committed: `epoch/payload` in order. */
  const committed: string[][] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.CI === "true") throw new Error(`Chromium not found at ${CHROMIUM}: CI must install it (apt-get install -y chromium)`);
      console.log(`    skipped: Chromium not found at ${CHROMIUM}; run \`apt-get install -y chromium\` (or set CHROMIUM_PATH) to run the system test`);
      this.skip();
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fleek-network-"));
    const [rpc, graphqlPort, dashboard] = await freePorts(3);
    // Node ports are base+10i .. base+10i+3: take a base whose 40 ports are all free.
    let base = 0;
    for (let tries = 0; base === 0 && tries < 50; tries++) {
      const candidate = 20_000 + 10 * crypto.randomInt(2_000);
      if ((await Promise.all(Array.from({ length: 40 }, (_, k) => portFree(candidate + k)))).every(Boolean)) base = candidate;
    }
    // The e2e test builds the dashboard into dist/dashboard: reuse it when it is up to date.
    env = { DEVNET_PORT: String(rpc), INDEXER_PORT: String(graphqlPort), DASHBOARD_PORT: String(dashboard), NODE_BASE_PORT: String(base), DASHBOARD_DIST: path.join(ROOT, "dist/dashboard") };
    cli = await startCli(dataDir, env);
    deployment = JSON.parse(fs.readFileSync(path.join(dataDir, "addresses.json"), "utf8"));
    provider = localProvider(deployment);
    nodes = [0, 1, 2, 3].map((i) => JSON.parse(fs.readFileSync(path.join(dataDir, `nodes/node-${i}/node.json`), "utf8")));
    for (const [i, n] of nodes.entries()) {
      committed[i] = [];
      const client = await NodeClient.connect("127.0.0.1", n.clientPort);
      client.subscribe(1, (f: CommittedFrame) => {
        for (const tx of f.txs) committed[i].push(`${f.epoch}/${transactionPayload(tx).toString()}`);
      });
      subscribers.push(client);
    }
  });

  after(async () => {
    for (const s of subscribers) s.close();
    if (cli && cli.child.exitCode === null) await interrupt(cli.child);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints the URLs and the test accounts", () => {
    const out = cli!.output();
    expect(out).to.contain(`dashboard     http://127.0.0.1:${env.DASHBOARD_PORT}/`);
    expect(out).to.contain(`GraphQL       http://127.0.0.1:${env.INDEXER_PORT}/graphql`);
    expect(out).to.contain(`chain RPC     http://127.0.0.1:${env.DEVNET_PORT}`);
    expect(out).to.contain("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    expect(deployment.graphqlUrl).to.equal(`http://127.0.0.1:${env.INDEXER_PORT}/graphql`);
    expect(deployment.gateways).to.have.length(4);
  });

  it("seeded a history: a proposal executed, stakers, creator tokens, escrow deposits, a buyback", async () => {
    const s = deployedSuite(deployment, provider);
    expect(await s.staking.unbondingPeriod()).to.equal(5n * 86_400n); // the executed proposal
    expect(await s.staking.totalStaked()).to.be.greaterThan(10n ** 24n);
    expect(await s.creatorMarket.tokenExists("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955")).to.equal(true); // account 7
    expect(await s.usdc.balanceOf(deployment.contracts.escrow)).to.equal(3_300n * 10n ** 6n);
    expect(await s.buyback.totalBurned()).to.be.greaterThan(0n);
    const [epoch, , , members] = await s.registry.committee();
    expect(epoch).to.be.greaterThanOrEqual(1n);
    const keys = [0, 1, 2, 3].map((i) => KeyPair.fromSeed(Buffer.from(fs.readFileSync(path.join(dataDir, `nodes/node-${i}/key`), "utf8").trim(), "hex")));
    expect(members.map((m) => m.nodeKey.slice(2)).sort()).to.deep.equal(keys.map((k) => k.publicKey.toString("hex")).sort());
  });

  it("the indexer's supply equals the chain's views", async () => {
    const s = deployedSuite(deployment, provider);
    let last: unknown;
    await eventually("the indexer to reach the chain's supply", async () => {
      // Before its first batch the indexer answers NOT_INDEXED: keep polling.
      const answer = await graphql<{ tokenSupply: { total: string; staked: string } }>(deployment.graphqlUrl!, "{ tokenSupply { total staked } }").catch((err: Error) => {
        last = err.message;
        return undefined;
      });
      if (!answer) return false;
      const { tokenSupply } = answer;
      last = tokenSupply;
      return BigInt(tokenSupply.total) === (await s.flk.totalSupply()) && BigInt(tokenSupply.staked) === (await s.staking.totalStaked());
    }, 90_000).catch((err) => {
      throw new Error(`${err.message}; last answer ${JSON.stringify(last)}`);
    });
  });

  it("the four nodes commit the same sequence across two epoch changes (reported, or skipped by the keeper)", async () => {
    const s = deployedSuite(deployment, provider);
    const signer = KeyPair.generate();
    const clients = await Promise.all(nodes.map((n) => NodeClient.connect("127.0.0.1", n.clientPort)));
    try {
      const isCommitted = (p: string) => committed.every((c) => c.some((x) => x.endsWith(`/${p}`)));
      for (let round = 0; round < 3; round++) {
        const [epoch] = await s.registry.committee();
        const batch = clients.flatMap((_, i) => [0, 1].map((k) => ({ node: i, payload: `e${epoch}-r${round}-n${i}-${k}` })));
        // A node still switching epochs may take a transaction into the epoch that ends: resubmit what did not commit.
        await eventually(`epoch ${epoch}: every node commits every transaction`, async () => {
          const missing = batch.filter((t) => !isCommitted(t.payload));
          if (missing.length === 0) return true;
          await Promise.all(clients.map((c, i) => c.submit(missing.filter((t) => t.node === i).map((t) => signTransaction(Buffer.from(t.payload), signer)))));
          const until = Date.now() + 5_000;
          while (Date.now() < until && !missing.every((t) => isCommitted(t.payload))) await new Promise((r) => setTimeout(r, 100));
          return missing.every((t) => isCommitted(t.payload));
        }, 90_000);
        if (round === 2) break;
        // Jump the chain's clock past the report window, to where anyone may skip the epoch: the nodes
        // report it, or the keeper skips it.
        const opensAt = (await s.registry.reportOpensAt()) + (await s.registry.epochDuration());
        const now = BigInt((await provider.send("eth_getBlockByNumber", ["pending", false])).timestamp);
        if (opensAt > now) await provider.send("evm_increaseTime", [Number(opensAt - now)]);
        await provider.send("evm_mine", []);
        await eventually(`the keeper advances epoch ${epoch}`, async () => (await s.registry.committee())[0] === epoch + 1n, 30_000);
      }
      // One order everywhere, epoch by epoch: each node's part of an epoch is a prefix of the
      // longest. (The nodes' own report transactions run on, so the last commits of an epoch may
      // reach one node before it switches to the next epoch and not another.)
      const epochs = [...new Set(committed.flat().map((p) => p.split("/")[0]))];
      expect(epochs.length).to.be.greaterThanOrEqual(3);
      for (const epoch of epochs) {
        const parts = committed.map((c) => c.filter((p) => p.split("/")[0] === epoch));
        const longest = parts.reduce((a, b) => (b.length > a.length ? b : a));
        for (const part of parts) expect(part).to.deep.equal(longest.slice(0, part.length));
      }
    } finally {
      for (const c of clients) c.close();
    }
  });

  it("content added through one gateway is served by another (peer fetch)", async () => {
    const body = crypto.randomBytes(700 * 1024); // three blocks of 256 KiB
    const origin = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/octet-stream" }).end(body));
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    try {
      const token = fs.readFileSync(path.join(dataDir, "nodes/node-0/operator-token"), "utf8").trim();
      const added = await fetch(`${deployment.gateways![0]}/origins`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `http://127.0.0.1:${(origin.address() as net.AddressInfo).port}/file.bin` }),
      });
      expect(added.status).to.equal(201);
      const { hash } = (await added.json()) as { hash: string };
      const served = await fetch(`${deployment.gateways![2]}/blake3/${hash}`);
      expect(served.status).to.equal(200);
      expect(Buffer.from(await served.arrayBuffer()).equals(body)).to.equal(true);
      const refused = await fetch(`${deployment.gateways![1]}/origins`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(refused.status).to.equal(401);
    } finally {
      origin.close();
    }
  });

  it("the dashboard shows the chain's supply and the four committee nodes", async () => {
    const s = deployedSuite(deployment, provider);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${env.DASHBOARD_PORT}/`, { waitUntil: "commit" });
      await page.getByTestId("total-supply").filter({ hasText: formatToken(await s.flk.totalSupply(), "FLK", 18, 0) }).waitFor({ timeout: 60_000 });
      await page.getByRole("link", { name: "Nodes" }).click();
      const [epoch] = await s.registry.committee();
      await page.getByTestId("epoch").filter({ hasText: new RegExp(`^${epoch}$`) }).waitFor({ timeout: 30_000 });
      for (const id of [1, 2, 3, 4]) await page.getByTestId(`node-${id}`).getByTestId("node-status").filter({ hasText: /^active$/ }).waitFor({ timeout: 30_000 });
    } finally {
      await browser.close();
    }
  });

  it("Ctrl-C stops every process; a second start resumes the same chain and index", async () => {
    const s = deployedSuite(deployment, provider);
    const head = await provider.getBlock("latest");
    expect(await interrupt(cli!.child)).to.equal(0);
    expect(processesUsing(dataDir)).to.deep.equal([]);
    for (const port of [env.DEVNET_PORT, env.INDEXER_PORT, env.DASHBOARD_PORT]) expect(await portFree(Number(port))).to.equal(true);

    cli = await startCli(dataDir, env);
    expect(cli.output()).to.contain("network resumed from its journal");
    const again = await provider.getBlock(head!.number);
    expect(again!.hash).to.equal(head!.hash);
    await eventually("the resumed indexer to agree with the chain", async () => {
      const answer = await graphql<{ tokenSupply: { total: string } }>(deployment.graphqlUrl!, "{ tokenSupply { total } }").catch(() => undefined);
      return answer !== undefined && BigInt(answer.tokenSupply.total) === (await s.flk.totalSupply());
    }, 60_000);
    expect(await interrupt(cli.child)).to.equal(0);
    expect(processesUsing(dataDir)).to.deep.equal([]);
  });
});

/** Whether nothing listens on `port`. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
