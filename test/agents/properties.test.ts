/**
 * Marketplace accounting over random sequences on the EVM (fast-check): owners register agents and
 * hand them on, governance changes the split, the escrow settles epochs (sometimes one already
 * settled), owners withdraw. After every step: USDC pulled from the escrow = owner balances +
 * withdrawn + fees deposited into the buyback; the marketplace holds exactly the owners' balances;
 * each owner's balance equals a plain model of the split (shares rounded down). Every action must
 * succeed at least once over the run, and the repeated settlement must be refused at least once.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, takeSnapshot } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { marketFixture, ROOT_A, ROOT_B, USDC } from "./fixtures";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 10);
/** Splits governance may set (node, owner, protocol), each within the contract's bounds. */
const SPLITS: [number, number, number][] = [
  [2_000, 7_000, 1_000],
  [500, 7_500, 2_000],
  [3_000, 5_000, 2_000],
  [4_999, 5_001, 0],
];

const action = fc.oneof(
  fc.record({ kind: fc.constant("register" as const), owner: fc.nat(3) }),
  fc.record({ kind: fc.constant("transfer" as const), agent: fc.nat(7), to: fc.nat(3) }),
  fc.record({ kind: fc.constant("split" as const), split: fc.nat(SPLITS.length - 1) }),
  fc.record({
    kind: fc.constant("settle" as const),
    entries: fc.array(fc.record({ agent: fc.nat(7), amount: fc.bigInt({ min: 0n, max: 5_000n * USDC }) }), { maxLength: 6 }),
    again: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("withdraw" as const), owner: fc.nat(3) }),
);

describe("AgentMarketplace properties (fast-check on the EVM)", () => {
  it("escrow in = owner balances + withdrawn + buyback fees; the marketplace holds exactly the balances", async function () {
    this.timeout(900_000);
    const s = await loadFixture(marketFixture);
    const { market, usdc, buyback, settler, gov, owners } = s;
    const marketAddress = await market.getAddress();
    const buybackAddress = await buyback.getAddress();
    const done = { register: 0, transfer: 0, split: 0, settle: 0, refusedAgain: 0, withdraw: 0 };

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const settlerStart = await usdc.balanceOf(settler.address);
          const buybackStart = await usdc.balanceOf(buybackAddress);
          const ownerOf: number[] = [];
          const balances = [0n, 0n, 0n, 0n];
          let withdrawn = 0n;
          let split = SPLITS[0];
          let epoch = 10n;
          for (const a of actions) {
            if (a.kind === "register") {
              await market.connect(owners[a.owner]).register("agent", ROOT_A, ROOT_B, 128, 10_000);
              ownerOf.push(a.owner);
            } else if (a.kind === "transfer") {
              if (a.agent >= ownerOf.length) continue;
              await market.connect(owners[ownerOf[a.agent]]).transferAgent(a.agent + 1, owners[a.to].address);
              ownerOf[a.agent] = a.to;
            } else if (a.kind === "split") {
              split = SPLITS[a.split];
              await market.connect(gov).setSplit(...split);
            } else if (a.kind === "settle") {
              const entries = a.entries.filter((e) => e.agent < ownerOf.length);
              epoch += 1n;
              await market.connect(settler).settle(
                epoch,
                entries.map((e) => e.agent + 1),
                entries.map((e) => e.amount),
              );
              for (const e of entries) balances[ownerOf[e.agent]] += (e.amount * BigInt(split[1])) / 10_000n;
              if (a.again) {
                await expect(market.connect(settler).settle(epoch, [], [])).to.be.revertedWithCustomError(market, "AgentMarketEpochSettled");
                done.refusedAgain++;
              }
            } else {
              if (balances[a.owner] === 0n) {
                await expect(market.connect(owners[a.owner]).withdraw()).to.be.revertedWithCustomError(market, "AgentMarketNothingToWithdraw");
                continue;
              }
              const before = await usdc.balanceOf(owners[a.owner].address);
              await market.connect(owners[a.owner]).withdraw();
              expect((await usdc.balanceOf(owners[a.owner].address)) - before).to.equal(balances[a.owner]);
              withdrawn += balances[a.owner];
              balances[a.owner] = 0n;
            }
            done[a.kind]++;

            const pulled = settlerStart - (await usdc.balanceOf(settler.address));
            const fees = (await usdc.balanceOf(buybackAddress)) - buybackStart;
            const owed = balances.reduce((x, y) => x + y, 0n);
            for (let i = 0; i < owners.length; i++) expect(await market.balanceOf(owners[i].address)).to.equal(balances[i]);
            expect(pulled).to.equal(owed + withdrawn + fees);
            expect(await usdc.balanceOf(marketAddress)).to.equal(owed);
            expect([await market.totalOwed(), await market.totalWithdrawn(), await market.totalProtocolFees()]).to.deep.equal([owed, withdrawn, fees]);
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
              { kind: "register", owner: 0 },
              { kind: "register", owner: 1 },
              { kind: "split", split: 1 },
              {
                kind: "settle",
                entries: [
                  { agent: 0, amount: 1_234_567n },
                  { agent: 1, amount: 99n },
                ],
                again: true,
              },
              { kind: "transfer", agent: 0, to: 2 },
              { kind: "settle", entries: [{ agent: 0, amount: 5n * USDC }], again: false },
              { kind: "withdraw", owner: 0 },
              { kind: "withdraw", owner: 2 },
            ],
          ],
        ],
      },
    );
    for (const [name, count] of Object.entries(done)) expect(count, `${name} never succeeded`).to.be.greaterThan(0);
  });
});
