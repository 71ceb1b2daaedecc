/**
 * TokenCallEscrow accounting over random sequences on the EVM (fast-check): callers deposit,
 * sign vouchers that raise (or replay) their channels, ask deposits back and withdraw them before
 * or after the delay; governance changes the marketplace's split; payees claim; anyone burns the
 * protocol fees. After every step, against a plain model: deposits = balances + redeemed +
 * withdrawn; redeemed = earnings + claimed + protocol fees + fees burned; the escrow holds exactly
 * balances + earnings + protocol fees; each redemption's three shares sum to its amount, the owner
 * and protocol shares rounded down. Every action must succeed at least once over the run.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { FLK } from "../../protocol/units";
import { timelockSigner } from "../../testkit/deploy";
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
  fc.record({ kind: fc.constant("deposit" as const), caller: fc.nat(1), amount: fc.bigInt({ min: 1n, max: 50n * FLK }) }),
  fc.record({ kind: fc.constant("redeem" as const), caller: fc.nat(1), agent: fc.nat(1), raise: fc.bigInt({ min: 0n, max: 30n * FLK }) }),
  fc.record({ kind: fc.constant("split" as const), split: fc.nat(SPLITS.length - 1) }),
  fc.record({ kind: fc.constant("request" as const), caller: fc.nat(1), share: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ kind: fc.constant("withdraw" as const), caller: fc.nat(1), wait: fc.boolean() }),
  fc.record({ kind: fc.constant("claim" as const), payee: fc.nat(1) }),
  fc.record({ kind: fc.constant("burn" as const) }),
);

describe("TokenCallEscrow properties (fast-check on the EVM)", () => {
  it("deposits = balances + redeemed + withdrawn, redeemed = earnings + claimed + fees, each split exact", async function () {
    this.timeout(900_000);
    const s = await loadFixture(tokenCallSuite);
    const e = s.tokenCallEscrow;
    const gov = await timelockSigner(s);
    const erc20 = await hre.ethers.getContractAt("IERC20", s.token);
    const escrowAddress = await e.getAddress();
    const payees = [s.node.owner, s.creator];
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
            balance: [0n, 0n],
            pending: [0n, 0n],
            earnings: [0n, 0n],
            fees: 0n,
            split: SPLITS[0],
            // Latest cumulative signed and redeemed, per caller and agent.
            signed: [
              [0n, 0n],
              [0n, 0n],
            ],
            paid: [
              [0n, 0n],
              [0n, 0n],
            ],
          };
          for (const a of actions) {
            if (a.kind === "deposit") {
              await e.connect(s.callers[a.caller]).deposit(s.creator.address, a.amount);
              m.balance[a.caller] += a.amount;
              m.deposited += a.amount;
            } else if (a.kind === "redeem") {
              const cumulative = m.signed[a.caller][a.agent] + a.raise;
              m.signed[a.caller][a.agent] = cumulative;
              const v = await signedVoucher(s, s.callers[a.caller], cumulative, { agentId: BigInt(a.agent + 1) });
              const due = cumulative - m.paid[a.caller][a.agent];
              const amount = due < m.balance[a.caller] ? due : m.balance[a.caller];
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
              m.paid[a.caller][a.agent] += amount;
              m.balance[a.caller] -= amount;
              m.redeemed += amount;
              m.earnings[0] += event.args.toNode;
              m.earnings[1] += toOwner;
              m.fees += toProtocol;
            } else if (a.kind === "split") {
              m.split = SPLITS[a.split];
              await s.agentMarketplace.connect(gov).setSplit(...m.split);
            } else if (a.kind === "request") {
              const amount = (m.balance[a.caller] * BigInt(a.share)) / 100n;
              if (amount === 0n) continue;
              await e.connect(s.callers[a.caller]).requestWithdrawal(s.token, amount);
              m.pending[a.caller] = amount;
            } else if (a.kind === "withdraw") {
              if (a.wait) await time.increase(DAY);
              const ready = a.wait && m.pending[a.caller] !== 0n && m.balance[a.caller] !== 0n;
              if (!ready) {
                await expect(e.connect(s.callers[a.caller]).withdraw(s.token)).to.be.reverted;
                done.refusedWithdraw++;
                continue;
              }
              const amount = m.pending[a.caller] < m.balance[a.caller] ? m.pending[a.caller] : m.balance[a.caller];
              await expect(e.connect(s.callers[a.caller]).withdraw(s.token))
                .to.emit(e, "TokensWithdrawn")
                .withArgs(s.callers[a.caller].address, s.token, amount);
              m.balance[a.caller] -= amount;
              m.pending[a.caller] = 0n;
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

            expect(m.deposited).to.equal(m.balance[0] + m.balance[1] + m.redeemed + m.withdrawn);
            expect(m.redeemed).to.equal(m.earnings[0] + m.earnings[1] + m.claimed + m.fees + m.burned);
            for (let i = 0; i < 2; i++) {
              expect((await e.deposits(s.callers[i].address, s.token)).balance).to.equal(m.balance[i]);
              expect(await e.earnings(s.token, payees[i].address)).to.equal(m.earnings[i]);
            }
            expect(await e.protocolFees(s.token)).to.equal(m.fees);
            expect(await erc20.balanceOf(escrowAddress)).to.equal(m.balance[0] + m.balance[1] + m.earnings[0] + m.earnings[1] + m.fees);
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
              { kind: "deposit", caller: 0, amount: 20n * FLK },
              { kind: "redeem", caller: 0, agent: 0, raise: 7n * FLK },
              { kind: "redeem", caller: 0, agent: 0, raise: 0n },
              { kind: "split", split: 2 },
              { kind: "request", caller: 0, share: 100 },
              { kind: "redeem", caller: 0, agent: 1, raise: 3n * FLK },
              { kind: "withdraw", caller: 0, wait: false },
              { kind: "withdraw", caller: 0, wait: true },
              { kind: "claim", payee: 0 },
              { kind: "claim", payee: 1 },
              { kind: "burn" },
            ],
          ],
        ],
      },
    );
    for (const [name, count] of Object.entries(done)) expect(count, `${name} never happened`).to.be.greaterThan(0);
  });
});
