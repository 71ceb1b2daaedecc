/**
 * Agent revenue from the epoch report's kind-2 charges through ServiceEscrow.debit to
 * AgentMarketplace.settle (docs/payments.md "Agent revenue", docs/agents.md "Settlement"), on the
 * EVM: literal figures of the default 20/70/10 split, per-agent sums across nodes, unknown agents
 * and a refusing marketplace split as other revenue, agents past the settlement bound likewise, governance's
 * wiring, and a fast-check property that no USDC is created or lost over random reports.
 * The escrow's registry is a mock epoch clock that the test impersonates to call `debit` directly.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { impersonateAccount, loadFixture, setBalance, takeSnapshot } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { splitEpochRevenue, type AgentSplit } from "../../protocol/rewards";
import { NO_SERVICE, ServiceKind } from "../../protocol/usage";
import { deploySuite } from "../../testkit/deploy";
import { ROOT_A, ROOT_B, USDC } from "./fixtures";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
const SPLIT_20_70_10: AgentSplit = { nodeBps: 2_000n, ownerBps: 7_000n, protocolBps: 1_000n };
const agentService = (id: bigint | number) => hre.ethers.zeroPadValue(hre.ethers.toBeHex(id), 32);

/** A charge of `amount` by node `nodeId` (kind 0 content, 1 function, 2 agent `id`). */
function charge(nodeId: number, kind: number, service: string, amount: bigint) {
  return { nodeId, kind, service, requests: 1n, cpuMs: 0n, amount };
}

async function settlement() {
  const suite = await deploySuite();
  const signers = await hre.ethers.getSigners();
  const [gov, rewards, client, ...owners] = signers.slice(10);
  const usdc = suite.usdc;
  const clock = await (await hre.ethers.getContractFactory("MockEpochClock")).deploy();
  await clock.setEpoch(5);
  const clockAddress = await clock.getAddress();
  await impersonateAccount(clockAddress);
  await setBalance(clockAddress, 10n ** 20n);
  const registry = await hre.ethers.getSigner(clockAddress);
  const escrow = await (await hre.ethers.getContractFactory("ServiceEscrow")).deploy(usdc, clockAddress, rewards.address, gov.address, suite.buyback, 0);
  const market = await (await hre.ethers.getContractFactory("AgentMarketplace")).deploy(usdc, clock, suite.creatorMarket, gov.address, escrow, suite.buyback);
  await expect(escrow.connect(gov).setMarketplace(market))
    .to.emit(escrow, "MarketplaceSet")
    .withArgs(await market.getAddress());
  await usdc.mint(client.address, 10_000_000n * USDC);
  await usdc.connect(client).approve(await escrow.getAddress(), hre.ethers.MaxUint256);
  await escrow.connect(client).deposit(client.address, 10_000_000n * USDC);
  await escrow.connect(client).setSpendingLimit(10_000_000n * USDC);
  await clock.setEpoch(6);
  for (const [i, owner] of owners.slice(0, 3).entries()) await market.connect(owner).register(`agent-${i}`, ROOT_A, ROOT_B, 128, 1_000);
  return { ...suite, escrow, market, clock, gov, registry, rewards, client, owners: owners.slice(0, 3) };
}

type Fixture = Awaited<ReturnType<typeof settlement>>;

/** USDC where it can go: the escrow, the node pool, the marketplace (owners) and the buyback. */
async function holdings(s: Fixture) {
  const at = async (a: { getAddress(): Promise<string> } | string) => s.usdc.balanceOf(typeof a === "string" ? a : await a.getAddress());
  return { escrow: await at(s.escrow), rewards: await at(s.rewards.address), market: await at(s.market), buyback: await at(s.buyback) };
}

async function debit(s: Fixture, epoch: number, charges: ReturnType<typeof charge>[]) {
  const total = charges.reduce((sum, c) => sum + c.amount, 0n);
  return s.escrow.connect(s.registry).debit(epoch, total === 0n ? [] : [{ client: s.client.address, amount: total }], charges);
}

