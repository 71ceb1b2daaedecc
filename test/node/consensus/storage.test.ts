import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AppendLog, LogDamage } from "../../../node/storage/appendLog";
import { ConsensusStore, PrimaryLogCorrupt, SequenceCompacted } from "../../../node/storage/consensusStore";
import { DigestIndex } from "../../../node/storage/digestIndex";
import { SegmentDamage, SegmentedLog, segmentFile } from "../../../node/storage/segmentedLog";
import { spawn } from "node:child_process";
import { Bullshark } from "../../../node/consensus/bullshark/bullshark";
import {
  batchDigest,
  Certificate,
  decodeCertificate,
  encodeBatch,
  encodeCertificate,
  hex,
  makeCertificate,
  signHeader,
} from "../../../node/consensus/types/messages";
import { DagBuilder, testCommittee } from "./dagFixtures";
import { STORE_WRITER, writerBatch, writerDag } from "../../../testkit/storeWriter";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "consensus-store-"));
}

/**
 * Runs `testkit/<script>` with `args` and SIGKILLs it at a random moment, once it has printed
 * `<word> <n>` `target` times (calling `onLine(n)` for each, and `others[w](n)` for each `<w> <n>`);
 * rejects if it exits first.
 */
async function killMidway(
  script: string,
  args: string[],
  word: string,
  target: number,
  onLine: (n: number) => void,
  others: Record<string, (n: number) => void> = {},
): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../../../testkit", script), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let seen = 0;
  child.stdout.on("data", (d: Buffer) => {
    for (const m of d.toString().matchAll(new RegExp(`${word} (\\d+)`, "g"))) {
      onLine(Number(m[1]));
      seen++;
    }
    for (const [other, on] of Object.entries(others)) for (const m of d.toString().matchAll(new RegExp(`${other} (\\d+)`, "g"))) on(Number(m[1]));
  });
  const exited = new Promise((r) => child.once("exit", r));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (seen < target && child.exitCode === null) return;
      clearInterval(t);
      if (child.exitCode !== null) reject(new Error(`${script} exited (${child.exitCode}) before it was killed`));
      child.kill("SIGKILL");
      resolve();
    }, 5);
  });
  await exited;
}

describe("AppendLog", () => {
  it("replays records in order and reads them back by location", async () => {
    const file = path.join(tempDir(), "a.log");
    const log = AppendLog.open(file, () => expect.fail("new log has no records"));
    const records = Array.from({ length: 50 }, (_, i) => Buffer.alloc(i * 7 + 1, i));
    const locations = records.map((r) => log.append(r));
    await log.sync();
    expect(log.read(locations[30]).equals(records[30])).to.equal(true);
    await log.close();
    const replayed: Buffer[] = [];
    await AppendLog.open(file, (p) => void replayed.push(p)).close();
    expect(replayed).to.deep.equal(records);
  });

  it("drops a torn or corrupt tail after a crash and keeps appending after the last good record", async () => {
    const file = path.join(tempDir(), "b.log");
    const log = AppendLog.open(file, () => {});
    log.append(Buffer.from("first"));
    log.append(Buffer.from("second"));
    await log.close();
    const good = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3])); // a record cut mid-write
    const again = AppendLog.open(file, () => {});
    expect(fs.statSync(file).size).to.equal(good);
    again.append(Buffer.from("third"));
    await again.close();
    // Flip one payload byte of "second": its CRC fails, so it and everything after are dropped.
    const bytes = fs.readFileSync(file);
    bytes[8 + 5 + 8] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const seen: string[] = [];
    await AppendLog.open(file, (p) => void seen.push(p.toString())).close();
    expect(seen).to.deep.equal(["first"]);
  });

  it("reports where the damage starts, cuts the file there and replays records appended after it", async () => {
    const file = path.join(tempDir(), "c.log");
    const log = AppendLog.open(file, () => {});
    for (const r of ["one", "two", "three"]) log.append(Buffer.from(r));
    await log.close();
    const damage: LogDamage[] = [];
    const open = (): string[] => {
      const seen: string[] = [];
      void AppendLog.open(file, (p) => void seen.push(p.toString()), { onDamage: (d) => void damage.push(d) }).close();
      return seen;
    };
    const bytes = fs.readFileSync(file);
    bytes[8 + 3 + 8] ^= 0xff; // a payload byte of "two", mid-file
    fs.writeFileSync(file, bytes);
    expect(open()).to.deep.equal(["one"]);
    expect(damage).to.deep.equal([{ kind: "corrupt", offset: 11, dropped: bytes.length - 11 }]);
    expect(fs.statSync(file).size, "cut at the bad record").to.equal(11);
    const again = AppendLog.open(file, () => {});
    again.append(Buffer.from("four"));
    await again.close();
    damage.length = 0;
    expect(open(), "the new record is not hidden behind the bad one").to.deep.equal(["one", "four"]);
    expect(damage).to.deep.equal([]);

    // A record cut short by a crash is torn; a complete one whose length field changed is not,
    // nor is a zeroed header (no record is empty).
    const good = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    expect(open()).to.deep.equal(["one", "four"]);
    expect(damage).to.deep.equal([{ kind: "torn", offset: good, dropped: 7 }]);
    const whole = fs.readFileSync(file);
    whole[11] += 1; // "four" now claims 5 bytes
    fs.writeFileSync(file, whole);
    damage.length = 0;
    expect(open()).to.deep.equal(["one"]);
    expect(damage).to.deep.equal([{ kind: "corrupt", offset: 11, dropped: 12 }]);
    fs.appendFileSync(file, Buffer.alloc(16));
    damage.length = 0;
    expect(open()).to.deep.equal(["one"]);
    expect(damage).to.deep.equal([{ kind: "corrupt", offset: 11, dropped: 16 }]);
  });

  it("calls a record before the last corrupt, not torn, when a changed byte of its length runs it past the end", async () => {
    const file = path.join(tempDir(), "l.log");
    const log = AppendLog.open(file, () => {});
    for (const r of ["one", "two", "three", "four"]) log.append(Buffer.from(r));
    await log.close();
    const intact = fs.readFileSync(file);
    // "two"'s header is at 11: its length 3 as bytes 03 00 00 00; the file is 47 bytes.
    for (const [byte, value] of [
      [0, 0xfc],
      [0, 40],
      [1, 0xff],
      [2, 0x01],
      [3, 0x80],
    ]) {
      const bytes = Buffer.from(intact);
      bytes[11 + byte] = value;
      fs.writeFileSync(file, bytes);
      const damage: LogDamage[] = [];
      const seen: string[] = [];
      void AppendLog.open(file, (p) => void seen.push(p.toString()), { onDamage: (d) => void damage.push(d) }).close();
      expect(seen, `byte ${byte} = ${value}`).to.deep.equal(["one"]);
      expect(damage, `byte ${byte} = ${value}`).to.deep.equal([{ kind: "corrupt", offset: 11, dropped: 36 }]);
    }
  });
});

