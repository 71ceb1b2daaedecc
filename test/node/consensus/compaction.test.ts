/**
 * Disk over an epoch (issue 15): four consensus instances over real loopback sockets run hundreds
 * of rounds at a small GC depth, retention window and segment size. The batch segments on each
 * node's disk must stay under what the last `retainRounds + 2·gcDepth` leader rounds delivered
 * (plus a few segments) however many rounds pass; the old code kept every batch of the epoch.
 * After compaction a subscriber from index 1 is refused with the first index still held, one
 * from that index gets exactly the live sequence, and a restarted node opens the compacted
 * folder, serves its retained sequence exactly and keeps proposing.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConsensusInstance } from "../../../node/consensus/instance";
import { DEFAULT_PARAMETERS, Parameters } from "../../../node/consensus/parameters";
import type { Committee } from "../../../node/consensus/types/committee";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { hex } from "../../../node/consensus/types/messages";
import { CommittedBatch } from "../../../node/consensus/executor/executor";
import { SequenceCompacted } from "../../../node/storage/consensusStore";
import { Logger } from "../../../node/logger";
import { NodeClient } from "../../../node/client/client";
import { SubscribeRefused } from "../../../node/client/protocol";
import { batchBytes, Cluster, expectExactFromTail, frameKey, LateSubscriber, logSegments, TEST_PARAMETERS, waitFor } from "./cluster";
import { loopbackCommittee } from "../../../testkit/freePorts";

const N = 4;
const GC_DEPTH = 8;
const RETAIN_ROUNDS = 16;
const SEGMENT = 64 * 1024;
const LOG_SEGMENT = 4 * 1024;
const ROUNDS = 40 * GC_DEPTH;
const PARAMS: Parameters = {
  ...DEFAULT_PARAMETERS,
  ...TEST_PARAMETERS,
  gcDepth: GC_DEPTH,
  retainRounds: RETAIN_ROUNDS,
  batchSegmentBytes: SEGMENT,
  logSegmentBytes: LOG_SEGMENT,
  maxHeaderDelayMs: 15,
  maxBatchDelayMs: 5,
};
/**
 * Leader rounds whose batches a node may hold: the retention window, the `2·gcDepth` of the
 * horizon, a GC window of rounds not committed yet, and slack for a node a little behind node 0.
 */
const HELD_LEADER_ROUNDS = RETAIN_ROUNDS + 4 * GC_DEPTH;

const segmentBytes = (dir: string) => batchBytes(path.join(dir, "epoch-1"));

/**
 * The record lengths (8-byte header included) of a log's files in an epoch folder, read from the
 * files: `<name>.log` (one file for the epoch) or its segments `<name>-<offset>.log`.
 */
function logRecords(epochDir: string, name: string): number[] {
  const out: number[] = [];
  for (const f of logSegments(epochDir, name)) {
    const bytes = fs.readFileSync(f);
    for (let pos = 0; pos + 8 <= bytes.length; pos += 8 + bytes.readUInt32LE(pos)) out.push(8 + bytes.readUInt32LE(pos));
  }
  return out;
}

/**
 * Certificates and commit records on disk against what the window holds: rounds of certificates
 * (the window, `2·gcDepth` for the horizon, a GC window not committed yet, slack), each with a
 * certificate per member, or commits of its leader rounds (one every two rounds), at most the bytes
 * of that many of the largest records on disk, plus two segments (the one cut through by the
 * horizon, the current one). On the old code, one file each for the epoch, they grew with the rounds.
 */
function logsOverWindow(epochDir: string): string[] {
  const over: string[] = [];
  for (const [name, records] of [
    ["certificates", HELD_LEADER_ROUNDS * N],
    ["consensus", HELD_LEADER_ROUNDS / 2 + 1],
  ] as const) {
    const lengths = logRecords(epochDir, name);
    const bytes = lengths.reduce((n, l) => n + l, 0);
    const largest = [...lengths].sort((x, y) => y - x).slice(0, records);
    const bound = largest.reduce((n, l) => n + l, 0) + 2 * LOG_SEGMENT;
    if (bytes > bound) over.push(`${name}: ${bytes} B on disk over the window's ${bound} B`);
  }
  return over;
}

const text = (bs: CommittedBatch[]) => bs.map((b) => `${b.subDagIndex}:${hex(b.digest)}:${b.batch.toString("hex")}`);

