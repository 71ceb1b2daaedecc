/**
 * The system test: the whole network exactly as `npm start` runs it (scripts/network/cli.ts in
 * its own process group, a temporary data folder, free ports), driven through several epochs,
 * checked for agreement between its parts: chain views and the indexer, the four nodes'
 * committed sequences, content added through one gateway and served by another, the example
 * edge function called with the curl the banner prints (paid, with a receipt), content paid
 * for by a client counted in the nodes' epoch report, the indexer's reported epochs and their
 * roots against the chain's, an operator's claim with the indexer's proof, the dashboard in
 * Chromium (supply, committee, and to the operator its node's reputation and reward). Then Ctrl-C (twice, as a terminal and npm deliver it) must leave no process behind,
 * and a second start must resume the same chain from its journal.
 * KEEP_SYSTEM_DATA=1 keeps the data folder (logs, journal, databases) for a look afterwards.
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
import { blake3 } from "hash-wasm";
import { chromium } from "playwright-core";
import { formatToken } from "../../dashboard/src/lib/format";
import { AppTxKind, decodeAppTx } from "../../node/app/appTransactions";
import { NodeClient } from "../../node/client/client";
import type { CommittedFrame } from "../../node/client/protocol";
import { signTransaction, transactionPayload } from "../../node/client/transaction";
import { KeyPair } from "../../node/consensus/types/crypto";
import type { NodeConfigFile } from "../../node/config";
import { hardhatAccount, ROLES } from "../../scripts/network/accounts";
import { deployedSuite, localProvider } from "../../scripts/network/contracts";
import type { Deployment } from "../../scripts/network/chain";
import type { DashboardConfig } from "../../scripts/network/dashboard";
import { bandwidthCharge } from "../../protocol/usage";
import { bindPayer, fetchAndAck, postJson } from "../helpers/gatewayClient";
import { installTestWallet } from "../helpers/testWallet";
import { newClient } from "../node/app/appFixtures";
import { eventually } from "../node/consensus/cluster";

const ROOT = path.resolve(__dirname, "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Ports nobody listens on right now (held open together so they are distinct). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
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

/** The chain's time as the next block will see it (the seed's jumps put it ahead of the wall clock). */
async function chainNow(provider: JsonRpcProvider): Promise<bigint> {
  return BigInt((await provider.send("eth_getBlockByNumber", ["pending", false])).timestamp);
}

/** Mines a block at `at` (unix seconds), or now if the chain's clock is past it already. */
async function jumpTo(provider: JsonRpcProvider, at: bigint): Promise<void> {
  const now = await chainNow(provider);
  await provider.send("evm_mine", [Number(at > now ? at : now)]);
}

/**
 * Ends `epoch` on chain the way its committee sees it end: the clock jumps to the epoch's end, the
 * members that committed a beacon reveal it (waited for), then to the opening of the report window.
 * Returns the committers.
 */
async function endEpoch(s: ReturnType<typeof deployedSuite>, provider: JsonRpcProvider, epoch: bigint): Promise<bigint[]> {
  await jumpTo(provider, await s.registry.epochEnd());
  const committers = [...(await s.registry.beaconCommitters(epoch))];
  await eventually(
    "the beacon reveals",
    async () => (await Promise.all(committers.map((id) => s.registry.beacons(epoch, id)))).every((b) => b.revealed),
    60_000,
  );
  await jumpTo(provider, await s.registry.reportOpensAt());
  return committers;
}