describe("SegmentedLog", () => {
  /** Record i: u32 i, then i bytes of padding (so lengths differ), at least 4 + 100 bytes. */
  const record = (i: number) => {
    const p = Buffer.alloc(104 + (i % 7) * 50, i % 256);
    p.writeUInt32LE(i, 0);
    return p;
  };
  const SEG = 1_000;
  /** Opens `dir`'s log, returning the sequence numbers replayed and the damage reported. */
  const reopen = (dir: string, segmentBytes = SEG) => {
    const seqs: number[] = [];
    const damage: SegmentDamage[] = [];
    const log = SegmentedLog.open(dir, "batches", (p) => void seqs.push(p.readUInt32LE(0)), {
      segmentBytes,
      fsync: false,
      onDamage: (d) => damage.push(d),
    });
    return { log, seqs, damage };
  };
  const filled = async (n: number) => {
    const dir = tempDir();
    const { log } = reopen(dir);
    const at = Array.from({ length: n }, (_, i) => log.append(record(i)));
    await log.sync();
    return { dir, log, at };
  };
  const segments = (dir: string) =>
    fs
      .readdirSync(dir)
      .filter((f) => /^batches-\d{16}\.log$/.test(f))
      .sort();
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it("rotates into segments, reads across them by offset, deletes whole segments below an offset, and keeps offsets over a reopen", async () => {
    const { dir, log, at } = await filled(40);
    const files = segments(dir);
    expect(files.length).to.be.greaterThan(4);
    for (const [i, a] of at.entries()) expect(log.read(a)?.equals(record(i))).to.equal(true);
    // Each segment starts where the previous one ended: its name is its first byte's offset.
    let base = 0;
    for (const f of files) {
      expect(f).to.equal(path.basename(segmentFile(dir, "batches", base)));
      base += fs.statSync(path.join(dir, f)).size;
    }
    expect(base).to.equal(log.length);
    // Delete below record 20: only the segments that end at or before it go.
    const cut = at[20].offset - 8;
    const start = await log.deleteBelow(cut);
    expect(start).to.be.at.most(cut);
    expect(segments(dir).length).to.be.lessThan(files.length);
    const firstKept = at.findIndex((a) => a.offset >= start);
    for (const [i, a] of at.entries()) expect(log.read(a)?.equals(record(i)) ?? false).to.equal(i >= firstKept);
    const more = log.append(record(40));
    await log.close();
    const again = reopen(dir);
    expect(again.damage).to.deep.equal([]);
    expect(again.seqs).to.deep.equal(range(firstKept, 41));
    expect(again.log.start).to.equal(start);
    expect(again.log.read(more)?.equals(record(40))).to.equal(true);
    expect(again.log.readRecordAt(at[firstKept].offset - 8)?.payload.equals(record(firstKept))).to.equal(true);
    await again.log.close();
  });

  it("opens after a crash mid-rotation (empty new segment) or mid-deletion (older segments partly gone)", async () => {
    const { dir, log } = await filled(30);
    const end = log.length;
    await log.close();
    fs.writeFileSync(segmentFile(dir, "batches", end), ""); // created, nothing written
    let o = reopen(dir);
    expect(o.damage).to.deep.equal([]);
    expect(o.seqs).to.deep.equal(range(0, 30));
    o.log.append(record(30));
    await o.log.close();
    // Deletion runs oldest first: a crash leaves the newer segments.
    const [first, second] = segments(dir);
    fs.rmSync(path.join(dir, first));
    o = reopen(dir);
    expect(o.damage).to.deep.equal([]);
    expect(o.log.start).to.equal(Number(second.slice(8, 24)));
    expect(o.seqs.at(-1)).to.equal(30);
    expect(o.seqs).to.deep.equal(range(o.seqs[0], 31));
    await o.log.close();
  });

  it("cuts at a torn or corrupt record of an older segment and deletes every later segment, as one file would be cut", async () => {
    const { dir, log } = await filled(40);
    await log.close();
    const files = segments(dir);
    const victim = path.join(dir, files[1]);
    const size = fs.statSync(victim).size;
    const laterBytes = files.slice(2).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    fs.truncateSync(victim, size - 3); // the tail a power loss did not persist
    const o = reopen(dir);
    expect(o.damage).to.have.length(1);
    expect(o.damage[0]).to.include({ file: victim, kind: "torn" });
    expect(o.damage[0].dropped).to.equal(size - 3 - o.damage[0].offset + laterBytes);
    expect(segments(dir)).to.deep.equal(files.slice(0, 2));
    expect(o.seqs).to.deep.equal(range(0, o.seqs.length));
    o.log.append(record(o.seqs.length));
    await o.log.close();
    const again = reopen(dir);
    expect(again.damage).to.deep.equal([]);
    expect(again.seqs).to.deep.equal(range(0, o.seqs.length + 1));
    await again.log.close();

    // A segment missing in the middle: the later ones go too.
    const { dir: dir2, log: log2 } = await filled(40);
    await log2.close();
    const files2 = segments(dir2);
    fs.rmSync(path.join(dir2, files2[2]));
    const o2 = reopen(dir2);
    expect(o2.damage.map((d) => [path.basename(d.file), d.kind])).to.deep.equal([[files2[1], "torn"]]);
    expect(segments(dir2)).to.deep.equal(files2.slice(0, 2));
    await o2.log.close();
  });

  it("survives SIGKILLs of a writer that rotates and deletes segments: consecutive records, nothing written to the OS lost", async function () {
    this.timeout(120_000);
    const WRITER_SEG = 20 * SEG;
    const dir = tempDir();
    let synced = -1;
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      // Killed at a random moment once it has written a while (rotations and deletions under way).
      await killMidway("segmentWriter.ts", [dir, String(WRITER_SEG)], "synced", 20 + Math.floor(Math.random() * 200), (n) => (synced = Math.max(synced, n)));
      kills++;
      const o = reopen(dir, WRITER_SEG);
      expect(
        o.damage.filter((d) => d.kind !== "torn"),
        "only a torn tail",
      ).to.deep.equal([]);
      expect(o.seqs.length).to.be.greaterThan(0);
      expect(o.seqs, "consecutive").to.deep.equal(range(o.seqs[0], o.seqs[0] + o.seqs.length));
      expect(o.seqs.at(-1)!, "nothing written to the OS lost").to.be.at.least(synced);
      expect(segments(dir).length, "old segments deleted (3 segments of bytes kept, spread over up to 6 files)").to.be.at.most(6);
      await o.log.close();
    }
    expect(kills).to.equal(6);
  });
});

