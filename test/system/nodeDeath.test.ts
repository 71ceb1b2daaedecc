/**
 * The orchestrator's node supervision (scripts/network): when a `node run` process dies, the
 * orchestrator says so, where its log is and how to restart it; the command it prints does
 * restart the node, which then serves clients again. A node stopped on purpose is not reported.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeClusterConfigs } from "../../node/clusterConfigs";
import { NodeClient } from "../../node/client/client";
import { Processes } from "../../scripts/network/processes";
import { startNodes, type LocalNode } from "../../scripts/network/nodes";
import { waitFor } from "../node/consensus/cluster";
import { freePorts } from "../../testkit/freePorts";

describe("orchestrator: a node process that dies", function () {
  this.timeout(120_000);
  const stops: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const s of stops.reverse()) await s();
  });

  it("is reported with its log and a restart command that works", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orchestrator-"));
    const configs = writeClusterConfigs(dir, 1, await freePorts(3), { maxBatchDelayMs: 20, maxHeaderDelayMs: 100 });
    const { configFile, key, mempoolPort } = configs.nodes[0];
    // What startNodes reads of a LocalNode: its index and config file (the rest is the devnet's).
    const node = { index: 0, configFile, key } as LocalNode;
    const root = path.resolve(__dirname, "../..");
    const processes = new Processes(path.join(dir, "logs"));
    stops.push(() => processes.stopAll());
    const notices: string[] = [];
    const [child] = await startNodes(processes, root, [node], (m) => notices.push(m));

    child.process.kill("SIGKILL");
    await waitFor("the death reported", () => notices.length === 1);
    const notice = notices[0];
    expect(notice).to.include("node 0 exited (SIGKILL)");
    expect(notice).to.include(`its log: ${path.join(dir, "logs", "node-0.log")}`);
    const command = notice.slice(notice.indexOf("with: ") + "with: ".length);
    expect(command).to.include(`run --config ${configFile}`);

    // The printed command, run by a shell as a user would, brings the node back.
    const restarted = spawn("sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    stops.push(() => {
      if (restarted.exitCode === null) process.kill(-restarted.pid!, "SIGKILL");
    });
    let out = "";
    restarted.stdout!.on("data", (d) => (out += d));
    restarted.stderr!.on("data", (d) => (out += d));
    await waitFor(
      "the restarted node ready",
      () => /^ready /m.test(out),
      60_000,
      () => out.slice(-2000),
    );
    const client = await NodeClient.connect("127.0.0.1", mempoolPort);
    stops.push(() => client.close());

    // Stopping on purpose is not a death.
    const second = await startNodes(
      processes,
      root,
      [{ ...node, configFile: writeClusterConfigs(path.join(dir, "b"), 1, await freePorts(3)).nodes[0].configFile }],
      (m) => notices.push(m),
    );
    await processes.stop(second[0]);
    expect(notices).to.have.length(1);
  });
});
