/**
 * TokenCallEscrow accounting over random sequences on the EVM (fast-check): callers deposit for
 * one of two nodes, sign vouchers to either node that raise (or replay) their channels, ask
 * deposits back and withdraw them before or after the delay; governance changes the marketplace's
 * split; payees claim; anyone burns the protocol fees. After every step, against a plain model:
 * each (caller, node) deposit is paid only by that node's vouchers; deposits = balances + redeemed
 * + withdrawn; redeemed = earnings + claimed + protocol fees + fees burned; the escrow holds
 * exactly balances + earnings + protocol fees; each redemption's three shares sum to its amount,
 * the owner and protocol shares rounded down. Every action must succeed at least once over the run.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { timelockSigner } from "../../testkit/deploy";
import { registerNodes } from "../../testkit/registry";
import { signedVoucher, tokenCallSuite } from "../../testkit/tokenCalls";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 10);
const DAY = 86_400;
/** Splits governance may set (node, owner, protocol), each within the marketplace's bounds. */
const SPLITS: [number, number, number][] = [
  [2_000, 7_000, 1_000],
  [500, 7_500, 2_000],
  [3_333, 5_001, 1_666],
];

const action = fc.oneof(
  fc.record({ kind: fc.constant("deposit" as const), caller: fc.nat(1), node: fc.nat(1), amount: fc.bigInt({ min: 1n, max: 50n * FLK }) }),
  fc.record({
    kind: fc.constant("redeem" as const),
    caller: fc.nat(1),
    agent: fc.nat(1),
    node: fc.nat(1),
    raise: fc.bigInt({ min: 0n, max: 30n * FLK }),
  }),
  fc.record({ kind: fc.constant("split" as const), split: fc.nat(SPLITS.length - 1) }),
  fc.record({ kind: fc.constant("request" as const), caller: fc.nat(1), node: fc.nat(1), share: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ kind: fc.constant("withdraw" as const), caller: fc.nat(1), node: fc.nat(1), wait: fc.boolean() }),
  fc.record({ kind: fc.constant("claim" as const), payee: fc.nat(2) }),
  fc.record({ kind: fc.constant("burn" as const) }),
);

/** A rows × columns table of zeros. */
const grid = (rows: number, columns: number): bigint[][] => Array.from({ length: rows }, () => Array<bigint>(columns).fill(0n));
const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);

