/**
 * The Functions page's reads (dashboard/src/data/indexer.ts) against the real indexer: a suite on
 * Hardhat with two registered functions, synced into PGlite and served by the indexer's GraphQL.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { newEngine, testBackends } from "../indexer/helpers";
import { startApiServer, type ApiServer } from "../../indexer/api/server";
import type { IndexerDatabase } from "../../indexer/store/database";
import { graphqlClient } from "../../dashboard/src/data/graphql";
import { indexerData } from "../../dashboard/src/data/indexer";
import { costPerMillionCalls } from "../../dashboard/src/lib/functions";

const R1 = `0x${"11".repeat(32)}`;
const R2 = `0x${"2a".repeat(32)}`;
const R3 = `0x${"3b".repeat(32)}`;

async function twoFunctions(): Promise<Suite & { alice: string; bob: string }> {
  const suite = await deploySuite();
  const [alice, bob] = (await hre.ethers.getSigners()).slice(10, 12);
  await suite.functionRegistry.connect(alice).register("hello", R1, { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 });
  await suite.functionRegistry.connect(alice).publish(1, R2, { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 });
  await suite.functionRegistry.connect(bob).register("echo", R3, { memoryMiB: 32, cpuMs: 10, wallMs: 100, bundleBytes: 4_096 });
  return { ...suite, alice: alice.address, bob: bob.address };
}

describe("Dashboard data source on the indexer's GraphQL: edge functions", function () {
  this.timeout(120_000);
  let database: IndexerDatabase;
  let api: ApiServer;

  after(async () => {
    await api?.close();
    await database?.close();
  });

  it("lists functions with their latest version, lists its versions newest first and gives the escrow's prices", async () => {
    const s = await loadFixture(twoFunctions);
    database = await (await testBackends()).find((b) => b.name === "pglite")!.fresh!();
    await (await newEngine(database, s)).syncToHead();
    api = await startApiServer({ database, port: 0 });
    const data = indexerData(graphqlClient(`${api.url}/graphql`), { contracts: {} } as never, () => 0, 1_000);

    const list = await data.edgeFunctions(200);
    expect(list.map(({ updatedAt: _, ...f }) => f)).to.deep.equal([
      // No report has charged either yet.
      {
        id: 1,
        name: "hello",
        owner: s.alice,
        version: 2,
        root: R2,
        limits: { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 },
        invocations: 0n,
        revenue: 0n,
      },
      {
        id: 2,
        name: "echo",
        owner: s.bob,
        version: 1,
        root: R3,
        limits: { memoryMiB: 32, cpuMs: 10, wallMs: 100, bundleBytes: 4_096 },
        invocations: 0n,
        revenue: 0n,
      },
    ]);
    expect(list[0].updatedAt).to.equal((await s.functionRegistry.versionOf(1, 2)).publishedAt);

    const versions = await data.functionVersions(1, 50);
    expect(versions.map(({ version, root, limits }) => ({ version, root, limits }))).to.deep.equal([
      { version: 2, root: R2, limits: { memoryMiB: 64, cpuMs: 20, wallMs: 1_000, bundleBytes: 65_536 } },
      { version: 1, root: R1, limits: { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 } },
    ]);
    expect(versions[1].publishedAt).to.equal((await s.functionRegistry.versionOf(1, 1)).publishedAt);
    expect((await data.functionVersions(1, 1)).map((v) => v.version)).to.deep.equal([2]);
    let missing: unknown;
    await data.functionVersions(9, 50).catch((err) => (missing = err));
    expect((missing as Error).message).to.equal("The indexer has no function 9.");

    const prices = await data.computePrices();
    expect([prices?.perMillionRequests, prices?.perMillionCpuMs]).to.deep.equal([300_000n, 20_000n]);
    expect([await s.escrow.pricePerMillionRequests(), await s.escrow.pricePerMillionCpuMs()]).to.deep.equal([300_000n, 20_000n]);
    // hello at its 20 ms CPU limit: 300,000 + 20 × 20,000 USDC units per million calls.
    expect(costPerMillionCalls(prices!, list[0].limits.cpuMs)).to.equal(700_000n);
  });
});
