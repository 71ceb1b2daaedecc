/**
 * The system test: the whole network exactly as `npm start` runs it (scripts/network/cli.ts in
 * its own process group, a temporary data folder, free ports), driven through several epochs,
 * checked for agreement between its parts: chain views and the indexer, the four nodes'
 * committed sequences, content added through one gateway and served by another, the example
 * edge function called with the curl the banner prints (paid, with a receipt), content paid
 * for by a client counted in the nodes' epoch report, a paying client's function invocations
 * through one node and agent calls through another countersigned, committed, charged in the
 * report, debited and split (and a client without funds refused with 402), the indexer's reported
 * epochs and their roots against the chain's, an operator's claim with the indexer's proof, the
 * dashboard in Chromium (supply, committee, and to the operator its node's reputation and
 * reward). Then Ctrl-C (twice, as a terminal and npm deliver it) must leave no process behind,
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
import { bindPayer, callAndAck, fetchAndAck, postJson, type AckedCall } from "../helpers/gatewayClient";
import { installTestWallet } from "../helpers/testWallet";
import { newClient, type TestClient } from "../node/app/appFixtures";
import { eventually } from "../node/consensus/cluster";
import { freePorts } from "../../testkit/freePorts";

const ROOT = path.resolve(__dirname, "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

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

/**
 * Ends `epoch` before its 60 s are out, as its committee sees it end ({@link endEpoch}), once every
 * member has committed its beacon (one that has not would be jailed, which a natural end after a
 * minute never does); resolves when the next epoch has started.
 */
async function endEpochEarly(s: ReturnType<typeof deployedSuite>, provider: JsonRpcProvider, epoch: bigint): Promise<void> {
  const [, , , members] = await s.registry.committee();
  await eventually(
    `every member of epoch ${epoch} commits its beacon`,
    async () => (await s.registry.beaconCommitters(epoch)).length === members.length,
    60_000,
  );
  // It may have ended by itself meanwhile: then there is nothing to end (the jump would end the next).
  if ((await s.registry.epoch()) === epoch) await endEpoch(s, provider, epoch);
  await eventually(`the epoch after ${epoch}`, async () => (await s.registry.epoch()) > epoch, 120_000);
}

/**
 * An epoch later than `after` (a deposit made in `after` is debitable from the next epoch: a report
 * debits at most what was debitable at its epoch's first block) with at least 25 s of it left, so
 * what is served now is acknowledged and committed within it (acks still in flight when it closes
 * would count in no epoch). Ends the current epoch early ({@link endEpochEarly}) rather than wait
 * for one. Resolves with that epoch.
 */
async function servingEpoch(s: ReturnType<typeof deployedSuite>, provider: JsonRpcProvider, after: bigint): Promise<bigint> {
  for (let tries = 0; ; tries++) {
    const [current, start, duration] = await s.registry.committee();
    if (current > after && start + duration - (await chainNow(provider)) >= 25n) return current;
    if (tries === 3) throw new Error(`no epoch after ${after} with 25 s left in ${tries} tries`);
    await endEpochEarly(s, provider, current);
  }
}

/** Ends `epoch` as its committee sees it end ({@link endEpoch}) and resolves with the event of its report (a skip by the keeper throws). */
async function reportOf(s: ReturnType<typeof deployedSuite>, provider: JsonRpcProvider, epoch: bigint) {
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
  return event;
}

