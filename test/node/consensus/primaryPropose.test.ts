/**
 * The primary's proposal of its next header (docs/consensus.md "Re-proposing own batches"): the
 * payload of a header of ours never certified moves into the next header, so the old header must
 * not be certified after that, or both commit; and after a restart, a last header whose
 * certificate was not stored may be certified at the peers, so its payload must not move; nor
 * may a restart forget the older headers of ours that may still commit. Real store, real
 * signatures; the network is a stand-in that records what the primary sends and delivers the
 * peers' frames.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Bullshark } from "../../../node/consensus/bullshark/bullshark";
import { Primary } from "../../../node/consensus/primary/primary";
import { Certificate, Digest, genesis, Header, hex, makeCertificate, signHeader, signVote } from "../../../node/consensus/types/messages";
import { encodePrimary, PrimaryMessage } from "../../../node/consensus/types/wire";
import { ConsensusStore } from "../../../node/storage/consensusStore";
import { testCommittee } from "./dagFixtures";
import { standInPrimary } from "./standInPrimary";
import { waitFor } from "./cluster";

function digest(n: number): Digest {
  const d = Buffer.alloc(32);
  d.writeUInt32BE(n);
  return d;
}

describe("Primary: proposing the next header", function () {
  this.timeout(30_000);
  const { committee, keys } = testCommittee(4);
  const GC_DEPTH = 5;
  const roots = genesis(committee).map((c) => c.digest);
  let dir = "";
  let store: ConsensusStore | undefined;
  let primary: Primary | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "primary-propose-"));
  });
  afterEach(async () => {
    primary?.stop();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Node 0's primary on the store in `dir`, with what it sends and a way to deliver peer frames. */
  function start(beforeOwnHeader: (h: Header) => void = () => {}, onCertificate?: (c: Certificate, primary: Primary) => void) {
    const s = (store = new ConsensusStore(dir, committee.epoch, { gcDepth: GC_DEPTH }));
    const sent: PrimaryMessage[] = [];
    const record = s.recordOwnHeader.bind(s);
    s.recordOwnHeader = (h: Header): Promise<void> => {
      beforeOwnHeader(h);
      return record(h);
    };
    const node = standInPrimary(committee, keys, s, GC_DEPTH, (m) => void sent.push(m), onCertificate);
    primary = node.primary;
    const deliver = node.deliver;
    const headers = (round: number): Header[] =>
      sent.flatMap((m) => (m.kind === "header" && m.header.round === round && m.header.author === 0 ? [m.header] : []));
    return {
      batch: node.batch,
      headers,
      /** Rounds of the certificates of ours the primary broadcast. */
      ownCertificates: () => sent.flatMap((m) => (m.kind === "certificate" && m.certificate.header.author === 0 ? [m.certificate.header.round] : [])),
      vote: (h: Header, voter: number) => deliver(voter, encodePrimary({ kind: "vote", vote: signVote(h, voter, keys[voter], committee.domain) })),
      /** Delivers certificates of nodes 1-3 at `round` on `parents`, which lets node 0 propose the next round; returns their digests. */
      others: (round: number, parents: Digest[]): Digest[] =>
        [1, 2, 3].map((author) => {
          const h = signHeader({ epoch: committee.epoch, round, author, createdAt: Date.now(), payload: [], parents }, keys[author], committee.domain);
          const c = certify(h);
          deliver(author, encodePrimary({ kind: "certificate", certificate: c }));
          return c.digest;
        }),
    };
  }

  function certify(h: Header): Certificate {
    return makeCertificate(
      h,
      [1, 2, 3].map((voter) => ({ voter, signature: signVote(h, voter, keys[voter], committee.domain).signature })),
    );
  }

  it("starts when its header delay passed before the genesis round went in (a loaded machine), and proposes round 1", async () => {
    // A delay of 0 is what a loaded machine makes of 100 ms passing between the proposer's creation
    // and the genesis round's insertion: the genesis quorum proposes at once, in the constructor,
    // which read the own batches before they were restored (a TypeError: the node died at start).
    const sent: PrimaryMessage[] = [];
    store = new ConsensusStore(dir, committee.epoch, { gcDepth: GC_DEPTH });
    primary = standInPrimary(committee, keys, store, GC_DEPTH, (m) => void sent.push(m), undefined, 0).primary;
    await waitFor("our round-1 header", () => sent.some((m) => m.kind === "header" && m.header.round === 1 && m.header.author === 0));
  });

  it("a header whose payload moved into the next one is not certified by votes arriving while the next one is written", async () => {
    // Votes for our round-1 header arrive while the round-2 header is being made durable.
    const node = start((h) => {
      if (h.round === 2) for (const voter of [2, 3]) node.vote(node.headers(1)[0], voter);
    });
    node.batch(digest(1));
    await waitFor("our round-1 header", () => node.headers(1).length > 0);
    const h1 = node.headers(1)[0];
    expect(h1.payload.map(hex)).to.deep.equal([hex(digest(1))]);
    node.vote(h1, 1); // with ours, two votes of the three needed
    node.batch(digest(2));
    node.others(1, roots);
    await waitFor("our round-2 header", () => node.headers(2).length > 0);
    expect(node.headers(2)[0].payload.map(hex)).to.have.members([hex(digest(1)), hex(digest(2))]);
    expect(node.ownCertificates(), "rounds of our certificates broadcast").to.deep.equal([]);
  });

  it("a payload moved into a full next header goes first and overflows into the one after, never above maxHeaderBatches (10 here)", async () => {
    const node = start();
    node.batch(digest(1));
    await waitFor("our round-1 header", () => node.headers(1).length > 0);
    // Round 1 is never certified; ten more batches fill the round-2 header before its payload moves in.
    for (let n = 2; n <= 11; n++) node.batch(digest(n));
    const roundOne = node.others(1, roots);
    await waitFor("our round-2 header", () => node.headers(2).length > 0);
    const h2 = node.headers(2)[0];
    expect(h2.payload).to.have.length(10);
    for (const voter of [1, 2, 3]) node.vote(h2, voter);
    node.others(2, roundOne);
    await waitFor("our round-3 header", () => node.headers(3).length > 0);
    const h3 = node.headers(3)[0];
    expect(h3.payload).to.have.length(1);
    // In the order the batches were made: the moved one first, the newest waits.
    const proposed = [...h2.payload, ...h3.payload].map(hex);
    expect(proposed).to.deep.equal(Array.from({ length: 11 }, (_, i) => hex(digest(i + 1))));
  });

  it("after a restart, a last header whose certificate was not stored keeps its payload until it is dead, then it is proposed again", async () => {
    // Killed after broadcasting the certificate of its round-1 header, before writing it: the
    // store holds the header (primary.log), not the certificate, which the peers may commit.
    const first = start();
    first.batch(digest(1));
    await waitFor("our round-1 header", () => first.headers(1).length > 0);
    primary!.stop();
    await store!.close();

    const node = start();
    expect(primary!.round).to.equal(1);
    node.batch(digest(2));
    const roundOne = node.others(1, roots);
    await waitFor("our round-2 header", () => node.headers(2).length > 0);
    const h2 = node.headers(2)[0];
    expect(h2.payload.map(hex)).to.deep.equal([hex(digest(2))]);

    // A commit at leader round 6 (GC round 1) without it: the round-1 header can no longer commit.
    primary!.onCommitted(1 + GC_DEPTH, []);
    for (const voter of [1, 2, 3]) node.vote(h2, voter);
    node.others(2, roundOne);
    await waitFor("our round-3 header", () => node.headers(3).length > 0);
    expect(node.headers(3)[0].payload.map(hex)).to.deep.equal([hex(digest(1))]);
  });

  it("after a restart, every header of ours that may still commit keeps its payload: each batch is proposed again once its header dies, and committed exactly once", async () => {
    // Consensus as the node runs it: a real Bullshark over what the primary accepts, each commit
    // recorded in the store (a restart resumes from the last one) and handed to the primary.
    let bullshark: Bullshark | undefined;
    let persisted = Promise.resolve();
    const commits = new Map<string, number>(); // node 0's batches, by digest: times committed
    const consensus = (c: Certificate, p: Primary): void => {
      bullshark ??= new Bullshark(committee, GC_DEPTH, store!.lastBullsharkState());
      const s = store!;
      for (const sub of bullshark.processCertificate(c)) {
        for (const d of sub.certificates.flatMap((x) => (x.header.author === 0 ? x.header.payload : []))) commits.set(hex(d), (commits.get(hex(d)) ?? 0) + 1);
        persisted = persisted.then(() => s.recordCommit(sub, []));
        p.onCommitted(sub.leader.header.round, sub.certificates);
      }
      p.setGcRound(bullshark.gcRound);
    };
    const own = new Map<number, Header>(); // our header of each round
    let node = start(undefined, consensus);
    /** Waits for our header of `round` and certifies it (our vote and those of nodes 1 and 2). */
    const certifyOurs = async (round: number): Promise<void> => {
      await waitFor(`our round-${round} header`, () => node.headers(round).length > 0);
      const h = node.headers(round)[0];
      own.set(round, h);
      for (const voter of [1, 2]) node.vote(h, voter);
      await waitFor(`our round-${round} certificate`, () => node.ownCertificates().includes(round));
    };
    // Nodes 1-3 at `round`: while we are slow (up to round 11) their certificates leave ours out,
    // so ours are not committed and die at GC; from round 12 on they reference ours too.
    let others = roots;
    const step = (round: number): void => {
      node.batch(digest(round + 1)); // the fresh batch of our next header
      const ours = round > 11 ? [makeCertificate(own.get(round - 1)!, []).digest] : [];
      others = node.others(round, [...others, ...ours]);
    };

    node.batch(digest(1));
    for (let round = 1; round <= 3; round++) {
      await certifyOurs(round);
      if (round < 3) step(round);
    }
    // Killed with three headers of ours certified, none committed (no leader committed yet).
    expect(commits.size).to.equal(0);
    primary!.stop();
    await persisted;
    await store!.close();
    bullshark = undefined;

    // Restarted: the leaders of nodes 1-3 commit without our certificates, so the GC round passes
    // our headers of rounds 1-3 (at the commit of round 6 the first, of round 10 the others).
    node = start(undefined, consensus);
    expect(primary!.round).to.equal(3);
    const wanted = Array.from({ length: 11 }, (_, i) => hex(digest(i + 1))); // the batches of rounds 1-11
    step(3);
    for (let round = 4; !wanted.every((k) => commits.has(k)); round++) {
      expect(round, `batches never committed: ${wanted.filter((k) => !commits.has(k)).map((k) => parseInt(k.slice(0, 8), 16))}`).to.be.at.most(40);
      await certifyOurs(round);
      step(round);
    }
    for (const [k, n] of commits) expect(n, `batch ${parseInt(k.slice(0, 8), 16)} committed ${n} times`).to.equal(1);
    await persisted;
  });
});