describe("TokenCallEscrow properties (fast-check on the EVM)", () => {
  it("each node paid only from its own deposits; deposits = balances + redeemed + withdrawn, redeemed = earnings + claimed + fees, each split exact", async function () {
    this.timeout(900_000);
    const s = await loadFixture(tokenCallSuite);
    const e = s.tokenCallEscrow;
    const gov = await timelockSigner(s);
    const erc20 = await hre.ethers.getContractAt("IERC20", s.token);
    const escrowAddress = await e.getAddress();
    const [other] = await registerNodes(s, 1, undefined, 1);
    const nodes = [s.node, other];
    // The two nodes' operators and the creator.
    const payees = [s.node.owner, other.owner, s.creator];
    const done = { deposit: 0, redeem: 0, refusedRedeem: 0, split: 0, request: 0, withdraw: 0, refusedWithdraw: 0, claim: 0, burn: 0 };

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const m = {
            deposited: 0n,
            withdrawn: 0n,
            redeemed: 0n,
            claimed: 0n,
            burned: 0n,
            // Per caller and node.
            balance: grid(2, 2),
            pending: grid(2, 2),
            earnings: [0n, 0n, 0n],
            fees: 0n,
            split: SPLITS[0],
            // Latest cumulative signed and redeemed, per caller and channel (agent × 2 + node).
            signed: grid(2, 4),
            paid: grid(2, 4),
          };
          for (const a of actions) {
            if (a.kind === "deposit") {
              await e.connect(s.callers[a.caller]).deposit(s.creator.address, nodes[a.node].id, a.amount);
              m.balance[a.caller][a.node] += a.amount;
              m.deposited += a.amount;
            } else if (a.kind === "redeem") {
              const channel = a.agent * 2 + a.node;
              const cumulative = m.signed[a.caller][channel] + a.raise;
              m.signed[a.caller][channel] = cumulative;
              const v = await signedVoucher(s, s.callers[a.caller], cumulative, { agentId: BigInt(a.agent + 1), nodeId: nodes[a.node].id });
              const due = cumulative - m.paid[a.caller][channel];
              // Only the deposit for the voucher's node pays it.
              const held = m.balance[a.caller][a.node];
              const amount = due < held ? due : held;
              if (amount === 0n) {
                await expect(e.redeem(v.voucher, v.signature)).to.be.revertedWithCustomError(e, "TokenCallNothingToRedeem");
                done.refusedRedeem++;
                continue;
              }
              const receipt = await (await e.redeem(v.voucher, v.signature)).wait();
              const event = e.interface.parseLog(receipt!.logs[0])!;
              const [, ownerBps, protocolBps] = m.split;
              const toOwner = (amount * BigInt(ownerBps)) / 10_000n;
              const toProtocol = (amount * BigInt(protocolBps)) / 10_000n;
              expect(event.args.amount).to.equal(amount);
              expect([event.args.toOwner, event.args.toProtocol]).to.deep.equal([toOwner, toProtocol]);
              expect(event.args.toNode + event.args.toOwner + event.args.toProtocol).to.equal(amount);
              expect(event.args.nodeOperator).to.equal(nodes[a.node].owner.address);
              m.paid[a.caller][channel] += amount;
              m.balance[a.caller][a.node] -= amount;
              m.redeemed += amount;
              m.earnings[a.node] += event.args.toNode;
              m.earnings[2] += toOwner;
              m.fees += toProtocol;
            } else if (a.kind === "split") {
              m.split = SPLITS[a.split];
              await s.agentMarketplace.connect(gov).setSplit(...m.split);
            } else if (a.kind === "request") {
              const amount = (m.balance[a.caller][a.node] * BigInt(a.share)) / 100n;
              if (amount === 0n) continue;
              await e.connect(s.callers[a.caller]).requestWithdrawal(s.token, nodes[a.node].id, amount);
              m.pending[a.caller][a.node] = amount;
            } else if (a.kind === "withdraw") {
              if (a.wait) await time.increase(DAY);
              const [pending, balance] = [m.pending[a.caller][a.node], m.balance[a.caller][a.node]];
              const ready = a.wait && pending !== 0n && balance !== 0n;
              if (!ready) {
                await expect(e.connect(s.callers[a.caller]).withdraw(s.token, nodes[a.node].id)).to.be.reverted;
                done.refusedWithdraw++;
                continue;
              }
              const amount = pending < balance ? pending : balance;
              await expect(e.connect(s.callers[a.caller]).withdraw(s.token, nodes[a.node].id))
                .to.emit(e, "TokensWithdrawn")
                .withArgs(s.callers[a.caller].address, s.token, nodes[a.node].id, amount);
              m.balance[a.caller][a.node] -= amount;
              m.pending[a.caller][a.node] = 0n;
              m.withdrawn += amount;
            } else if (a.kind === "claim") {
              if (m.earnings[a.payee] === 0n) continue;
              await e.connect(payees[a.payee]).claim(s.token);
              m.claimed += m.earnings[a.payee];
              m.earnings[a.payee] = 0n;
            } else {
              // Below a millionth of a token the sale is dust the curve refuses.
              if (m.fees < 10n ** 12n) continue;
              await e.burnFees(s.token, 0, hre.ethers.MaxUint256);
              m.burned += m.fees;
              m.fees = 0n;
            }
            done[a.kind]++;

            const balances = sum(m.balance.flat());
            const earnings = sum(m.earnings);
            expect(m.deposited).to.equal(balances + m.redeemed + m.withdrawn);
            expect(m.redeemed).to.equal(earnings + m.claimed + m.fees + m.burned);
            for (let i = 0; i < 2; i++)
              for (let n = 0; n < 2; n++) expect((await e.deposits(s.callers[i].address, s.token, nodes[n].id)).balance).to.equal(m.balance[i][n]);
            for (let i = 0; i < payees.length; i++) expect(await e.earnings(s.token, payees[i].address)).to.equal(m.earnings[i]);
            expect(await e.protocolFees(s.token)).to.equal(m.fees);
            expect(await erc20.balanceOf(escrowAddress)).to.equal(balances + earnings + m.fees);
          }
        } finally {
          await snapshot.restore();
        }
      }),
      {
        numRuns: RUNS,
        // Reaches every action whatever the seed.
        examples: [
          [
            [
              { kind: "deposit", caller: 0, node: 0, amount: 20n * FLK },
              { kind: "redeem", caller: 0, agent: 0, node: 0, raise: 7n * FLK },
              { kind: "redeem", caller: 0, agent: 0, node: 0, raise: 0n },
              // Node 1 has no deposit of caller 0: node 0's does not pay it.
              { kind: "redeem", caller: 0, agent: 0, node: 1, raise: 5n * FLK },
              { kind: "deposit", caller: 0, node: 1, amount: 2n * FLK },
              { kind: "redeem", caller: 0, agent: 0, node: 1, raise: 0n },
              { kind: "split", split: 2 },
              { kind: "request", caller: 0, node: 0, share: 100 },
              { kind: "redeem", caller: 0, agent: 1, node: 0, raise: 3n * FLK },
              { kind: "withdraw", caller: 0, node: 0, wait: false },
              { kind: "withdraw", caller: 0, node: 0, wait: true },
              { kind: "claim", payee: 0 },
              { kind: "claim", payee: 1 },
              { kind: "claim", payee: 2 },
              { kind: "burn" },
            ],
          ],
        ],
      },
    );
    for (const [name, count] of Object.entries(done)) expect(count, `${name} never happened`).to.be.greaterThan(0);
  });
});