describe("Agent revenue through ServiceEscrow.debit", () => {
  it("splits 1,000,000 units of one agent's revenue, served by two nodes, 200,000 / 700,000 / 100,000", async () => {
    const s = await loadFixture(settlement);
    const before = await holdings(s);
    const tx = debit(s, 6, [charge(1, ServiceKind.Agent, agentService(1), 600_000n), charge(2, ServiceKind.Agent, agentService(1), 400_000n)]);
    // One settlement entry for the agent, summed across its nodes.
    await expect(tx).to.emit(s.market, "AgentRevenue").withArgs(6, 1, s.owners[0].address, 1_000_000, 200_000, 700_000, 100_000);
    await expect(tx).to.emit(s.market, "EpochSettled").withArgs(6, 1, 1_000_000, 200_000, 700_000, 100_000);
    await expect(tx).to.emit(s.escrow, "EpochDebited").withArgs(6, 1_000_000, 200_000, 0, 800_000);
    const after = await holdings(s);
    expect(before.escrow - after.escrow).to.equal(1_000_000n);
    expect(after.rewards - before.rewards).to.equal(200_000n);
    expect(after.market - before.market).to.equal(700_000n);
    expect(after.buyback - before.buyback).to.equal(100_000n);
    expect(await s.market.balanceOf(s.owners[0].address)).to.equal(700_000n);
    // The escrow's approval to the marketplace does not outlive the debit.
    expect(await s.usdc.allowance(await s.escrow.getAddress(), await s.market.getAddress())).to.equal(0n);
  });

  it("splits content and function revenue 80/20 beside two agents' 20/70/10", async () => {
    const s = await loadFixture(settlement);
    const before = await holdings(s);
    const fn = `0x${"11".repeat(32)}`;
    const tx = debit(s, 6, [
      charge(1, ServiceKind.Content, NO_SERVICE, 300_000n),
      charge(1, ServiceKind.Function, fn, 200_000n),
      charge(1, ServiceKind.Agent, agentService(2), 10_000n),
      charge(2, ServiceKind.Agent, agentService(1), 1_000_000n),
      charge(2, ServiceKind.Agent, agentService(2), 333n),
    ]);
    // Other revenue 500,000: 400,000 nodes, 100,000 buyback. Agent 1: 200,000 / 700,000 / 100,000;
    // agent 2 (10,333): owner 7,233, protocol 1,033, nodes the rest 2,067.
    await expect(tx)
      .to.emit(s.escrow, "EpochDebited")
      .withArgs(6, 1_510_333, 400_000 + 200_000 + 2_067, 100_000, 700_000 + 100_000 + 7_233 + 1_033);
    await expect(tx).to.emit(s.market, "AgentRevenue").withArgs(6, 2, s.owners[1].address, 10_333, 2_067, 7_233, 1_033);
    const after = await holdings(s);
    expect(after.rewards - before.rewards).to.equal(602_067n);
    expect(after.market - before.market).to.equal(707_233n);
    expect(after.buyback - before.buyback).to.equal(201_033n);
    expect(before.escrow - after.escrow).to.equal(1_510_333n);
  });

  it("splits charges of unknown agents (id 0, above agentCount) as other revenue, and all agent charges while no marketplace is set", async () => {
    const s = await loadFixture(settlement);
    const tx = debit(s, 6, [charge(1, ServiceKind.Agent, agentService(0), 500_000n), charge(1, ServiceKind.Agent, agentService(4), 500_000n)]);
    await expect(tx).to.emit(s.escrow, "EpochDebited").withArgs(6, 1_000_000, 800_000, 200_000, 0);
    await expect(tx).not.to.emit(s.market, "EpochSettled");
    await expect(s.escrow.connect(s.gov).setMarketplace(hre.ethers.ZeroAddress)).to.emit(s.escrow, "MarketplaceSet").withArgs(hre.ethers.ZeroAddress);
    await expect(debit(s, 7, [charge(1, ServiceKind.Agent, agentService(1), 1_000_000n)]))
      .to.emit(s.escrow, "EpochDebited")
      .withArgs(7, 1_000_000, 800_000, 200_000, 0);
    expect(await s.market.balanceOf(s.owners[0].address)).to.equal(0n);
  });

  it("never stalls a report on a refusing marketplace: its revenue is split as other revenue, nothing moves to it", async () => {
    const s = await loadFixture(settlement);
    // Governance repoints the marketplace at another escrow: its settle now refuses this one.
    await s.market.connect(s.gov).setSettlement(s.gov.address, s.buyback);
    const before = await holdings(s);
    const tx = debit(s, 6, [charge(1, ServiceKind.Agent, agentService(1), 1_000_000n)]);
    await expect(tx).to.emit(s.escrow, "AgentSettlementFailed").withArgs(6, 1_000_000);
    await expect(tx).to.emit(s.escrow, "EpochDebited").withArgs(6, 1_000_000, 800_000, 200_000, 0);
    const after = await holdings(s);
    expect([after.market - before.market, after.rewards - before.rewards, after.buyback - before.buyback]).to.deep.equal([0n, 800_000n, 200_000n]);
    expect(await s.usdc.allowance(await s.escrow.getAddress(), await s.market.getAddress())).to.equal(0n);
  });

  it("settles the first 128 distinct agents and splits the rest as other revenue: no report is stuck on agents", async function () {
    this.timeout(300_000);
    const s = await loadFixture(settlement);
    const max = Number(await s.escrow.MAX_SETTLED_AGENTS());
    expect(max).to.equal(128);
    for (let i = 4; i <= max + 1; i++) await s.market.connect(s.owners[i % 3]).register(`a${i}`, ROOT_A, ROOT_B, 1, 0);
    // 129 agents, 1,000 units each, odd ids on node 1, even on node 2: the last in report order (agent 128) is the 129th.
    const charges = Array.from({ length: max + 1 }, (_, i) => charge(1 + (i % 2), ServiceKind.Agent, agentService(i + 1), 1_000n)).sort(
      (a, b) => a.nodeId - b.nodeId || (a.service < b.service ? -1 : 1),
    );
    expect(BigInt(charges[charges.length - 1].service)).to.equal(128n);
    const before = await holdings(s);
    const tx = debit(s, 6, charges);
    await expect(tx).to.emit(s.escrow, "AgentRevenueUnsettled").withArgs(6, 1_000);
    await expect(tx).to.emit(s.market, "EpochSettled").withArgs(6, 128, 128_000, 25_600, 89_600, 12_800);
    // 128 settled: 25,600 nodes, 89,600 owners, 12,800 fee; the 129th's 1,000 at 80/20.
    await expect(tx)
      .to.emit(s.escrow, "EpochDebited")
      .withArgs(6, 129_000, 25_600 + 800, 200, 89_600 + 12_800);
    const after = await holdings(s);
    expect(before.escrow - after.escrow).to.equal(129_000n);
    expect(after.rewards - before.rewards + (after.market - before.market) + (after.buyback - before.buyback)).to.equal(129_000n);
    // protocol/'s model bounds the agents the same way.
    const model = splitEpochRevenue(129_000n, charges, 8_000n, SPLIT_20_70_10, BigInt(max + 1));
    expect([model.toNodes, model.toBuyback, model.toMarketplace]).to.deep.equal([26_400n, 200n, 102_400n]);
  });

  it("lets only governance set the marketplace, and only one settled by this escrow", async () => {
    const s = await loadFixture(settlement);
    await expect(s.escrow.connect(s.client).setMarketplace(s.market)).to.be.revertedWithCustomError(s.escrow, "OwnableUnauthorizedAccount");
    const other = await (
      await hre.ethers.getContractFactory("AgentMarketplace")
    ).deploy(s.usdc, s.clock, s.creatorMarket, s.gov.address, s.gov.address, s.buyback);
    await expect(s.escrow.connect(s.gov).setMarketplace(other)).to.be.revertedWithCustomError(s.escrow, "EscrowBadParameter");
    expect(await s.escrow.marketplace()).to.equal(await s.market.getAddress());
  });

  it("creates and loses no USDC over random reports: debited = to the node pool + to owners + to the buyback (fast-check)", async function () {
    this.timeout(900_000);
    const s = await loadFixture(settlement);
    const SPLITS: AgentSplit[] = [
      { nodeBps: 2_000n, ownerBps: 7_000n, protocolBps: 1_000n },
      { nodeBps: 500n, ownerBps: 7_500n, protocolBps: 2_000n },
      { nodeBps: 4_999n, ownerBps: 5_001n, protocolBps: 0n },
    ];
    const done = { content: 0, function: 0, agent: 0, unknownAgent: 0, mixed: 0, empty: 0 };
    const chargeArb = fc.record({
      nodeId: fc.integer({ min: 1, max: 4 }),
      kind: fc.constantFrom(ServiceKind.Content, ServiceKind.Function, ServiceKind.Agent),
      // Agents 1-3 are registered; 0 and 4-5 name none.
      agent: fc.integer({ min: 0, max: 5 }),
      amount: fc.bigInt({ min: 0n, max: 50_000n * USDC }),
    });
    let epoch = 100;
    await fc.assert(
      fc.asyncProperty(
        fc.array(chargeArb, { maxLength: 12 }),
        fc.nat(SPLITS.length - 1),
        fc.integer({ min: 5_000, max: 10_000 }),
        async (raw, splitIndex, nodeShare) => {
          const snapshot = await takeSnapshot();
          try {
            const split = SPLITS[splitIndex];
            await s.market.connect(s.gov).setSplit(split.nodeBps, split.ownerBps, split.protocolBps);
            await s.escrow.connect(s.gov).setParameters(s.buyback, nodeShare, 0);
            const service = (c: (typeof raw)[number]) =>
              c.kind === ServiceKind.Content ? NO_SERVICE : c.kind === ServiceKind.Function ? `0x${"ab".repeat(31)}0${c.agent}` : agentService(c.agent);
            // The registry's order (node, kind, service), one entry per key.
            const keyed = new Map(raw.map((c) => [`${c.nodeId}-${c.kind}-${service(c)}`, charge(c.nodeId, c.kind, service(c), c.amount)]));
            const charges = [...keyed.values()].sort((a, b) => a.nodeId - b.nodeId || a.kind - b.kind || (a.service < b.service ? -1 : 1));
            const total = charges.reduce((sum, c) => sum + c.amount, 0n);
            const before = await holdings(s);
            const owedBefore = await s.market.totalOwed();
            epoch += 1;
            await (await debit(s, epoch, charges)).wait();
            const after = await holdings(s);
            const debited = before.escrow - after.escrow;
            const toRewards = after.rewards - before.rewards;
            const toOwners = (await s.market.totalOwed()) - owedBefore;
            const toBuyback = after.buyback - before.buyback;
            expect(debited).to.equal(total);
            expect(toRewards + toOwners + toBuyback).to.equal(debited);
            // The marketplace holds exactly what it owes; the model in protocol/ gives the same figures.
            expect(after.market - before.market).to.equal(toOwners);
            const model = splitEpochRevenue(total, charges, BigInt(nodeShare), split, 3n);
            expect(toRewards).to.equal(model.toNodes);
            expect(toOwners).to.equal(model.agents.reduce((sum, a) => sum + a.toOwner, 0n));
            expect(toBuyback).to.equal(model.toBuyback + model.toMarketplace - toOwners);
            const paid = charges.filter((c) => c.amount > 0n);
            const known = paid.filter((c) => c.kind === ServiceKind.Agent && BigInt(c.service) >= 1n && BigInt(c.service) <= 3n);
            if (total === 0n) done.empty++;
            if (paid.some((c) => c.kind === ServiceKind.Content)) done.content++;
            if (paid.some((c) => c.kind === ServiceKind.Function)) done.function++;
            if (known.length > 0) done.agent++;
            if (paid.some((c) => c.kind === ServiceKind.Agent) && known.length < paid.filter((c) => c.kind === ServiceKind.Agent).length) done.unknownAgent++;
            if (known.length > 0 && known.length < paid.length) done.mixed++;
          } finally {
            await snapshot.restore();
          }
        },
      ),
      // An epoch with no charges is a case every seed must reach; random arrays miss it in ~1% of runs.
      { numRuns: RUNS, examples: [[[], 0, 5_000]] },
    );
    for (const [kind, n] of Object.entries(done)) expect(n, `${kind} never happened`).to.be.greaterThan(0);
  });
});
