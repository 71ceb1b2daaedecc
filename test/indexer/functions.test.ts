import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import { loadContractsConfig } from "../../indexer/config";
import { deploySuite, timelockSigner, type Suite } from "../../testkit/deploy";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;
const R3 = `0x${"3b".repeat(32)}`;

interface FunctionsScenario extends Suite {
  alice: string;
  bob: string;
  /** Block timestamps of: hello's registration, its version 2, echo-2's registration, the price change. */
  times: number[];
}

/**
 * Alice registers `hello` (root R1, the node's default limits) and publishes version 2 (root R2,
 * smaller limits); Bob registers `echo-2` with R3 (a root belongs to the first function that publishes it) and
 * hands it to Alice (Bob's owner-pays cap of 1,000 ends with the transfer); Alice pays up to
 * 5,000,000 per epoch for `hello`'s callers; governance sets the compute prices to 400,000 per million requests and
 * 30,000 per million CPU-ms (the escrow's constructor set 300,000 and 20,000).
 */
async function functionsScenario(): Promise<FunctionsScenario> {
  const s = await deploySuite();
  const [alice, bob] = (await hre.ethers.getSigners()).slice(10, 12);
  const times: number[] = [];
  const at = async (tx: Promise<{ wait(): Promise<{ blockNumber: number } | null> }>) => {
    const receipt = await (await tx).wait();
    times.push((await hre.ethers.provider.getBlock(receipt!.blockNumber))!.timestamp);
  };
  const registry = s.functionRegistry;
  await at(registry.connect(alice).register("hello", R1, { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 }));
  await at(registry.connect(alice).publish(1, R2, { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 }));
  await at(registry.connect(bob).register("echo-2", R3, { memoryMiB: 32, cpuMs: 10, wallMs: 100, bundleBytes: 4_096 }));
  await (await registry.connect(alice).setOwnerPays(1, 5_000_000n)).wait();
  await (await registry.connect(bob).setOwnerPays(2, 1_000n)).wait();
  await (await registry.connect(bob).transferFunction(2, alice.address)).wait();
  await at(s.escrow.connect(await timelockSigner(s)).setComputePrices(400_000n, 30_000n));
  return { ...s, alice: alice.address, bob: bob.address, times };
}

const FUNCTION_FIELDS =
  "id name owner version root limits { memoryMiB cpuMs wallMs bundleBytes } ownerPaysCapPerEpoch registeredAt updatedAt maxCostPerMillionCalls";