describe("disk over an epoch: batch compaction (4 instances over loopback)", function () {
  this.timeout(240_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compaction-"));
  const keys = Array.from({ length: N }, () => KeyPair.generate());
  let committee: Committee;
  before(async () => {
    committee = await loopbackCommittee(keys.map((k) => k.publicKey));
  });
  const logger = new Logger({}, 40);
  const instances: (ConsensusInstance | undefined)[] = [];
  const nodeDir = (i: number) => path.join(dir, `node-${i}`);
  const start = (i: number) => ConsensusInstance.start(committee, keys[i], nodeDir(i), PARAMS, logger);
  after(async () => {
    await Promise.all(instances.map((x) => x?.stop()));
  });

  it("keeps the batch segments under the window's bytes, refuses subscribers below it, serves the rest exactly, and restarts", async () => {
    for (let i = 0; i < N; i++) instances[i] = await start(i);
    const live: CommittedBatch[] = [];
    instances[0]!.subscribe(1, (b) => void live.push(b));
    let tx = 0;
    const submit = () => {
      for (const x of instances) x?.worker.submit(Buffer.concat([Buffer.from(`tx-${tx++}-`), Buffer.alloc(1024, tx % 251)]));
    };
    const load = setInterval(submit, 5);
    // Each sample: the segment bytes of the node holding most, and what the last
    // HELD_LEADER_ROUNDS leader rounds delivered (every node stores every batch once, in a record
    // of 8 + 32 bytes of header and digest).
    const samples: { leaderRound: number; disk: number; window: number; logsOver: string[] }[] = [];
    const sample = setInterval(() => {
      const leaderRound = live.at(-1)?.leaderRound ?? 0;
      const window = live.filter((b) => b.leaderRound > leaderRound - HELD_LEADER_ROUNDS).reduce((n, b) => n + 40 + b.batch.length, 0);
      const logsOver = instances.flatMap((_, i) => logsOverWindow(path.join(nodeDir(i), "epoch-1")).map((o) => `node ${i} ${o}`));
      samples.push({ leaderRound, disk: Math.max(...instances.map((_, i) => segmentBytes(nodeDir(i)))), window, logsOver });
    }, 100);
    try {
      await waitFor(
        `${ROUNDS} rounds`,
        () => instances.every((x) => x!.primary.round >= ROUNDS),
        180_000,
        () => instances.map((x) => x!.primary.round),
      );
    } finally {
      clearInterval(load);
      clearInterval(sample);
    }
    const stored = live.reduce((n, b) => n + 40 + b.batch.length, 0);
    expect(live.at(-1)!.leaderRound).to.be.greaterThan(ROUNDS / 2, "consensus kept committing");
    const settled = samples.filter((s) => s.leaderRound > 2 * HELD_LEADER_ROUNDS);
    expect(settled.length).to.be.greaterThan(10, "samples past the first windows");
    // A sample is taken between two reads of the disk; compaction runs at each GC, a segment at a time.
    const over = settled.filter((s) => s.disk > s.window + 4 * SEGMENT);
    expect(over, "samples above the window's bytes").to.deep.equal([]);
    expect(
      settled.flatMap((s) => s.logsOver),
      "certificates and commit records above the window's",
    ).to.deep.equal([]);
    const end = Math.max(...instances.map((_, i) => segmentBytes(nodeDir(i))));
    expect(end, "far less than the epoch's batches").to.be.lessThan(stored / 3);

    // Below the retained sub-DAGs: refused, with where the node's sequence starts.
    const refused = await new Promise<SequenceCompacted>((resolve, reject) => {
      instances[0]!.subscribe(1, () => reject(new Error("a compacted batch was delivered")), resolve);
    });
    const retainedFrom = refused.retainedFrom;
    expect(retainedFrom).to.be.greaterThan(1);
    expect(refused.message).to.match(/no longer held/);
    // From there: exactly the live sequence, read back from the compacted segments.
    const upTo = live.length;
    const expected = live.filter((b) => b.subDagIndex >= retainedFrom);
    expect(expected.length).to.be.greaterThan(0);
    const replay: CommittedBatch[] = [];
    const unsubscribe = instances[0]!.subscribe(retainedFrom, (b) => void replay.push(b));
    await waitFor(
      "the replay from the retained index",
      () => replay.length >= expected.length,
      30_000,
      () => [replay.length, expected.length],
    );
    unsubscribe();
    expect(text(replay.slice(0, expected.length))).to.deep.equal(text(live.slice(upTo - expected.length, upTo)));

    // A restart opens the compacted folder (the first certificate and commit segments are gone):
    // same retained sequence, and consensus goes on.
    await instances[3]!.stop();
    instances[3] = undefined;
    const held3 = fs.readdirSync(path.join(nodeDir(3), "epoch-1"));
    expect(held3).to.not.include.members(["certificates-0000000000000000.log", "consensus-0000000000000000.log", "certificates.log", "consensus.log"]);
    const restarted = await start(3);
    instances[3] = restarted;
    const from3 = await new Promise<number>((resolve) =>
      restarted.subscribe(
        1,
        () => {},
        (err) => resolve(err.retainedFrom),
      ),
    );
    const expected3 = live.filter((b) => b.subDagIndex >= from3);
    const replay3: CommittedBatch[] = [];
    restarted.subscribe(from3, (b) => void replay3.push(b));
    await waitFor(
      "the restarted node's replay",
      () => replay3.length >= expected3.length,
      30_000,
      () => [replay3.length, expected3.length],
    );
    expect(text(replay3.slice(0, expected3.length))).to.deep.equal(text(expected3));
    const resumeAt = restarted.primary.round;
    const committedAt = replay3.at(-1)!.subDagIndex;
    const moreLoad = setInterval(submit, 20);
    try {
      await waitFor(
        "the restarted node proposes and commits again",
        () => restarted.primary.round > resumeAt + 2 * GC_DEPTH && replay3.at(-1)!.subDagIndex > committedAt + 2,
        60_000,
        () => [restarted.primary.round, replay3.at(-1)!.subDagIndex],
      );
    } finally {
      clearInterval(moreLoad);
    }
    // Its stream, up to its last whole sub-DAG, is node 0's.
    const upTo3 = replay3.at(-1)!.subDagIndex - 1;
    await waitFor("node 0 past the restarted node's commits", () => live.at(-1)!.subDagIndex > upTo3, 30_000);
    const until = (bs: CommittedBatch[]) => bs.filter((b) => b.subDagIndex >= from3 && b.subDagIndex <= upTo3);
    expect(text(until(replay3))).to.deep.equal(text(until(live)));
  });
});

describe("batch compaction over TCP (4 processes)", function () {
  this.timeout(240_000);
  let cluster: Cluster | undefined;
  let load: NodeJS.Timeout | undefined;
  const clients: NodeClient[] = [];
  after(async () => {
    clearInterval(load);
    clients.forEach((c) => c.close());
    await cluster?.stop();
  });

  it("refuses a subscriber below the retained sub-DAGs with the first one held, and serves exactly from there", async () => {
    cluster = await Cluster.create(4, { parameters: { gcDepth: GC_DEPTH, retainRounds: RETAIN_ROUNDS, batchSegmentBytes: SEGMENT } });
    await cluster.start();
    const node = cluster.nodes[0];
    const connect = async () => {
      const c = await NodeClient.connect("127.0.0.1", node.mempoolPort);
      clients.push(c);
      return c;
    };
    const reference: string[] = [];
    (await connect()).subscribe(1, (f) => void reference.push(frameKey(f)));
    let wave = 0;
    load = setInterval(() => {
      const w = wave++;
      const pad = "x".repeat(1000);
      for (const n of cluster!.nodes) void n.submit(Array.from({ length: 10 }, (_, i) => `w${w}-${i}-${pad}`)).catch(() => {});
    }, 30);
    // Until a subscriber from 1 is refused: the start of the epoch was compacted.
    let refused: SubscribeRefused | undefined;
    let probes = 0;
    await waitFor(
      "a subscription from 1 refused",
      () => {
        if (refused) return true;
        if (probes++ % 20 === 0)
          void connect().then((c) =>
            c.subscribe(
              1,
              () => {},
              (r) => (refused = r),
            ),
          );
        return false;
      },
      180_000,
      () => reference.length,
    );
    expect(refused!.epoch).to.equal(1);
    expect(refused!.retainedFrom).to.be.greaterThan(1);
    expect(refused!.reason).to.match(/no longer held/);
    // The window keeps moving while rounds go on, so the retained index may pass before the
    // subscription arrives: a client then gets a refusal naming the new one and asks from there.
    const late: LateSubscriber = { from: refused!.retainedFrom, got: [], label: "from the retained index" };
    let lateRefusals = 0;
    const subscribeLate = async (from: number) => {
      late.from = from;
      late.got = [];
      (await connect()).subscribe(
        from,
        (f) => void late.got.push(frameKey(f)),
        (r) => {
          lateRefusals++;
          void subscribeLate(r.retainedFrom);
        },
      );
    };
    await subscribeLate(refused!.retainedFrom);
    clearInterval(load);
    await expectExactFromTail(node, reference, [late], 60_000);
    expect(late.got.length).to.be.greaterThan(0);
    expect(lateRefusals, "refusals of the subscriber from the retained index").to.be.below(10);
  });
});
