/**
 * The chain committee source against the real registry on the in-process Hardhat EVM, read over
 * JSON-RPC exactly as a node process reads it: the committee of the first epoch, then a member
 * swap at an epoch change (a fifth node joins, one is jailed by the committee's report and unstakes).
 */
import { expect } from "chai";
import hre from "hardhat";
import * as net from "node:net";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { Wallet } from "ethers";
import { ChainMismatchError, RegistryCommitteeSource } from "../../../node/chain/registryCommittee";
import { Committee } from "../../../node/consensus/types/committee";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Logger } from "../../../node/logger";
import { MIN_STAKE, emptyReport, registrySuite, submitReport, type RegistrySuite, type TestNode } from "../../registry/fixtures";

/** Hardhat's chain id. */
const CHAIN_ID = 31337n;
const POLLING = { pollMs: 50, minBackoffMs: 50, maxBackoffMs: 200 };

/** A node registered with a real ed25519 key and loopback endpoints. */
interface ChainNode extends TestNode {
  ed25519: KeyPair;
  primaryPort: number;
  workerPort: number;
}

/** Registers node `i` (owner round-robin over the operators) with a fresh key, ports from 20000 + 10i. */
async function registerChainNode(s: RegistrySuite, i: number): Promise<ChainNode> {
  const owner = s.operators[i % s.operators.length];
  const ed25519 = KeyPair.generate();
  const signer = new Wallet(Wallet.createRandom().privateKey);
  const base = 20_000 + 10 * i;
  const ports = { primary: base, worker: base + 1, mempool: base + 2, rpc: base + 3, pool: base + 4, gateway: base + 5 };
  const key = `0x${ed25519.publicKey.toString("hex")}`;
  await s.registry.connect(owner).register(key, signer.address, { host: "127.0.0.1", ports }, MIN_STAKE);
  return { id: Number(await s.registry.nodeCount()), owner, signer, key, ed25519, primaryPort: base, workerPort: base + 1 };
}

/** The committee the node should derive from these registered nodes. */
function describeCommittee(c: Committee) {
  return {
    epoch: c.epoch,
    members: c.members.map((m) => ({ key: m.publicKey.toString("hex"), primary: m.primary, worker: m.worker, weight: m.weight })),
  };
}
function expected(epoch: number, nodes: readonly ChainNode[]) {
  return describeCommittee(
    new Committee(
      epoch,
      nodes.map((n) => ({
        publicKey: n.ed25519.publicKey,
        primary: { host: "127.0.0.1", port: n.primaryPort },
        worker: { host: "127.0.0.1", port: n.workerPort },
        weight: 1,
      })),
    ),
  );
}

/** Serves the in-process Hardhat network over JSON-RPC on `port` (0: any free port). */
async function serveChain(port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider });
  const { port: bound } = await server.listen();
  return { url: `http://127.0.0.1:${bound}`, close: () => server.close() };
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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
    for (let i = 0; i < 4; i++) nodes.push(await registerChainNode(s, i));
    // Registered but no epoch change yet: there is no committee, current() keeps waiting.
    expect(await source.read()).to.equal(undefined);
    const first = source.current();
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    expect(describeCommittee(await first)).to.deep.equal(expected(1, nodes));
    await until("epoch 1 on watch()", () => seen.length === 1);
    expect(describeCommittee(seen[0])).to.deep.equal(expected(1, nodes));

    // A fifth node queues for the next epoch; the committee's report measures node 1 at 0% uptime,
    // which jails it at the change (a member cannot unstake below the minimum during its epoch).
    const joiner = await registerChainNode(s, 4);
    const leaver = nodes[1];
    await submitReport(s, nodes, await emptyReport(s, { nodes: [{ nodeId: leaver.id, uptime: 0, latencyMs: 0, bytesServed: 0n, deliveryAcks: 0n }] }));
    await s.registry.connect(leaver.owner).unstake(leaver.id, MIN_STAKE);
    const swapped = [...nodes.filter((n) => n !== leaver), joiner];

    await until("epoch 2 on watch()", () => seen.length === 2);
    expect(describeCommittee(seen[1])).to.deep.equal(expected(2, swapped));
    expect(seen[1].indexOf(leaver.ed25519.publicKey)).to.equal(undefined);
    expect(seen[1].indexOf(joiner.ed25519.publicKey)).to.not.equal(undefined);
    expect(describeCommittee(await source.current())).to.deep.equal(expected(2, swapped));
  });

  it("retries while the RPC is unreachable and reads the committee once it answers", async () => {
    const s = await loadFixture(registrySuite);
    for (let i = 0; i < 4; i++) await registerChainNode(s, i);
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
    await until("retry warnings", () => warnings.filter((w) => w.includes("registry read failed")).length >= 2 && warnings.some((w) => w.includes("registry poll failed")));
    const chain = await serveChain(port);
    closers.push(chain.close);
    expect((await pending).epoch).to.equal(1);
    await until("watch() recovers", () => seen.length === 1);
    expect(seen[0].size).to.equal(4);
  });

  it("refuses an RPC that serves another chain", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    closers.push(chain.close);
    const source = RegistryCommitteeSource.fromUrl(chain.url, 8453n, await s.registry.getAddress(), new Logger(), POLLING);
    await expect(source.current()).to.be.rejectedWith(ChainMismatchError, "serves chain 31337, configured 8453");
  });
});
