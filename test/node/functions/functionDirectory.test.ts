/**
 * The node's reads of FunctionRegistry (node/chain/functionDirectory.ts) on Hardhat's EVM: a root's
 * function, version, owner, owner-pays cap and limits in one call; a miss is re-read after its
 * short TTL so a newly published version is found; reads at a fixed block never change.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { blake3 } from "hash-wasm";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import FunctionsModule from "../../../ignition/modules/Functions";
import { BlockStore } from "../../../node/blockstore/blockStore";
import { parseContentHash } from "../../../node/blockstore/contentHash";
import { FunctionDirectory, sponsorOf } from "../../../node/chain/functionDirectory";
import { startGateway } from "../../../node/gateway/gatewayServer";
import type { RpcProvider } from "../../../node/chain/registryCommittee";
import type { FunctionRegistry } from "../../../typechain-types";

const LIMITS = { memoryMiB: 64, cpuMs: 10, wallMs: 1_000, bundleBytes: 4_096 };
const ROOT_A = "11".repeat(32);
const ROOT_B = "22".repeat(32);

async function deployed() {
  const { functionRegistry } = await hre.ignition.deploy(FunctionsModule);
  const [, owner] = await hre.ethers.getSigners();
  return { registry: functionRegistry as unknown as FunctionRegistry, owner };
}

describe("FunctionDirectory (FunctionRegistry reads of a node)", () => {
  it("finds a root's function and limits, re-reads a miss after its TTL (a new version), keeps reads at a block, and pays only with a cap", async () => {
    const { registry, owner } = await loadFixture(deployed);
    let now = 0;
    const provider = hre.ethers.provider as unknown as RpcProvider;
    const directory = new FunctionDirectory(provider, await registry.getAddress(), { now: () => now, missTtlMs: 5_000, ttlMs: 60_000 });
    const lookup = (root: string, block?: number) => directory.lookup(root, block);
    expect(await lookup(ROOT_A)).to.equal(undefined);
    await registry.connect(owner).register("fn", `0x${ROOT_A}`, LIMITS);
    const registeredAt = await hre.ethers.provider.getBlockNumber();
    // Within the miss TTL the miss is reused; after it the new function is found.
    expect(await lookup(ROOT_A)).to.equal(undefined);
    now += 5_000;
    const found = await lookup(ROOT_A);
    expect(found).to.deep.equal({ id: 1, version: 1, owner: owner.address.toLowerCase(), ownerPaysCap: 0n, limits: LIMITS });
    expect(sponsorOf(found)).to.equal(undefined);

    // A second version is a new root: found at once (never read before), with its own limits.
    await registry.connect(owner).publish(1, `0x${ROOT_B}`, { ...LIMITS, cpuMs: 20 });
    await registry.connect(owner).setOwnerPays(1, 9_000);
    const second = await lookup(ROOT_B);
    expect([second?.version, second?.limits.cpuMs, second?.ownerPaysCap]).to.deep.equal([2, 20, 9_000n]);
    expect(sponsorOf(second)).to.deep.equal({ functionId: 1, account: owner.address.toLowerCase(), cap: 9_000n });
    // Read at the block that registered it: before owner-pays, and that never changes.
    expect((await lookup(ROOT_A, registeredAt))?.ownerPaysCap).to.equal(0n);
    now += 120_000;
    expect((await lookup(ROOT_A, registeredAt))?.ownerPaysCap).to.equal(0n);
    // At the latest block, once its TTL ran out, the cap is read again.
    expect((await lookup(ROOT_A))?.ownerPaysCap).to.equal(9_000n);
  });

  it("takes a developer's bundle upload (PUT /blake3/<root>) for a registered root only, of its registered size, and only the registered bytes", async () => {
    const { registry, owner } = await loadFixture(deployed);
    let now = 0;
    const provider = hre.ethers.provider as unknown as RpcProvider;
    const directory = new FunctionDirectory(provider, await registry.getAddress(), { now: () => now, missTtlMs: 5_000, ttlMs: 60_000 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-upload-"));
    const store = await BlockStore.open({ directory: dir, maxBytes: 2 ** 24 });
    const gateway = await startGateway({ store, functions: directory });
    const unchained = await startGateway({ store });
    const bundle = Buffer.from(`export default { fetch() { return new Response("uploaded"); } };`);
    const root = await blake3(bundle); // what b3sum prints for the file
    const put = async (url: string, body: Uint8Array) => {
      const answer = await fetch(`${url}/blake3/${root}`, { method: "PUT", body: new Uint8Array(body) });
      return { status: answer.status, body: (await answer.json()) as { error?: string; hash?: string; length?: number } };
    };
    try {
      expect(await put(unchained.url, bundle)).to.deep.equal({
        status: 403,
        body: { error: "this node reads no FunctionRegistry, so it takes no bundle uploads (its operator adds content with POST /origins)" },
      });
      expect(await put(gateway.url, bundle)).to.deep.equal({
        status: 403,
        body: { error: `no function version is registered with root ${root}: register it in FunctionRegistry, then upload its bundle` },
      });
      await registry.connect(owner).register("uploaded", `0x${root}`, { ...LIMITS, bundleBytes: bundle.length });
      now += 5_000; // the directory's miss has run out
      const other = Buffer.from(bundle).fill(0x20, 0, 6);
      const wrong = await put(gateway.url, other);
      expect(wrong.status).to.equal(422);
      expect(wrong.body.error).to.equal(`the bundle is not the registered one: content hashes to ${await blake3(other)}, expected ${root}`);
      const longer = await put(gateway.url, Buffer.concat([bundle, Buffer.from(" ")]));
      expect(longer).to.deep.equal({ status: 413, body: { error: `the bundle is ${bundle.length + 1} bytes, over its ${bundle.length}-byte limit` } });
      expect(store.has(parseContentHash(root)!)).to.equal(false);
      expect(await put(gateway.url, bundle)).to.deep.equal({ status: 201, body: { hash: root, length: bundle.length, path: `/blake3/${root}` } });
      expect(Buffer.from(await (await fetch(`${gateway.url}/blake3/${root}`)).arrayBuffer()).equals(bundle)).to.equal(true);
      // Again: already stored, nothing written.
      expect(await put(gateway.url, bundle)).to.deep.equal({ status: 200, body: { hash: root, length: bundle.length, path: `/blake3/${root}` } });
    } finally {
      await gateway.close();
      await unchained.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
