/**
 * The chain committee source against the real registry on the in-process Hardhat EVM, read over
 * JSON-RPC exactly as a node process reads it: the committee of the first epoch, then a member
 * swap at an epoch change (a fifth node joins, one is jailed by the committee's report and unstakes).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { ChainMismatchError, RegistryCommitteeSource } from "../../../node/chain/registryCommittee";
import { loadConfig } from "../../../node/config";
import { Committee } from "../../../node/consensus/types/committee";
import { Logger } from "../../../node/logger";
import { MIN_STAKE, emptyReport, registrySuite, submitReport } from "../../../testkit/registry";
import { waitFor } from "../consensus/cluster";
import { CHAIN_ID, describeCommittee, expectedCommittee as expected, registerChainNode, serveChain, type ChainNode } from "./chainNodes";
import { freePort } from "../../../testkit/freePorts";

const POLLING = { pollMs: 50, minBackoffMs: 50, maxBackoffMs: 200 };

describe("RegistryCommitteeSource (NodeRegistry on Hardhat, over JSON-RPC)", function () {
  this.timeout(60_000);
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("reads the first committee and reports a member swap at the epoch change", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    closers.push(chain.close);
    const source = RegistryCommitteeSource.fromUrl(chain.url, CHAIN_ID, await s.registry.getAddress(), new Logger(), POLLING);
    const seen: Committee[] = [];
    closers.push(source.watch((c) => seen.push(c)));

    const nodes: ChainNode[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await registerChainNode(s, i, 20_000 + 10 * i));
    // Registered but no epoch change yet: there is no committee, current() keeps waiting.
    expect(await source.read()).to.equal(undefined);
    const first = source.current();
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    expect(describeCommittee(await first)).to.deep.equal(expected(1, nodes));
    await waitFor("epoch 1 on watch()", () => seen.length === 1);
    expect(describeCommittee(seen[0])).to.deep.equal(expected(1, nodes));

    // A fifth node queues for the next epoch; the committee's report measures node 1 at 0% uptime,
    // which jails it at the change (a member cannot unstake below the minimum during its epoch).
    const joiner = await registerChainNode(s, 4, 20_040);
    const leaver = nodes[1];
    await submitReport(
      s,
      nodes,
      await emptyReport(s, { nodes: [{ nodeId: leaver.id, uptime: 0, latencyMs: 0, bytesServed: 0n, deliveryAcks: 0n, revenue: 0n, reputation: 0 }] }),
    );
    await s.registry.connect(leaver.owner).unstake(leaver.id, MIN_STAKE);
    // The committee of epoch 2 is drawn from epoch 1's active set: the joiner sits from epoch 3.
    const remaining = nodes.filter((n) => n !== leaver);

    await waitFor("epoch 2 on watch()", () => seen.length === 2);
    expect(describeCommittee(seen[1])).to.deep.equal(expected(2, remaining));
    expect(seen[1].indexOf(leaver.ed25519.publicKey)).to.equal(undefined);
    expect(describeCommittee(await source.current())).to.deep.equal(expected(2, remaining));
    await submitReport(s, remaining, await emptyReport(s));
    await waitFor("epoch 3 on watch()", () => seen.length === 3);
    expect(describeCommittee(seen[2])).to.deep.equal(expected(3, [...remaining, joiner]));
    expect(seen[2].indexOf(joiner.ed25519.publicKey)).to.not.equal(undefined);
  });

  it("leaves out a member whose stored ed25519 key proof is not valid (a squatted key)", async () => {
    const s = await loadFixture(registrySuite);
    const nodes: ChainNode[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await registerChainNode(s, i, 20_100 + 10 * i));
    // The fourth registers someone else's key: its signer proof is its own (the chain checks that), its key proof is forged.
    const squatter = await registerChainNode(s, 3, 20_130, undefined, { forgeKeyProof: true });
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    expect((await s.registry.committeeIds()).map(Number)).to.include(squatter.id);
    const source = new RegistryCommitteeSource(s.registry.runner!.provider as never, CHAIN_ID, await s.registry.getAddress(), new Logger());
    const committee = (await source.read())!;
    expect(describeCommittee(committee)).to.deep.equal(expected(1, nodes));
    expect(committee.indexOf(squatter.ed25519.publicKey)).to.equal(undefined);
  });

  it("retries while the RPC is unreachable and reads the committee once it answers", async () => {
    const s = await loadFixture(registrySuite);
    for (let i = 0; i < 4; i++) await registerChainNode(s, i, 20_000 + 10 * i);
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    const port = await freePort();
    const warnings: string[] = [];
    const logger = new Logger({}, 0);
    const write = process.stderr.write.bind(process.stderr);
    // Capture the source's warnings instead of printing them: they are the point of this test.
    process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
    closers.push(() => (process.stderr.write = write));
    const source = RegistryCommitteeSource.fromUrl(`http://127.0.0.1:${port}`, CHAIN_ID, await s.registry.getAddress(), logger, POLLING);
    const seen: Committee[] = [];
    closers.push(source.watch((c) => seen.push(c)));
    const pending = source.current();
    await waitFor(
      "retry warnings",
      () => warnings.filter((w) => w.includes("registry read failed")).length >= 2 && warnings.some((w) => w.includes("registry poll failed")),
    );
    const chain = await serveChain(port);
    closers.push(chain.close);
    expect((await pending).epoch).to.equal(1);
    await waitFor("watch() recovers", () => seen.length === 1);
    expect(seen[0].size).to.equal(4);
  });

  it("refuses an RPC that serves another chain", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    closers.push(chain.close);
    const source = RegistryCommitteeSource.fromUrl(chain.url, 8453n, await s.registry.getAddress(), new Logger(), POLLING);
    await expect(source.current()).to.be.rejectedWith(ChainMismatchError, "serves chain 31337, configured 8453");
  });

  it("is what a config with rpcUrl, chainId and registry gives, checked before any RPC call", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chain-config-"));
    closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "node.json");
    const write = (committee: object) =>
      fs.writeFileSync(file, JSON.stringify({ keySeed: "11".repeat(32), dataDir: "data", host: "127.0.0.1", mempoolPort: 7100, committee }));
    const good = { rpcUrl: "http://127.0.0.1:8545", chainId: 8453, registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
    write(good);
    expect(loadConfig(file).source).to.be.instanceOf(RegistryCommitteeSource);
    write({ ...good, chainId: undefined });
    expect(() => loadConfig(file)).to.throw("committee.chainId");
    write({ ...good, registry: "0x1234" });
    expect(() => loadConfig(file)).to.throw("committee.registry");
    write({ ...good, rpcUrl: "127.0.0.1:8545" });
    expect(() => loadConfig(file)).to.throw("committee.rpcUrl");
    write({ ...good, pollMs: 0 });
    expect(() => loadConfig(file)).to.throw("committee.pollMs");
  });
});
