import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { startApiServer } from "../../indexer/api/server";
import { FLK } from "../../protocol/units";
import { registerNodes, type TestNode } from "../../testkit/registry";
import { signedVoucher, tokenCallSuite, type TokenCallSuite } from "../../testkit/tokenCalls";
import { gql } from "./graphql";
import { dropTestDatabases, newEngine, testBackends } from "./helpers";

interface TokenCallScenario extends TokenCallSuite {
  /** FLK the fee sale burned, as the contract returns it (the curve's price is not this test's subject). */
  flkBurned: bigint;
  /** A second node, which A deposits 4 tokens for and asks them back at `readyAt` - 1 day. */
  other: TestNode;
  readyAt: bigint;
}

/**
 * On the suite's TokenCallEscrow (docs/agents.md "Calls paid in the creator token"), the split
 * 20/70/10 (node/owner/protocol; owner and protocol round down, the node takes the rest):
 * caller A deposits 100 tokens, caller B 10. The node redeems A's voucher for 1e18 + 3 wei
 * (owner 700000000000000002, protocol 100000000000000000, node 200000000000000001), then A's for
 * 3e18 in all (1999999999999999997 more: owner 1399999999999999997, protocol 199999999999999999,
 * node 400000000000000001), then B's for 20e18, which pays B's whole 10e18 (7e18, 1e18, 2e18).
 * A asks back 50 tokens and takes them after the delay; the creator claims; anyone burns the fees.
 * Deposits are per serving node: A also deposits 4 tokens for a second node and asks them back,
 * which leaves its deposit for the first node as it was.
 */
async function tokenCallScenario(): Promise<TokenCallScenario> {
  const s = await tokenCallSuite();
  const e = s.tokenCallEscrow;
  const [a, b] = s.callers;
  await e.connect(a).deposit(s.creator.address, s.node.id, 100n * FLK);
  await e.connect(b).deposit(s.creator.address, s.node.id, 10n * FLK);
  for (const [caller, cumulative] of [
    [a, FLK + 3n],
    [a, 3n * FLK],
    [b, 20n * FLK],
  ] as const) {
    const v = await signedVoucher(s, caller, cumulative);
    await e.connect(s.node.owner).redeem(v.voucher, v.signature);
  }
  await e.connect(a).requestWithdrawal(s.token, s.node.id, 50n * FLK);
  await time.increase(86_400);
  await e.connect(a).withdraw(s.token, s.node.id);
  await e.connect(s.creator).claim(s.token);
  const deadline = (await time.latest()) + 600;
  const flkBurned = await e.burnFees.staticCall(s.token, 0, deadline);
  await e.burnFees(s.token, 0, deadline);
  const [other] = await registerNodes(s, 1, undefined, 1);
  await e.connect(a).deposit(s.creator.address, other.id, 4n * FLK);
  await e.connect(a).requestWithdrawal(s.token, other.id, 4n * FLK);
  const readyAt = BigInt(await time.latest()) + 86_400n;
  return { ...s, flkBurned, other, readyAt };
}

const QUERY = (s: TokenCallScenario) => `{
  agent(id: 1) { tokenRevenue { nodes { agentId token redemptions amount toNodes toOwner toProtocol } } }
  tokenCallNodeRevenue(nodeId: ${s.node.id}) { nodes { nodeId token operator redemptions amount toNode } }
  tokenCallTokens(creator: "${s.creator.address.toLowerCase()}") {
    nodes { token creator deposited withdrawn redemptions redeemed toNodes toOwner toProtocol claimed feesBurned flkBurned }
  }
  creator: tokenCallEarnings(account: "${s.creator.address}") { nodes { token credited claimed balance } }
  operator: tokenCallEarnings(account: "${s.node.owner.address}") { nodes { token credited claimed balance } }
  a: tokenCallDeposit(caller: "${s.callers[0].address}", token: "${s.token}", nodeId: ${s.node.id}) { nodeId deposited redeemed withdrawn balance pending readyAt }
  aOther: tokenCallDeposit(caller: "${s.callers[0].address}", token: "${s.token}", nodeId: ${s.other.id}) { nodeId deposited redeemed withdrawn balance pending readyAt }
  b: tokenCallDeposit(caller: "${s.callers[1].address}", token: "${s.token}", nodeId: ${s.node.id}) { deposited redeemed withdrawn balance pending }
  bOther: tokenCallDeposit(caller: "${s.callers[1].address}", token: "${s.token}", nodeId: ${s.other.id}) { balance }
  tokenCallBurns { nodes { token amount flkBurned } }
  tokenCallTotals { redemptions burns flkBurned }
}`;

