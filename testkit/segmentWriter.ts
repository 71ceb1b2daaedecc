/**
 * A process that writes a segmented log until it is killed, for crash tests
 * (test/node/consensus/storage.test.ts): records are consecutive u32 sequence numbers (padded to
 * 100-3,000 bytes), continuing from the last one found; the oldest segments are deleted as it
 * goes (at most 3 kept). Prints `synced <seq>` once every record up to `seq` is written to the OS.
 *
 *   node --import tsx testkit/segmentWriter.ts <dir> <segmentBytes>
 */
import { SegmentedLog } from "../node/storage/segmentedLog";

async function main(): Promise<void> {
  const [dir, segmentBytes] = [process.argv[2], Number(process.argv[3])];
  let seq = -1;
  const log = SegmentedLog.open(dir, "batches", (p) => void (seq = p.readUInt32LE(0)), { segmentBytes, fsync: false });
  for (;;) {
    for (let i = 0; i < 20; i++) {
      const p = Buffer.alloc(100 + Math.floor(Math.random() * 2_900), 0xab);
      p.writeUInt32LE(++seq, 0);
      log.append(p);
    }
    await log.sync();
    process.stdout.write(`synced ${seq}\n`);
    // Delete down to the last 3 segments: the crash may hit between two deletions.
    if (log.bytes > 3 * segmentBytes) await log.deleteBelow(log.length - 3 * segmentBytes);
  }
}

void main();
