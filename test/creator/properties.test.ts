import { expect } from "chai";
import { timelockSigner } from "../../testkit/deploy";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { DEFAULT_FEES, MAX_FEE_SHARE_BPS, MAX_TOTAL_FEE_BPS, quoteBuy, quoteSell, reserveAt, type FeeShares } from "../../protocol/creatorMarket";
import type { CreatorToken } from "../../typechain-types";
import { withTraders } from "./fixtures";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
const CREATORS = 3;

/** Token amounts from one wei to 10,000 tokens, small ones as likely as large ones. */
const amount = fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 6n }), fc.bigInt({ min: 1n, max: 10n ** 22n }));
/** A fraction in parts per million, for sells and transfers of part of a balance. */
const fraction = fc.integer({ min: 1, max: 1_000_000 });
/** Fee shares within the hard caps. */
const feeShares = fc
  .tuple(...[0, 1, 2].map(() => fc.bigInt({ min: 0n, max: MAX_FEE_SHARE_BPS })))
  .filter(([c, b, t]) => c + b + t <= MAX_TOTAL_FEE_BPS)
  .map(([creatorBps, burnBps, treasuryBps]): FeeShares => ({ creatorBps, burnBps, treasuryBps }));

const action = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("buy" as const), trader: fc.nat(5), creator: fc.nat(CREATORS - 1), amount }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("sell" as const), trader: fc.nat(5), creator: fc.nat(CREATORS - 1), fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("transfer" as const), trader: fc.nat(5), to: fc.nat(5), creator: fc.nat(CREATORS - 1), fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("claim" as const), creator: fc.nat(CREATORS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdraw" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fees" as const), shares: feeShares }) },
);

