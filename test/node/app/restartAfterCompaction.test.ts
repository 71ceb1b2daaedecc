/**
 * Issue 15: a committee member restarted late in an epoch, after the epoch's start was compacted,
 * still closes and signs its report. Four FleekNodes over loopback (small GC depth, retention
 * window and segments) each run an epoch reporter that snapshots its state into the epoch's
 * folder; acks, a payer binding and filler commit until node 3 refuses a subscriber from sub-DAG
 * 1. Node 3 and its reporter restart over the same folders: the reporter restores its snapshot,
 * resumes from there, and at the epoch's end every reporter closes, signs and ends with the same
 * report digest, the restarted member's signature among them, and the same state. A reporter
 * without snapshots (the old code) on the restarted node is refused and sits the epoch out.
 *
 * The chain is stood in for (context, escrow amounts, phase, beacon record): the chain duties
 * are tested against the registry in beaconDuty.test.ts and reportsOnChain.test.ts.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EpochReporter } from "../../../node/app/epochReporter";
import type { EpochState } from "../../../node/app/epochState";
import { AppTxKind } from "../../../node/app/appTransactions";
import type { RegistryReporting } from "../../../node/chain/registryReporting";
import { signTransaction } from "../../../node/client/transaction";
import { DEFAULT_PARAMETERS, type Parameters } from "../../../node/consensus/parameters";
import type { Committee } from "../../../node/consensus/types/committee";
import { Logger } from "../../../node/logger";
import { FleekNode, type EpochBatch } from "../../../node/node";
import { SubmitStatus } from "../../../node/client/protocol";
import { encodeBatch } from "../../../node/consensus/types/messages";
import { readSnapshot } from "../../../node/app/epochStateSnapshot";
import { ackFrom, context, members, newClient, payerTx, START_MS, tx } from "./appFixtures";
import { TEST_PARAMETERS, waitFor } from "../consensus/cluster";
import { loopbackCommittee } from "../../../testkit/freePorts";

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
const ZERO32 = `0x${"00".repeat(32)}`;
const EPOCH_END = 2_000_000_000;

describe("app: a member restarted after its epoch's start was compacted (4 nodes over loopback)", function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-restart-"));
  const ms = members(N);
  const ctx = context(ms, { epoch: 1 });
  const client = newClient();
  let committee: Committee;
  before(async () => {
    committee = await loopbackCommittee(ms.map((m) => m.key.publicKey));
  });
  let ended = false;
  // What a member reads from the registry: fixed context, every account debitable, the epoch's end when the test says.
  const chain = {
    context: async () => ctx,
    debitable: async (_: unknown, accounts: string[]) => new Map(accounts.map((a) => [a.toLowerCase(), 10n ** 12n])),
    phase: async () => ({ epoch: 1, now: ended ? EPOCH_END + 1 : EPOCH_END - 100, epochEnd: EPOCH_END, reportOpensAt: Number.MAX_SAFE_INTEGER }),
    beacon: async () => ({ commitment: ended ? ZERO32 : `0x${"01".repeat(32)}`, revealed: false }),
  } as unknown as RegistryReporting;
  const nodes: (FleekNode | undefined)[] = [];
  const reporters: (EpochReporter | undefined)[] = [];
  const lines: string[][] = ms.map(() => []);
  const nodeDir = (i: number) => path.join(dir, `node-${i}`);
  const startNode = async (i: number) => {
    const node = new FleekNode({
      key: ms[i].key,
      dataDir: nodeDir(i),
      source: { current: async () => committee, watch: () => () => {} },
      params: PARAMS,
      logger: new Logger({}, 100),
    });
    await node.start();
    return node;
  };
  const reporter = (i: number, snapshots = true) =>
    new EpochReporter({
      node: nodes[i]!,
      key: ms[i].key,
      wallet: ms[i].signer,
      chain,
      dataDir: path.join(nodeDir(i), "app"),
      logger: new Logger({}, 20, (line) => void lines[i].push(line)),
      tickMs: 200,
      resendMs: 2_000,
      epochDir: snapshots ? (e) => nodes[i]!.epochDir(e) : undefined,
      snapshotEverySubDags: 5,
      snapshotEveryMs: 1_000,
    });
  after(async () => {
    for (const r of reporters) r?.stop();
    await Promise.all(nodes.map((n) => n?.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("restores the snapshot, closes and signs the same report as the others", async () => {
    for (let i = 0; i < N; i++) nodes[i] = await startNode(i);
    for (let i = 0; i < N; i++) (reporters[i] = reporter(i)).start();
    let acked = 0;
    const ack = (i: number) => tx(ms[i].key, { kind: AppTxKind.Acks, acks: [ackFrom(client, ms[i].key.publicKey, 1_000 + i, START_MS + acked++)] });
    expect(nodes[0]!.submit([await payerTx(ms[0].key, client)]).accepted).to.equal(1);
    let filler = 0;
    const load = setInterval(() => {
      for (const [i, n] of nodes.entries()) {
        // 4 KiB of filler a node (refused by the application as undecodable) fills segments quickly.
        n?.submit([signTransaction(Buffer.concat([Buffer.from([0xee]), Buffer.alloc(4096, filler++ % 251)]), ms[i].key)]);
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
    ended = true;
    const states: EpochState[] = await Promise.all(reporters.map((r) => r!.state(1)));
    await waitFor(
      "every member closed and saw every signature",
      () => states.every((s) => s.closed && ms.every((m) => s.hasSigned(m.node.id))),
      120_000,
      () => states.map((s) => [s.closed, s.reportSignatures.length]),
    );
    // The same sequence applied: wait until every state saw the last of it, then compare.
    await waitFor("the states agree", () => new Set(states.map((s) => JSON.stringify([s.save(), s.acksSince(0)], big))).size === 1, 30_000);
    const digests = states.map((s) => s.report!.digest);
    expect(new Set(digests).size).to.equal(1, "one report digest");
    const report = states[3].report!.report;
    expect(report.usage.map((u) => u.client)).to.deep.equal([client.account.address.toLowerCase()]);
    const servedAcks = report.nodes.reduce((n, x) => n + x.deliveryAcks, 0n);
    expect(servedAcks).to.be.greaterThan(0n);
    expect(lines[3].some((l) => l.includes("cannot rebuild"))).to.equal(false);
  });
});

describe("app: resuming inside a sub-DAG", () => {
  it("skips exactly the batches of the resumed sub-DAG that the snapshot holds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-resume-"));
    const ms = members(N);
    const client = newClient();
    const chain = {
      context: async () => context(ms, { epoch: 1 }),
      debitable: async (_: unknown, accounts: string[]) => new Map(accounts.map((a) => [a.toLowerCase(), 10n ** 12n])),
    } as unknown as RegistryReporting;
    // Sub-DAGs 1..4 of three batches, each batch one member's ack.
    const sequence: EpochBatch[] = [];
    for (let subDagIndex = 1; subDagIndex <= 4; subDagIndex++)
      for (let j = 0; j < 3; j++) {
        const m = ms[(subDagIndex + j) % N];
        const t = tx(m.key, { kind: AppTxKind.Acks, acks: [ackFrom(client, m.key.publicKey, 100, START_MS + sequence.length)] });
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
        key: ms[0].key,
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
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const big = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