describe("DigestIndex", () => {
  it("finds every digest added across growths, checks hits against the full digest, and misses the rest", () => {
    const file = path.join(tempDir(), "d.idx");
    const index = new DigestIndex(file);
    const digests = Array.from({ length: 5000 }, (_, i) => batchDigest(Buffer.from(`batch-${i}`)));
    const full = new Map<number, Buffer>(); // offset → digest, what a log would hold there
    digests.forEach((d, i) => {
      index.add(d, i * 100);
      full.set(i * 100, d);
    });
    // A digest with the same first 8 bytes as another (an author grinding them) at another offset.
    const twin = Buffer.concat([digests[7].subarray(0, 8), Buffer.alloc(24, 1)]);
    index.add(twin, 1);
    full.set(1, twin);
    const lookup = (d: Buffer) => index.get(d, (offset) => full.get(offset)!.equals(d));
    let found = 0;
    for (const [i, d] of digests.entries()) if (lookup(d) === i * 100) found++;
    expect(found).to.equal(5000);
    expect(lookup(twin)).to.equal(1);
    expect(index.size).to.equal(5001);
    expect(fs.statSync(file).size, "doubled from 1,024 slots to keep it at most half full").to.equal(16 * 16_384);
    let missed = 0;
    for (let i = 0; i < 1000; i++) if (lookup(batchDigest(Buffer.from(`absent-${i}`))) === undefined) missed++;
    expect(missed).to.equal(1000);
    index.close();
  });
});

