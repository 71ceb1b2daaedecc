/**
 * Issue 15: a committee member restarted late in an epoch, after the epoch's start was compacted,
 * still closes and signs its report. Four FleekNodes over loopback (small GC depth, retention
 * window and segments), registered on the NodeRegistry of Hardhat's EVM served over JSON-RPC,
 * are epoch 1's committee: they take it from the registry, and each runs an epoch reporter on
 * RegistryReporting (the epoch's context, the client's escrow balance, phase and beacon all read
 * from the chain) that snapshots its state into the epoch's folder. Acks, a payer binding and
 * filler commit until node 3 refuses a subscriber from sub-DAG 1. Node 3 and its reporter restart
 * over the same folders: the reporter restores its snapshot and resumes from there. A reporter
 * without snapshots (the old code) on the restarted node is refused and sits the epoch out. At the
 * epoch's end on chain every reporter reveals its beacon, closes, signs and ends with the same
 * report digest (the registry's `reportDigest` of the report), the restarted member's signature
 * among them, and the same state; the report is accepted with all four signers and debits the
 * client's escrow.
 *
 * The second test places a snapshot inside a sub-DAG: a fixed sequence stands in for the node's
 * subscription (to cut sub-DAGs exactly), the epoch's context is the registry's.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network } from "ethers";
import { EpochReporter } from "../../../node/app/epochReporter";
import type { EpochState } from "../../../node/app/epochState";
import { AppTxKind } from "../../../node/app/appTransactions";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { RegistryCommitteeSource } from "../../../node/chain/registryCommittee";
import { signTransaction } from "../../../node/client/transaction";
import { DEFAULT_PARAMETERS, type Parameters } from "../../../node/consensus/parameters";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Logger } from "../../../node/logger";
import { FleekNode, type EpochBatch } from "../../../node/node";
import { SubmitStatus } from "../../../node/client/protocol";
import { encodeBatch } from "../../../node/consensus/types/messages";
import { readSnapshot } from "../../../node/app/epochStateSnapshot";
import { ackFrom, newClient, payerTx, tx } from "./appFixtures";
import { eventually, TEST_PARAMETERS, waitFor } from "../consensus/cluster";
import { CHAIN_ID, registerChainNode, serveChain, type ChainNode } from "../chain/chainNodes";
import { freePorts } from "../../../testkit/freePorts";
import { registrySuite, type RegistrySuite } from "../../../testkit/registry";

const N = 4;
const PARAMS: Parameters = {
  ...DEFAULT_PARAMETERS,
  ...TEST_PARAMETERS,
  gcDepth: 8,
  retainRounds: 16,
  batchSegmentBytes: 64 * 1024,
  maxHeaderDelayMs: 15,
  maxBatchDelayMs: 5,
};
/** The client's escrow deposit (USDC units): far more than its acks cost. */
const DEPOSIT = 10_000_000n;

/**
 * Registers `N` nodes with consensus ports on loopback and gas for their report signers, and
 * starts epoch 1 with them as its committee. `acksFromMs` is the start of epoch 1's acks window
 * (Unix ms): the scheduled end of epoch 0, as the registry held it.
 */
async function committeeOnChain(s: RegistrySuite): Promise<{ ms: ChainNode[]; acksFromMs: number }> {
  const ports = await freePorts(2 * N);
  const ms: ChainNode[] = [];
  for (let i = 0; i < N; i++) {
    const m = await registerChainNode(s, i, ports[2 * i], KeyPair.generate(), { workerPort: ports[2 * i + 1] });
    await setBalance(m.signer.address, 10n ** 19n); // gas for its beacon and the report
    ms.push(m);
  }
  const acksFromMs = Number(await s.registry.epochEnd()) * 1000;
  await time.increaseTo(await s.registry.epochEnd());
  await s.registry.advanceEpoch();
  expect((await s.registry.committeeIds()).map(Number).sort(byId)).to.deep.equal(ms.map((m) => m.id).sort(byId), "the four are epoch 1's committee");
  return { ms, acksFromMs };
}

/** Ascending node ids. */
const byId = (a: number, b: number) => a - b;

/** A provider of the served chain without a response cache: each read sees the latest block. */
const rpc = (url: string) => new JsonRpcProvider(url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });

describe("app: a member restarted after its epoch's start was compacted (4 nodes over loopback, registry on Hardhat)", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-restart-"));
  const client = newClient();
  let s: RegistrySuite;
  let chain: { url: string; close: () => Promise<void> } | undefined;
  let registry: string;
  /** The registered members, in the order of their node folders. */
  let ms: ChainNode[];
  let acksFromMs: number;
  before(async () => {
    s = await loadFixture(registrySuite);
    chain = await serveChain();
    registry = await s.registry.getAddress();
    // Funded before epoch 1 starts: the report debits at most what was debitable at its first block.
    await s.escrow.connect(s.clients[0]).deposit(client.account.address, DEPOSIT);
    ({ ms, acksFromMs } = await committeeOnChain(s));
  });
  const nodes: (FleekNode | undefined)[] = [];
  const reporters: (EpochReporter | undefined)[] = [];
  const lines: string[][] = Array.from({ length: N }, () => []);
  const nodeDir = (i: number) => path.join(dir, `node-${i}`);
  const polling = { pollMs: 500, minBackoffMs: 200, maxBackoffMs: 2_000 };
  // Each node (and its restart) reads the chain through its own provider, as its own process would.
  const provider = () => rpc(chain!.url);
  const startNode = async (i: number) => {
    const logger = new Logger({}, 100);
    const node = new FleekNode({
      key: ms[i].ed25519,
      dataDir: nodeDir(i),
      source: new RegistryCommitteeSource(provider(), CHAIN_ID, registry, logger, polling),
      params: PARAMS,
      logger,
    });
    await node.start();
    return node;
  };
  const reporter = (i: number, snapshots = true) =>
    new EpochReporter({
      node: nodes[i]!,
      key: ms[i].ed25519,
      wallet: ms[i].signer,
      chain: new RegistryReporting(provider(), CHAIN_ID, registry, ms[i].signer),
      dataDir: path.join(nodeDir(i), "app"),
      logger: new Logger({}, 20, (line) => void lines[i].push(line)),
      tickMs: 500,
      resendMs: 2_000,
      submitStaggerMs: 2_000,
      epochDir: snapshots ? (e) => nodes[i]!.epochDir(e) : undefined,
      snapshotEverySubDags: 5,
      snapshotEveryMs: 1_000,
    });
  after(async () => {
    for (const r of reporters) r?.stop();
    await Promise.all(nodes.map((n) => n?.stop()));
    await chain?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("restores the snapshot, closes and signs the same report as the others, and the registry accepts it", async () => {
    for (let i = 0; i < N; i++) nodes[i] = await startNode(i);
    for (let i = 0; i < N; i++) (reporters[i] = reporter(i)).start();
    let acked = 0;
    const ack = (i: number) =>
      tx(ms[i].ed25519, { kind: AppTxKind.Acks, acks: [ackFrom(client, ms[i].ed25519.publicKey, 1_000_000 + i, acksFromMs + acked++)] });
    expect(nodes[0]!.submit([await payerTx(ms[0].ed25519, client)]).accepted).to.equal(1);
    let filler = 0;
    const load = setInterval(() => {
      for (const [i, n] of nodes.entries()) {
        // 4 KiB of filler a node (refused by the application as undecodable) fills segments quickly.
        n?.submit([signTransaction(Buffer.concat([Buffer.from([0xee]), Buffer.alloc(4096, filler++ % 251)]), ms[i].ed25519)]);
        if (filler % 8 === 0) n?.submit([ack(i)]);
      }
    }, 20);
    try {
      // Until node 3 no longer holds the epoch's start.
      let refusedFrom = 0;
      let probing = false;
      await waitFor(
        "node 3 compacted the epoch's start",
        () => {
          if (!probing && refusedFrom === 0) {
            probing = true;
            const stop = nodes[3]!.subscribe(
              1,
              () => {
                stop();
                probing = false;
              },
              (err) => (refusedFrom = err.retainedFrom),
            );
          }
          return refusedFrom > 1;
        },
        180_000,
      );
      const beforeRestart = (await reporters[3]!.state(1)).ackCount;
      expect(beforeRestart).to.be.greaterThan(0, "acks applied before the restart");

      reporters[3]!.stop();
      await nodes[3]!.stop();
      nodes[3] = await startNode(3);
      // The old behaviour: replaying from sub-DAG 1 is refused, the member sits the epoch out.
      const old = reporter(3, false);
      lines[3].splice(0);
      old.start();
      await waitFor(
        "the reporter without snapshots refused",
        () => lines[3].some((l) => l.includes("cannot rebuild the epoch's state, sitting out its report")),
        30_000,
      );
      old.stop();
      lines[3].splice(0);
      (reporters[3] = reporter(3)).start();
      const restored = lines[3].find((l) => l.includes("epoch state restored from its snapshot"));
      expect(restored, "restored from the snapshot").to.not.equal(undefined);
      expect(JSON.parse(restored!).subDag).to.be.at.least(refusedFrom, "the snapshot is past the compacted start");
      const resumed = await reporters[3]!.state(1);
      await waitFor("acks after the restart applied by node 3", () => resumed.ackCount > beforeRestart + 8, 60_000);
    } finally {
      clearInterval(load);
    }
    // Every member committed its beacon secret in its first ticks (node 3's before its restart).
    await eventually("beacon commits", async () => (await s.registry.beaconCommitters(1n)).length === N, 30_000);
    await time.increaseTo(await s.registry.epochEnd());
    const states: EpochState[] = await Promise.all(reporters.map((r) => r!.state(1)));
    await waitFor(
      "every member closed and saw every signature",
      () => states.every((st) => st.closed && ms.every((m) => st.hasSigned(m.id))),
      120_000,
      // On a timeout: each state's missing signers and each reporter's last warnings say who stalled.
      () => ({
        states: states.map((st) => [st.closed, ms.filter((m) => !st.hasSigned(m.id)).map((m) => m.id)]),
        warnings: lines.map((l) => l.filter((x) => /"level":"(warn|error)"/.test(x)).slice(-3)),
      }),
    );
    // The same sequence applied: wait until every state saw the last of it, then compare.
    await waitFor("the states agree", () => new Set(states.map((st) => JSON.stringify([st.save(), st.acksSince(0)], big))).size === 1, 30_000);
    const report = states[3].report!.report;
    const digest = await s.registry.reportDigest(report);
    expect(states.map((st) => st.report!.digest)).to.deep.equal(Array(N).fill(digest), "one report digest, the registry's");
    expect(report.usage.map((u) => u.client)).to.deep.equal([client.account.address.toLowerCase()]);
    const servedAcks = report.nodes.reduce((n, x) => n + x.deliveryAcks, 0n);
    expect(servedAcks).to.be.greaterThan(0n);
    expect(lines[3].some((l) => l.includes("cannot rebuild"))).to.equal(false);

    // A reporter reveals before it closes; with every secret revealed the report window opens and
    // the first member in committee order submits.
    for (const m of ms) expect((await s.registry.beacons(1n, m.id)).revealed).to.equal(true, `node ${m.id} revealed`);
    await time.increaseTo(await s.registry.reportOpensAt());
    await eventually("the report accepted on chain", async () => (await s.registry.epoch()) === 2n, 30_000);
    const [event] = await s.registry.queryFilter(s.registry.filters.EpochReported(1n));
    expect(event.args.digest).to.equal(digest);
    expect(event.args.signers.map(Number).sort(byId)).to.deep.equal(ms.map((m) => m.id).sort(byId), "all four signed, the restarted member too");
    const [[payer, amount]] = event.args.report.usage.map((u) => [u.client, u.amount] as const);
    expect(payer).to.equal(client.account.address);
    expect(amount).to.be.greaterThan(0n);
    expect((await s.escrow.accounts(client.account.address)).balance).to.equal(DEPOSIT - amount);
  });
});

describe("app: resuming inside a sub-DAG (epoch context from the registry on Hardhat)", () => {
  it("skips exactly the batches of the resumed sub-DAG that the snapshot holds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-resume-"));
    const s = await loadFixture(registrySuite);
    const served = await serveChain();
    const { ms, acksFromMs } = await committeeOnChain(s);
    const client = newClient();
    // Read only: the reporter never ticks here.
    const chain = new RegistryReporting(rpc(served.url), CHAIN_ID, await s.registry.getAddress());
    // Sub-DAGs 1..4 of three batches, each batch one member's ack.
    const sequence: EpochBatch[] = [];
    for (let subDagIndex = 1; subDagIndex <= 4; subDagIndex++)
      for (let j = 0; j < 3; j++) {
        const m = ms[(subDagIndex + j) % N];
        const t = tx(m.ed25519, { kind: AppTxKind.Acks, acks: [ackFrom(client, m.ed25519.publicKey, 100, acksFromMs + sequence.length)] });
        sequence.push({
          epoch: 1,
          subDagIndex,
          leaderRound: 2 * subDagIndex,
          author: 0,
          round: 2 * subDagIndex - 1,
          createdAt: 0,
          digest: Buffer.alloc(32, sequence.length),
          batch: encodeBatch([t]),
        });
      }
    const subscribedFrom: number[] = [];
    const node = {
      status: () => ({ epoch: 1, member: false }),
      submit: () => ({ accepted: 0, status: SubmitStatus.Unavailable, reason: "" }),
      subscribe: (from: number, listener: (b: EpochBatch) => void) => {
        subscribedFrom.push(from);
        for (const b of sequence) if (b.subDagIndex >= from) listener(b);
        return () => {};
      },
    };
    const logs: string[][] = [[], []];
    const reporter = (k: number) =>
      new EpochReporter({
        node,
        key: ms[0].ed25519,
        wallet: ms[0].signer,
        chain,
        dataDir: path.join(dir, "app"),
        logger: new Logger({}, 10, (line) => void logs[k].push(line)),
        tickMs: 2 ** 30,
        epochDir: () => dir,
        // One snapshot, at the first batch of sub-DAG 3.
        snapshotEverySubDags: 3,
        snapshotEveryMs: 2 ** 30,
      });
    try {
      const first = reporter(0);
      first.start();
      const whole = await first.state(1);
      await waitFor("the whole sequence applied", () => whole.ackCount === sequence.length);
      first.stop();
      await first.snapshotsWritten();
      expect(readSnapshot(dir, 1, new Logger({}, 100))!.position).to.deep.equal({ subDag: 3, batch: 1 });
      const second = reporter(1);
      second.start();
      const resumed = await second.state(1);
      await waitFor("the rest applied", () => resumed.ackCount === sequence.length);
      second.stop();
      expect(subscribedFrom).to.deep.equal([1, 3]);
      expect(JSON.stringify([resumed.save(), resumed.acksSince(0)], big)).to.equal(JSON.stringify([whole.save(), whole.acksSince(0)], big));
      // A batch applied twice would have its ack refused as a duplicate.
      expect(logs[1].filter((l) => l.includes("acks refused") || l.includes("duplicate"))).to.deep.equal([]);
    } finally {
      await served.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const big = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
