import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { RetryingRpc, type Rpc } from "../../indexer/sync/rpc";
import { scriptedActivity } from "./activity";
import { creatorActivity } from "./creatorActivity";
import { dropTestDatabases, dumpDerived, hardhatRpc, newEngine, testBackends } from "./helpers";

/**
 * The real Hardhat RPC, failing every `n`-th call (alternating a timeout-like error, a rate
 * limit and a server error) and refusing `eth_getLogs` over more than `maxRange` blocks the way
 * hosted providers do.
 */
function faultyRpc(inner: Rpc, n: number, maxRange: number): Rpc & { faults: number } {
  let calls = 0;
  const kinds = ["socket hang up", "429 Too Many Requests: rate limit exceeded", "internal error (-32603)"];
  const rpc = {
    faults: 0,
    async send(method: string, params: unknown[]) {
      calls++;
      if (calls % n === 0) {
        rpc.faults++;
        throw new Error(kinds[rpc.faults % kinds.length]);
      }
      if (method === "eth_getLogs") {
        const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
        if (Number(toBlock) - Number(fromBlock) + 1 > maxRange) throw new Error(`query exceeds block range ${maxRange}`);
      }
      return inner.send(method, params);
    },
  };
  return rpc;
}

async function deployedWithActivity(): Promise<Suite> {
  const suite = await deploySuite();
  await scriptedActivity(suite);
  return suite;
}

describe("indexer over a faulty RPC", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: retries every failure and ends identical to a clean sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const suite = await loadFixture(deployedWithActivity);
      const clean = await backend.fresh();
      const faulty = await backend.fresh();
      try {
        await (await newEngine(clean, suite)).syncToHead();
        const flaky = faultyRpc(hardhatRpc(), 3, 4);
        const engine = await newEngine(faulty, suite, {
          rpc: new RetryingRpc(flaky, { baseDelayMs: 1, maxDelayMs: 5 }),
          batchEvents: 7,
          fetcher: { initialRange: 64, concurrency: 3 },
        });
        await engine.syncToHead();
        expect(flaky.faults).to.be.greaterThan(10);
        expect(await dumpDerived(faulty)).to.deep.equal(await dumpDerived(clean));
      } finally {
        await clean.close();
        await faulty.close();
      }
    });

    it(`${name}: creator-token logs (fetched per batch from the clones) survive the same faults`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const suite = await loadFixture(creatorActivity);
      const clean = await backend.fresh();
      const faulty = await backend.fresh();
      try {
        await (await newEngine(clean, suite)).syncToHead();
        const flaky = faultyRpc(hardhatRpc(), 3, 4);
        // Small batches: tokens are created in one batch and traded in later ones.
        const engine = await newEngine(faulty, suite, {
          rpc: new RetryingRpc(flaky, { baseDelayMs: 1, maxDelayMs: 5 }),
          batchEvents: 7,
          fetcher: { initialRange: 64, concurrency: 3 },
        });
        await engine.syncToHead();
        expect(flaky.faults).to.be.greaterThan(10);
        const got = await dumpDerived(faulty);
        expect(got).to.deep.equal(await dumpDerived(clean));
        expect(got.creator_token_holders.length).to.be.greaterThan(3);
      } finally {
        await clean.close();
        await faulty.close();
      }
    });
  }

  it("passes an error on after its attempts are spent", async function () {
    const always: Rpc = { send: async () => Promise.reject(new Error("down")) };
    const rpc = new RetryingRpc(always, { attempts: 3, baseDelayMs: 1 });
    await expect(rpc.send("eth_blockNumber", [])).to.be.rejectedWith("down");
    expect(rpc.stats).to.deep.equal({ calls: 3, retries: 2 });
  });
});
