/**
 * Recovery and catch-up over real processes and sockets (issue 15): a node down for far more
 * rounds than peers keep in memory restarts from its last commit's GC round (it decodes only the
 * rounds above it) and catches up by round range; a node whose certificates.log has a corrupt
 * byte in the middle drops that record and every later one, and still ends with the same
 * committed sequence as the others.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { Cluster, NodeProcess, payloads, waitFor } from "./cluster";

const GC_DEPTH = 5;
/** Rounds the node stays down: 20 GC depths, far past what peers keep in memory (2 GC depths). */
const DOWN_ROUNDS = 100;

/** Asserts every sequence is a prefix of the longest. */
function assertSamePrefix(sequences: string[][]): void {
  const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a));
  for (const s of sequences) expect(s).to.deep.equal(longest.slice(0, s.length));
  expect(new Set(longest).size).to.equal(longest.length, "a transaction was committed twice");
}

/** The fields of the first JSON log line of `n` with message `msg`. */
function logLine(n: NodeProcess, msg: string): Record<string, unknown> | undefined {
  const line = n.stderr.split("\n").find((l) => l.includes(`"msg":"${msg}"`));
  return line ? JSON.parse(line) : undefined;
}

describe("recovery and catch-up (4 processes over loopback)", function () {
  this.timeout(180_000);
  let cluster: Cluster | undefined;
  let load: NodeJS.Timeout | undefined;
  afterEach(async function () {
    clearInterval(load);
    if (this.currentTest?.state === "failed") for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-3000));
    await cluster?.stop();
  });

  /** Starts 4 nodes under a steady load on the first three; returns them. */
  async function startLoaded(): Promise<NodeProcess[]> {
    cluster = await Cluster.create(4, { parameters: { gcDepth: GC_DEPTH } });
    await cluster.start();
    let wave = 0;
    load = setInterval(() => {
      const w = wave++;
      for (const [i, n] of cluster!.nodes.slice(0, 3).entries()) void n.submit(payloads(`w${w}n${i}`, 3)).catch(() => {});
    }, 50);
    return cluster.nodes;
  }

  /** Kills `d`, lets the others run `DOWN_ROUNDS` leader rounds, runs `whileDown`, restarts `d`. */
  async function downAndBack(nodes: NodeProcess[], whileDown: () => void): Promise<void> {
    const [a, , , d] = nodes;
    await waitFor(
      "first commits",
      () => d.leaderRound >= 4 * GC_DEPTH,
      30_000,
      () => d.leaderRound,
    );
    await d.stop("SIGKILL");
    const downAt = a.leaderRound;
    await waitFor(
      `${DOWN_ROUNDS} rounds without node 3`,
      () => a.leaderRound >= downAt + DOWN_ROUNDS,
      60_000,
      () => a.leaderRound,
    );
    whileDown();
    await d.start("info");
    await d.subscribe();
    const target = a.leaderRound;
    await waitFor(
      "the restarted node catches up",
      () => d.leaderRound >= target,
      60_000,
      () => [d.leaderRound, target],
    );
  }

  it("restarts from the last commit's GC round and catches up by round range", async () => {
    const nodes = await startLoaded();
    const [a, b, c, d] = nodes;
    await downAndBack(nodes, () => {});
    const started = logLine(d, "consensus started")!;
    // What a restart decodes: the rounds above the last commit's GC round (its GC depth, plus
    // the rounds above the last committed leader), not the epoch.
    expect(started.recovered).to.be.at.most(4 * 3 * GC_DEPTH);
    expect(started.round).to.be.at.least(4 * GC_DEPTH, "resumed where it stopped");
    expect(logLine(d, "catching up by round range"), "caught up by round range").to.not.equal(undefined);
    for (const n of nodes) expect(n.stderr).to.not.match(/malformed stream from peer|send queue full/, "no frame errors");
    assertSamePrefix([a, b, c, d].map((n) => n.committed));
    expect(d.committed.length).to.be.greaterThan(0);
  });

  it("drops a corrupt record in the middle of certificates.log with every later one, and converges", async () => {
    const nodes = await startLoaded();
    const [a, b, c, d] = nodes;
    const file = epochFile(d, "certificates-0000000000000000.log"); // one segment: far below logSegmentBytes
    let half = 0;
    await downAndBack(nodes, () => {
      const bytes = fs.readFileSync(file);
      half = Math.floor(bytes.length / 2);
      bytes[half] ^= 0xff;
      fs.writeFileSync(file, bytes);
    });
    // The corrupt record and all after it were dropped at open (the file was cut before the
    // flipped byte, with a warning naming the offset), then the node caught up by round range
    // and recomputed the lost commits.
    const warning = logLine(d, "damaged log record dropped with everything after it");
    expect(warning).to.include({ file, kind: "corrupt" });
    expect(warning!.offset).to.be.within(0, half);
    expect(logLine(d, "consensus started")!.round).to.be.at.least(1);
    expect(logLine(d, "catching up by round range"), "caught up by round range").to.not.equal(undefined);
    assertSamePrefix([a, b, c, d].map((n) => n.committed));
    expect(d.committed.length).to.be.at.least(a.committed.length / 2);
    expect(half).to.be.greaterThan(0);
  });

  it("refuses to start when primary.log is corrupt before its end, and restarts after a torn tail", async () => {
    const nodes = await startLoaded();
    const [a, , , d] = nodes;
    const file = epochFile(d, "primary.log");
    await waitFor(
      "first commits",
      () => d.leaderRound >= 2 * GC_DEPTH,
      30_000,
      () => d.leaderRound,
    );
    await d.stop("SIGKILL");
    const intact = fs.readFileSync(file);
    // A record cut short by a crash mid-write was never synced, so nothing relied on it.
    fs.appendFileSync(file, intact.subarray(0, 20));
    await d.start("info");
    await d.subscribe();
    expect(logLine(d, "damaged log record dropped with everything after it")).to.include({ file, kind: "torn", offset: intact.length });
    const target = a.leaderRound;
    await waitFor(
      "the restarted node commits",
      () => d.leaderRound >= target,
      60_000,
      () => [d.leaderRound, target],
    );

    // A flipped byte before the end: the votes after it are unknown, so the node must not run.
    await d.stop("SIGKILL");
    const bytes = fs.readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const refused = await d.start().then(
      () => "started",
      (err: Error) => err.message,
    );
    expect(refused).to.match(/node exited with 1/);
    expect(refused).to.include(`${file}: corrupt record at offset`);
    const offset = Number(/at offset (\d+)/.exec(refused)![1]);
    expect(offset).to.be.within(0, at);
    expect(fs.readFileSync(file).equals(bytes), "primary.log left as it was").to.equal(true);
  });
});

/** The path of `name` in the epoch-1 consensus folder of node `n`. */
function epochFile(n: NodeProcess, name: string): string {
  const config = JSON.parse(fs.readFileSync(n.configFile, "utf8")) as { dataDir: string };
  return path.join(path.resolve(path.dirname(n.configFile), config.dataDir), "epoch-1", name);
}
