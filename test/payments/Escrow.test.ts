/**
 * ServiceEscrow against the registry (issue #14, attacks 2 and 3): revenue weights are USDC
 * actually debited, a report debits each client exactly what it says or is refused, a client's
 * spending limit per epoch bounds every report, and nothing a client does during the epoch makes
 * the committee's report revert. Expected amounts are literals from the price (0.10 USDC per 10^9
 * bytes, docs/spec.md §8) and the split (80% to nodes), not read from the contracts.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { ClientUsage } from "../../protocol/report";
import { completeEpochReport } from "../../protocol/reportRoots";
import { rewardProof, type RewardsTree } from "../../protocol/rewards";
import { agentService, NO_SERVICE, ServiceKind, usageTotals, type Delivery } from "../../protocol/usage";
import { MIN_STAKE, registrySuite, runBeacon, standings, submitReport, withActiveNodes, type RegistrySuite, type TestNode } from "../../testkit/registry";
import { withContentCharges } from "../../testkit/reportCharges";

const USDC = 10n ** 6n;
/** Bytes that cost `usdc` whole USDC at 0.10 USDC per 10^9 bytes. */
const bytesFor = (usdc: bigint) => usdc * 10n * 10n ** 9n;

type Setup = RegistrySuite & { nodes: TestNode[] };

/** Four nodes of four operators, all on the committee. */
async function paying(): Promise<Setup> {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
  return { ...s, nodes: await withActiveNodes(s, 4) };
}

/** What the escrow lets the current epoch's report debit each account, read now (lower-case keys). */
async function debitableNow(s: Setup, accounts: string[]): Promise<Map<string, bigint>> {
  const amounts = await s.escrow.debitable(accounts, await s.registry.epoch());
  return new Map(accounts.map((a, i) => [a.toLowerCase(), amounts[i]]));
}

/** The report a committee builds from `deliveries` with the given debitable amounts, as node/app does. */
async function committeeReport(s: Setup, deliveries: Delivery[], debitable: Map<string, bigint>) {
  const epoch = await s.registry.epoch();
  const { usage, revenue, charges } = usageTotals(deliveries, debitable);
  const ids = s.nodes.map((n) => n.id);
  return completeEpochReport(
    {
      epoch,
      nodes: ids.map((id) => ({ nodeId: id, uptime: 100, latencyMs: 10, bytesServed: 0n, deliveryAcks: 0n, revenue: revenue.get(id) ?? 0n, reputation: 100 })),
      usage: [...usage].map(([client, amount]) => ({ client, amount })),
      charges,
    },
    await standings(s, ids),
  );
}

/** A report with the given per-node revenue and usage, roots and totals as a committee computes them. */
async function reportWith(s: Setup, revenue: bigint[], usage: ClientUsage[]) {
  const epoch = await s.registry.epoch();
  const ids = s.nodes.map((n) => n.id);
  return completeEpochReport(
    withContentCharges({
      epoch,
      nodes: ids.map((id, i) => ({ nodeId: id, uptime: 100, latencyMs: 10, bytesServed: 0n, deliveryAcks: 0n, revenue: revenue[i] ?? 0n, reputation: 100 })),
      usage,
    }),
    await standings(s, ids),
  );
}

async function claimUsdc(s: Setup, epoch: bigint, tree: RewardsTree, owner: string): Promise<bigint> {
  const { leaf, proof } = rewardProof(tree, owner);
  const before = await s.usdc.balanceOf(owner);
  await s.rewards.claim(epoch, leaf.account, leaf.flkWeight, leaf.usdcWeight, proof);
  return (await s.usdc.balanceOf(owner)) - before;
}

