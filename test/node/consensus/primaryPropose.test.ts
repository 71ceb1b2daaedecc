/**
 * The primary's proposal of its next header (docs/consensus.md "Re-proposing own batches"): the
 * payload of a header of ours never certified moves into the next header, so the old header must
 * not be certified after that, or both commit; and after a restart, a last header whose
 * certificate was not stored may be certified at the peers, so its payload must not move. Real
 * store, real signatures; the network is a stand-in that records what the primary sends and
 * delivers the peers' frames.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
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
  function start(beforeOwnHeader: (h: Header) => void = () => {}) {
    const s = (store = new ConsensusStore(dir, committee.epoch, { gcDepth: GC_DEPTH }));
    const sent: PrimaryMessage[] = [];
    const record = s.recordOwnHeader.bind(s);
    s.recordOwnHeader = (h: Header): Promise<void> => {
      beforeOwnHeader(h);
      return record(h);
    };
    const node = standInPrimary(committee, keys, s, GC_DEPTH, (m) => void sent.push(m));
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
});