/** The delivery acks a committed transaction payload carries (none for other payloads, such as the test's raw ones). */
function acksIn(payload: Buffer) {
  try {
    const tx = decodeAppTx(payload);
    return tx.kind === AppTxKind.Acks ? tx.acks : [];
  } catch {
    return [];
  }
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
  /** Nonce (hex) of each delivery ack in node 0's committed sequence → the epoch it was committed in. */
  const committedAcks = new Map<string, number>();
  /** The epoch the test's client was served in, as the nodes reported it (set by the content test). */
  let served: { epoch: bigint; servers: { index: number; id: number; bytes: bigint; acks: bigint }[] } | undefined;

  /** The registry's id of each node, by its index in the data folder. */
  async function nodeIds(): Promise<number[]> {
    const count = Number(await deployedSuite(deployment, provider).registry.nodeCount());
    const views = await deployedSuite(deployment, provider).registry.getNodes(Array.from({ length: count }, (_, i) => i + 1));
    return [0, 1, 2, 3].map((i) => {
      const key = KeyPair.fromSeed(Buffer.from(fs.readFileSync(path.join(dataDir, `nodes/node-${i}/key`), "utf8").trim(), "hex")).publicKey.toString("hex");
      return Number(views.find((v) => v.nodeKey === `0x${key}`)!.id);
    });
  }

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
    env = {
      DEVNET_PORT: String(rpc),
      INDEXER_PORT: String(graphqlPort),
      DASHBOARD_PORT: String(dashboard),
      NODE_BASE_PORT: String(base),
      DASHBOARD_DIST: path.join(ROOT, "dist/dashboard"),
    };
    cli = await startCli(dataDir, env);
    deployment = JSON.parse(fs.readFileSync(path.join(dataDir, "addresses.json"), "utf8"));
    provider = localProvider(deployment);
    nodes = [0, 1, 2, 3].map((i) => JSON.parse(fs.readFileSync(path.join(dataDir, `nodes/node-${i}/node.json`), "utf8")));
    for (const [i, n] of nodes.entries()) {
      committed[i] = [];
      const client = await NodeClient.connect("127.0.0.1", n.mempoolPort);
      client.subscribe(1, (f: CommittedFrame) => {
        for (const tx of f.txs) {
          const payload = transactionPayload(tx);
          committed[i].push(`${f.epoch}/${payload.toString()}`);
          if (i === 0) for (const a of acksIn(payload)) committedAcks.set(a.ack.nonce.toString("hex"), f.epoch);
        }
      });
      subscribers.push(client);
    }
  });

  afterEach(function () {
    // What the processes said last: the network runs on after a failed check, so the logs show why.
    if (this.currentTest?.state !== "failed" || !dataDir) return;
    const logs = path.join(dataDir, "logs");
    for (const f of fs.existsSync(logs) ? fs.readdirSync(logs).filter((f) => /^node-\d+\.log$/.test(f)) : []) {
      console.error(`--- ${f} (end) ---\n${fs.readFileSync(path.join(logs, f), "utf8").slice(-3_000)}`);
    }
  });

  after(async () => {
    for (const s of subscribers) s.close();
    if (cli && cli.child.exitCode === null) await interrupt(cli.child);
    if (dataDir && !process.env.KEEP_SYSTEM_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
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
    await eventually(
      "the indexer to reach the chain's supply",
      async () => {
        // Before its first batch the indexer answers NOT_INDEXED: keep polling.
        const answer = await graphql<{ tokenSupply: { total: string; staked: string } }>(deployment.graphqlUrl!, "{ tokenSupply { total staked } }").catch(
          (err: Error) => {
            last = err.message;
            return undefined;
          },
        );
        if (!answer) return false;
        const { tokenSupply } = answer;
        last = tokenSupply;
        return BigInt(tokenSupply.total) === (await s.flk.totalSupply()) && BigInt(tokenSupply.staked) === (await s.staking.totalStaked());
      },
      90_000,
    ).catch((err) => {
      throw new Error(`${err.message}; last answer ${JSON.stringify(last)}`);
    });
  });

  it("the four nodes commit the same sequence across two epoch changes (reported, or skipped by the keeper)", async () => {
    const s = deployedSuite(deployment, provider);
    const signer = KeyPair.generate();
    const clients = await Promise.all(nodes.map((n) => NodeClient.connect("127.0.0.1", n.mempoolPort)));
    try {
      const isCommitted = (p: string) => committed.every((c) => c.some((x) => x.endsWith(`/${p}`)));
      for (let round = 0; round < 3; round++) {
        const [epoch] = await s.registry.committee();
        const batch = clients.flatMap((_, i) => [0, 1].map((k) => ({ node: i, payload: `e${epoch}-r${round}-n${i}-${k}` })));
        // A node still switching epochs may take a transaction into the epoch that ends: resubmit what did not commit.
        await eventually(
          `epoch ${epoch}: every node commits every transaction`,
          async () => {
            const missing = batch.filter((t) => !isCommitted(t.payload));
            if (missing.length === 0) return true;
            await Promise.all(clients.map((c, i) => c.submit(missing.filter((t) => t.node === i).map((t) => signTransaction(Buffer.from(t.payload), signer)))));
            const until = Date.now() + 5_000;
            while (Date.now() < until && !missing.every((t) => isCommitted(t.payload))) await new Promise((r) => setTimeout(r, 100));
            return missing.every((t) => isCommitted(t.payload));
          },
          90_000,
        );
        if (round === 2) break;
        // End the epoch as the committee would; jumping straight to where the keeper may skip it
        // would cut the beacon reveals short, and the registry slashes a committed, unrevealed beacon.
        await endEpoch(s, provider, epoch);
        await eventually(`epoch ${epoch} reported (or skipped by the keeper)`, async () => (await s.registry.committee())[0] === epoch + 1n, 90_000);
      }
      // Every epoch ended as its committee saw it end: each committed beacon revealed, nobody slashed.
      expect(await s.registry.queryFilter(s.registry.filters.Slashed())).to.deep.equal([]);
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
      // The content id is the plain BLAKE3 of the bytes, what `b3sum file.bin` prints.
      expect(hash).to.equal(await blake3(body));
      const served = await fetch(`${deployment.gateways![2]}/blake3/${hash}`);
      expect(served.status).to.equal(200);
      expect(Buffer.from(await served.arrayBuffer()).equals(body)).to.equal(true);
      const refused = await fetch(`${deployment.gateways![1]}/origins`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(refused.status).to.equal(401);
    } finally {
      origin.close();
    }
  });

  it("the curl npm start prints calls the example function, registered on FunctionRegistry, paid by the demo client with a signed receipt", async () => {
    const bundle = fs.readFileSync(path.join(ROOT, "examples/functions/hello.js"));
    const root = await blake3(bundle); // what `b3sum examples/functions/hello.js` prints
    // The printed command, taken apart exactly as a shell would run it.
    const printed = /^\s*curl -i -H '([^:']+): ([^']+)' (\S+)$/m.exec(cli!.output());
    expect(printed, "the banner's curl").to.not.equal(null);
    const [, header, clientKey, url] = printed!;
    // RFC 8032's first test vector: the public key of the fixed demo seed.
    expect([header, clientKey, url]).to.deep.equal([
      "x-fleek-client",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      `${deployment.gateways![0]}/fn/blake3/${root}/hello`,
    ]);
    const registry = deployedSuite(deployment, provider).functionRegistry;
    const [, version, latest] = await registry.resolve("hello");
    expect([version, latest.root]).to.deep.equal([1n, `0x${root}`]);
    const [id] = await registry.resolve("hello");
    expect((await registry.functions(id)).owner).to.equal(hardhatAccount(ROLES.developer).address);

    const before = Date.now();
    const res = await fetch(url, { headers: { [header]: clientKey } });
    const after = Date.now();
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status, body.toString()).to.equal(200);
    const answer = JSON.parse(body.toString()) as { hello: string; path: string; time: string };
    expect([answer.hello, answer.path]).to.deep.equal(["world", "/hello"]);
    expect(Date.parse(answer.time)).to.be.within(before, after);
    const receipt = JSON.parse(res.headers.get("x-fleek-receipt") ?? "null") as Record<string, unknown> | null;
    expect(receipt, "the x-fleek-receipt header").to.not.equal(null);
    const nodeKey = KeyPair.fromSeed(Buffer.from(fs.readFileSync(path.join(dataDir, "nodes/node-0/key"), "utf8").trim(), "hex")).publicKey.toString("hex");
    expect([receipt!.nodeKey, receipt!.clientKey, receipt!.functionRoot, receipt!.responseHash]).to.deep.equal([
      nodeKey,
      clientKey,
      root,
      crypto.createHash("sha256").update(body).digest("hex"),
    ]);
    // Without the header the same call is refused before it runs: the node is paid.
    expect((await fetch(url)).status).to.equal(402);
    // The README's curl is this one on the default ports (node 0's gateway at 7003).
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).to.contain(printed![0].trim().replace(deployment.gateways![0], "http://127.0.0.1:7003"));
  });

  it("the curl npm start prints calls the example agent, listed on AgentMarketplace and hosted by node 0, which counts its calls in its store", async () => {
    const printed = /^\s*curl -i -X POST -H '([^:']+): ([^']+)' (\S+)$/m.exec(cli!.output());
    expect(printed, "the banner's agent curl").to.not.equal(null);
    const url = printed![3];
    expect(url).to.equal(`${deployment.gateways![0]}/agents/1/`);
    const market = deployedSuite(deployment, provider).agentMarketplace;
    const [agent, version] = await Promise.all([market.agents(1), market.versionOf(1, 1)]);
    const rootOf = async (file: string) => `0x${await blake3(fs.readFileSync(path.join(ROOT, file)))}`;
    expect([agent.owner, agent.name, Number(agent.memoryMiB), version.configRoot, version.bundleRoot]).to.deep.equal([
      hardhatAccount(ROLES.developer).address,
      "counter",
      64,
      await rootOf("examples/agents/counter.json"),
      await rootOf("examples/agents/counter.js"),
    ]);
    const call = async () => {
      const res = await fetch(url, { method: "POST", headers: { [printed![1]]: printed![2] } });
      const text = await res.text();
      expect(res.status, text).to.equal(200);
      expect(res.headers.get("x-fleek-receipt"), "the node's receipt").to.not.equal(null);
      return JSON.parse(text) as { agent: string; greeting: string; calls: number };
    };
    // Without the client's key the call is refused before it runs: agent calls are paid.
    const unpaid = await fetch(url, { method: "POST" });
    expect(unpaid.status, await unpaid.text()).to.equal(402);
    const first = await call();
    const second = await call();
    expect([second.agent, second.greeting, second.calls]).to.deep.equal(["counter", "Hello from an agent on the Fleek Network devnet", first.calls + 1]);
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).to.contain(printed![0].trim().replace(deployment.gateways![0], "http://127.0.0.1:7003"));
  });

  it("content served through the gateways is counted in the nodes' report of its epoch and paid from the client's escrow", async () => {
    const s = deployedSuite(deployment, provider);
    // The client: a fresh ack key paid for by Hardhat account 15, which deposits into the escrow.
    const payer = hardhatAccount(ROLES.clients[1], provider);
    const client = newClient(payer);
    await (await s.usdc.connect(payer).mint(payer.address, 5_000_000n)).wait();
    await (await s.escrow.connect(payer).deposit(payer.address, 5_000_000n)).wait();
    const body = crypto.randomBytes(3 * 1024 * 1024 + 4_321);
    const origin = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/octet-stream" }).end(body));
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    try {
      const token = fs.readFileSync(path.join(dataDir, "nodes/node-0/operator-token"), "utf8").trim();
      const added = await postJson(
        `${deployment.gateways![0]}/origins`,
        { url: `http://127.0.0.1:${(origin.address() as net.AddressInfo).port}/video.bin` },
        { authorization: `Bearer ${token}` },
      );
      expect(added.status).to.equal(201);
      const { hash } = (await added.json()) as { hash: string };
      // The deposit is debitable from the next epoch (a report debits at most what was debitable
      // at its epoch's first block); serve well inside an epoch: acks still in flight when it
      // closes would count in no epoch.
      const deposited = await s.registry.epoch();
      await eventually("the epoch after the deposit", async () => (await s.registry.epoch()) > deposited, 120_000);
      const [current, start, duration] = await s.registry.committee();
      if (start + duration - (await chainNow(provider)) < 25n) await eventually("the next epoch", async () => (await s.registry.epoch()) > current, 120_000);
      const ids = await nodeIds();
      // Node 0 holds the content, node 3 fetches it from a peer; each is acknowledged per download.
      const servers = [
        { index: 0, times: 1 },
        { index: 3, times: 2 },
      ].map((x) => ({ ...x, id: ids[x.index], bytes: 0n, acks: 0n }));
      const nonces: string[] = [];
      for (const srv of servers) {
        const gateway = deployment.gateways![srv.index];
        expect(await bindPayer(gateway, client)).to.equal(202);
        for (let k = 0; k < srv.times; k++) {
          const got = await fetchAndAck(gateway, hash, client);
          expect(got.body.equals(body)).to.equal(true, `content from node ${srv.index}`);
          expect(got.status).to.equal(202);
          nonces.push(got.ack.nonce);
          srv.bytes += BigInt(got.body.length);
          srv.acks += 1n;
        }
      }
      await eventually("the acks in the committed sequence", async () => nonces.every((n) => committedAcks.has(n)), 60_000);
      const epochs = [...new Set(nonces.map((n) => committedAcks.get(n)!))];
      expect(epochs).to.have.length(1);
      const epoch = BigInt(epochs[0]);
      expect(await s.registry.epoch()).to.equal(epoch);
      const escrowBefore = (await s.escrow.accounts(payer.address)).balance;

      // End the epoch on chain: the committee closes it, reveals its beacons, signs and reports.
      expect(await endEpoch(s, provider, epoch)).to.not.be.empty;
      await eventually(
        `the nodes' report of epoch ${epoch}`,
        async () => {
          if ((await s.registry.queryFilter(s.registry.filters.EpochReported(epoch))).length > 0) return true;
          if ((await s.registry.queryFilter(s.registry.filters.EpochSkipped(epoch))).length > 0)
            throw new Error(`epoch ${epoch} was skipped by the keeper, not reported`);
          return false;
        },
        60_000,
      );
      const [event] = await s.registry.queryFilter(s.registry.filters.EpochReported(epoch));
      const { report } = event.args;
      const byId = new Map(report.nodes.map((m) => [Number(m.nodeId), m]));
      for (const srv of servers) {
        const m = byId.get(srv.id);
        expect(m, `node ${srv.id} in the report`).to.not.equal(undefined);
        expect([m!.bytesServed, m!.deliveryAcks, m!.revenue]).to.deep.equal([srv.bytes, srv.acks, bandwidthCharge(srv.bytes)]);
        expect(m!.revenue).to.be.greaterThan(0n);
      }
      for (const m of report.nodes.filter((m) => !servers.some((srv) => srv.id === Number(m.nodeId)))) expect(m.bytesServed).to.equal(0n);
      const total = servers.reduce((sum, srv) => sum + bandwidthCharge(srv.bytes), 0n);
      expect(report.usage.map((u) => [u.client, u.amount])).to.deep.equal([[payer.address, total]]);
      expect((await s.escrow.accounts(payer.address)).balance).to.equal(escrowBefore - total);
      served = { epoch, servers };
    } finally {
      origin.close();
    }
  });

  it("the indexer's reported epochs carry the chain's roots and totals, none flagged as mismatching", async () => {
    const s = deployedSuite(deployment, provider);
    const events = await s.registry.queryFilter(s.registry.filters.EpochReported());
    expect(events.map((e) => e.args.epoch)).to.include(served!.epoch);
    type Indexed = {
      number: number;
      rootsMatch: boolean | null;
      mismatch: string[] | null;
      report: {
        digest: string;
        reputationRoot: string;
        rewardsRoot: string;
        totalFlkWeight: string;
        totalUsdcWeight: string;
        totalUsage: string;
        measurements: { nodeId: number; bytesServed: string; revenue: string; reputation: number }[];
      } | null;
      settlement: { root: string } | null;
    };
    let indexed = new Map<number, Indexed>();
    await eventually(
      "the indexer to index every report",
      async () => {
        const answer = await graphql<{ epochs: { nodes: Indexed[] } }>(
          deployment.graphqlUrl!,
          `
            {
              epochs(first: 100, where: { status: REPORTED }) {
                nodes {
                  number
                  rootsMatch
                  mismatch
                  settlement {
                    root
                  }
                  report {
                    digest
                    reputationRoot
                    rewardsRoot
                    totalFlkWeight
                    totalUsdcWeight
                    totalUsage
                    measurements {
                      nodeId
                      bytesServed
                      revenue
                      reputation
                    }
                  }
                }
              }
            }
          `,
        ).catch(() => undefined);
        indexed = new Map((answer?.epochs.nodes ?? []).map((e) => [e.number, e]));
        return events.every((e) => indexed.has(Number(e.args.epoch)));
      },
      60_000,
    );
    expect([...indexed.keys()].sort()).to.deep.equal(events.map((e) => Number(e.args.epoch)).sort());
    for (const e of events) {
      const r = e.args.report;
      const i = indexed.get(Number(e.args.epoch))!;
      expect(i.report).to.deep.equal({
        digest: e.args.digest,
        reputationRoot: r.reputationRoot,
        rewardsRoot: r.rewardsRoot,
        totalFlkWeight: r.totalFlkWeight.toString(),
        totalUsdcWeight: r.totalUsdcWeight.toString(),
        totalUsage: r.totalUsage.toString(),
        measurements: r.nodes.map((m) => ({
          nodeId: Number(m.nodeId),
          bytesServed: m.bytesServed.toString(),
          revenue: m.revenue.toString(),
          reputation: Number(m.reputation),
        })),
      });
      expect(i.settlement?.root).to.equal((await s.rewards.pools(e.args.epoch)).root);
      expect([i.rootsMatch, i.mismatch], `epoch ${e.args.epoch}`).to.deep.equal([true, []]);
    }
  });

  it("an operator claims its reward with the indexer's proof, once", async () => {
    const s = deployedSuite(deployment, provider);
    const { epoch, servers } = served!;
    const srv = servers[1];
    const owner = hardhatAccount(ROLES.operators[srv.index], provider);
    type Proof = { account: string; flkWeight: string; usdcWeight: string; flkAmount: string; usdcAmount: string; proof: string[]; claimed: boolean };
    const query = `{ rewardProof(epoch: ${epoch}, node: ${srv.id}) { account flkWeight usdcWeight flkAmount usdcAmount proof claimed } }`;
    const { rewardProof: p } = await graphql<{ rewardProof: Proof | null }>(deployment.graphqlUrl!, query);
    expect(p).to.not.equal(null);
    expect(p!.account.toLowerCase()).to.equal(owner.address.toLowerCase());
    expect(p!.claimed).to.equal(false);
    expect(BigInt(p!.usdcWeight)).to.equal(bandwidthCharge(srv.bytes));
    expect(BigInt(p!.usdcAmount)).to.be.greaterThan(0n);
    expect(BigInt(p!.flkAmount)).to.be.greaterThan(0n);
    const [flkBefore, usdcBefore] = await Promise.all([s.flk.balanceOf(owner.address), s.usdc.balanceOf(owner.address)]);
    await (await s.rewards.connect(owner).claim(epoch, p!.account, p!.flkWeight, p!.usdcWeight, p!.proof)).wait();
    expect((await s.flk.balanceOf(owner.address)) - flkBefore).to.equal(BigInt(p!.flkAmount));
    expect((await s.usdc.balanceOf(owner.address)) - usdcBefore).to.equal(BigInt(p!.usdcAmount));
    await expect(s.rewards.connect(owner).claim(epoch, p!.account, p!.flkWeight, p!.usdcWeight, p!.proof))
      .to.be.revertedWithCustomError(s.rewards, "RewardsAlreadyClaimed")
      .withArgs(epoch, owner.address);
    await eventually(
      "the indexer to see the claim",
      async () => (await graphql<{ rewardProof: Proof }>(deployment.graphqlUrl!, query)).rewardProof.claimed,
      30_000,
    );
  });

  it("the dashboard shows the chain's supply, the four committee nodes, and to an operator its node's reported epoch", async () => {
    const s = deployedSuite(deployment, provider);
    const { epoch, servers } = served!;
    const srv = servers[1];
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      // The operator of the node that served, with its key in the page's test wallet.
      const context = await browser.newContext();
      await installTestWallet(context, hardhatAccount(ROLES.operators[srv.index], provider), deployment.chainId, deployment.rpcUrl);
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${env.DASHBOARD_PORT}/`, { waitUntil: "commit" });
      await page
        .getByTestId("total-supply")
        .filter({ hasText: formatToken(await s.flk.totalSupply(), "FLK", 18, 0) })
        .waitFor({ timeout: 60_000 });
      await page.getByRole("link", { name: "Nodes" }).click();
      const [current] = await s.registry.committee();
      await page
        .getByTestId("epoch")
        .filter({ hasText: new RegExp(`^${current}$`) })
        .waitFor({ timeout: 30_000 });
      for (const id of [1, 2, 3, 4])
        await page
          .getByTestId(`node-${id}`)
          .getByTestId("node-status")
          .filter({ hasText: /^active$/ })
          .waitFor({ timeout: 30_000 });

      await page.getByRole("button", { name: "Connect wallet" }).click();
      await page.getByRole("button", { name: /Hardhat test wallet/ }).click();
      const own = page.locator("section", { has: page.getByRole("heading", { name: `Your node ${srv.id}` }) });
      await own.getByRole("img", { name: `Reputation of node ${srv.id} over epochs, 0 to 100` }).waitFor({ timeout: 30_000 });
      // The reported epoch's reward as the indexer computes it, claimed by the previous test.
      type Reward = { epoch: number; flkAmount: string; usdcAmount: string; claimed: boolean };
      const { node } = await graphql<{ node: { rewards: Reward[] } }>(
        deployment.graphqlUrl!,
        `{ node(id: ${srv.id}) { rewards { epoch flkAmount usdcAmount claimed } } }`,
      );
      const reward = node.rewards.find((r) => r.epoch === Number(epoch))!;
      expect(reward.claimed).to.equal(true);
      const row = own.getByTestId("reward-row").filter({ has: page.getByRole("rowheader", { name: String(epoch), exact: true }) });
      await row.waitFor({ timeout: 30_000 });
      expect(await row.locator("th, td").allTextContents()).to.deep.equal([
        String(epoch),
        formatToken(BigInt(reward.flkAmount)),
        formatToken(BigInt(reward.usdcAmount), "USDC", 6, 2),
        "yes",
      ]);
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
    await eventually(
      "the resumed indexer to agree with the chain",
      async () => {
        const answer = await graphql<{ tokenSupply: { total: string } }>(deployment.graphqlUrl!, "{ tokenSupply { total } }").catch(() => undefined);
        return answer !== undefined && BigInt(answer.tokenSupply.total) === (await s.flk.totalSupply());
      },
      60_000,
    );
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
