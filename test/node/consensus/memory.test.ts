/**
 * Memory over an epoch (issue 15): four consensus instances over real loopback sockets run
 * hundreds of rounds at a small GC depth. What a node holds in memory per certificate, per round
 * and per delivered batch must stay under a bound set by the GC depth alone, however many rounds
 * pass; the committed past stays readable from disk (a subscriber from index 1 at the end gets
 * the live sequence, its batches found through the on-disk batch index), and a restart decodes
 * only the rounds above the last commit's GC round.
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
import { Logger } from "../../../node/logger";
import { TEST_PARAMETERS, waitFor } from "./cluster";
import { loopbackCommittee } from "../../../testkit/freePorts";

const N = 4;
const GC_DEPTH = 8;
/** Rounds to run: many GC windows, so anything kept per round would show. */
const ROUNDS = 40 * GC_DEPTH;
const PARAMS: Parameters = { ...DEFAULT_PARAMETERS, ...TEST_PARAMETERS, gcDepth: GC_DEPTH, maxHeaderDelayMs: 15, maxBatchDelayMs: 5 };

/**
 * Rounds a node may hold: `gcDepth` below the GC round (kept for peers a little behind), the
 * `gcDepth` between the GC round and the last committed leader, and the rounds above that leader
 * not committed yet (a leader commits two rounds after it, but a leader without support leaves
 * its rounds to the next one, and on a loaded machine several miss in a row: `2·gcDepth`).
 * A tenth of the rounds run: anything kept per round for the epoch would exceed it.
 */
const HELD_ROUNDS = 4 * GC_DEPTH;

describe("memory over an epoch (4 instances over loopback)", function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memory-"));
  const keys = Array.from({ length: N }, () => KeyPair.generate());
  let committee: Committee;
  before(async () => {
    committee = await loopbackCommittee(keys.map((k) => k.publicKey));
  });
  const logger = new Logger({}, 40);
  const instances: (ConsensusInstance | undefined)[] = [];
  const start = (i: number) => ConsensusInstance.start(committee, keys[i], path.join(dir, `node-${i}`), PARAMS, logger);
  after(async () => {
    await Promise.all(instances.map((x) => x?.stop()));
  });

  it("keeps certificates, rounds and delivered batches under a bound set by the GC depth, and replays the past from disk", async () => {
    for (let i = 0; i < N; i++) instances[i] = await start(i);
    // Every delivered batch with its leader round, as node 0's live subscriber saw it.
    const live: CommittedBatch[] = [];
    instances[0]!.subscribe(1, (b) => void live.push(b));
    let tx = 0;
    const load = setInterval(() => {
      for (const x of instances) x?.worker.submit(Buffer.from(`tx-${tx++}`));
    }, 5);
    const peak = { certificates: 0, decoded: 0, rounds: 0, recentBatches: 0, batches: 0 };
    let windowBatches = 0;
    const sample = setInterval(() => {
      for (const x of instances) {
        if (!x) continue;
        const s = x.stats();
        for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], s[k]);
      }
      // Batches delivered by the sub-DAGs of the last 2·gcDepth leader rounds (from the stream,
      // not from the executor), measured when node 0 is sampled.
      const last = live.at(-1)?.leaderRound ?? 0;
      windowBatches = Math.max(windowBatches, live.filter((b) => b.leaderRound >= last - 2 * GC_DEPTH).length);
    }, 20);
    try {
      await waitFor(
        `${ROUNDS} rounds`,
        () => instances.every((x) => x!.primary.round >= ROUNDS),
        120_000,
        () => instances.map((x) => x!.primary.round),
      );
    } finally {
      clearInterval(load);
      clearInterval(sample);
    }
    const committedRounds = live.at(-1)!.leaderRound;
    expect(committedRounds).to.be.greaterThan(ROUNDS / 2, "consensus kept committing");
    expect(live.length).to.be.greaterThan(100, "batches were delivered");
    expect(peak.certificates).to.be.at.most(N * HELD_ROUNDS);
    expect(peak.decoded).to.be.at.most(N * HELD_ROUNDS);
    expect(peak.rounds).to.be.at.most(HELD_ROUNDS);
    // A batch is remembered for duplicates only while a sub-DAG of the last 2·gcDepth leader
    // rounds delivered it; a sample can fall between the sub-DAG's planning and its delivery.
    expect(peak.recentBatches).to.be.at.most(windowBatches + N * 2 * GC_DEPTH);
    expect(peak.recentBatches).to.be.lessThan(live.length / 4, "the duplicate window forgets");
    // Batch locations stay in memory for two GC intervals (a few rounds), then only on disk.
    expect(peak.batches).to.be.lessThan(live.length / 4, "batch locations leave memory");

    // The whole past, read back from disk: the same batches in the same order.
    const replay: CommittedBatch[] = [];
    const upTo = live.length;
    const unsubscribe = instances[0]!.subscribe(1, (b) => void replay.push(b));
    await waitFor(
      "the replay from index 1",
      () => replay.length >= upTo,
      30_000,
      () => [replay.length, upTo],
    );
    unsubscribe();
    const text = (bs: CommittedBatch[]) => bs.map((b) => `${b.subDagIndex}:${hex(b.digest)}:${b.batch.toString("hex")}`);
    expect(text(replay.slice(0, upTo))).to.deep.equal(text(live.slice(0, upTo)));

    // A restart holds no more than the rounds above the last commit's GC round.
    await instances[3]!.stop();
    instances[3] = undefined;
    const restarted = await start(3);
    instances[3] = restarted;
    expect(restarted.stats().certificates, "decoded at restart").to.be.at.most(N * HELD_ROUNDS);
    const resumeAt = restarted.primary.round;
    expect(resumeAt).to.be.greaterThan(ROUNDS - GC_DEPTH, "resumes near its last round, not from genesis");
    await waitFor(
      "the restarted node proposes again",
      () => restarted.primary.round > resumeAt + 2 * GC_DEPTH,
      30_000,
      () => restarted.primary.round,
    );
  });
});
