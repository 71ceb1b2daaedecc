/**
 * Disk over epochs: a node (in this process, one-member committee from a committee file) deletes
 * the consensus folders of epochs before the previous one when it starts and at each epoch change,
 * so its disk does not grow with every epoch it has ever run.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeClusterConfigs, writeCommittee } from "../../../node/clusterConfigs";
import { loadConfig } from "../../../node/config";
import { Logger } from "../../../node/logger";
import { FleekNode } from "../../../node/node";
import { waitFor } from "./cluster";
import { freePorts } from "../../../testkit/freePorts";

describe("consensus folders of past epochs", function () {
  this.timeout(60_000);
  let node: FleekNode | undefined;
  after(async () => node?.stop());

  it("are deleted at start and at each epoch change, keeping the previous epoch's", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "epochs-"));
    const configs = writeClusterConfigs(dir, 1, await freePorts(3), { maxHeaderDelayMs: 100 }, { epoch: 4 });
    const logger = new Logger({}, 100);
    const config = loadConfig(configs.nodes[0].configFile, logger);
    for (const e of [1, 2, 3]) {
      fs.mkdirSync(path.join(config.dataDir, `epoch-${e}`), { recursive: true });
      fs.writeFileSync(path.join(config.dataDir, `epoch-${e}`, "batches.log"), Buffer.alloc(1000));
    }
    const epochs = () =>
      fs
        .readdirSync(config.dataDir)
        .filter((e) => e.startsWith("epoch-"))
        .sort();
    node = new FleekNode({ key: config.key, dataDir: config.dataDir, source: config.source, params: config.params, logger });
    await node.start();
    expect(epochs()).to.deep.equal(["epoch-3", "epoch-4"]);

    writeCommittee(configs.committeeFile, 5, [configs.nodes[0].member]);
    await waitFor("epoch 5 running", () => node!.status().epoch === 5 && node!.status().member);
    expect(epochs()).to.deep.equal(["epoch-4", "epoch-5"]);
  });
});
