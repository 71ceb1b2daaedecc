/**
 * The committee file source: an epoch change between `current()` and `watch()` is reported (the
 * node starts from `current()`, then watches). The old source took its baseline from its own first
 * read and stat, so a rewrite before them (a loaded machine, an epoch change right after start)
 * was never reported and the node stayed in the old epoch.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeCommittee } from "../../../node/clusterConfigs";
import { StaticCommitteeSource } from "../../../node/committee/committeeSource";
import { waitFor } from "../consensus/cluster";

const member = (port: number) => ({ publicKey: "11".repeat(32), host: "127.0.0.1", primaryPort: port, workerPort: port + 1 });

describe("StaticCommitteeSource", function () {
  this.timeout(10_000);

  it("reports a rewrite made between current() and watch(), then each later higher epoch once", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "committee-")), "committee.json");
    writeCommittee(file, 4, [member(9000)]);
    const source = new StaticCommitteeSource(file, 20);
    expect((await source.current()).epoch).to.equal(4);
    writeCommittee(file, 5, [member(9000)]);
    const seen: number[] = [];
    const stop = source.watch((c) => seen.push(c.epoch));
    try {
      await waitFor("epoch 5 reported", () => seen.includes(5), 5_000);
      writeCommittee(file, 3, [member(9000)]); // lower: ignored
      writeCommittee(file, 6, [member(9000)]);
      await waitFor("epoch 6 reported", () => seen.includes(6), 5_000);
      expect(seen).to.deep.equal([5, 6]);
    } finally {
      stop();
    }
  });

  it("survives a malformed file and reports the next good one", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "committee-")), "committee.json");
    fs.writeFileSync(file, "{ half-written");
    const source = new StaticCommitteeSource(file, 20);
    const seen: number[] = [];
    const stop = source.watch((c) => seen.push(c.epoch));
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).to.deep.equal([]);
      writeCommittee(file, 7, [member(9000)]);
      await waitFor("epoch 7 reported", () => seen.includes(7), 5_000);
    } finally {
      stop();
    }
  });
});
