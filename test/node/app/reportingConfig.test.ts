/** The config keys of the gateway and of reporting: defaults, and clear errors for bad values. */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../../node/config";

describe("app: gateway and reporting config", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reporting-config-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "node.json");
  const chain = { rpcUrl: "http://127.0.0.1:8545", chainId: 8453, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
  const signerKey = `0x${"22".repeat(32)}`;
  const load = (extra: object, committee: object = chain) => {
    fs.writeFileSync(file, JSON.stringify({ keySeed: "11".repeat(32), dataDir: "data", mempoolPort: 7100, committee, ...extra }));
    return loadConfig(file);
  };

  it("reports by default with a signer key on the chain source, and not otherwise", () => {
    const on = load({ signerKey });
    expect(on.reporting).to.deep.equal({ pingMs: 5_000, tickMs: 1_000, submitStaggerMs: 5_000 });
    expect(on.signer?.privateKey).to.equal(signerKey);
    expect(on.chain).to.deep.equal({ rpcUrl: chain.rpcUrl, chainId: 8453n, registry: chain.registry, fromBlock: 0 });
    expect(load({ signerKey }, { ...chain, fromBlock: 12_345 }).chain?.fromBlock).to.equal(12_345);
    const functionRegistry = "0x" + "ab".repeat(20);
    expect(load({ signerKey }, { ...chain, functionRegistry }).chain?.functionRegistry).to.equal(functionRegistry);
    expect(load({}).reporting).to.equal(undefined);
    expect(load({ signerKey, reporting: { enabled: false } }).reporting).to.equal(undefined);
    expect(load({ signerKey }, { file: "committee.json" }).reporting).to.equal(undefined);
    expect(load({ signerKey, reporting: { pingMs: 250 } }).reporting?.pingMs).to.equal(250);
    fs.writeFileSync(path.join(dir, "signer.key"), "33".repeat(32));
    expect(load({ signerKeyFile: "signer.key" }).signer?.privateKey).to.equal(`0x${"33".repeat(32)}`);
  });

  it("refuses bad signer keys, reporting without its prerequisites, and bad gateway settings", () => {
    expect(() => load({ signerKey: "0x1234" })).to.throw("signerKey");
    expect(() => load({ clientPort: 7100 })).to.throw("config: clientPort is now called mempoolPort");
    for (const fromBlock of [-1, 1.5, "7"]) expect(() => load({}, { ...chain, fromBlock })).to.throw("committee.fromBlock");
    for (const functionRegistry of ["0x12", 7]) expect(() => load({}, { ...chain, functionRegistry })).to.throw("committee.functionRegistry");
    expect(() => load({ reporting: { enabled: true } })).to.throw("reporting needs");
    expect(() => load({ signerKey, reporting: { tickMs: 0 } })).to.throw("reporting.tickMs");
    expect(() => load({ gateway: { port: 70_000, blockstore: "b" } })).to.throw("gateway.port");
    expect(() => load({ gateway: { port: 4220 } })).to.throw("gateway.blockstore");
    expect(() => load({ gateway: { port: 4220, blockstore: "b", peers: ["ftp://x"] } })).to.throw("gateway.peers");
    expect(load({ gateway: { port: 4220, blockstore: "b" } }).gateway?.blockstore).to.equal(path.join(dir, "b"));
  });

  it("runs the rent keeper only when configured, with a signer on the chain source", () => {
    const marketplace = "0x" + "cd".repeat(20);
    expect(load({ signerKey }).rentKeeper).to.equal(undefined);
    expect(load({ signerKey, rentKeeper: { marketplace } }).rentKeeper).to.deep.equal({ marketplace, everyMs: 600_000, scanPerTick: 256 });
    expect(() => load({ rentKeeper: { marketplace } })).to.throw("config: rentKeeper needs signerKey/signerKeyFile and the chain committee source");
    expect(() => load({ signerKey, rentKeeper: { marketplace: "0x12" } })).to.throw("config: rentKeeper.marketplace must be the AgentMarketplace address");
    expect(() => load({ signerKey, rentKeeper: { marketplace, scanPerTick: 257 } })).to.throw("config: rentKeeper.scanPerTick must be 1-256");
    expect(() => load({ signerKey, rentKeeper: { marketplace, everyMs: 10 } })).to.throw("config: rentKeeper.everyMs must be an integer of at least 1000 ms");
  });

  it("admits token-paid agent calls only when configured, with a signer on the chain source and the agents service", () => {
    const escrow = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
    const gateway = { port: 0, blockstore: "blocks" };
    const services = { agents: {} };
    expect(load({ signerKey, gateway, services }).tokenCalls).to.equal(undefined);
    expect(load({ signerKey, gateway, services, tokenCalls: { escrow } }).tokenCalls).to.deep.equal({
      escrow,
      redeemEveryMs: 600_000,
      watchMs: 5_000,
      minRedeem: 10n ** 18n,
    });
    expect(load({ signerKey, gateway, services, tokenCalls: { escrow, minRedeem: "250" } }).tokenCalls?.minRedeem).to.equal(250n);
    const needs = "config: tokenCalls needs signerKey/signerKeyFile, the chain committee source and services.agents";
    expect(() => load({ gateway, services, tokenCalls: { escrow } })).to.throw(needs);
    expect(() => load({ signerKey, tokenCalls: { escrow } })).to.throw(needs);
    expect(() => load({ signerKey, gateway, services, tokenCalls: { escrow: "0x12" } })).to.throw(
      "config: tokenCalls.escrow must be the TokenCallEscrow address",
    );
    expect(() => load({ signerKey, gateway, services, tokenCalls: { escrow, watchMs: 10 } })).to.throw(
      "config: tokenCalls.watchMs must be an integer of at least 1000 ms",
    );
    for (const minRedeem of [1000, "-1", "1e18", "1".repeat(41)])
      expect(() => load({ signerKey, gateway, services, tokenCalls: { escrow, minRedeem } })).to.throw(
        "config: tokenCalls.minRedeem must be a decimal string of wei (at most 40 digits)",
      );
  });
});
