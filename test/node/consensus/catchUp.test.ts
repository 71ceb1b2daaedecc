/**
 * Catch-up by round range (docs/consensus.md "Catch-up") when a round below the highest one held
 * is incomplete: node 0 holds a certificate of round 2 but not one of round 1 that another round-2
 * certificate needs, as a restart can leave it. Peers answer requests by digest from memory only,
 * and that round is past their GC, so only a range reaching round 1 brings it. Real store, real
 * signatures; the network is a stand-in for the peers: it answers a range request with every
 * certificate of those rounds and ignores requests by digest.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Primary } from "../../../node/consensus/primary/primary";
import { Certificate, genesis, makeCertificate, signHeader, signVote } from "../../../node/consensus/types/messages";
import { encodePrimary, PrimaryMessage } from "../../../node/consensus/types/wire";
import { ConsensusStore } from "../../../node/storage/consensusStore";
import { testCommittee } from "./dagFixtures";
import { standInPrimary } from "./standInPrimary";
import { waitFor } from "./cluster";

describe("Primary: catch-up below the highest round held", function () {
  this.timeout(30_000);
  const { committee, keys } = testCommittee(4);
  let dir = "";
  let store: ConsensusStore | undefined;
  let primary: Primary | undefined;
  afterEach(async () => {
    primary?.stop();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A certificate of `author` at `round` on `parents`, with the votes of the three others. */
  function certificate(round: number, author: number, parents: Certificate[]): Certificate {
    const header = signHeader(
      { epoch: committee.epoch, round, author, createdAt: Date.now(), payload: [], parents: parents.map((p) => p.digest) },
      keys[author],
      committee.domain,
    );
    const voters = [0, 1, 2, 3].filter((v) => v !== author).slice(0, 3);
    return makeCertificate(
      header,
      voters.map((voter) => ({ voter, signature: signVote(header, voter, keys[voter], committee.domain).signature })),
    );
  }

  it("asks for the rounds from the lowest missing parent, not from the highest round held, and catches up", async () => {
    // Round 1: all four. Round 2: X on 0, 1, 2 (node 0 holds all three), Y on 1, 2, 3 (3's is the
    // one node 0 misses). Rounds 3-10 on every certificate of the round below: all need Y.
    const roots = genesis(committee);
    const round1 = [0, 1, 2, 3].map((a) => certificate(1, a, roots));
    const x = certificate(2, 1, [round1[0], round1[1], round1[2]]);
    const y = certificate(2, 2, [round1[1], round1[2], round1[3]]);
    const rounds: Certificate[][] = [round1, [x, y]];
    for (let r = 3; r <= 10; r++) rounds.push([1, 2, 3].map((a) => certificate(r, a, rounds[r - 2])));
    const all = rounds.flat();

    dir = fs.mkdtempSync(path.join(os.tmpdir(), "catch-up-"));
    const s = (store = new ConsensusStore(dir, committee.epoch, { gcDepth: 50 }));
    const ranges: { from: number; to: number }[] = [];
    const reply = (m: PrimaryMessage) => {
      if (m.kind !== "certificates-range") return; // by digest: not in the peers' memory any more
      ranges.push({ from: m.from, to: m.to });
      const found = all.filter((c) => c.header.round >= m.from && c.header.round <= m.to);
      setImmediate(() => deliver(1, encodePrimary({ kind: "certificates", certificates: found })));
    };
    const node = standInPrimary(committee, keys, s, 50, reply);
    primary = node.primary;
    const deliver = node.deliver;

    // What node 0 held when it stopped, then the live certificates of the others.
    for (const c of [round1[0], round1[1], round1[2], x, y, ...rounds.slice(2).flat()]) deliver(1, encodePrimary({ kind: "certificate", certificate: c }));
    const last = rounds[9][0];
    await waitFor(
      "node 0 holds round 10",
      () => s.hasCertificate(last.digest),
      5_000,
      () => ranges,
    );
    expect(s.hasCertificate(round1[3].digest)).to.equal(true);
    expect(ranges[0].from, "the first range reaches round 1").to.equal(1);
  });
});
