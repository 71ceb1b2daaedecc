/**
 * `node prove`: the registration proof a node prints for the operator's wallet, registered through
 * the real NodeRegistry (Hardhat EVM) by a wallet that holds neither of the node's keys.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { ENDPOINTS, MIN_STAKE, registrySuite, type RegistrySuite } from "../../../testkit/registry";
import { hasValidKeyProof } from "../../../node/chain/registryCommittee";
import type { RegistrationProof } from "../../../protocol/nodeKeyProof";

const ROOT = path.resolve(__dirname, "../../..");
/** RFC 8032 public key of the seed 0x11 × 32 (computed with `openssl pkey`, not by this code). */
const NODE_KEY = "0xd04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";
/** Hardhat's account 1: the report signer of the config. */
const SIGNER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function prove(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "node/cli.ts"), "prove", ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "silent", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("node prove: a registration proof for a wallet that holds neither node key", function () {
  this.timeout(180_000);
  let s: RegistrySuite;
  let dir: string;
  let config: string;

  before(async () => {
    s = await registrySuite();
    // The config's chainId is Hardhat's: the proof's domain must match the chain's.
    expect((await hre.ethers.provider.getNetwork()).chainId).to.equal(31337n);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-prove-"));
    config = path.join(dir, "node.json");
    const committee = { rpcUrl: "http://127.0.0.1:9", chainId: 31337, registry: await s.registry.getAddress() };
    fs.writeFileSync(config, JSON.stringify({ keySeed: "11".repeat(32), dataDir: "data", mempoolPort: 17900, committee, signerKey: SIGNER_KEY }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints a proof the registry accepts from that wallet, and nodes accept its key proof", async () => {
    const operator = s.operators[0];
    const r = prove(["--config", config, "--operator", operator.address.toLowerCase()]);
    expect(r.code, r.stderr).to.equal(0);
    const proof = JSON.parse(r.stdout) as RegistrationProof;
    expect(proof).to.include({ chainId: "31337", registry: await s.registry.getAddress(), operator: operator.address, nodeKey: NODE_KEY, signer: SIGNER });

    await s.registry.connect(operator).register(proof.nodeKey, proof.signer, ENDPOINTS, MIN_STAKE, proof.signerProof, proof.keyProof);
    const id = await s.registry.nodeIdOfKey(NODE_KEY);
    expect(id).to.equal(await s.registry.nodeCount());
    const node = await s.registry.getNode(id);
    expect(node.owner).to.equal(operator.address);
    expect(node.signer).to.equal(SIGNER);
    expect(hasValidKeyProof({ chainId: 31337n, registry: await s.registry.getAddress() }, node)).to.equal(true);
  });

  it("a proof made for one wallet is refused from another (a copied proof cannot squat the key)", async () => {
    const [first, second] = [s.operators[1], s.operators[2]];
    const other = path.join(dir, "other.json");
    const committee = { rpcUrl: "http://127.0.0.1:9", chainId: 31337, registry: await s.registry.getAddress() };
    fs.writeFileSync(other, JSON.stringify({ keySeed: "22".repeat(32), dataDir: "data", mempoolPort: 17900, committee, signerKey: `0x${"33".repeat(32)}` }));
    const proof = JSON.parse(prove(["--config", other], { NODE_OPERATOR: first.address }).stdout) as RegistrationProof;
    await expect(s.registry.connect(second).register(proof.nodeKey, proof.signer, ENDPOINTS, MIN_STAKE, proof.signerProof, proof.keyProof))
      .to.be.revertedWithCustomError(s.registry, "NodeRegistryBadSignerProof")
      .withArgs(proof.signer);
  });

  it("refuses a missing or malformed operator and a config without the chain source or a signer, with the reason", () => {
    for (const [args, code, reason] of [
      [["--config", config], 2, "prove needs --operator"],
      [["--config", config, "--operator", "0x1234"], 2, "prove needs --operator"],
      [["--operator", SIGNER], 2, "prove needs --config"],
    ] as const) {
      const r = prove([...args], { NODE_CONFIG: "", NODE_OPERATOR: "" });
      expect(r.code, args.join(" ")).to.equal(code);
      expect(r.stderr).to.include(reason);
    }
    const fileSource = path.join(dir, "file-source.json");
    fs.writeFileSync(path.join(dir, "committee.json"), "{}");
    fs.writeFileSync(
      fileSource,
      JSON.stringify({ keySeed: "11".repeat(32), dataDir: "data", mempoolPort: 17900, committee: { file: "committee.json" }, signerKey: SIGNER_KEY }),
    );
    const r = prove(["--config", fileSource, "--operator", SIGNER]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("the config's committee must be the chain source");
  });
});
