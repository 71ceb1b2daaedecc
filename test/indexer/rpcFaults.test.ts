import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { RetryingRpc, type Rpc } from "../../indexer/sync/rpc";
import { scriptedActivity } from "./activity";
import { creatorActivity } from "./creatorActivity";
import { dropTestDatabases, dumpDerived, hardhatRpc, newEngine, onBothBackends } from "./helpers";

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
  // Both backends' runs share the machine: the first test waits for its run while the other goes on.
  this.timeout(300_000);
  after(dropTestDatabases);

  /**
   * Syncs `fixture`'s chain into two fresh databases of each backend (both backends at once), one
   * over the clean RPC, one over the faulty one in small batches; returns both derived states and
   * how many faults were served, per backend.
   */
  const syncCleanAndFaulty = (fixture: () => Promise<Suite>) =>
    onBothBackends(
      () => loadFixture(fixture),
      async (backend, suite) => {
        const clean = await backend.fresh();
        const faulty = await backend.fresh();
        try {
          await (await newEngine(clean, suite)).syncToHead();
          const flaky = faultyRpc(hardhatRpc(), 3, 4);
          // Small batches: e.g. creator tokens are created in one batch and traded in later ones.
          const engine = await newEngine(faulty, suite, {
            rpc: new RetryingRpc(flaky, { baseDelayMs: 1, maxDelayMs: 5 }),
            batchEvents: 7,
            fetcher: { initialRange: 64, concurrency: 3 },
          });
          await engine.syncToHead();
          return { faults: flaky.faults, clean: await dumpDerived(clean), faulty: await dumpDerived(faulty) };
        } finally {
          await clean.close();
          await faulty.close();
        }
      },
    );

  // Each fixture's two runs end before the next fixture reverts the chain under them.
  const scripted = syncCleanAndFaulty(deployedWithActivity);
  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: retries every failure and ends identical to a clean sync`, async function () {
      const run = await scripted(name);
      if (!run) return this.skip();
      expect(run.faults).to.be.greaterThan(10);
      expect(run.faulty).to.deep.equal(run.clean);
    });
  }

  const creator = syncCleanAndFaulty(creatorActivity);
  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: creator-token logs (fetched per batch from the clones) survive the same faults`, async function () {
      const run = await creator(name);
      if (!run) return this.skip();
      expect(run.faults).to.be.greaterThan(10);
      expect(run.faulty).to.deep.equal(run.clean);
      expect(run.faulty.creator_token_holders.length).to.be.greaterThan(3);
    });
  }

  it("passes an error on after its attempts are spent", async function () {
    const always: Rpc = { send: async () => Promise.reject(new Error("down")) };
    const rpc = new RetryingRpc(always, { attempts: 3, baseDelayMs: 1 });
    await expect(rpc.send("eth_blockNumber", [])).to.be.rejectedWith("down");
    expect(rpc.stats).to.deep.equal({ calls: 3, retries: 2 });
  });
});
