import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/** Runs a CLI through tsx to its end. */
function cli(script: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("node CLIs: parseArgs, --help and environment fallbacks", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-cli-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("node: --help lists every command and flag with its environment variable", () => {
    const r = cli("node/cli.ts", ["--help"]);
    expect(r.code).to.equal(0);
    for (const word of [
      "run",
      "keygen",
      "prove",
      "NODE_OPERATOR",
      "cluster",
      "NODE_CONFIG",
      "NODE_CLUSTER_DIR",
      "NODE_CLUSTER_NODES",
      "NODE_CLUSTER_PORT",
      "LOG_LEVEL",
    ])
      expect(r.stdout).to.include(word);
  });

  it("node: a usage error exits 2 with the reason and the usage, an unknown flag too", () => {
    for (const [args, reason] of [
      [["run"], "run needs --config"],
      [["launch"], "expected one command"],
      [["cluster", "--dir", dir, "--nodes", "x"], "--nodes must be a positive integer"],
      [["keygen", "--bogus"], "Unknown option '--bogus'"],
    ] as const) {
      const r = cli("node/cli.ts", [...args]);
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.stderr).to.include(reason).and.to.include("usage: node");
    }
  });

  it("node: cluster takes its folder, size and port from the environment", () => {
    const out = path.join(dir, "cluster");
    const r = cli("node/cli.ts", ["cluster"], { NODE_CLUSTER_DIR: out, NODE_CLUSTER_NODES: "2", NODE_CLUSTER_PORT: "17100" });
    expect(r.code).to.equal(0);
    expect(r.stdout.trim().split("\n")).to.deep.equal([path.join(out, "node-0.json"), path.join(out, "node-1.json")]);
    expect(JSON.parse(fs.readFileSync(path.join(out, "node-1.json"), "utf8")).mempoolPort).to.equal(17105);
  });

  it("edge: --help, and a missing --dir is a usage error", () => {
    const help = cli("node/edge/cli.ts", ["--help"]);
    expect(help.code).to.equal(0);
    for (const word of ["EDGE_DIR", "EDGE_PORT", "EDGE_HOST", "EDGE_MAX_GIB", "EDGE_PEERS", "EDGE_IPFS_GATEWAYS", "FLEEK_OPERATOR_TOKEN"])
      expect(help.stdout).to.include(word);
    const missing = cli("node/edge/cli.ts", [], { EDGE_DIR: "" });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include("--dir <blockstore directory> is required");
    const port = cli("node/edge/cli.ts", ["--dir", dir, "--port", "70000"]);
    expect(port.code).to.equal(2);
    expect(port.stderr).to.include('--port must be an integer from 0 to 65535, got "70000"');
  });

  it("indexer: a batch of 0 events or a port past 65535 is refused before anything starts", () => {
    for (const [args, reason] of [
      [["sync", "--batch-events", "0"], '--batch-events must be a positive integer, got "0"'],
      [["serve", "--port", "65536"], '--port must be an integer from 0 to 65535, got "65536"'],
    ] as const) {
      const r = cli("indexer/cli.ts", [...args]);
      expect(r.code, args.join(" ")).to.equal(1);
      expect(r.stderr).to.include(reason).and.to.include("usage: indexer");
    }
  });

  it("edge: runs from the environment alone and serves its gateway", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "node/edge/cli.ts")], {
      cwd: ROOT,
      env: { ...process.env, EDGE_DIR: path.join(dir, "blocks"), EDGE_PORT: "0", EDGE_HOST: "127.0.0.1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
          const m = /edge gateway on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`edge exited with ${code}`)));
      });
      const res = await fetch(`${url}/health`);
      expect(res.status).to.equal(200);
    } finally {
      child.kill("SIGINT");
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
    }
  });
});
