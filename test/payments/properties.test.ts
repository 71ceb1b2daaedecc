/**
 * Payment invariants over random sequences on the EVM (fast-check): clients deposit, set limits,
 * announce and make withdrawals while the committee reports epochs built as node/app builds them
 * (debitable amounts read at each epoch's first block, charges from random deliveries).
 * After every step: every report's revenue weight = USDC debited in it; the escrow holds exactly
 * its clients' balances; EpochRewards holds owed + unowed USDC, owed = Σ (pool − paid); and no
 * claim pays an owner more than its node share of the USDC its nodes were paid for, plus what
 * rolled over. Every action must succeed at least once over the run.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { completeEpochReport } from "../../protocol/reportRoots";
import { rewardProof, type RewardsTree } from "../../protocol/rewards";
import { usageTotals } from "../../protocol/usage";
import { MIN_STAKE, registrySuite, runBeacon, standings, submitReport, withActiveNodes } from "../../testkit/registry";

const USDC = 10n ** 6n;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 8);

async function paying() {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
  return { ...s, nodes: await withActiveNodes(s, 4) };
}

const clientAction = fc.oneof(
  fc.record({ kind: fc.constant("deposit" as const), client: fc.nat(1), amount: fc.bigInt({ min: 1n, max: 2_000n * USDC }) }),
  fc.record({ kind: fc.constant("limit" as const), client: fc.nat(1), limit: fc.bigInt({ min: 0n, max: 1_500n * USDC }) }),
  fc.record({ kind: fc.constant("request" as const), client: fc.nat(1), permille: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ kind: fc.constant("withdraw" as const), client: fc.nat(1) }),
);
const epochPlan = fc.record({
  actions: fc.array(clientAction, { maxLength: 5 }),
  // Bytes each node delivered to each client: up to ~2,000 USDC of usage per pair.
  bytes: fc.array(fc.array(fc.bigInt({ min: 0n, max: 2n * 10n ** 13n }), { minLength: 2, maxLength: 2 }), { minLength: 4, maxLength: 4 }),
  claim: fc.boolean(),
});

describe("ServiceEscrow and EpochRewards properties (fast-check on the EVM)", () => {
  it("revenue = debited, escrow = balances, rewards = owed + unowed, no payout above the paid share", async function () {
    this.timeout(900_000);
    const s = await loadFixture(paying);
    const done = { deposit: 0, limit: 0, request: 0, withdraw: 0, report: 0, paidReport: 0, claim: 0 };
    const rewardsAddress = await s.rewards.getAddress();
    const escrowAddress = await s.escrow.getAddress();
    const nodeShare = await s.escrow.nodeShareBps();

    await fc.assert(
      fc.asyncProperty(fc.array(epochPlan, { minLength: 1, maxLength: 4 }), async (plans) => {
        const snapshot = await takeSnapshot();
        try {
          const trees = new Map<bigint, { tree: RewardsTree; paidShare: Map<string, bigint> }>();
          const claimed = new Set<string>();
          let pooled = 0n;
          let toNodesIn = 0n;
          for (const plan of plans) {
            const epoch = await s.registry.epoch();
            // The committee's reading at the epoch's first block.
            const startBlock = await s.registry.runner!.provider!.getBlockNumber();
            const clients = s.clients.map((c) => c.address);
            const debitable = await s.escrow.debitable(clients, epoch, { blockTag: startBlock });
            for (const a of plan.actions) {
              const client = s.clients[a.client];
              if (a.kind === "deposit") {
                await s.escrow.connect(client).deposit(client.address, a.amount);
              } else if (a.kind === "limit") {
                await s.escrow.connect(client).setSpendingLimit(a.limit);
              } else if (a.kind === "request") {
                const balance = (await s.escrow.accounts(client.address)).balance;
                const amount = (balance * BigInt(a.permille)) / 1000n;
                if (amount === 0n) continue;
                await s.escrow.connect(client).requestWithdrawal(amount);
              } else {
                const acc = await s.escrow.accounts(client.address);
                if (acc.withdrawalAmount === 0n) continue;
                if (acc.withdrawableAt >= (await s.registry.epochEnd())) {
                  // The notice outlasts the epoch: its committee runs the beacon meanwhile, as nodes do
                  // (a silent member is jailed, and the next epoch would have no signers).
                  await runBeacon(s, s.nodes);
                }
                if (BigInt(await time.latest()) < acc.withdrawableAt) await time.increaseTo(acc.withdrawableAt);
                await s.escrow.connect(client).withdraw();
                // Never below this epoch's reserve.
                expect((await s.escrow.accounts(client.address)).balance >= (await s.escrow.debitable([client.address], epoch))[0]).to.equal(true);
              }
              done[a.kind]++;
            }
            const deliveries = s.nodes.flatMap((n, i) => clients.map((account, j) => ({ nodeId: n.id, account, bytes: plan.bytes[i][j] })));
            const { usage, revenue, charges } = usageTotals(deliveries, new Map(clients.map((c, j) => [c.toLowerCase(), debitable[j]])));
            const ids = s.nodes.map((n) => n.id);
            const standing = await standings(s, ids);
            const { report, rewards } = completeEpochReport(
              {
                epoch,
                nodes: ids.map((id) => ({
                  nodeId: id,
                  uptime: 100,
                  latencyMs: 5,
                  bytesServed: 0n,
                  deliveryAcks: 0n,
                  revenue: revenue.get(id) ?? 0n,
                  reputation: 90,
                })),
                usage: [...usage].map(([client, amount]) => ({ client, amount })),
                charges,
              },
              standing,
            );
            // Nothing the clients did since the epoch's first block makes the report revert.
            const tx = await submitReport(s, s.nodes, report);
            done.report++;
            const debited = (await s.escrow.queryFilter(s.escrow.filters.EpochDebited(epoch), tx.blockNumber!, tx.blockNumber!))[0];
            const total = debited?.args.total ?? 0n;
            // Revenue weight = USDC actually debited.
            expect(report.totalUsdcWeight).to.equal(total);
            if (total > 0n) done.paidReport++;
            toNodesIn += debited?.args.toNodes ?? 0n;
            const pool = (await s.rewards.pools(epoch)).usdcPool;
            pooled += pool;
            // What each owner was paid for, at the node share.
            const paidShare = new Map<string, bigint>();
            for (const id of ids) {
              const owner = standing.get(id)!.owner;
              paidShare.set(owner, (paidShare.get(owner) ?? 0n) + ((revenue.get(id) ?? 0n) * nodeShare) / 10_000n);
            }
            trees.set(epoch, { tree: rewards, paidShare });
            if (plan.claim) {
              for (const [e, { tree, paidShare: shares }] of trees) {
                if (!tree.tree) continue;
                const p = await s.rewards.pools(e);
                const rolledIn = p.usdcPool - (shares.size ? [...shares.values()].reduce((x, y) => x + y, 0n) : 0n);
                for (const [, [account]] of tree.tree.entries()) {
                  if (claimed.has(`${e}:${account}`)) continue;
                  const { leaf, proof } = rewardProof(tree, account);
                  const before = await s.usdc.balanceOf(account);
                  await s.rewards.claim(e, leaf.account, leaf.flkWeight, leaf.usdcWeight, proof);
                  const got = (await s.usdc.balanceOf(account)) - before;
                  // At most its node share of what it was paid for, plus USDC that rolled over.
                  expect(got <= (shares.get(account) ?? 0n) + (rolledIn > 0n ? rolledIn : 0n) + 1n).to.equal(true);
                  claimed.add(`${e}:${account}`);
                  done.claim++;
                }
              }
            }
            // The escrow holds exactly the clients' balances.
            let balances = 0n;
            for (const c of clients) balances += (await s.escrow.accounts(c)).balance;
            expect(await s.usdc.balanceOf(escrowAddress)).to.equal(balances);
            // EpochRewards: balance = owed + unowed; owed = Σ (pool − paid); unowed = paid in − pooled.
            let owed = 0n;
            for (const e of trees.keys()) {
              const p = await s.rewards.pools(e);
              owed += p.usdcPool - p.usdcPaid;
            }
            expect(await s.rewards.usdcOwed()).to.equal(owed);
            expect(await s.usdc.balanceOf(rewardsAddress)).to.equal(owed + (toNodesIn - pooled));
            expect((await s.flk.balanceOf(rewardsAddress)) >= (await s.rewards.flkOwed())).to.equal(true);
          }
        } finally {
          await snapshot.restore();
        }
      }),
      {
        numRuns: RUNS,
        // One sequence that reaches every action whatever the seed: deposit, limit, request, a paid
        // report, then the withdrawal and the claims.
        examples: [
          [
            [
              {
                actions: [
                  { kind: "deposit", client: 0, amount: 1_500n * USDC },
                  { kind: "limit", client: 1, limit: 10n * USDC },
                  { kind: "request", client: 0, permille: 500 },
                ],
                bytes: [
                  [10n ** 13n, 0n],
                  [0n, 0n],
                  [0n, 0n],
                  [0n, 0n],
                ],
                claim: false,
              },
              {
                actions: [{ kind: "withdraw", client: 0 }],
                bytes: [
                  [10n ** 13n, 0n],
                  [5n * 10n ** 12n, 0n],
                  [0n, 0n],
                  [0n, 0n],
                ],
                claim: true,
              },
            ],
          ],
        ],
      },
    );
    for (const [action, count] of Object.entries(done)) expect(count, `${action} never succeeded`).to.be.greaterThan(0);
  });
});