describe("indexer functions area: FunctionRegistry's functions and versions, ServiceEscrow's compute prices", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: functions with their latest version, version history, roots and prices over GraphQL`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(functionsScenario);
      const [registered, published, echoRegistered, pricesSet] = s.times;
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const q = async (query: string) => {
          const answer = await gql(api.url, query);
          expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
          return answer.data;
        };

        const hello = {
          id: 1,
          name: "hello",
          owner: s.alice,
          version: 2,
          root: R2,
          limits: { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 },
          ownerPaysCapPerEpoch: "5000000",
          registeredAt: registered,
          updatedAt: published,
          // 400,000 + 20 ms × 30,000 USDC units per million calls at its CPU limit.
          maxCostPerMillionCalls: "1000000",
        };
        const echo = {
          id: 2,
          name: "echo-2",
          owner: s.alice,
          version: 1,
          root: R3,
          limits: { memoryMiB: 32, cpuMs: 10, wallMs: 100, bundleBytes: 4_096 },
          ownerPaysCapPerEpoch: "0",
          registeredAt: echoRegistered,
          updatedAt: echoRegistered,
          maxCostPerMillionCalls: "700000",
        };
        expect((await q(`{ edgeFunctions { nodes { ${FUNCTION_FIELDS} } pageInfo { hasNextPage } } }`)).edgeFunctions).to.deep.equal({
          nodes: [hello, echo],
          pageInfo: { hasNextPage: false },
        });
        // The registry's own answer for the name.
        const resolved = await s.functionRegistry.resolve("hello");
        expect([Number(resolved.version), resolved.latest.root]).to.deep.equal([hello.version, hello.root]);
        expect((await s.functionRegistry.functions(2)).owner).to.equal(s.alice);

        expect((await q(`{ edgeFunction(name: "echo-2") { ${FUNCTION_FIELDS} } }`)).edgeFunction).to.deep.equal(echo);
        expect((await q(`{ edgeFunction(id: 1) { name } }`)).edgeFunction).to.deep.equal({ name: "hello" });
        expect((await q(`{ edgeFunction(name: "nope") { name } }`)).edgeFunction).to.equal(null);
        expect((await q(`{ edgeFunction(id: 3) { name } }`)).edgeFunction).to.equal(null);

        // By name, paged one at a time; by owner.
        const byName = (await q(`{ edgeFunctions(first: 1, orderBy: NAME) { nodes { name } pageInfo { hasNextPage endCursor } } }`)).edgeFunctions;
        expect(byName.nodes).to.deep.equal([{ name: "echo-2" }]);
        expect(byName.pageInfo.hasNextPage).to.equal(true);
        expect(
          (await q(`{ edgeFunctions(first: 1, orderBy: NAME, after: "${byName.pageInfo.endCursor}") { nodes { name } pageInfo { hasNextPage } } }`))
            .edgeFunctions,
        ).to.deep.equal({
          nodes: [{ name: "hello" }],
          pageInfo: { hasNextPage: false },
        });
        expect((await q(`{ edgeFunctions(where: { owner: "${s.bob}" }) { nodes { id } } }`)).edgeFunctions.nodes).to.deep.equal([]);
        expect(
          (await q(`{ edgeFunctions(where: { owner: "${s.alice.toLowerCase()}" }, orderDirection: DESC) { nodes { id } } }`)).edgeFunctions.nodes,
        ).to.deep.equal([{ id: 2 }, { id: 1 }]);

        // Version history: a new root is a new version; the registry's versionOf agrees.
        const versions = (
          await q(`{ edgeFunction(id: 1) { versions { nodes { functionId version root limits { memoryMiB cpuMs wallMs bundleBytes } publishedAt } } } }`)
        ).edgeFunction.versions.nodes;
        expect(versions).to.deep.equal([
          { functionId: 1, version: 1, root: R1, limits: { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 }, publishedAt: registered },
          { functionId: 1, version: 2, root: R2, limits: { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 }, publishedAt: published },
        ]);
        expect(Number((await s.functionRegistry.versionOf(1, 1)).publishedAt)).to.equal(registered);
        // Root R1 is version 1 of `hello` only (asked without 0x and in upper case).
        expect(
          (await q(`{ functionVersionsByRoot(root: "${R1.slice(2).toUpperCase()}") { nodes { functionId version } } }`)).functionVersionsByRoot.nodes,
        ).to.deep.equal([{ functionId: 1, version: 1 }]);

        // Prices: the latest, what a call at 50 CPU-ms costs per million, and the history with the constructor's defaults.
        expect((await q(`{ computePrices { perMillionRequests perMillionCpuMs perMillionCalls(cpuMs: 50) timestamp } }`)).computePrices).to.deep.equal({
          perMillionRequests: "400000",
          perMillionCpuMs: "30000",
          perMillionCalls: "1900000",
          timestamp: pricesSet,
        });
        expect([await s.escrow.pricePerMillionRequests(), await s.escrow.pricePerMillionCpuMs()]).to.deep.equal([400_000n, 30_000n]);
        expect((await q(`{ computePriceHistory { nodes { perMillionRequests perMillionCpuMs } } }`)).computePriceHistory.nodes).to.deep.equal([
          { perMillionRequests: "400000", perMillionCpuMs: "30000" },
          { perMillionRequests: "300000", perMillionCpuMs: "20000" },
        ]);

        // Bad input gets clear codes.
        const bad = async (query: string) => (await gql(api.url, query)).errors?.[0]?.extensions?.code;
        expect(await bad(`{ edgeFunction(id: 1, name: "hello") { id } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunction { id } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunction(name: "Hello") { id } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunction(name: "-a") { id } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunction(id: -1) { id } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ functionVersionsByRoot(root: "0x12") { nodes { version } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunctions(where: { owner: "0x12" }) { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunctions(first: 5000) { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ edgeFunctions(after: "${byName.pageInfo.endCursor}") { nodes { id } } }`)).to.equal("BAD_USER_INPUT");
        expect(await bad(`{ computePrices { perMillionCalls(cpuMs: -1) } }`)).to.equal("BAD_USER_INPUT");
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});

describe("indexer config: FunctionRegistry's address under the names deployments use", function () {
  it("reads the devnet's functionRegistry and Ignition's Functions#FunctionRegistry as FunctionRegistry", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "indexer-config-"));
    const address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    try {
      fs.writeFileSync(path.join(dir, "addresses.json"), JSON.stringify({ chainId: 31337, contracts: { functionRegistry: address.toLowerCase() } }));
      expect(loadContractsConfig(path.join(dir, "addresses.json")).contracts).to.deep.equal({ FunctionRegistry: address });
      const ignition = path.join(dir, "chain-8453");
      fs.mkdirSync(ignition);
      fs.writeFileSync(path.join(ignition, "deployed_addresses.json"), JSON.stringify({ "Functions#FunctionRegistry": address }));
      expect(loadContractsConfig(ignition).contracts).to.deep.equal({ FunctionRegistry: address });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
