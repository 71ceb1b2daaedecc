import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, suiteContracts, type Suite } from "../../testkit/deploy";
import { FLK } from "../../protocol/units";
import { openDatabase } from "../../indexer/store/database";
import { acquireWriterLock, WriterLockBusyError } from "../../indexer/store/writerLock";
import { scriptedActivity } from "./activity";
import { prng } from "../../testkit/prng";
import { dropTestDatabases, dumpDerived, freshPostgresUrl, newEngine, onBothBackends, testBackends } from "./helpers";

const CLI = path.resolve(__dirname, "../../indexer/cli.ts");

/** The suite with scripted activity plus 60 transfers, one block each. */
async function busyChain(): Promise<Suite> {
  const suite = await deploySuite();
  await scriptedActivity(suite);
  const s = await hre.ethers.getSigners();
  for (let i = 0; i < 60; i++) await suite.flk.connect(s[16]).transfer(s[(i % 8) + 2].address, BigInt(i + 1) * FLK);
  return suite;
}

/**
 * Runs `indexer sync --exit-when-synced`. With `kill`, sends SIGKILL `delayMs` after the child
 * reports its `afterBatches`-th committed batch (debug log), or `delayMs` after spawning when
 * `afterBatches` is 0 (start-up and migrations).
 */
function runSync(args: string[], kill?: { afterBatches: number; delayMs: number }): Promise<{ code: number | null; killed: boolean; stderr: string }> {
  return new Promise((resolve) => {
    // One process (node --import tsx), so SIGKILL leaves no orphan behind.
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "sync", "--exit-when-synced", "--log-level", "debug", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let batches = 0;
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => (timer ??= setTimeout(() => ((killed = true), child.kill("SIGKILL")), kill!.delayMs));
    if (kill?.afterBatches === 0) arm();
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
      batches += (d.toString().match(/"backfill batch"/g) ?? []).length;
      if (kill && kill.afterBatches > 0 && batches >= kill.afterBatches) arm();
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, killed, stderr: stderr.slice(-2000) });
    });
  });
}

describe("indexer crash safety (kill -9 at random points, then restart)", function () {
  // Both backends' runs share the machine (onBothBackends), each of a dozen processes started in
  // turn: a loaded machine stretches the first test's wait to minutes.
  this.timeout(600_000);
  let rpcUrl: string;
  let server: { close(): Promise<void> };
  let deploymentFile: string;
  let suite: Suite;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "indexer-crash-"));

  before(async () => {
    suite = await loadFixture(busyChain);
    server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    const { port } = await (server as any).listen();
    rpcUrl = `http://127.0.0.1:${port}`;
    deploymentFile = path.join(tmp, "addresses.json");
    fs.writeFileSync(deploymentFile, JSON.stringify({ contracts: await suiteContracts(suite), startBlock: 0 }));
  });
  after(async () => {
    await server?.close();
    await dropTestDatabases();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Kills `indexer sync` while starting or migrating, then several times at a random moment after a
   * random committed batch (mid-handlers, mid-commit, between batches), lets a last run finish, and
   * dumps what it wrote beside an uninterrupted sync's tables.
   */
  const crashedAndClean = onBothBackends(
    async () => undefined,
    async (backend) => {
      const target = backend.name === "postgres" ? ["--database-url", await freshPostgresUrl()] : ["--data-dir", path.join(tmp, "pglite")];
      const args = ["--rpc-url", rpcUrl, "--deployment", deploymentFile, "--batch-events", "4", "--finality-depth", "20", ...target];
      let kills = 0;
      // Seeded, and the seed logged: a failing plan replays with CRASH_SEED.
      const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const random = prng(seed);
      const plan = [{ afterBatches: 0, delayMs: 400 + Math.floor(random() * 800) }];
      for (let i = 0; i < 4; i++) plan.push({ afterBatches: 1 + Math.floor(random() * 5), delayMs: Math.floor(random() * 40) });
      console.log(`      ${backend.name}: crash plan seed ${seed} (CRASH_SEED=${seed} replays it): ${JSON.stringify(plan)}`);
      const exits: { code: number | null; stderr: string }[] = [];
      for (const kill of plan) {
        const run = await runSync(args, kill);
        if (!run.killed) {
          exits.push(run);
          break;
        }
        kills++;
      }
      exits.push(await runSync(args));

      const got = backend.name === "postgres" ? await openDatabase({ databaseUrl: target[1] }) : await openDatabase({ dataDir: target[1] });
      const reference = await backend.fresh();
      try {
        await (await newEngine(reference, suite, { finalityDepth: 20 })).syncToHead();
        return { kills, exits, got: await dumpDerived(got), reference: await dumpDerived(reference) };
      } finally {
        await got.close();
        await reference.close();
      }
    },
  );

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: ends with exactly the tables of an uninterrupted sync`, async function () {
      const run = await crashedAndClean(name);
      if (!run) return this.skip();
      for (const exit of run.exits) expect(exit.code, exit.stderr).to.equal(0);
      expect(run.kills).to.be.greaterThan(0);
      expect(run.got).to.deep.equal(run.reference);
    });
  }

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a second sync writer is refused with a clear message until the first stops`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const options = name === "postgres" ? { databaseUrl: await freshPostgresUrl() } : { dataDir: path.join(tmp, "lock-test") };
      const a = await openDatabase(options);
      const b = name === "postgres" ? await openDatabase(options) : a;
      try {
        const first = await acquireWriterLock(a, false);
        const refused = await acquireWriterLock(b, false).then(
          () => undefined,
          (e) => e,
        );
        expect(refused).to.be.instanceOf(WriterLockBusyError);
        expect(refused.message).to.match(/already writing.*--wait-for-lock/);
        const waiting = acquireWriterLock(b, true, 20);
        await first.release();
        await (await waiting).release();
      } finally {
        await a.close();
        if (b !== a) await b.close();
      }
    });
  }
});
