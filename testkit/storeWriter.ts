/**
 * A process that runs a ConsensusStore as a node would until it is killed, for crash tests
 * (test/node/consensus/storage.test.ts): it stores the certificates of a fixed DAG (rounds of
 * four members with fixed keys, so every run builds the same one; in every other stretch of ten
 * rounds, and the last ten, members 1-3 leave member 0's certificates out, so several of its
 * headers wait uncommitted) and a batch with each (stored
 * first, as a batch is before a header lists it), records Bullshark's commits (each delivering its certificates' batches)
 * and compacts at each GC with small segments, continuing from what the store recovers. It also
 * votes for every certificate's header (author 0's being its own) before storing it, as the
 * primary does, with a small primary.log that is rewritten often. Prints `committed <index>` once
 * a commit is written to the OS, `voted <round>` once the round's votes are durable, and `done`
 * after the last round.
 *
 *   node --import tsx testkit/storeWriter.ts <dataDir>
 */
import { Bullshark } from "../node/consensus/bullshark/bullshark";
import { batchDigest, encodeBatch } from "../node/consensus/types/messages";
import { ConsensusStore, type StoreOptions } from "../node/storage/consensusStore";
import { DagBuilder, testCommittee } from "../test/node/consensus/dagFixtures";

/** What the writer and the test that checks it share. */
export const STORE_WRITER = {
  rounds: 300,
  seed: 7,
  options: { gcDepth: 2, retainRounds: 6, segmentBytes: 4096, logSegmentBytes: 2048, primaryLogBytes: 2048 } satisfies StoreOptions,
};

/** The batch the writer stores with the certificate of `author` at `round`. */
export function writerBatch(round: number, author: number): Buffer {
  return encodeBatch([Buffer.from(`round ${round} author ${author}`), Buffer.alloc(400)]);
}

/** The DAG the writer stores, certificates in round order. */
export function writerDag(): DagBuilder {
  const { committee, keys } = testCommittee(4, 1, STORE_WRITER.seed);
  const dag = new DagBuilder(committee, keys);
  for (let round = 1; round <= STORE_WRITER.rounds; round++) {
    dag.add(round, 0);
    for (const author of [1, 2, 3]) dag.add(round, author, round % 20 >= 10 || round > STORE_WRITER.rounds - 10 ? [1, 2, 3] : undefined);
  }
  return dag;
}

async function main(): Promise<void> {
  const dag = writerDag();
  const { gcDepth } = STORE_WRITER.options;
  const store = new ConsensusStore(process.argv[2], 1, STORE_WRITER.options);
  const bullshark = new Bullshark(dag.committee, gcDepth, store.lastBullsharkState());
  const accept = async (c: ReturnType<DagBuilder["get"]>) => {
    for (const sub of bullshark.processCertificate(c)) {
      const batches = sub.certificates.map(({ header: h }) => ({
        digest: batchDigest(writerBatch(h.round, h.author)),
        author: h.author,
        round: h.round,
        createdAt: h.createdAt,
      }));
      await store.recordCommit(sub, batches);
      process.stdout.write(`committed ${sub.index}\n`);
    }
    store.pruneBelow(bullshark.gcRound - gcDepth);
    store.compact({ gcRound: bullshark.gcRound, deliveredIndex: store.lastCommitIndex, ownUncommitted: () => false });
  };
  // As the primary does at start: the recovered certificates first, then the rest of the DAG
  // (from the highest round recovered: a crash may have cut that round short).
  const recovered = store.takeRecovered();
  for (const c of recovered) await accept(c);
  const from = Math.max(bullshark.gcRound + 1, ...recovered.map((c) => c.header.round));
  for (const c of dag.all()) {
    if (c.header.round < from || store.hasCertificate(c.digest)) continue;
    // The round's records share an fsync; the last member's resolves once all are durable.
    if (c.header.author === 0) void store.recordOwnHeader(c.header);
    const voted = store.recordVote(c.header.author, c.header.round, c.header.id);
    if (c.header.author === 3) {
      await voted;
      process.stdout.write(`voted ${c.header.round}\n`);
    }
    // A batch with each, so batch segments fill and are compacted (retainedFrom moves with them).
    const batch = writerBatch(c.header.round, c.header.author);
    await store.putBatch(batchDigest(batch), batch);
    store.putCertificate(c);
    await accept(c);
  }
  process.stdout.write("done\n");
  await store.close();
}

// Only when run as a process: the test imports the DAG and options from here.
if (process.argv[1]?.endsWith("storeWriter.ts")) void main();