/** Nonces (hex) of the delivery, compute and agent-call acks a committed transaction payload carries (none for other payloads, such as the test's raw ones). */
function ackNoncesIn(payload: Buffer): string[] {
  try {
    const tx = decodeAppTx(payload);
    if (tx.kind === AppTxKind.Acks) return tx.acks.map((a) => a.ack.nonce.toString("hex"));
    if (tx.kind === AppTxKind.ComputeAcks || tx.kind === AppTxKind.AgentAcks) return tx.acks.map((a) => a.receipt.nonce.toString("hex"));
    return [];
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
  /** Nonce (hex) of each delivery, compute or agent-call ack in node 0's committed sequence → the epoch it was committed in. */
  const committedAcks = new Map<string, number>();
  /** The epoch the test's client was served in, as the nodes reported it (set by the content test). */
  let served: { epoch: bigint; servers: { index: number; id: number; bytes: bigint; acks: bigint }[] } | undefined;
  /** The paying client of the compute test, its 1 USDC deposited by the content test in `depositEpoch`. */
  let compute: { client: TestClient; depositEpoch: bigint } | undefined;

  /** The registry's id of each node, by its index in the data folder. */
  async function nodeIds(): Promise<number[]> {
    const count = Number(await deployedSuite(deployment, provider).registry.nodeCount());
    const views = await deployedSuite(deployment, provider).registry.getNodes(Array.from({ length: count }, (_, i) => i + 1));
    return [0, 1, 2, 3].map((i) => {
      const key = KeyPair.fromSeed(Buffer.from(fs.readFileSync(path.join(dataDir, `nodes/node-${i}/key`), "utf8").trim(), "hex")).publicKey.toString("hex");
      return Number(views.find((v) => v.nodeKey === `0x${key}`)!.id);
    });
  }

  /** Node `i`'s Ed25519 public key (hex), what its receipts name. */
  function nodeKeyOf(i: number): string {
    return KeyPair.fromSeed(Buffer.from(fs.readFileSync(path.join(dataDir, `nodes/node-${i}/key`), "utf8").trim(), "hex")).publicKey.toString("hex");
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
    // npm start's build of the dashboard, kept in dist/dashboard between runs and rebuilt when stale.
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
          if (i === 0) for (const nonce of ackNoncesIn(payload)) committedAcks.set(nonce, f.epoch);
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
    expect([receipt!.nodeKey, receipt!.clientKey, receipt!.functionRoot, receipt!.responseHash]).to.deep.equal([
      nodeKeyOf(0),
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
    await (await s.usdc.connect(payer).mint(payer.address, 6_000_000n)).wait();
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
      // The compute test's client deposits now too, so its deposit is debitable when that test runs.
      const computeClient = newClient();
      await (await s.escrow.connect(payer).deposit(computeClient.account.address, 1_000_000n)).wait();
      const deposited = await s.registry.epoch();
      compute = { client: computeClient, depositEpoch: deposited };
      await servingEpoch(s, provider, deposited);
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
      const { report } = (await reportOf(s, provider, epoch)).args;
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

  it("a function called through node 2 and the agent through its host node 0 are charged in the nodes' report of their epoch, debited from the caller's escrow and split; a caller without funds gets 402 on node 1", async () => {
    const s = deployedSuite(deployment, provider);
    const gateways = deployment.gateways!;
    const { client, depositEpoch } = compute!;
    const ids = await nodeIds();
    const root = await blake3(fs.readFileSync(path.join(ROOT, "examples/functions/hello.js")));
    const functionUrl = (node: number) => `${gateways[node]}/fn/blake3/${root}/hello`;
    const agentUrl = `${gateways[0]}/agents/1/`;
    const agentService = `0x${"00".repeat(31)}01`; // bytes32(agentId 1)
    for (const node of [0, 2]) expect(await bindPayer(gateways[node], client)).to.equal(202);
    // A second client bound to an account that never deposited: node 1 refuses it before running
    // anything, from the escrow's state at the epoch's first block, which every node reads alike.
    const poor = newClient();
    expect(await bindPayer(gateways[1], poor)).to.equal(202);
    const refused = await fetch(functionUrl(1), { headers: { "x-fleek-client": poor.key.toString("hex") } });
    expect(refused.status).to.equal(402);
    expect(((await refused.json()) as { error: string }).error).to.match(
      new RegExp(`^escrow account ${poor.account.address} cannot cover this request in epoch \\d+: 0 USDC units left`, "i"),
    );

    const epoch = await servingEpoch(s, provider, depositEpoch);
    // 20 invocations of the function through node 2 (which fetches its bundle from node 0), 3 calls
    // of the agent through node 0; each receipt countersigned and posted to the node that served.
    const invocations: AckedCall[] = [];
    for (let k = 0; k < 20; k++) invocations.push(await callAndAck(functionUrl(2), client));
    const calls: AckedCall[] = [];
    for (let k = 0; k < 3; k++) calls.push(await callAndAck(agentUrl, client, { method: "POST" }));
    expect(invocations.map((c) => [c.servedBy, c.ack.nodeKey, c.ack.functionRoot, c.status])).to.deep.equal(
      invocations.map(() => [gateways[2], nodeKeyOf(2), root, 202]),
    );
    expect(calls.map((c) => [c.servedBy, c.ack.nodeKey, c.ack.functionRoot, c.ack.llmTokens, c.status])).to.deep.equal(
      calls.map(() => [gateways[0], nodeKeyOf(0), agentService.slice(2), 0, 202]),
    );
    const nonces = [...invocations, ...calls].map((c) => c.ack.nonce);
    await eventually("the compute acks in the committed sequence", async () => nonces.every((n) => committedAcks.has(n)), 60_000);
    expect([...new Set(nonces.map((n) => committedAcks.get(n)!))]).to.deep.equal([Number(epoch)]);
    expect(await s.registry.epoch()).to.equal(epoch);

    const rewards = await s.rewards.getAddress();
    const buyback = await s.buyback.getAddress();
    const developer = hardhatAccount(ROLES.developer).address;
    const balances = () =>
      Promise.all([s.escrow.accounts(client.account.address), s.usdc.balanceOf(rewards), s.usdc.balanceOf(buyback), s.agentMarketplace.balanceOf(developer)]);
    const [, rewardsBefore, buybackBefore, ownerBefore] = await balances();
    const event = await reportOf(s, provider, epoch);
    const { report } = event.args;

    // The charges by hand, at the devnet's prices: ServiceEscrow's defaults, $0.30 per million
    // requests (300,000 units) and $0.02 per million CPU-ms (20,000 units), and the example agent's
    // listed 10,000 units (0.01 USDC) per call. Each is rounded down once over its (node, client,
    // service) totals:
    //   function: (20 × 300,000 × 1,000 + CPU µs × 20,000) / 10^9 = 6 + CPU µs × 20,000 / 10^9
    //   agent:    3 × 10,000 + CPU µs × 20,000 / 10^9          = 30,000 + CPU µs × 20,000 / 10^9
    // (the CPU part is 0 units below 50 ms in all).
    const cpuUs = (acked: AckedCall[]) => acked.reduce((sum, c) => sum + BigInt(c.ack.cpuUs), 0n);
    const [functionCpuUs, agentCpuUs] = [cpuUs(invocations), cpuUs(calls)];
    const functionCharge = (20n * 300_000n * 1_000n + functionCpuUs * 20_000n) / 1_000_000_000n;
    const agentCharge = 3n * 10_000n + (agentCpuUs * 20_000n) / 1_000_000_000n;
    expect(functionCharge).to.be.at.least(6n);
    const functionEntry = { nodeId: ids[2], kind: 1n, service: `0x${root}`, requests: 20n, cpuMs: functionCpuUs / 1_000n, amount: functionCharge };
    const agentEntry = { nodeId: ids[0], kind: 2n, service: agentService, requests: 3n, cpuMs: agentCpuUs / 1_000n, amount: agentCharge };
    // Nothing else was served in the epoch; the charges are in (node, kind, service) order.
    const entries = [functionEntry, agentEntry].sort((a, b) => a.nodeId - b.nodeId);
    expect(
      report.charges.map((c) => ({ nodeId: Number(c.nodeId), kind: c.kind, service: c.service, requests: c.requests, cpuMs: c.cpuMs, amount: c.amount })),
    ).to.deep.equal(entries);
    const byId = new Map(report.nodes.map((m) => [Number(m.nodeId), m.revenue]));
    expect([byId.get(ids[2]), byId.get(ids[0])]).to.deep.equal([functionCharge, agentCharge]);
    const total = functionCharge + agentCharge;
    expect(report.usage.map((u) => [u.client, u.amount])).to.deep.equal([[client.account.address, total]]);

    // The split. Agent calls 20/70/10 (AgentMarketplace's default): 70% to the owner's balance on
    // the marketplace, 10% to BuybackBurner, the rest to the node pool (21,000 / 3,000 / 6,000 when
    // the CPU part is 0). The function's charge 80/20 (ServiceEscrow's nodeShareBps 8,000): 80% to
    // the node pool, rounded down, the rest to BuybackBurner (4 / 2 at 6 units).
    const owner = (agentCharge * 7_000n) / 10_000n;
    const fee = (agentCharge * 1_000n) / 10_000n;
    const functionToNodes = (functionCharge * 8_000n) / 10_000n;
    const toNodes = functionToNodes + (agentCharge - owner - fee);
    const debited = (await s.escrow.queryFilter(s.escrow.filters.EpochDebited(epoch))).map((e) => [
      e.args.total,
      e.args.toNodes,
      e.args.toBuyback,
      e.args.toMarketplace,
    ]);
    expect(debited).to.deep.equal([[total, toNodes, functionCharge - functionToNodes, owner + fee]]);
    const [account, rewardsAfter, buybackAfter, ownerAfter] = await balances();
    expect(account.balance).to.equal(1_000_000n - total);
    expect(rewardsAfter - rewardsBefore).to.equal(toNodes);
    expect(buybackAfter - buybackBefore).to.equal(functionCharge - functionToNodes + fee);
    expect(ownerAfter - ownerBefore).to.equal(owner);

    // The indexer derives the same charges for the function and the agent, and its totals over
    // every reported epoch are the sums of the reports' charges on chain.
    type Charge = { nodeId: number; kind: string; service: string; requests: string; cpuMs: string; amount: string };
    const fields = "nodes { nodeId kind service requests cpuMs amount }";
    const indexed = (c: typeof functionEntry) => ({
      nodeId: c.nodeId,
      kind: c.kind === 1n ? "FUNCTION" : "AGENT",
      service: c.service,
      requests: c.requests.toString(),
      cpuMs: c.cpuMs.toString(),
      amount: c.amount.toString(),
    });
    await eventually(
      `the indexer's charges of epoch ${epoch}`,
      async () => {
        const answer = await graphql<{
          edgeFunction: { invocations: string; usage: { nodes: Charge[] } };
          agent: { calls: string; charged: string; charges: { nodes: Charge[] } };
        }>(
          deployment.graphqlUrl!,
          `{
            edgeFunction(name: "hello") { invocations usage(epoch: ${epoch}) { ${fields} } }
            agent(id: 1) { calls charged charges(epoch: ${epoch}) { ${fields} } }
          }`,
        ).catch(() => undefined);
        if (!answer || answer.edgeFunction.usage.nodes.length + answer.agent.charges.nodes.length === 0) return false;
        expect([answer.edgeFunction.usage.nodes, answer.agent.charges.nodes]).to.deep.equal([[indexed(functionEntry)], [indexed(agentEntry)]]);
        const reported = (await s.registry.queryFilter(s.registry.filters.EpochReported())).flatMap((e) => e.args.report.charges);
        const sum = (kind: bigint, service: string, field: "requests" | "amount") =>
          reported.filter((c) => c.kind === kind && c.service === service).reduce((x, c) => x + c[field], 0n);
        expect([answer.edgeFunction.invocations, answer.agent.calls, answer.agent.charged]).to.deep.equal(
          [sum(1n, `0x${root}`, "requests"), sum(2n, agentService, "requests"), sum(2n, agentService, "amount")].map(String),
        );
        return true;
      },
      60_000,
    );
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