describe("ConsensusStore", () => {
  it("survives a restart with certificates, batches, votes, own header and commits", async () => {
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 3, [0, 1, 2, 3]);
    const store = new ConsensusStore(dir, 1);
    for (const c of dag.all()) store.putCertificate(c);
    const batch = encodeBatch([Buffer.from("tx-a"), Buffer.from("tx-b")]);
    const digest = batchDigest(batch);
    await store.putBatch(digest, batch);
    store.releaseBatch(digest); // later reads come from disk
    const header = signHeader({ epoch: 1, round: 4, author: 0, createdAt: 9, payload: [digest], parents: [] }, keys[0], committee.domain);
    await store.recordOwnHeader(header);
    await store.recordVote(2, 3, dag.get(3, 2).header.id);
    const bullshark = new Bullshark(committee, 50);
    const subs = dag.all().flatMap((c) => bullshark.processCertificate(c));
    expect(subs).to.have.length(1);
    const delivered = [{ digest, author: 1, round: 2, createdAt: 7 }];
    await store.recordCommit(subs[0], delivered);
    await store.close();

    const reopened = new ConsensusStore(dir, 1);
    expect(reopened.takeRecovered().map((c) => c.digest)).to.deep.equal(dag.all().map((c) => c.digest));
    expect(reopened.takeRecovered()).to.deep.equal([], "handed out once");
    // Pruned from memory, still served from disk by round range.
    reopened.pruneBelow(3);
    const old = dag.get(1, 2);
    expect(reopened.hasCertificate(old.digest)).to.equal(false);
    expect(reopened.stats().certificates).to.equal(4, "round 3 only");
    expect(reopened.certificatesInRounds(1, 2, 1 << 20, 1 << 20).map((c) => c.digest)).to.deep.equal(
      dag
        .all()
        .slice(0, 8)
        .map((c) => c.digest),
    );
    expect(reopened.certificatesInRounds(2, 2, 1, 1 << 20), "stops at the byte bound").to.have.length(1);
    expect((await reopened.getBatch(digest))?.equals(batch)).to.equal(true);
    expect(reopened.lastOwnHeader()?.id).to.deep.equal(header.id);
    expect(reopened.lastVote(2)).to.deep.equal({ round: 3, headerId: dag.get(3, 2).header.id });
    expect(reopened.lastVote(1)).to.equal(undefined);
    expect(reopened.lastBullsharkState()).to.deep.equal(bullshark.state());
    expect([...reopened.commitsFrom(1)]).to.deep.equal([{ index: 1, leaderRound: 2, batches: delivered }]);
    expect(reopened.takeRecentDeliveries()).to.deep.equal(new Map([[digest.toString("hex"), 2]]));
    await reopened.close();
  });

  it("bounds primary.log over many rounds with commits: rewritten to the last vote per author and the own headers that may still commit, which a reopen restores", async () => {
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const file = path.join(dir, "epoch-1", "primary.log");
    const GC_DEPTH = 6;
    const options = { gcDepth: GC_DEPTH, primaryLogBytes: 8192 };
    let store = new ConsensusStore(dir, 1, options);
    // Node 0 proposes every round; in some stretches (and at the end) the others leave its
    // certificates out, so its headers wait for the GC round instead of being committed.
    const dag = new DagBuilder(committee, keys);
    const bullshark = new Bullshark(committee, GC_DEPTH);
    const slow = (round: number) => round > 290 || round % 50 >= 30;
    let largest = 0;
    let size = 0;
    let mostLive = 0;
    let rewrites = 0;
    for (let round = 1; round <= 300; round++) {
      const ours = dag.add(round, 0, undefined, [Buffer.alloc(32, round % 251)]);
      await store.recordOwnHeader(ours.header);
      for (const author of [1, 2, 3]) {
        const c = dag.add(round, author, slow(round) ? [1, 2, 3] : undefined);
        await store.recordVote(author, round, c.header.id);
      }
      for (const c of [ours, ...[1, 2, 3].map((a) => dag.get(round, a))]) for (const sub of bullshark.processCertificate(c)) await store.recordCommit(sub, []);
      const grown = fs.statSync(file).size;
      largest = Math.max(largest, grown);
      if (grown < size) {
        // Just rewritten: a restart finds in it every header of ours that may still commit.
        rewrites++;
        const before = store.ownHeaders().map((h) => hex(h.id));
        await store.close();
        store = new ConsensusStore(dir, 1, options);
        expect(
          store.ownHeaders().map((h) => hex(h.id)),
          `reopened after the rewrite at round ${round}`,
        ).to.deep.equal(before);
      }
      size = grown;
      // Ours that may still commit: above our last committed round and the GC round.
      const live = Math.max(bullshark.state().lastCommitted[0], bullshark.gcRound);
      const rounds = Array.from({ length: round - live }, (_, i) => live + 1 + i);
      expect(
        store.ownHeaders().map((h) => h.round),
        `round ${round}`,
      ).to.deep.equal(rounds);
      mostLive = Math.max(mostLive, rounds.length);
    }
    expect(mostLive, "rounds with several headers of ours alive").to.be.at.least(GC_DEPTH);
    expect(rewrites, "rewrites of primary.log").to.be.at.least(5);
    // 300 rounds of records are ~130 KB: rewritten, never past the bound and a round's records.
    expect(largest, "primary.log bounded").to.be.at.most(8192 + 1024);
    const alive = store.ownHeaders().map((h) => h.id);
    expect(alive.length, "headers of ours alive at the end").to.be.at.least(GC_DEPTH);
    await store.close();
    // A crash mid-rewrite leaves a stale .tmp beside the log; it is not read.
    fs.writeFileSync(`${file}.tmp`, "garbage");
    const reopened = new ConsensusStore(dir, 1, options);
    for (const author of [1, 2, 3]) expect(reopened.lastVote(author)).to.deep.equal({ round: 300, headerId: dag.get(300, author).header.id });
    expect(reopened.lastVote(0)).to.equal(undefined);
    expect(reopened.lastOwnHeader()?.id).to.deep.equal(dag.get(300, 0).header.id);
    expect(reopened.ownHeaders().map((h) => h.id)).to.deep.equal(alive);
    await reopened.close();
  });

  it("bounds primary.log under a vote stream that never pauses (a vote arrives during every fsync)", async () => {
    const dir = tempDir();
    const file = path.join(dir, "epoch-1", "primary.log");
    const store = new ConsensusStore(dir, 1, { gcDepth: 50, primaryLogBytes: 1024 });
    const id = (round: number, author: number) => Buffer.alloc(32, (round * 4 + author) % 251);
    // Votes arrive on their own clock, as from the network, not after the previous one is durable:
    // one every turn of the event loop, so the log is rarely idle between its fsyncs.
    const VOTES = 2000;
    const durable: Promise<void>[] = [];
    let largest = 0;
    for (let i = 0; i < VOTES; i++) {
      const author = i % 4;
      const round = Math.floor(i / 4) + 1;
      durable.push(store.recordVote(author, round, id(round, author)).then(() => void (largest = Math.max(largest, fs.statSync(file).size))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(durable);
    // 2,000 votes are ~120 KB of records: rewritten at flushes, never past the bound and one flush's records.
    expect(largest, "primary.log bounded").to.be.at.most(1024 + 4096);
    await store.close();
    const reopened = new ConsensusStore(dir, 1, { gcDepth: 50, primaryLogBytes: 1024 });
    for (const author of [0, 1, 2, 3])
      expect(reopened.lastVote(author), `author ${author}`).to.deep.equal({ round: VOTES / 4, headerId: id(VOTES / 4, author) });
    await reopened.close();
  });

  it("a compaction that cannot write its temporary file leaves the log as it was, and compacts once it can", async () => {
    const dir = tempDir();
    const file = path.join(dir, "votes.log");
    const live = new Map<number, number>();
    const record = (key: number, value: number) => Buffer.from(`${key}=${value}`);
    const log = AppendLog.open(file, () => {}, { compact: { bytes: 1024, records: () => [...live].map(([k, v]) => record(k, v)) } });
    // A folder where the temporary file goes: opening it for writing fails (as a full disk would fail the write).
    fs.mkdirSync(`${file}.tmp`);
    for (let i = 0; i < 400; i++) {
      live.set(i % 8, i);
      log.append(record(i % 8, i));
      await log.sync();
    }
    // Nothing was lost and nothing was cut: every record is in the file, which grew past the bound.
    const seen: string[] = [];
    const reread = AppendLog.open(file, (p) => void seen.push(p.toString()));
    await reread.close();
    expect(seen).to.have.length(400);
    expect(seen[399]).to.equal("7=399");
    expect(fs.statSync(file).size).to.be.greaterThan(4096);
    // Once the temporary file can be written, the next flushes compact to the live records.
    fs.rmdirSync(`${file}.tmp`);
    for (let i = 400; i < 3000; i++) {
      live.set(i % 8, i);
      log.append(record(i % 8, i));
      await log.sync();
    }
    await log.close();
    expect(fs.statSync(file).size).to.be.lessThan(16 * 1024);
    const after = new Map<string, string>();
    const reopened = AppendLog.open(file, (p) => {
      const [k, v] = p.toString().split("=");
      after.set(k, v);
    });
    await reopened.close();
    expect([...after]).to.deep.equal([...live].map(([k, v]) => [String(k), String(v)]));
  });

  it("reopens with the executor's duplicate window: a batch committed again past the window counts from then", async () => {
    // gcDepth 1: a batch is not delivered again within 2 leader rounds of its last delivery.
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 9, [0, 1, 2, 3]);
    const store = new ConsensusStore(dir, 1, { gcDepth: 1 });
    for (const c of dag.all()) store.putCertificate(c);
    const bullshark = new Bullshark(committee, 50);
    const committed = dag.all().flatMap((c) => bullshark.processCertificate(c));
    expect(committed.map((s) => s.leader.header.round)).to.deep.equal([2, 4, 6, 8]);
    const d = (name: string) => ({ digest: batchDigest(encodeBatch([Buffer.from(name)])), author: 0, round: 1, createdAt: 1 });
    const [a, b, c, e] = ["a", "b", "c", "e"].map(d);
    // As Executor.plan delivers them: `a` again at leader round 6, its round-2 delivery out of the window.
    const lists = [[a, b], [c], [a], [e]];
    for (const [i, sub] of committed.entries()) await store.recordCommit(sub, lists[i]);
    await store.close();

    const reopened = new ConsensusStore(dir, 1, { gcDepth: 1 });
    const hexOf = (x: { digest: Buffer }) => x.digest.toString("hex");
    // Window after the leader of round 8: deliveries at rounds ≥ 6 only.
    expect(reopened.takeRecentDeliveries()).to.deep.equal(
      new Map([
        [hexOf(a), 6],
        [hexOf(e), 8],
      ]),
    );
    await reopened.close();
  });

  it("rebuilds a lost rounds.idx at open, so old rounds are still served by round range", async () => {
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 9, [0, 1, 2, 3]);
    const store = new ConsensusStore(dir, 1, { gcDepth: 1 });
    for (const c of dag.all()) store.putCertificate(c);
    const bullshark = new Bullshark(committee, 1);
    for (const sub of dag.all().flatMap((c) => bullshark.processCertificate(c))) await store.recordCommit(sub, []);
    await store.close();
    fs.rmSync(path.join(dir, "epoch-1", "rounds.idx"));

    // The last commit's GC round is 7: rounds 1-7 are not decoded at open, only found through rounds.idx.
    const reopened = new ConsensusStore(dir, 1, { gcDepth: 1 });
    const rounds1to3 = [1, 2, 3].flatMap((r) => [0, 1, 2, 3].map((a) => dag.get(r, a).digest));
    expect(reopened.certificatesInRounds(1, 3, 1 << 20, 1 << 20).map((c) => c.digest)).to.deep.equal(rounds1to3);
    expect(reopened.certificatesInRounds(5, 5, 1 << 20, 1 << 20).map((c) => c.header.round)).to.deep.equal([5, 5, 5, 5]);
    await reopened.close();
  });

  it("drops commits whose certificates a crash lost, and recomputes them identically", async () => {
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 3, [0, 1, 2, 3]);
    const all = dag.all();
    const store = new ConsensusStore(dir, 1);
    for (const c of all) store.putCertificate(c);
    const bullshark = new Bullshark(committee, 50);
    const subs = all.flatMap((c) => bullshark.processCertificate(c));
    expect(subs).to.have.length(1);
    await store.recordCommit(subs[0], []);
    await store.close();

    // The unsynced tail of certificates.log is lost from the leader's certificate on.
    const leader = all.findIndex((c) => c.digest.equals(subs[0].leader.digest));
    const keep = all.slice(0, leader).reduce((n, c) => n + 8 + encodeCertificate(c).length, 0);
    const certFile = segmentFile(path.join(dir, "epoch-1"), "certificates", 0);
    fs.truncateSync(certFile, keep);

    const reopened = new ConsensusStore(dir, 1);
    expect([...reopened.commitsFrom(1)], "a commit listing a lost certificate").to.deep.equal([]);
    expect(reopened.lastBullsharkState()).to.equal(undefined);
    expect(fs.statSync(segmentFile(path.join(dir, "epoch-1"), "consensus", 0)).size, "consensus.log truncated").to.equal(0);
    // Replaying what is left and receiving the lost certificates again commits the same sub-DAG.
    const again = new Bullshark(committee, 50, reopened.lastBullsharkState());
    const recovered = reopened.takeRecovered();
    expect(recovered.map((c) => c.digest)).to.deep.equal(all.slice(0, leader).map((c) => c.digest));
    const redone = [...recovered, ...all.slice(leader)].flatMap((c) => {
      reopened.putCertificate(c);
      return again.processCertificate(c);
    });
    expect(redone.map((s) => s.certificates.map((c) => c.digest))).to.deep.equal([subs[0].certificates.map((c) => c.digest)]);
    await reopened.recordCommit(redone[0], []);
    await reopened.close();
    const third = new ConsensusStore(dir, 1);
    expect([...third.commitsFrom(1)].map((c) => c.leaderRound)).to.deep.equal([subs[0].leader.header.round]);
    expect(third.lastBullsharkState()).to.deep.equal(again.state());
    await third.close();

    // A commit record that does not decode (an older release's format) is dropped like a lost one.
    const consensusFile = segmentFile(path.join(dir, "epoch-1"), "consensus", 0);
    fs.writeFileSync(consensusFile, "");
    const old = AppendLog.open(consensusFile, () => {});
    old.append(Buffer.from([1, 2, 3]));
    await old.close();
    const fourth = new ConsensusStore(dir, 1);
    expect([...fourth.commitsFrom(1)]).to.deep.equal([]);
    expect(
      fourth.takeRecovered().map((c) => c.digest),
      "every certificate, to recompute the commits",
    ).to.deep.equal(all.map((c) => c.digest));
    await fourth.close();
  });

  it("refuses to open when primary.log has a damaged record that is not a torn tail, and reopens after a torn tail", async () => {
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 3, [0, 1, 2, 3]);
    const store = new ConsensusStore(dir, 1);
    const header = signHeader({ epoch: 1, round: 4, author: 0, createdAt: 9, payload: [], parents: [] }, keys[0], committee.domain);
    for (let round = 1; round <= 3; round++) await store.recordVote(2, round, dag.get(round, 2).header.id);
    await store.recordOwnHeader(header);
    await store.close();
    const file = path.join(dir, "epoch-1", "primary.log");
    const intact = fs.readFileSync(file);
    const VOTE = 8 + 43; // header + kind, author, round, header id

    // A torn tail (a crash mid-write of a record never synced) is cut; what was synced is kept.
    fs.appendFileSync(file, intact.subarray(0, 20));
    const torn = new ConsensusStore(dir, 1);
    expect(torn.lastVote(2)?.round).to.equal(3);
    expect(torn.lastOwnHeader()?.id).to.deep.equal(header.id);
    expect(torn.damage).to.deep.equal([{ file, kind: "torn", offset: intact.length, dropped: 20 }]);
    await torn.close();
    expect(fs.statSync(file).size).to.equal(intact.length);

    // A flipped byte in the second vote: the third vote and the own header after it are intact
    // but would be forgotten, so the store refuses, names the file and offset, and leaves the file.
    const flipped = Buffer.from(intact);
    flipped[VOTE + 8 + 5] ^= 0x01;
    fs.writeFileSync(file, flipped);
    expect(() => new ConsensusStore(dir, 1)).to.throw(PrimaryLogCorrupt, `${file}: corrupt record at offset ${VOTE}`);
    expect(fs.readFileSync(file).equals(flipped), "left for the operator").to.equal(true);

    // The last record (the own header) with a changed length field looks cut short, but the rest
    // of the file is the whole record: it was synced, so refused too.
    const lengthChanged = Buffer.from(intact);
    lengthChanged.writeUInt32LE(lengthChanged.readUInt32LE(3 * VOTE) + 1, 3 * VOTE);
    fs.writeFileSync(file, lengthChanged);
    expect(() => new ConsensusStore(dir, 1)).to.throw(PrimaryLogCorrupt, `offset ${3 * VOTE}`);

    // A record with a valid CRC that does not decode.
    const unknown = AppendLog.open(path.join(dir, "x.log"), () => {});
    unknown.append(Buffer.from([9]));
    await unknown.close();
    fs.writeFileSync(file, Buffer.concat([intact, fs.readFileSync(path.join(dir, "x.log"))]));
    expect(() => new ConsensusStore(dir, 1)).to.throw(PrimaryLogCorrupt, `offset ${intact.length}`);
  });

  it("refuses a primary.log missing a vote or own header that a stored certificate shows", async () => {
    const dir = tempDir();
    const { committee, keys } = testCommittee(4);
    const dag = new DagBuilder(committee, keys);
    dag.fullRounds(1, 3, [0, 1, 2, 3]);
    const voted = (round: number, author: number) => makeCertificate(dag.get(round, author).header, [{ voter: 2, signature: Buffer.alloc(64) }]);
    const store = new ConsensusStore(dir, 1);
    for (let round = 1; round <= 3; round++) {
      store.putCertificate(voted(round, 1)); // node 2 voted for author 1's headers
      await store.recordVote(1, round, dag.get(round, 1).header.id);
    }
    store.putCertificate(dag.get(3, 2)); // node 2's own
    await store.recordOwnHeader(dag.get(3, 2).header);
    await store.close();
    const file = path.join(dir, "epoch-1", "primary.log");
    const intact = fs.readFileSync(file);
    const check = (): void => {
      const reopened = new ConsensusStore(dir, 1);
      try {
        reopened.checkPrimaryLog(2);
      } finally {
        void reopened.close();
      }
    };
    check();
    const VOTE = 8 + 43;
    // Cut at a record boundary: no CRC fails, but the certificates show what was lost.
    fs.writeFileSync(file, intact.subarray(0, 3 * VOTE));
    expect(check).to.throw(PrimaryLogCorrupt, `${file}: misses the own header of round 3`);
    fs.writeFileSync(file, intact.subarray(0, 2 * VOTE));
    expect(check).to.throw(PrimaryLogCorrupt, "misses the vote for author 1 of round 3");
    fs.writeFileSync(file, "");
    expect(check).to.throw(PrimaryLogCorrupt, "misses the vote for author 1 of round 1");
  });

  it("keeps batch locations in memory for two GC intervals only, and finds older batches on disk", async () => {
    const dir = tempDir();
    const store = new ConsensusStore(dir, 1);
    const batch = (t: string) => encodeBatch([Buffer.from(`tx-${t}`)]);
    const early = ["a", "b", "c"].map(batch);
    for (const b of early) await store.putBatch(batchDigest(b), b);
    for (const b of early) store.releaseBatch(batchDigest(b)); // delivered: not in the cache
    expect(store.stats().batches).to.equal(3);
    store.pruneBelow(1);
    const late = batch("d");
    await store.putBatch(batchDigest(late), late);
    expect(store.stats().batches, "stored since the GC before last").to.equal(4);
    store.pruneBelow(2);
    expect(store.stats().batches, "the early ones left memory").to.equal(1);
    for (const b of early) {
      expect(store.hasBatch(batchDigest(b))).to.equal(true);
      expect((await store.getBatch(batchDigest(b)))?.equals(b)).to.equal(true);
    }
    await store.putBatch(batchDigest(early[0]), early[0]);
    expect(fs.statSync(path.join(dir, "epoch-1", "batches-0000000000000000.log")).size, "not stored twice").to.equal(
      [...early, late].reduce((n, b) => n + 8 + 32 + b.length, 0),
    );
    expect(store.hasBatch(batchDigest(batch("never")))).to.equal(false);
    await store.close();

    // A restart indexes the whole log on disk, nothing in memory.
    const reopened = new ConsensusStore(dir, 1);
    expect(reopened.stats().batches).to.equal(0);
    for (const b of [...early, late]) expect((await reopened.getBatch(batchDigest(b)))?.equals(b)).to.equal(true);
    await reopened.close();
  });

  it("reports a corrupt batch segment record with its offset and keeps new batches visible after a restart", async () => {
    const dir = tempDir();
    const store = new ConsensusStore(dir, 1);
    const batches = ["a", "b", "c"].map((t) => encodeBatch([Buffer.from(`tx-${t}`)]));
    for (const b of batches) await store.putBatch(batchDigest(b), b);
    await store.close();
    const file = path.join(dir, "epoch-1", "batches-0000000000000000.log");
    const bytes = fs.readFileSync(file);
    const second = 8 + 32 + batches[0].length;
    bytes[second + 8 + 32] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const reopened = new ConsensusStore(dir, 1);
    expect(reopened.damage).to.deep.equal([{ file, kind: "corrupt", offset: second, dropped: bytes.length - second }]);
    expect(reopened.hasBatch(batchDigest(batches[0]))).to.equal(true);
    expect(reopened.hasBatch(batchDigest(batches[1]))).to.equal(false);
    const fresh = encodeBatch([Buffer.from("tx-d")]);
    await reopened.putBatch(batchDigest(fresh), fresh);
    await reopened.close();
    const third = new ConsensusStore(dir, 1);
    expect(third.damage).to.deep.equal([]);
    expect((await third.getBatch(batchDigest(fresh)))?.equals(fresh)).to.equal(true);
    await third.close();
  });

  it("survives SIGKILLs of a node's writer that compacts certificate and commit segments: exact commits, nothing written lost, old rounds not held", async function () {
    this.timeout(120_000);
    const dir = tempDir();
    const epochDir = path.join(dir, "epoch-1");
    // The sequence an uninterrupted Bullshark commits over the writer's DAG: leader round by index.
    const dag = writerDag();
    const reference = new Bullshark(dag.committee, STORE_WRITER.options.gcDepth);
    const leaders = dag.all().flatMap((c) => reference.processCertificate(c).map((sub) => sub.leader.header.round));
    // Certificates and commits of the window (see compaction.test.ts): rounds held at most the
    // window, twice gcDepth for the horizon, a GC window, slack; plus two segments.
    const { gcDepth, retainRounds, logSegmentBytes } = STORE_WRITER.options;
    const certBound = (retainRounds + 6 * gcDepth) * 4 * (8 + encodeCertificate(dag.get(1, 0)).length) + 2 * logSegmentBytes;
    // primary.log is rewritten past primaryLogBytes or twice what its last rewrite kept, whichever
    // is more: four votes and the own headers alive then. Member 0 is left out for at most ten
    // rounds in a row (and the last ten), and a commit settles its headers within 2 × gcDepth + 2
    // rounds otherwise. A certificate's encoding (its header and votes) bounds a header's record.
    const recordBound = encodeCertificate(dag.get(1, 0)).length + 16;
    const primaryBound = Math.max(STORE_WRITER.options.primaryLogBytes, 2 * (4 * 64 + (10 + 2 * gcDepth + 3) * recordBound)) + recordBound;
    let written = 0;
    let voted = 0;
    let mostLive = 0;
    const check = async (label: string) => {
      const store = new ConsensusStore(dir, 1, STORE_WRITER.options);
      // primary.log: rewritten often, killed mid-rewrite too; what was durable is there, and it stays small.
      for (let a = 0; a < 4; a++) expect(store.lastVote(a)?.round ?? 0, `${label}: the last durable vote for ${a}`).to.be.at.least(voted);
      const lastOwn = store.lastOwnHeader()?.round ?? 0;
      expect(lastOwn, `${label}: the last own header`).to.be.at.least(voted);
      // Every own header that may still commit (above member 0's last committed round and the GC
      // round of the last commit held) is there, whatever rewrite the kill interrupted.
      const state = store.lastBullsharkState();
      const live = state ? Math.max(state.lastCommitted[0], Math.max(...state.lastCommitted) - gcDepth) : 0;
      const rounds = Array.from({ length: lastOwn - live }, (_, i) => live + 1 + i);
      expect(
        store.ownHeaders().map((h) => [h.round, hex(h.id)]),
        `${label}: the own headers that may still commit`,
      ).to.deep.equal(rounds.map((r) => [r, hex(dag.get(r, 0).header.id)]));
      mostLive = Math.max(mostLive, rounds.length);
      store.checkPrimaryLog(0);
      expect(fs.statSync(path.join(epochDir, "primary.log")).size, `${label}: primary.log bounded`).to.be.at.most(primaryBound);
      expect(
        store.damage.filter((d) => d.kind !== "torn"),
        `${label}: only a torn tail`,
      ).to.deep.equal([]);
      expect(store.lastCommitIndex, `${label}: nothing written to the OS lost`).to.be.at.least(written);
      const from = store.retainedFrom;
      const commits = [...store.commitsFrom(from)];
      expect(
        commits.map((c) => [c.index, c.leaderRound]),
        `${label}: the commits held, exactly`,
      ).to.deep.equal(leaders.slice(from - 1, store.lastCommitIndex).map((r, i) => [from + i, r]));
      if (from > 1) expect(() => [...store.commitsFrom(1)]).to.throw(SequenceCompacted);
      // The batches of the commits held were not compacted away, whatever the kill interrupted.
      const unreadable: string[] = [];
      for (const b of commits.flatMap((c) => c.batches)) {
        if (!(await store.getBatch(b.digest))?.equals(writerBatch(b.round, b.author))) unreadable.push(`round ${b.round} author ${b.author}`);
      }
      expect(unreadable, `${label}: batches of the commits held`).to.deep.equal([]);
      const stats = store.stats();
      expect(stats.certificateBytes, `${label}: certificates within the window`).to.be.at.most(certBound);
      // The lowest round held: that of the first record of the oldest certificate segment.
      const oldest = fs.readFileSync(
        path.join(
          epochDir,
          fs
            .readdirSync(epochDir)
            .filter((f) => /^certificates-\d{16}\.log$/.test(f))
            .sort()[0],
        ),
      );
      const low = decodeCertificate(oldest.subarray(8, 8 + oldest.readUInt32LE(0))).header.round;
      if (low > 1) expect(store.certificatesInRounds(1, low - 1, 1 << 20, 1 << 20), `${label}: compacted rounds are not held`).to.deep.equal([]);
      expect(store.certificatesInRounds(low, low, 1 << 20, 1 << 20).length, `${label}: held rounds are served`).to.be.greaterThan(0);
      await store.close();
      return store;
    };
    for (let kill = 0; kill < 5; kill++) {
      // Killed at a random moment once it has committed a while (compactions under way).
      await killMidway("storeWriter.ts", [dir], "committed", 5 + Math.floor(Math.random() * 20), (n) => (written = Math.max(written, n)), {
        voted: (n) => (voted = Math.max(voted, n)),
      });
      await check(`after kill ${kill}`);
    }
    // Unkilled to the end: the whole sequence, the epoch's start compacted away.
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../../../testkit/storeWriter.ts"), dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.once("exit", r));
    expect(out).to.match(/done\n$/);
    const last = await check("at the end");
    expect(mostLive, "several own headers alive at once (the DAG ends with ours left out)").to.be.at.least(3);
    expect(last.lastCommitIndex).to.equal(leaders.length);
    expect(last.retainedFrom).to.be.greaterThan(1);
    expect(fs.existsSync(segmentFile(epochDir, "consensus", 0)), "the first commit segment deleted").to.equal(false);
    expect(fs.existsSync(segmentFile(epochDir, "certificates", 0)), "the first certificate segment deleted").to.equal(false);
  });

  it("keeps compacting batch segments across restarts more frequent than the window, falls back to waiting a window on a torn or missing marks file, and cuts the marks to a cut batch log", async function () {
    this.timeout(60_000);
    const opts = { gcDepth: 2, retainRounds: 6, segmentBytes: 4096, logSegmentBytes: 2048 };
    const { gcDepth, retainRounds, segmentBytes } = opts;
    const ROUNDS = 200;
    /** Rounds per run of the restarted store: fewer than the window (retainRounds + 2·gcDepth). */
    const RUN = 4;
    const { committee, keys } = testCommittee(4, 1, 11);
    const dag = new DagBuilder(committee, keys);
    const batches = new Map<string, Buffer>();
    // After ROUNDS: three runs with the marks file damaged, one with the batch log cut.
    const LAST = ROUNDS + 3 * RUN + 20;
    for (let r = 1; r <= LAST; r++) {
      for (let a = 0; a < 4; a++) {
        const batch = encodeBatch([Buffer.from(`round ${r} author ${a}`), Buffer.alloc(400)]);
        batches.set(hex(batchDigest(batch)), batch);
        dag.add(r, a, undefined, [batchDigest(batch)]);
      }
    }
    const record = 8 + 32 + [...batches.values()][0].length;
    // What an uninterrupted run may hold (docs/consensus.md "Disk over an epoch"): the batches of
    // the rounds from the horizon (retainRounds + 2·gcDepth below the GC round, itself about
    // gcDepth below the round), a few rounds of slack, and the segment cut through plus the current one.
    const bound = (retainRounds + 4 * gcDepth) * 4 * record + 2 * segmentBytes;
    // An own batch no header carries: it may be proposed again, so it is never deleted.
    const own = encodeBatch([Buffer.from("own, not proposed yet")]);
    const ownKey = hex(batchDigest(own));

    /**
     * Opens the store in `dir`, runs the DAG on to round `to` through Bullshark, checks what is
     * held and closes it; returns the peak batch bytes. With `pending`, a batch no certificate
     * lists yet is stored at the open and must stay until the horizon reaches the open's GC round.
     */
    const run = async (dir: string, to: number, label: string, pending?: Buffer): Promise<number> => {
      const store = new ConsensusStore(dir, 1, opts);
      const bullshark = new Bullshark(dag.committee, gcDepth, store.lastBullsharkState());
      const openGc = bullshark.gcRound;
      if (pending) await store.putBatch(batchDigest(pending), pending);
      let peak = store.stats().batchBytes;
      const accept = async (c: Certificate) => {
        for (const sub of bullshark.processCertificate(c)) {
          await store.recordCommit(
            sub,
            sub.certificates.map(({ header: h }) => ({ digest: h.payload[0], author: h.author, round: h.round, createdAt: h.createdAt })),
          );
        }
        store.pruneBelow(bullshark.gcRound - gcDepth);
        store.compact({ gcRound: bullshark.gcRound, deliveredIndex: store.lastCommitIndex, ownUncommitted: (key) => key === ownKey });
        peak = Math.max(peak, store.stats().batchBytes);
        if (pending && bullshark.gcRound - retainRounds - 2 * gcDepth < openGc) {
          expect(store.hasBatch(batchDigest(pending)), `${label}: a batch stored at the open, at GC round ${bullshark.gcRound}`).to.equal(true);
        }
      };
      if (!store.hasBatch(batchDigest(own))) await store.putBatch(batchDigest(own), own);
      const recovered = store.takeRecovered();
      for (const c of recovered) await accept(c);
      const from = Math.max(bullshark.gcRound + 1, ...recovered.map((c) => c.header.round));
      for (const c of dag.all()) {
        if (c.header.round < from || c.header.round > to || store.hasCertificate(c.digest)) continue;
        const batch = batches.get(hex(c.header.payload[0]))!;
        await store.putBatch(c.header.payload[0], batch);
        store.putCertificate(c);
        await accept(c);
      }
      // The commits of the last retainRounds leader rounds (at least) are held, with all their
      // batches (unless a damaged batch log lost them: a node fetches those again).
      if (store.damage.length > 0) return store.close().then(() => peak);
      const commits = [...store.commitsFrom(store.retainedFrom)];
      if (store.retainedFrom > 1) expect(commits[0].leaderRound, `${label}: the first commit held`).to.be.at.most(commits.at(-1)!.leaderRound - retainRounds);
      const unreadable: string[] = [];
      for (const b of commits.flatMap((c) => c.batches)) {
        if (!(await store.getBatch(b.digest))?.equals(batches.get(hex(b.digest))!)) unreadable.push(`round ${b.round} author ${b.author}`);
      }
      expect(unreadable, `${label}: batches of the commits held`).to.deep.equal([]);
      expect((await store.getBatch(batchDigest(own)))?.equals(own), `${label}: the own uncommitted batch`).to.equal(true);
      await store.close();
      return peak;
    };

    const uninterrupted = await run(tempDir(), ROUNDS, "uninterrupted");
    expect(uninterrupted, "an uninterrupted run's peak batch bytes").to.be.at.most(bound);
    const dir = tempDir();
    let peak = 0;
    for (let to = RUN; to <= ROUNDS; to += RUN) peak = Math.max(peak, await run(dir, to, `restarted at round ${to}`));
    // On the old code each run started a window over, so nothing was ever deleted (~360 KB).
    expect(peak, "peak batch bytes of a store reopened every few rounds").to.be.at.most(bound);

    // A torn or missing marks file: nothing stored before the open is deleted during a run
    // shorter than the window (as before marks were kept), and what is needed stays readable.
    const epochDir = path.join(dir, "epoch-1");
    const marks = path.join(epochDir, "marks");
    const batchSegments = () => fs.readdirSync(epochDir).filter((f) => /^batches-\d{16}\.log$/.test(f));
    const damages: [string, () => void][] = [
      ["torn", () => fs.truncateSync(marks, Math.floor(fs.statSync(marks).size / 2))],
      ["missing", () => fs.rmSync(marks)],
      ["cut to an empty list", () => fs.writeFileSync(marks, "[]")],
    ];
    let to = ROUNDS;
    for (const [what, damage] of damages) {
      const before = batchSegments();
      damage();
      await run(dir, (to += RUN), `after a ${what} marks file`);
      expect(batchSegments(), `${what} marks file: no segment held at the open deleted`).to.include.members(before);
    }

    // A batch log cut at open (a damaged record in an older segment: it and every later segment
    // go): the marks past the cut are cut to it, so the batches stored after the open, at those
    // offsets, are not deleted before the horizon reaches the open's GC round.
    const held = batchSegments().sort();
    const bytes = fs.readFileSync(path.join(epochDir, held[held.length - 4]));
    bytes[8 + 32] ^= 0xff;
    fs.writeFileSync(path.join(epochDir, held[held.length - 4]), bytes);
    await run(dir, LAST, "after the batch log was cut", encodeBatch([Buffer.from("pending: stored, no certificate lists it yet")]));
  });
});
