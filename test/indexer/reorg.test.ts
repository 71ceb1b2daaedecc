import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { deploySuite, type Suite } from "../../testkit/deploy";
import { FLK } from "../../protocol/units";
import { UnrecoverableReorgError } from "../../indexer/sync/errors";
import { dropTestDatabases, dumpDerived, newEngine, testBackends } from "./helpers";

/** `blocks` one-transaction blocks of transfers and burns; `variant` changes amounts so forks differ. */
async function activity(suite: Suite, blocks: number, variant: bigint): Promise<void> {
  const s = await hre.ethers.getSigners();
  for (let i = 0; i < blocks; i++) {
    if (i % 3 === 2) await suite.flk.connect(s[16]).burn(variant * FLK + BigInt(i));
    else await suite.flk.connect(s[16]).transfer(s[2 + ((i + Number(variant)) % 6)].address, variant * 1_000n * FLK + BigInt(i));
  }
}

async function deployedAndReleased(): Promise<Suite> {
  const suite = await deploySuite();
  await suite.vesting.release(6); // the sale schedule (ids: team 0-2, early supporters 3-4, ecosystem 5, sale 6): gives s[16] tokens to move
  return suite;
}

describe("indexer reorgs (Hardhat snapshot/revert)", function () {
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    describe(name, function () {
      for (const depth of [1, 3, 8]) {
        it(`rolls back a ${depth}-block reorg and ends identical to a fresh sync of the new chain`, async function () {
          const backend = (await testBackends()).find((b) => b.name === name)!;
          if (!backend.fresh) return this.skip();
          const suite = await loadFixture(deployedAndReleased);
          await activity(suite, 4, 1n);
          const database = await backend.fresh();
          const reference = await backend.fresh();
          try {
            const engine = await newEngine(database, suite, { finalityDepth: 12 });
            await engine.syncToHead();
            const fork = await hre.network.provider.send("evm_snapshot");
            await activity(suite, depth, 2n);
            await engine.syncToHead();
            await hre.network.provider.send("evm_revert", [fork]);
            // The new branch is longer than the old one for some depths, shorter for others.
            await activity(suite, depth === 3 ? 1 : depth + 2, 3n);
            await engine.syncToHead();
            expect(engine.stats.reorgs).to.equal(1);

            const fresh = await newEngine(reference, suite, { finalityDepth: 12 });
            await fresh.syncToHead();
            const got = await dumpDerived(database);
            expect(got).to.deep.equal(await dumpDerived(reference));
            for (const a of got.accounts as { address: string; balance: string }[]) {
              expect(BigInt(a.balance)).to.equal(await suite.flk.balanceOf(a.address), a.address);
            }
            // Nothing of the abandoned branch is left in the hash chain: every stored hash is the
            // chain's at that height, and the window up to the cursor is complete.
            const stored = (await database.db.selectFrom("indexer_blocks").select(["block_number", "hash"]).orderBy("block_number").execute()) as {
              block_number: number;
              hash: string;
            }[];
            expect(stored.length).to.be.within(1, 13);
            expect(stored[stored.length - 1].block_number).to.equal(engine.cursor);
            for (const { block_number, hash } of stored) {
              expect(hash, `block ${block_number}`).to.equal((await hre.ethers.provider.getBlock(block_number))!.hash);
            }
          } finally {
            await database.close();
            await reference.close();
          }
        });
      }

      it("refuses a reorg deeper than the finality depth with a clear error", async function () {
        const backend = (await testBackends()).find((b) => b.name === name)!;
        if (!backend.fresh) return this.skip();
        const suite = await loadFixture(deployedAndReleased);
        const database = await backend.fresh();
        try {
          const engine = await newEngine(database, suite, { finalityDepth: 2 });
          const fork = await hre.network.provider.send("evm_snapshot");
          await activity(suite, 6, 2n);
          await engine.syncToHead();
          await hre.network.provider.send("evm_revert", [fork]);
          await activity(suite, 7, 3n);
          let error: unknown;
          await engine.syncToHead().catch((e) => (error = e));
          expect(error).to.be.instanceOf(UnrecoverableReorgError);
          expect((error as Error).message).to.match(/raise --finality-depth/);
        } finally {
          await database.close();
        }
      });
    });
  }
});