describe("indexer: agent calls paid in creator tokens", function () {
  this.timeout(300_000);
  after(dropTestDatabases);

  for (const name of ["pglite", "postgres"] as const) {
    it(`${name}: revenue per agent, node and creator, earnings, deposits and the FLK burned, over GraphQL`, async function () {
      const backend = (await testBackends()).find((x) => x.name === name)!;
      if (!backend.fresh) return this.skip();
      const s = await loadFixture(tokenCallScenario);
      const database = await backend.fresh();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, s)).syncToHead();
        const answer = await gql(api.url, QUERY(s));
        expect(answer.errors, JSON.stringify(answer.errors)).to.equal(undefined);
        const d = answer.data;
        expect(d.agent.tokenRevenue.nodes).to.deep.equal([
          {
            agentId: 1,
            token: s.token,
            redemptions: 3,
            amount: "13000000000000000000",
            toNodes: "2600000000000000002",
            toOwner: "9099999999999999999",
            toProtocol: "1299999999999999999",
          },
        ]);
        expect(d.tokenCallNodeRevenue.nodes).to.deep.equal([
          { nodeId: s.node.id, token: s.token, operator: s.node.owner.address, redemptions: 3, amount: "13000000000000000000", toNode: "2600000000000000002" },
        ]);
        expect(s.flkBurned > 0n).to.equal(true);
        expect(d.tokenCallTokens.nodes).to.deep.equal([
          {
            token: s.token,
            creator: s.creator.address,
            deposited: "114000000000000000000",
            withdrawn: "50000000000000000000",
            redemptions: 3,
            redeemed: "13000000000000000000",
            toNodes: "2600000000000000002",
            toOwner: "9099999999999999999",
            toProtocol: "1299999999999999999",
            claimed: "9099999999999999999",
            feesBurned: "1299999999999999999",
            flkBurned: s.flkBurned.toString(),
          },
        ]);
        expect(d.creator.nodes).to.deep.equal([{ token: s.token, credited: "9099999999999999999", claimed: "9099999999999999999", balance: "0" }]);
        expect(d.operator.nodes).to.deep.equal([{ token: s.token, credited: "2600000000000000002", claimed: "0", balance: "2600000000000000002" }]);
        expect(d.a).to.deep.equal({
          nodeId: s.node.id,
          deposited: "100000000000000000000",
          redeemed: "3000000000000000000",
          withdrawn: "50000000000000000000",
          balance: "47000000000000000000",
          pending: "0",
          readyAt: 0,
        });
        expect(d.aOther).to.deep.equal({
          nodeId: s.other.id,
          deposited: "4000000000000000000",
          redeemed: "0",
          withdrawn: "0",
          balance: "4000000000000000000",
          pending: "4000000000000000000",
          readyAt: Number(s.readyAt),
        });
        expect(d.b).to.deep.equal({ deposited: "10000000000000000000", redeemed: "10000000000000000000", withdrawn: "0", balance: "0", pending: "0" });
        expect(d.bOther).to.equal(null);
        expect(d.tokenCallBurns.nodes).to.deep.equal([{ token: s.token, amount: "1299999999999999999", flkBurned: s.flkBurned.toString() }]);
        expect(d.tokenCallTotals).to.deep.equal({ redemptions: 3, burns: 1, flkBurned: s.flkBurned.toString() });
        // The chain agrees: what the operator may still claim, and what A's deposit holds.
        expect(await s.tokenCallEscrow.earnings(s.token, s.node.owner.address)).to.equal(2_600_000_000_000_000_002n);
        expect((await s.tokenCallEscrow.deposits(s.callers[0].address, s.token, s.node.id)).balance).to.equal(47n * FLK);
      } finally {
        await api.close();
        await database.close();
      }
    });
  }
});