describe("Creator market properties (fast-check on the EVM)", () => {
  it("after any sequence of trades by many accounts the market holds exactly reserve + unclaimed fees, and selling the whole supply back always succeeds", async () => {
    const { creatorMarket: market, flk, traders, admin } = await loadFixture(withTraders);
    const owner = await timelockSigner({ admin });
    const accounts = traders.slice(0, 6);
    const creators = traders.slice(6, 8).concat([accounts[0]]); // the first trader is also a creator
    const marketAddress = await market.getAddress();
    const far = (await time.latest()) + 10 * 365 * 86_400;

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          // The model: supply and balances per creator, unclaimed fees, the fee shares.
          let shares = DEFAULT_FEES;
          const supply = new Array<bigint>(CREATORS).fill(0n);
          const balances = creators.map(() => new Array<bigint>(accounts.length).fill(0n));
          const creatorFees = new Array<bigint>(CREATORS).fill(0n);
          let treasuryFees = 0n;
          const token = async (c: number): Promise<CreatorToken> => hre.ethers.getContractAt("CreatorToken", await market.tokenOf(creators[c].address));

          const check = async () => {
            let owed = treasuryFees;
            for (let c = 0; c < CREATORS; c++) {
              owed += reserveAt(supply[c]) + creatorFees[c];
              expect(await market.supplyOf(creators[c].address)).to.equal(supply[c]);
              expect(await market.creatorFeesOf(creators[c].address)).to.equal(creatorFees[c]);
              expect(balances[c].reduce((x, y) => x + y, 0n)).to.equal(supply[c]);
            }
            expect((await market.globalState()).treasuryFees).to.equal(treasuryFees);
            expect(await flk.balanceOf(marketAddress)).to.equal(owed);
          };

          for (const a of actions) {
            if (a.kind === "buy") {
              const q = quoteBuy(supply[a.creator], a.amount, shares);
              if (q.dust) {
                await expect(market.connect(accounts[a.trader]).buy(creators[a.creator].address, a.amount, q.total, far)).to.be.revertedWithCustomError(
                  market,
                  "CreatorMarketDustTrade",
                );
                continue;
              }
              await market.connect(accounts[a.trader]).buy(creators[a.creator].address, a.amount, q.total, far);
              supply[a.creator] += a.amount;
              balances[a.creator][a.trader] += a.amount;
              creatorFees[a.creator] += q.fees.creator;
              treasuryFees += q.fees.treasury;
            } else if (a.kind === "sell" || a.kind === "transfer") {
              const value = (balances[a.creator][a.trader] * BigInt(a.fraction)) / 1_000_000n;
              if (value === 0n) continue;
              if (a.kind === "sell") {
                const q = quoteSell(supply[a.creator], value, shares);
                if (q.dust) {
                  await expect(market.connect(accounts[a.trader]).sell(creators[a.creator].address, value, 0n, far)).to.be.revertedWithCustomError(
                    market,
                    "CreatorMarketDustTrade",
                  );
                  continue;
                }
                await market.connect(accounts[a.trader]).sell(creators[a.creator].address, value, q.proceeds, far);
                supply[a.creator] -= value;
                creatorFees[a.creator] += q.fees.creator;
                treasuryFees += q.fees.treasury;
              } else {
                await (await token(a.creator)).connect(accounts[a.trader]).transfer(accounts[a.to].address, value);
                balances[a.creator][a.to] += value;
              }
              balances[a.creator][a.trader] -= value;
            } else if (a.kind === "claim") {
              if (creatorFees[a.creator] === 0n) continue;
              await market.connect(creators[a.creator]).claimCreatorFees();
              creatorFees[a.creator] = 0n;
            } else if (a.kind === "withdraw") {
              if (treasuryFees === 0n) continue;
              await market.withdrawTreasuryFees();
              treasuryFees = 0n;
            } else {
              await market.connect(owner).setFees(a.shares.creatorBps, a.shares.burnBps, a.shares.treasuryBps);
              shares = a.shares;
            }
            await check();
          }

          // Everyone sells everything back, in turn: every sale pays its quote and the reserves empty,
          // but for holdings worth less than their fees (refused as dust; their reserve stays).
          for (let c = 0; c < CREATORS; c++) {
            for (let t = 0; t < accounts.length; t++) {
              const value = balances[c][t];
              if (value === 0n) continue;
              const q = quoteSell(supply[c], value, shares);
              if (q.dust) {
                await expect(market.connect(accounts[t]).sell(creators[c].address, value, 0n, far)).to.be.revertedWithCustomError(
                  market,
                  "CreatorMarketDustTrade",
                );
                continue;
              }
              await market.connect(accounts[t]).sell(creators[c].address, value, q.proceeds, far);
              supply[c] -= value;
              balances[c][t] = 0n;
              creatorFees[c] += q.fees.creator;
              treasuryFees += q.fees.treasury;
            }
            expect(await market.reserveOf(creators[c].address)).to.equal(reserveAt(supply[c]));
            expect(reserveAt(supply[c]) <= 100n).to.equal(true);
          }
          await check();
        } finally {
          await snapshot.restore();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("buying and then selling the same amount, in any pieces, never returns more than was paid", async () => {
    const { creatorMarket: market, flk, traders, admin } = await loadFixture(withTraders);
    const owner = await timelockSigner({ admin });
    const [trader, other, creator] = traders;
    const far = (await time.latest()) + 10 * 365 * 86_400;

    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 10n ** 22n }),
        amount,
        fc.array(fraction, { maxLength: 4 }),
        feeShares,
        async (before, bought, pieces, shares) => {
          const snapshot = await takeSnapshot();
          try {
            await market.connect(owner).setFees(shares.creatorBps, shares.burnBps, shares.treasuryBps);
            if (before > 0n) await market.connect(other).buy(creator.address, before, hre.ethers.MaxUint256, far);
            const start = await flk.balanceOf(trader.address);
            const q = quoteBuy(before, bought, shares);
            if (q.dust) {
              await expect(market.connect(trader).buy(creator.address, bought, q.total, far)).to.be.revertedWithCustomError(market, "CreatorMarketDustTrade");
              return;
            }
            await market.connect(trader).buy(creator.address, bought, q.total, far);
            let left = bought;
            let proceeds = 0n;
            for (const part of pieces.concat([1_000_000])) {
              const value = (left * BigInt(part)) / 1_000_000n;
              if (value === 0n) continue;
              const s = quoteSell(before + left, value, shares);
              // A piece worth less than its fees is refused and kept.
              if (s.dust) {
                await expect(market.connect(trader).sell(creator.address, value, 0n, far)).to.be.revertedWithCustomError(market, "CreatorMarketDustTrade");
                continue;
              }
              await market.connect(trader).sell(creator.address, value, s.proceeds, far);
              proceeds += s.proceeds;
              left -= value;
            }
            const end = await flk.balanceOf(trader.address);
            expect(end).to.equal(start - q.total + proceeds);
            expect(end <= start).to.equal(true);
            // The reserve gives back exactly what it took for what was sold; only fees are lost.
            expect(await market.reserveOf(creator.address)).to.equal(reserveAt(before + left));
          } finally {
            await snapshot.restore();
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
