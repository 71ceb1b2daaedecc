import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { signedVoucher, tokenCallSuite } from "../../testkit/tokenCalls";
import { afterOneReorg, dropTestDatabases, newEngine, testBackends } from "./helpers";

describe("indexer reorgs over token-paid agent calls", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: a branch with redemptions, a claim, a fee burn and a withdrawal request replaced by another ends identical to a fresh sync`, async function () {
      const backend = (await testBackends()).find((b) => b.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(tokenCallSuite);
      const e = s.tokenCallEscrow;
      const [a, b] = s.callers;
      const redeem = async (caller: typeof a, cumulative: bigint) => {
        const v = await signedVoucher(s, caller, cumulative);
        await e.connect(s.node.owner).redeem(v.voucher, v.signature);
      };
      const database = await backend.fresh();
      const reference = await backend.fresh();
      try {
        await e.connect(a).deposit(s.creator.address, s.node.id, 10n * FLK);
        await redeem(a, FLK);
        const engine = await newEngine(database, s, { finalityDepth: 60 });
        await engine.syncToHead();
        const fork = await hre.network.provider.send("evm_snapshot");
        // Branch A: A's channel raised to 3, the creator claims, the fees burned, A asks its deposit back.
        await redeem(a, 3n * FLK);
        await e.connect(s.creator).claim(s.token);
        await e.burnFees(s.token, 0, (await time.latest()) + 600);
        await e.connect(a).requestWithdrawal(s.token, s.node.id, 7n * FLK);
        await engine.syncToHead();
        expect(await database.db.selectFrom("token_call_burns").selectAll().execute()).to.have.length(1);
        await hre.network.provider.send("evm_revert", [fork]);
        // Branch B: B deposits 5 and one token of it is redeemed.
        await e.connect(b).deposit(s.creator.address, s.node.id, 5n * FLK);
        await redeem(b, FLK);
        const got = await afterOneReorg(engine, database, reference, s);
        // Literal state of branch B: two redemptions of 1 token each at 20/70/10, nothing claimed or burned.
        expect(
          (got.token_call_agent_revenue as Record<string, unknown>[]).map((r) => [r.redemptions, r.amount, r.to_nodes, r.to_owner, r.to_protocol]),
        ).to.deep.equal([[2, "2000000000000000000", "400000000000000000", "1400000000000000000", "200000000000000000"]]);
        expect(
          (got.token_call_tokens as Record<string, unknown>[]).map((t) => [t.deposited, t.redeemed, t.claimed, t.fees_burned, t.flk_burned]),
        ).to.deep.equal([["15000000000000000000", "2000000000000000000", "0", "0", "0"]]);
        expect((got.token_call_deposits as Record<string, unknown>[]).map((d) => [d.caller, d.node_id, d.balance, d.pending])).to.have.deep.members([
          [a.address, s.node.id, "9000000000000000000", "0"],
          [b.address, s.node.id, "4000000000000000000", "0"],
        ]);
        expect(got.token_call_burns).to.deep.equal([]);
        expect((got.token_call_totals as Record<string, unknown>[]).map((t) => [t.redemptions, t.burns, t.flk_burned])).to.deep.equal([[2, 0, "0"]]);
      } finally {
        await database.close();
        await reference.close();
      }
    });
  }
});