describe("ServiceEscrow: paid revenue and spending limits", () => {
  it("refuses revenue fabricated with an empty client: the honest node is paid 800 of its 1,000 USDC, not 421", async () => {
    const s = await loadFixture(paying);
    const [honestClient, emptyClient] = s.clients;
    const [honest, fabricator] = s.nodes;
    await s.escrow.connect(honestClient).deposit(honestClient.address, 1_000n * USDC);
    // The attack as it worked: the fabricator's node claims 900 USDC of usage by its own client,
    // which holds nothing; the old escrow debited 0 of it but weighed it (the honest node got
    // 800 × 1,000 / 1,900 = 421 USDC). The report's revenue adds up, but the escrow cannot debit it.
    const forged = await reportWith(
      s,
      [1_000n * USDC, 900n * USDC],
      [
        { client: honestClient.address, amount: 1_000n * USDC },
        { client: emptyClient.address, amount: 900n * USDC },
      ],
    );
    await expect(submitReport(s, s.nodes, forged.report))
      .to.be.revertedWithCustomError(s.escrow, "EscrowInsufficientBalance")
      .withArgs(emptyClient.address, 900n * USDC, 0);
    // Revenue with no usage behind it at all: refused by the registry.
    const unbacked = await reportWith(s, [1_000n * USDC, 900n * USDC], [{ client: honestClient.address, amount: 1_000n * USDC }]);
    await expect(submitReport(s, s.nodes, unbacked.report)).to.be.revertedWithCustomError(s.registry, "NodeRegistryBadUsage");

    // The committee's computation charges each client at most its debitable amount.
    const deliveries = [
      { nodeId: honest.id, account: honestClient.address, bytes: bytesFor(1_000n) },
      { nodeId: fabricator.id, account: emptyClient.address, bytes: bytesFor(900n) },
    ];
    const { report, rewards } = await committeeReport(s, deliveries, await debitableNow(s, [honestClient.address, emptyClient.address]));
    expect(report.nodes.map((n) => n.revenue)).to.deep.equal([1_000n * USDC, 0n, 0n, 0n]);
    expect(report.totalUsdcWeight).to.equal(1_000n * USDC);
    const tx = await submitReport(s, s.nodes, report);
    await expect(tx)
      .to.emit(s.escrow, "EpochDebited")
      .withArgs(1, 1_000n * USDC, 800n * USDC, 200n * USDC, 0);
    expect(await claimUsdc(s, 1n, rewards, honest.owner.address)).to.equal(800n * USDC);
    // The fabricator has no leaf: no USDC, no FLK weight.
    expect(() => rewardProof(rewards, fabricator.owner.address)).to.throw(/no leaf/);
  });

  it("scales every node's charge to a client that cannot pay it all, so revenue still equals what is debited", async () => {
    const s = await loadFixture(paying);
    const [client] = s.clients;
    const [n1, n2, n3] = s.nodes;
    await s.escrow.connect(client).deposit(client.address, 300n * USDC);
    // 600 USDC of usage against 300 USDC: each node gets half its charge.
    const deliveries = [
      { nodeId: n1.id, account: client.address, bytes: bytesFor(100n) },
      { nodeId: n2.id, account: client.address, bytes: bytesFor(200n) },
      { nodeId: n3.id, account: client.address, bytes: bytesFor(300n) },
    ];
    const { report, rewards } = await committeeReport(s, deliveries, await debitableNow(s, [client.address]));
    expect(report.nodes.map((n) => n.revenue)).to.deep.equal([50n * USDC, 100n * USDC, 150n * USDC, 0n]);
    expect(report.totalUsage).to.equal(300n * USDC);
    await submitReport(s, s.nodes, report);
    expect((await s.escrow.accounts(client.address)).balance).to.equal(0n);
    expect(await claimUsdc(s, 1n, rewards, n3.owner.address)).to.equal(120n * USDC);
  });

  it("holds every report to the client's spending limit: 1,000 USDC by default, the client's own from the next epoch", async () => {
    const s = await loadFixture(paying);
    const [client, other] = s.clients;
    await s.escrow.connect(client).deposit(client.address, 5_000n * USDC);
    expect(await s.escrow.spendingLimit(client.address, 1)).to.equal(1_000n * USDC);
    const over = await reportWith(s, [1_000n * USDC + 1n], [{ client: client.address, amount: 1_000n * USDC + 1n }]);
    await expect(submitReport(s, s.nodes, over.report))
      .to.be.revertedWithCustomError(s.escrow, "EscrowSpendingLimitExceeded")
      .withArgs(client.address, 1_000n * USDC + 1n, 1_000n * USDC);

    // Lowered during epoch 1: epoch 1 keeps 1,000, epoch 2 gets 10.
    await expect(s.escrow.connect(client).setSpendingLimit(10n * USDC))
      .to.emit(s.escrow, "SpendingLimitSet")
      .withArgs(client.address, 10n * USDC, 2);
    expect(await s.escrow.spendingLimit(client.address, 1)).to.equal(1_000n * USDC);
    expect(await s.escrow.spendingLimit(client.address, 2)).to.equal(10n * USDC);
    // Only the client sets its own: another account's call sets the other account's limit.
    await s.escrow.connect(other).setSpendingLimit(0);
    expect(await s.escrow.spendingLimit(client.address, 2)).to.equal(10n * USDC);
    await expect(s.escrow.connect(client).setSpendingLimit(2n ** 64n)).to.be.revertedWithCustomError(s.escrow, "SafeCastOverflowedUintDowncast");
    const atLimit = await reportWith(s, [1_000n * USDC], [{ client: client.address, amount: 1_000n * USDC }]);
    await submitReport(s, s.nodes, atLimit.report);

    const e2over = await reportWith(s, [10n * USDC + 1n], [{ client: client.address, amount: 10n * USDC + 1n }]);
    await expect(submitReport(s, s.nodes, e2over.report))
      .to.be.revertedWithCustomError(s.escrow, "EscrowSpendingLimitExceeded")
      .withArgs(client.address, 10n * USDC + 1n, 10n * USDC);
    // The committee's computation caps at the limit: 100 USDC of usage debits 10.
    const { report } = await committeeReport(
      s,
      [{ nodeId: s.nodes[0].id, account: client.address, bytes: bytesFor(100n) }],
      await debitableNow(s, [client.address]),
    );
    expect(report.totalUsage).to.equal(10n * USDC);
    await submitReport(s, s.nodes, report);
    expect((await s.escrow.accounts(client.address)).balance).to.equal(3_990n * USDC);
  });

  it("lets no client make the epoch's report revert: withdrawals keep the reserve, limits wait for the next epoch", async () => {
    const s = await loadFixture(paying);
    const [client] = s.clients;
    await s.escrow.connect(client).deposit(client.address, 1_500n * USDC);
    await s.escrow.connect(client).requestWithdrawal(1_500n * USDC);
    // The committee reads the debitable amount at the epoch's first block (here: now, epoch 1).
    const startBlock = await hre.ethers.provider.getBlockNumber();
    const debitable = await s.escrow.debitable([client.address], 1, { blockTag: startBlock });
    expect(debitable).to.deep.equal([1_000n * USDC]);
    const { report } = await committeeReport(
      s,
      [{ nodeId: s.nodes[0].id, account: client.address, bytes: bytesFor(2_000n) }],
      new Map([[client.address.toLowerCase(), debitable[0]]]),
    );
    expect(report.totalUsage).to.equal(1_000n * USDC);
    // Then the client tries everything: zero limit, full withdrawal after the notice.
    await s.escrow.connect(client).setSpendingLimit(0);
    await time.increase(await s.escrow.noticePeriod());
    await mine();
    await expect(s.escrow.connect(client).withdraw()).to.changeTokenBalance(s.usdc, client, 500n * USDC);
    const left = await s.escrow.accounts(client.address);
    expect([left.balance, left.withdrawalAmount]).to.deep.equal([1_000n * USDC, 1_000n * USDC]);
    // A later read of the same block gives the same amount; the current state at least as much.
    expect(await s.escrow.debitable([client.address], 1, { blockTag: startBlock })).to.deep.equal([1_000n * USDC]);
    await submitReport(s, s.nodes, report);
    expect((await s.escrow.accounts(client.address)).balance).to.equal(0n);
    // Nothing is left to pay: the next withdrawal pays nothing and spends the announcement.
    await expect(s.escrow.connect(client).withdraw()).to.changeTokenBalance(s.usdc, client, 0n);
    expect((await s.escrow.accounts(client.address)).withdrawalAmount).to.equal(0n);
  });

  it("frees the whole balance once a zero limit is in force", async () => {
    const s = await loadFixture(paying);
    const [client] = s.clients;
    await s.escrow.connect(client).deposit(client.address, 700n * USDC);
    await s.escrow.connect(client).setSpendingLimit(0);
    await s.escrow.connect(client).requestWithdrawal(700n * USDC);
    // The committee's beacon before the notice runs out the epoch: members that never commit are
    // jailed, and epoch 2 would have no committee to sign the report below.
    await runBeacon(s, s.nodes);
    await time.increase(await s.escrow.noticePeriod());
    // Epoch 1 still reserves its 700 (limit 1,000): nothing is paid, the announcement stays.
    await expect(s.escrow.connect(client).withdraw()).to.changeTokenBalance(s.usdc, client, 0n);
    await submitReport(s, s.nodes, (await reportWith(s, [], [])).report);
    expect(await s.escrow.debitable([client.address], 2)).to.deep.equal([0n]);
    await expect(s.escrow.connect(client).withdraw()).to.changeTokenBalance(s.usdc, client, 700n * USDC);
    const over = await reportWith(s, [1n], [{ client: client.address, amount: 1n }]);
    await expect(submitReport(s, s.nodes, over.report))
      .to.be.revertedWithCustomError(s.escrow, "EscrowSpendingLimitExceeded")
      .withArgs(client.address, 1n, 0n);
  });

  it('pools agent revenue\'s 20% node share with the rest and shares the pool by gross revenue (docs/payments.md "Agent revenue")', async () => {
    const s = await loadFixture(paying);
    const [client] = s.clients;
    const [content, agentHost] = s.nodes;
    const owner = (await hre.ethers.getSigners())[12];
    await s.agentMarketplace.connect(owner).register("alpha", `0x${"11".repeat(32)}`, `0x${"22".repeat(32)}`, 128, 1_000);
    await s.escrow.connect(client).deposit(client.address, 1_000n * USDC);
    const epoch = await s.registry.epoch();
    const ids = s.nodes.map((n) => n.id);
    const revenue = new Map([
      [content.id, 500n * USDC],
      [agentHost.id, 500n * USDC],
    ]);
    const { report, rewards } = completeEpochReport(
      {
        epoch,
        nodes: ids.map((id) => ({
          nodeId: id,
          uptime: 100,
          latencyMs: 10,
          bytesServed: 0n,
          deliveryAcks: 0n,
          revenue: revenue.get(id) ?? 0n,
          reputation: 100,
        })),
        usage: [{ client: client.address, amount: 1_000n * USDC }],
        charges: [
          { nodeId: content.id, kind: ServiceKind.Content, service: NO_SERVICE, requests: 1n, cpuMs: 0n, amount: 500n * USDC },
          { nodeId: agentHost.id, kind: ServiceKind.Agent, service: agentService(1), requests: 1n, cpuMs: 0n, amount: 500n * USDC },
        ],
      },
      await standings(s, ids),
    );
    const buybackBefore = await s.usdc.balanceOf(await s.buyback.getAddress());
    // Content: 400 to the pool, 100 burned; the agent: 100 to the pool, 350 to its owner, 50 burned.
    await expect(submitReport(s, s.nodes, report))
      .to.emit(s.escrow, "EpochDebited")
      .withArgs(epoch, 1_000n * USDC, 500n * USDC, 100n * USDC, 400n * USDC);
    expect(await s.agentMarketplace.balanceOf(owner.address)).to.equal(350n * USDC);
    expect((await s.usdc.balanceOf(await s.buyback.getAddress())) - buybackBefore).to.equal(150n * USDC);
    // Equal gross revenue, equal USDC weight: 250 each (alone, content would get 400 and the agent host 100).
    expect(await claimUsdc(s, epoch, rewards, content.owner.address)).to.equal(250n * USDC);
    expect(await claimUsdc(s, epoch, rewards, agentHost.owner.address)).to.equal(250n * USDC);
  });

  it("takes the edge functions' prices from governance only, within bounds, with an event", async () => {
    const s = await loadFixture(registrySuite);
    // Cloudflare Workers' prices by default: $0.30 per million requests, $0.02 per million CPU-ms.
    expect(await s.escrow.pricePerMillionRequests()).to.equal(300_000n);
    expect(await s.escrow.pricePerMillionCpuMs()).to.equal(20_000n);
    await expect(s.escrow.connect(s.clients[0]).setComputePrices(1n, 1n))
      .to.be.revertedWithCustomError(s.escrow, "OwnableUnauthorizedAccount")
      .withArgs(s.clients[0].address);
    // Up to 1 USDC per request and per CPU-ms, no further.
    const max = 10n ** 12n;
    expect(await s.escrow.MAX_COMPUTE_PRICE()).to.equal(max);
    await expect(s.escrow.connect(s.adminSigner).setComputePrices(max + 1n, 0n)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    await expect(s.escrow.connect(s.adminSigner).setComputePrices(0n, max + 1n)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    await expect(s.escrow.connect(s.adminSigner).setComputePrices(max, 0n)).to.emit(s.escrow, "ComputePricesSet").withArgs(max, 0n);
    expect([await s.escrow.pricePerMillionRequests(), await s.escrow.pricePerMillionCpuMs()]).to.deep.equal([max, 0n]);
  });
});
