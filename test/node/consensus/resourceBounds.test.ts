/**
 * A Byzantine member at the worker level against 3 honest node processes, over real sockets:
 * headers whose payload lists made-up batch digests, and a flood of 1 MB batches nobody asked
 * for and no header references. Honest nodes must give up the made-up digests at garbage
 * collection (no request for them afterwards), keep the flood out of their disk and memory
 * (docs/consensus.md "Resource bounds"), and keep committing one identical sequence.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { batchDigest, Certificate, encodeBatch, hex, makeCertificate, signHeader } from "../../../node/consensus/types/messages";
import { decodePrimary, decodeWorker, encodePrimary, encodeWorker } from "../../../node/consensus/types/wire";
import { PeerNetwork } from "../../../node/network/peerNetwork";
import { batchBytes, Cluster, NodeProcess, payloads, startWithByzantineSeat, waitFor } from "./cluster";

const GC_DEPTH = 10;
const FAKE_HEADERS = 20;
const FAKE_PER_HEADER = 1_000;
const JUNK_BATCHES = 150;
const MiB = 1024 * 1024;

describe("Byzantine worker against 3 honest processes (resource bounds)", function () {
  this.timeout(240_000);
  let cluster: Cluster | undefined;
  const nets: PeerNetwork[] = [];
  afterEach(async function () {
    if (this.currentTest?.state === "failed") for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-3000));
    await Promise.all(nets.map((n) => n.close()));
    await cluster?.stop();
  });

  it("gives up made-up digests at GC, keeps unsolicited batches off disk and out of memory, and keeps committing", async () => {
    cluster = await Cluster.create(4, { parameters: { gcDepth: GC_DEPTH } });
    const seat = await startWithByzantineSeat(cluster);
    const { honest, committee, evilKey, me } = seat;
    const net = (domain: "primary" | "worker") => {
      const n = seat.network(domain, { maxFrame: 4 * MiB, maxQueueBytes: (JUNK_BATCHES + 10) * MiB });
      nets.push(n);
      return n;
    };
    const certs = new Map<number, Certificate[]>();
    const primary = net("primary");
    primary.onFrame((_from, f) => {
      const m = decodePrimary(f);
      if (m.kind === "certificate")
        (certs.get(m.certificate.header.round) ?? certs.set(m.certificate.header.round, []).get(m.certificate.header.round)!).push(m.certificate);
    });
    const fake = new Set<string>();
    let fakeAsked = 0;
    let junkAcked = 0;
    const junk = new Set<string>();
    const worker = net("worker");
    worker.onFrame((_from, f) => {
      const m = decodeWorker(f);
      if (m.kind === "batch-request") fakeAsked += m.digests.filter((d) => fake.has(hex(d))).length;
      if (m.kind === "batch-ack" && junk.has(hex(m.digest))) junkAcked++;
    });
    await Promise.all([primary.start(), worker.start()]);

    await honest[0].submitAll(payloads("before", 5));
    await waitFor("honest progress", () => honest.every((n) => n.committed.length >= 5));
    const batchesOf = (i: number) => batchBytes(path.join(cluster!.dir, `data-${i}`, "epoch-1"));
    const diskBefore = honest.map((_, i) => batchesOf(i));
    const rssBefore = honest.map((n) => n.rss);

    // Headers listing made-up digests, each on real parents of a round the honest nodes hold.
    const used = new Set<number>();
    await waitFor(
      `${FAKE_HEADERS} headers with made-up digests sent`,
      () => {
        for (const [round, cs] of certs) {
          if (used.has(round) || cs.length < 3) continue;
          used.add(round);
          const digests = Array.from({ length: FAKE_PER_HEADER }, () => randomBytes(32));
          for (const d of digests) fake.add(hex(d));
          const header = signHeader(
            { epoch: committee.epoch, round: round + 1, author: me, createdAt: Date.now(), payload: digests, parents: cs.slice(0, 3).map((c) => c.digest) },
            evilKey,
            committee.domain,
          );
          primary.broadcast(encodePrimary({ kind: "header", header }));
        }
        return used.size >= FAKE_HEADERS;
      },
      60_000,
    );
    const newestRound = () => Math.max(...[...certs].filter(([, cs]) => cs.length >= 3).map(([r]) => r));
    const lastFakeRound = Math.max(...used) + 1;
    await waitFor("the made-up digests requested", () => fakeAsked > 0);

    // A corrupt certificate replayed 30 times costs one check: it is rejected (and logged) once.
    // A second one, sent after, shows when the replays were all handled (frames arrive in order).
    const fakeVotes = () => [0, 1, 2, 3].map((voter) => ({ voter, signature: randomBytes(64) }));
    const someHeader = (round: number, createdAt = Date.now()) =>
      signHeader(
        {
          epoch: committee.epoch,
          round,
          author: me,
          createdAt,
          payload: [],
          parents: certs
            .get(round - 1)!
            .slice(0, 3)
            .map((c) => c.digest),
        },
        evilKey,
        committee.domain,
      );
    // Rounds right above the newest full ones: far above garbage collection.
    const full = [...certs]
      .filter(([, cs]) => cs.length >= 3)
      .map(([r]) => r)
      .sort((a, b) => b - a);
    const [replayRound, sentinelRound] = [full[0] + 1, full[1] + 1];
    const corrupt = makeCertificate(someHeader(replayRound), fakeVotes());
    for (let i = 0; i < 30; i++) primary.broadcast(encodePrimary({ kind: "certificate", certificate: corrupt }));
    primary.broadcast(encodePrimary({ kind: "certificate", certificate: makeCertificate(someHeader(sentinelRound), fakeVotes()) }));
    const rejections = (n: NodeProcess, round: number) =>
      n.stderr.split("\n").filter((l) => l.includes('"certificate rejected"') && l.includes(`"round":${round},`)).length;
    await waitFor("the second corrupt certificate rejected", () => honest.every((n) => rejections(n, sentinelRound) > 0));
    for (const n of honest) expect(rejections(n, replayRound), "rejections of the replayed certificate").to.equal(1);
    // A header dated an hour ahead is refused before its signature is checked.
    primary.broadcast(encodePrimary({ kind: "header", header: someHeader(newestRound() + 1, Date.now() + 3_600_000) }));
    await waitFor("the future header refused", () => honest.every((n) => /"header rejected".*ms in the future/.test(n.stderr)));

    // 150 MB of valid-looking batches nobody asked for, to every honest worker, while clients submit.
    for (let i = 0; i < JUNK_BATCHES; i++) {
      const batch = encodeBatch([randomBytes(MiB)]);
      junk.add(hex(batchDigest(batch)));
      worker.broadcast(encodeWorker({ kind: "batch", batch }));
    }
    await honest[1].submitAll(payloads("during", 20));
    await waitFor("the flood delivered", () => honest.every((_, i) => worker.pending(committee.indexOf(honest[i].key.publicKey)!) === 0), 120_000);
    await waitFor("honest nodes commit during the attack", () => honest.every((n) => n.committed.length >= 25), 60_000);

    // Garbage collection passes the made-up headers' rounds: nobody asks for those digests again.
    await waitFor("GC past the made-up headers", () => newestRound() > lastFakeRound + GC_DEPTH + 6, 60_000);
    const askedAtGc = fakeAsked;
    const watchUntil = newestRound() + 10; // ten more rounds: several fetch retry periods
    await waitFor("ten more rounds", () => newestRound() >= watchUntil, 60_000);

    const diskGrowth = honest.map((_, i) => batchesOf(i) - diskBefore[i]);
    const rssGrowth = honest.map((n, i) => n.rss - rssBefore[i]);
    expect(fakeAsked, "made-up digests re-requested after GC").to.equal(askedAtGc);
    for (const g of diskGrowth) expect(g, "batches.log growth").to.be.lessThan(4 * MiB);
    // The pen holds ~17 MB per peer; the rest is garbage of received frames not yet collected.
    // Storing and caching the flood costs more than the whole flood (150 MB).
    for (const g of rssGrowth) expect(g, "resident memory growth").to.be.lessThan(120 * MiB);
    // Only what fits in a pen (~16 of these batches per honest worker per GC window) is acknowledged.
    expect(junkAcked, "unsolicited batches acknowledged").to.be.lessThan(JUNK_BATCHES);
    // Garbage collection emptied the pens: a new unsolicited batch is taken (and acknowledged) again.
    const afterGc = encodeBatch([randomBytes(1024)]);
    junk.add(hex(batchDigest(afterGc)));
    const ackedBefore = junkAcked;
    worker.broadcast(encodeWorker({ kind: "batch", batch: afterGc }));
    await waitFor("the pens have room again after GC", () => junkAcked === ackedBefore + honest.length);

    await honest[2].submitAll(payloads("after", 5));
    await waitFor("honest nodes keep committing", () => honest.every((n) => n.committed.length >= 30), 60_000);
    const seq = honest[0].committed.slice(0, 30);
    for (const n of honest) expect(n.committed.slice(0, 30)).to.deep.equal(seq);
    for (const n of honest) expect(n.alive).to.equal(true);
  });
});
