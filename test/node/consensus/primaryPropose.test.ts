/**
 * The primary's proposal of its next header (docs/consensus.md "Re-proposing own batches"): the
 * payload of a header of ours never certified moves into the next header, so the old header must
 * not be certified after that, or both commit. Votes for it can still arrive while the next header
 * is being written to primary.log (an fsync); here they arrive exactly then. Real store, real
 * signatures; the network is a stand-in that records what the primary sends and delivers the
 * peers' frames.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Primary } from "../../../node/consensus/primary/primary";
import { Certificate, Digest, genesis, Header, hex, makeCertificate, signHeader, signVote } from "../../../node/consensus/types/messages";
import { decodePrimary, encodePrimary, PrimaryMessage } from "../../../node/consensus/types/wire";
import { PeerNetwork } from "../../../node/network/peerNetwork";
import { ConsensusStore } from "../../../node/storage/consensusStore";
import { Worker } from "../../../node/consensus/worker/worker";
import { Logger } from "../../../node/logger";
import { testCommittee } from "./dagFixtures";
import { waitFor } from "./cluster";

function digest(n: number): Digest {
  const d = Buffer.alloc(32);
  d.writeUInt32BE(n);
  return d;
}

describe("Primary: proposing the next header", function () {
  this.timeout(30_000);
  const { committee, keys } = testCommittee(4);
  let dir: string | undefined;
  let store: ConsensusStore | undefined;
  let primary: Primary | undefined;
  afterEach(async () => {
    primary?.stop();
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a header whose payload moved into the next one is not certified by votes arriving while the next one is written", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "primary-propose-"));
    const s = (store = new ConsensusStore(dir, committee.epoch, { gcDepth: 5 }));
    const sent: PrimaryMessage[] = [];
    let deliver: (from: number, frame: Buffer) => void = () => {};
    const network = {
      onFrame: (h: typeof deliver) => void (deliver = h),
      broadcast: (frame: Buffer) => void sent.push(decodePrimary(frame)),
      send: (_to: number, frame: Buffer) => sent.push(decodePrimary(frame)) > 0,
      pending: () => 0,
    };
    const worker = { onOwnBatch: (_d: Digest) => {}, fetch: async () => true, setRounds: () => {} };
    const ownHeader = (round: number): Header | undefined => sent.flatMap((m) => (m.kind === "header" && m.header.round === round ? [m.header] : []))[0];
    const vote = (h: Header, voter: number): void => deliver(voter, encodePrimary({ kind: "vote", vote: signVote(h, voter, keys[voter], committee.domain) }));

    // Votes for our round-1 header that arrive while the round-2 header is being made durable.
    const record = s.recordOwnHeader.bind(s);
    s.recordOwnHeader = (h: Header): Promise<void> => {
      if (h.round === 2) for (const voter of [2, 3]) vote(ownHeader(1)!, voter);
      return record(h);
    };
    const p = (primary = new Primary({
      committee,
      me: 0,
      key: keys[0],
      network: network as unknown as PeerNetwork,
      store: s,
      worker: worker as unknown as Worker,
      logger: new Logger({}, 100),
      headerBatches: 1,
      maxHeaderBatches: 10,
      maxHeaderDelayMs: 60_000,
      headerResendMs: 60_000,
      syncRetryMs: 60_000,
      maxFrame: 1 << 20,
      gcDepth: 5,
    }));

    worker.onOwnBatch(digest(1));
    await waitFor("our round-1 header", () => ownHeader(1) !== undefined);
    const h1 = ownHeader(1)!;
    expect(h1.payload.map(hex)).to.deep.equal([hex(digest(1))]);
    vote(h1, 1); // with ours, two votes of the three needed

    // The others' round-1 certificates let us propose round 2 (one batch waiting).
    worker.onOwnBatch(digest(2));
    const parents = genesis(committee).map((c) => c.digest);
    for (const author of [1, 2, 3]) {
      const h = signHeader({ epoch: committee.epoch, round: 1, author, createdAt: Date.now(), payload: [], parents }, keys[author], committee.domain);
      const cert: Certificate = makeCertificate(
        h,
        [1, 2, 3].map((voter) => ({ voter, signature: signVote(h, voter, keys[voter], committee.domain).signature })),
      );
      deliver(author, encodePrimary({ kind: "certificate", certificate: cert }));
    }
    await waitFor("our round-2 header", () => ownHeader(2) !== undefined);
    expect(ownHeader(2)!.payload.map(hex)).to.have.members([hex(digest(1)), hex(digest(2))]);
    const ownCertificates = sent.flatMap((m) => (m.kind === "certificate" && m.certificate.header.author === 0 ? [m.certificate.header.round] : []));
    expect(ownCertificates, "rounds of our certificates broadcast").to.deep.equal([]);
    expect(p.round).to.equal(2);
  });
});
