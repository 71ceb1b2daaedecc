/**
 * Disk reads a peer can trigger (issue 15): a Byzantine member spams one honest worker with
 * requests for every batch it has seen referenced (1,000 digests, every 5 ms, so each stored
 * batch is asked for hundreds of times a second). What the honest worker reads and sends it must
 * stay within the per-peer serving budget (`serveBytesPerSecond`), and the honest nodes must keep
 * committing at no less than a third of their rate before the attack, with identical sequences
 * (serving without the budget cut the victim's rate to a half, then to 0-15 commits/s of ~500).
 */
import { expect } from "chai";
import { decodePrimary, decodeWorker, encodeWorker } from "../../../node/consensus/types/wire";
import { batchDigest, Digest, hex } from "../../../node/consensus/types/messages";
import { PeerNetwork } from "../../../node/network/peerNetwork";
import { Cluster, payloads, startWithByzantineSeat, waitFor } from "./cluster";

const KiB = 1024;
/** A budget far below what the spam asks for (hundreds of MB/s), so that exceeding it shows. */
const SERVE_BYTES_PER_SECOND = 256 * KiB;
const SPAM_MS = 4_000;

describe("Byzantine peer spamming batch requests (serving bounds)", function () {
  this.timeout(180_000);
  let cluster: Cluster | undefined;
  const nets: PeerNetwork[] = [];
  const timers: NodeJS.Timeout[] = [];
  afterEach(async function () {
    timers.forEach((t) => clearInterval(t));
    if (this.currentTest?.state === "failed") for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-3000));
    await Promise.all(nets.map((n) => n.close()));
    await cluster?.stop();
  });

  it("serves one peer at most its budget and keeps committing", async () => {
    cluster = await Cluster.create(4, { parameters: { serveBytesPerSecond: SERVE_BYTES_PER_SECOND } });
    const seat = await startWithByzantineSeat(cluster);
    const { honest, committee } = seat;
    const net = (domain: "primary" | "worker") => {
      const n = seat.network(domain, { maxFrame: 4 * 1024 * KiB, maxQueueBytes: 64 * 1024 * KiB });
      nets.push(n);
      return n;
    };
    const victim = committee.indexOf(honest[0].key.publicKey)!;
    const seen: Digest[] = [];
    const seenKeys = new Set<string>();
    const primary = net("primary");
    primary.onFrame((_from, f) => {
      const m = decodePrimary(f);
      if (m.kind !== "header") return;
      for (const d of m.header.payload) if (!seenKeys.has(hex(d))) seenKeys.add(hex(d)) && seen.push(d);
    });
    let served = 0;
    const worker = net("worker");
    worker.onFrame((from, f) => {
      const m = decodeWorker(f);
      if (m.kind !== "batch") return;
      const digest = batchDigest(m.batch);
      // Acknowledged, so the victim does not re-send its own batches; a batch some header
      // referenced before it arrived is an answer to a request, not the author's first push.
      worker.send(from, encodeWorker({ kind: "batch-ack", digest }));
      if (from === victim && seenKeys.has(hex(digest))) served += m.batch.length;
    });
    await Promise.all([primary.start(), worker.start()]);

    // A steady load of 1 KB transactions on every honest node.
    let wave = 0;
    timers.push(
      setInterval(() => {
        const w = wave++;
        for (const [i, n] of honest.entries()) void n.submit(payloads(`${"x".repeat(1000)}-w${w}n${i}`, 10)).catch(() => {});
      }, 50),
    );
    await waitFor(
      "batches referenced",
      () => seen.length >= 50,
      30_000,
      () => seen.length,
    );
    const rate = async (ms: number) => {
      const before = honest[0].committed.length;
      await new Promise((r) => setTimeout(r, ms));
      return ((honest[0].committed.length - before) * 1000) / ms;
    };
    // The slower of two windows: one window's rate varies by up to ~1.7x on this shared machine.
    const baseline = Math.min(await rate(SPAM_MS), await rate(SPAM_MS));

    let requests = 0;
    timers.push(
      setInterval(() => {
        requests++;
        worker.send(victim, encodeWorker({ kind: "batch-request", digests: seen.slice(-1000) }));
      }, 5),
    );
    const servedBefore = served;
    const started = Date.now();
    // Judged in the spam's second window, once unbounded serving would have built its backlog.
    await new Promise((r) => setTimeout(r, SPAM_MS));
    const during = await rate(SPAM_MS);
    const elapsed = (Date.now() - started) / 1000;
    const spamServed = served - servedBefore;
    clearInterval(timers.pop());

    const asked = requests * Math.min(1000, seen.length);
    // The budget, plus its one-second burst, plus one batch sent on the last tokens.
    expect(spamServed, `served of ${asked} batches asked`).to.be.at.most(SERVE_BYTES_PER_SECOND * (elapsed + 1) + 110 * KiB);
    expect(spamServed, "the peer was served (a budget, not a ban)").to.be.greaterThan(0);
    expect(during, `commit rate during the spam (baseline ${baseline.toFixed(0)}/s)`).to.be.at.least(baseline / 3);
    await waitFor("honest sequences", () => honest.every((n) => n.committed.length >= 100));
    const seq = honest[0].committed.slice(0, 100);
    for (const n of honest) expect(n.committed.slice(0, 100)).to.deep.equal(seq);
  });
});
