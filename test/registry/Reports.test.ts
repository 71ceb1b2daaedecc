import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { buildEpochReport, quorum, reportDigest, reportDomain } from "../../protocol/report";
import {
  MIN_STAKE,
  ZERO32,
  committeeNodes,
  emptyReport,
  registerNodes,
  registrySuite,
  signReport,
  submitReport,
  withActiveNodes,
  type RegistrySuite,
} from "../../testkit/registry";

const Status = { Active: 2n, Jailed: 3n };

/** Eight active nodes, committee of 7 (quorum 5), in epoch 1. */
async function reporting() {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 7, MIN_STAKE);
  const nodes = await withActiveNodes(s, 8);
  const members = await committeeNodes(s, nodes);
  const outsider = nodes.find((n) => !members.includes(n))!;
  return { ...s, nodes, members, outsider };
}

async function atReportTime(s: RegistrySuite) {
  await time.increaseTo(await s.registry.reportOpensAt());
}

describe("NodeRegistry: epoch reports", () => {
  it("hashes reports exactly as the TypeScript builder does", async () => {
    const s = await loadFixture(reporting);
    const report = await emptyReport(s, {
      nodes: [
        { nodeId: 2, uptime: 97, latencyMs: 41, bytesServed: 10n ** 12n, deliveryAcks: 1234n, revenue: 90n, reputation: 71 },
        { nodeId: 1, uptime: 100, latencyMs: 12, bytesServed: 5n, deliveryAcks: 1n, revenue: 8n, reputation: 100 },
      ],
      usage: [
        { client: s.clients[1].address, amount: 7n },
        { client: s.clients[0].address, amount: 3n },
      ],
      reputationRoot: keccak256(toUtf8Bytes("rep")),
      rewardsRoot: keccak256(toUtf8Bytes("rewards")),
      agentSnapshotsRoot: keccak256(toUtf8Bytes("agent snapshots")),
      totalFlkWeight: 99n,
      totalUsdcWeight: 98n,
    });
    expect(report.nodes.map((n) => n.nodeId)).to.deep.equal([1, 2]);
    expect(report.totalUsage).to.equal(10n);
    const { chainId } = await hre.ethers.provider.getNetwork();
    expect(await s.registry.reportDigest(report)).to.equal(reportDigest(reportDomain(chainId, await s.registry.getAddress()), report));
  });

  it("accepts a report signed by more than 2/3 of the committee, emits it and advances the epoch", async () => {
    const s = await loadFixture(reporting);
    const report = await emptyReport(s, {
      nodes: s.nodes.map((n) => ({ nodeId: n.id, uptime: 90, latencyMs: 20, bytesServed: 1n, deliveryAcks: 1n, revenue: 0n, reputation: 50 })),
      agentSnapshotsRoot: keccak256(toUtf8Bytes("agent snapshots")),
    });
    const signers = s.members.slice(0, quorum(7));
    const sigs = await signReport(s, report, signers);
    await atReportTime(s);
    const tx = await s.registry.submitEpochReport(report, sigs);
    const { chainId } = await hre.ethers.provider.getNetwork();
    const digest = reportDigest(reportDomain(chainId, await s.registry.getAddress()), report);
    const [ev] = await s.registry.queryFilter(s.registry.filters.EpochReported(1), tx.blockNumber!, tx.blockNumber!);
    expect(ev.args.digest).to.equal(digest);
    expect(ev.args.report.nodes.length).to.equal(8);
    // The indexer reads the agent snapshots root from the event.
    expect(ev.args.report.agentSnapshotsRoot).to.equal(keccak256(toUtf8Bytes("agent snapshots")));
    const bySigner = [...signers].sort((a, b) => (BigInt(a.signer.address) < BigInt(b.signer.address) ? -1 : 1));
    expect(ev.args.signers.map(Number)).to.deep.equal(bySigner.map((n) => n.id));
    expect(await s.registry.epoch()).to.equal(2n);
    expect((await s.rewards.pools(1)).root).to.equal(ZERO32);
  });

  it("stores each reported epoch's agentSnapshotsRoot; a skipped or unreported epoch reads zero", async () => {
    const s = await loadFixture(reporting);
    const root = keccak256(toUtf8Bytes("agent snapshots"));
    // Epoch 0 ended without a report (the forced change that made the nodes active); epoch 1 is not over.
    expect(await s.registry.agentSnapshotsRoot(0)).to.equal(ZERO32);
    expect(await s.registry.agentSnapshotsRoot(1)).to.equal(ZERO32);
    await submitReport(s, s.nodes, await emptyReport(s, { agentSnapshotsRoot: root }));
    expect(await s.registry.agentSnapshotsRoot(1)).to.equal(root);
    expect(await s.registry.agentSnapshotsRoot(2)).to.equal(ZERO32);
    // Epoch 2's committee stalls a whole epoch past the reporting time: skipped, its root stays zero.
    await time.increaseTo((await s.registry.reportOpensAt()) + (await s.registry.epochDuration()));
    await s.registry.advanceEpoch();
    expect(await s.registry.epoch()).to.equal(3n);
    expect(await s.registry.agentSnapshotsRoot(2)).to.equal(ZERO32);
    expect(await s.registry.agentSnapshotsRoot(1)).to.equal(root);
  });

  it("refuses a signed report sent in a non-canonical encoding, whose bytes the event would log as they are", async () => {
    const s = await loadFixture(reporting);
    const report = await emptyReport(s, {
      nodes: s.nodes.map((n) => ({ nodeId: n.id, uptime: 90, latencyMs: 20, bytesServed: 1n, deliveryAcks: 1n, revenue: 0n, reputation: 50 })),
    });
    const sigs = await signReport(s, report, s.members.slice(0, quorum(7)));
    await atReportTime(s);
    const reg = s.registry;
    const canonical = reg.interface.encodeFunctionData("submitEpochReport", [report, sigs]);
    const words = (hex: string) => hex.match(/.{64}/g)!;
    // After the selector: the report's offset (0x40) and the signatures', then the report's head of
    // 10 words (words 1-3 the offsets of nodes, usage and charges), then the nodes' length.
    const [selector, args] = [canonical.slice(0, 10), words(canonical.slice(10))];
    const word = (n: bigint) => n.toString(16).padStart(64, "0");
    const plus32 = (w: string) => word(BigInt(`0x${w}`) + 32n);
    // The same report, hence the same digest and valid signatures, with a junk word before the nodes:
    // ABI decoders follow the offsets and read the same values.
    const padded = [...args];
    padded[1] = plus32(padded[1]);
    for (const i of [3, 4, 5]) padded[i] = plus32(padded[i]);
    padded.splice(12, 0, "ff".repeat(32));
    const from = (await hre.ethers.getSigners())[0];
    expect(reg.interface.decodeFunctionData("submitEpochReport", selector + padded.join(""))[0].nodes.length).to.equal(8);
    await expect(from.sendTransaction({ to: await reg.getAddress(), data: selector + padded.join("") })).to.be.revertedWithCustomError(
      reg,
      "NodeRegistryNonCanonicalReport",
    );
    // A node's latencyMs (a uint32) with a high bit set: the same word under the digest's hashing is refused.
    const dirty = [...args];
    const latency = 12 + 1 + 2; // the first node's third field
    dirty[latency] = "80" + dirty[latency].slice(2);
    await expect(from.sendTransaction({ to: await reg.getAddress(), data: selector + dirty.join("") })).to.be.reverted;
    await expect(from.sendTransaction({ to: await reg.getAddress(), data: canonical })).to.emit(reg, "EpochReported");
  });

  it("rejects too few, duplicate, foreign and unsorted signatures", async () => {
    const s = await loadFixture(reporting);
    const report = await emptyReport(s);
    await atReportTime(s);
    const q = quorum(7);
    const reg = s.registry;
    const few = await signReport(s, report, s.members.slice(0, q - 1));
    await expect(reg.submitEpochReport(report, few))
      .to.be.revertedWithCustomError(reg, "NodeRegistryNotEnoughSignatures")
      .withArgs(q - 1, q);
    const good = await signReport(s, report, s.members.slice(0, q));
    await expect(reg.submitEpochReport(report, [...good.slice(0, q - 1), good[q - 2]])).to.be.revertedWithCustomError(reg, "NodeRegistryUnsortedSignatures");
    await expect(reg.submitEpochReport(report, [...good].reverse())).to.be.revertedWithCustomError(reg, "NodeRegistryUnsortedSignatures");
    // A registered, active node that is not on the committee, and a stranger.
    const withOutsider = await signReport(s, report, [...s.members.slice(0, q - 1), s.outsider]);
    await expect(reg.submitEpochReport(report, withOutsider))
      .to.be.revertedWithCustomError(reg, "NodeRegistryNotCommitteeSigner")
      .withArgs(s.outsider.signer.address);
    const stranger = { ...s.outsider, signer: Wallet.createRandom() as unknown as Wallet };
    const withStranger = await signReport(s, report, [...s.members.slice(0, q - 1), stranger]);
    await expect(reg.submitEpochReport(report, withStranger))
      .to.be.revertedWithCustomError(reg, "NodeRegistryNotCommitteeSigner")
      .withArgs(stranger.signer.address);
    // Signatures of another report recover to other addresses.
    const tampered = { ...report, totalFlkWeight: 1n };
    await expect(reg.submitEpochReport(tampered, good)).to.be.revertedWithCustomError(reg, "NodeRegistryNotCommitteeSigner");
    await expect(reg.submitEpochReport(report, good)).to.emit(reg, "EpochReported");
  });

  it("rejects reports for another epoch, too early, or malformed", async () => {
    const s = await loadFixture(reporting);
    const reg = s.registry;
    const q = s.members.slice(0, quorum(7));
    const early = await emptyReport(s);
    await expect(reg.submitEpochReport(early, await signReport(s, early, q)))
      .to.be.revertedWithCustomError(reg, "NodeRegistryTooEarly")
      .withArgs(await reg.reportOpensAt());
    await atReportTime(s);
    const wrong = await emptyReport(s, { epoch: 2n });
    await expect(reg.submitEpochReport(wrong, await signReport(s, wrong, q)))
      .to.be.revertedWithCustomError(reg, "NodeRegistryWrongEpoch")
      .withArgs(2, 1);
    const m = (nodeId: number, uptime = 50, reputation = 50) => ({ nodeId, uptime, latencyMs: 1, bytesServed: 1n, deliveryAcks: 1n, revenue: 0n, reputation });
    const bad = [
      { ...(await emptyReport(s)), nodes: [m(2), m(1)] },
      { ...(await emptyReport(s)), nodes: [m(1), m(1)] },
      { ...(await emptyReport(s)), nodes: [m(0)] },
      { ...(await emptyReport(s)), nodes: [m(9)] },
      { ...(await emptyReport(s)), nodes: [m(1, 101)] },
      { ...(await emptyReport(s)), nodes: [m(1, 50, 101)] },
    ];
    for (const r of bad) await expect(reg.submitEpochReport(r, await signReport(s, r, q))).to.be.revertedWithCustomError(reg, "NodeRegistryBadMeasurement");
    const [a, b] = [s.clients[0].address, s.clients[1].address].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    const badUsage = [
      {
        ...(await emptyReport(s)),
        usage: [
          { client: b, amount: 1n },
          { client: a, amount: 1n },
        ],
        totalUsage: 2n,
      },
      { ...(await emptyReport(s)), usage: [{ client: a, amount: 1n }], totalUsage: 2n },
    ];
    for (const r of badUsage) await expect(reg.submitEpochReport(r, await signReport(s, r, q))).to.be.revertedWithCustomError(reg, "NodeRegistryBadUsage");
    // The USDC weight is the nodes' revenue: a report whose total says otherwise is refused.
    const badRevenue = {
      ...(await emptyReport(s)),
      nodes: [
        { ...m(1), revenue: 7n },
        { ...m(2), revenue: 5n },
      ],
      totalUsdcWeight: 13n,
    };
    await expect(reg.submitEpochReport(badRevenue, await signReport(s, badRevenue, q)))
      .to.be.revertedWithCustomError(reg, "NodeRegistryBadRevenue")
      .withArgs(12n, 13n);
  });

  it("checks the per-service charges: sorted, of reported nodes, known kinds, summing to each node's revenue, at most 1,024 (which fits a transaction)", async () => {
    const s = await loadFixture(reporting);
    const reg = s.registry;
    const q = s.members.slice(0, quorum(7));
    await atReportTime(s);
    const [client] = s.clients;
    await s.escrow.connect(client).deposit(client.address, 1_000_000n);
    const m = (nodeId: number, revenue: bigint) => ({ nodeId, uptime: 90, latencyMs: 1, bytesServed: 1n, deliveryAcks: 1n, revenue, reputation: 50 });
    const rootA = `0x${"0a".repeat(32)}`;
    const rootB = `0x${"0b".repeat(32)}`;
    const c = (nodeId: number, kind: number, service: string, amount: bigint) => ({ nodeId, kind, service, requests: 3n, cpuMs: 2n, amount });
    // Node 1 earned 7 (3 content + 4 of function A), node 2 earned 5 of function B, node 3 nothing.
    const good = [c(1, 0, ZERO32, 3n), c(1, 1, rootA, 4n), c(2, 1, rootB, 5n)];
    const base = {
      nodes: [m(1, 7n), m(2, 5n), m(3, 0n)],
      usage: [{ client: client.address, amount: 12n }],
      totalUsdcWeight: 12n,
    };
    const withCharges = async (charges: ReturnType<typeof c>[]) => ({ ...(await emptyReport(s, base)), charges });
    const refused: [ReturnType<typeof c>[], string, unknown[]][] = [
      // Out of order, duplicated, or naming a node not in the report.
      [[c(1, 1, rootA, 4n), c(1, 0, ZERO32, 3n), c(2, 1, rootB, 5n)], "NodeRegistryBadCharge", [1]],
      [[c(1, 0, ZERO32, 3n), c(1, 1, rootA, 2n), c(1, 1, rootA, 2n), c(2, 1, rootB, 5n)], "NodeRegistryBadCharge", [2]],
      [[c(1, 0, ZERO32, 3n), c(1, 1, rootB, 2n), c(1, 1, rootA, 2n), c(2, 1, rootB, 5n)], "NodeRegistryBadCharge", [2]],
      [[c(2, 1, rootB, 5n), c(1, 0, ZERO32, 3n), c(1, 1, rootA, 4n)], "NodeRegistryBadChargeTotal", [1, 0n, 7n]],
      [[...good, c(4, 1, rootA, 0n)], "NodeRegistryBadCharge", [3]],
      // A kind above 2 (agents, reserved) and content naming a service.
      [[c(1, 0, ZERO32, 3n), c(1, 3, rootA, 4n), c(2, 1, rootB, 5n)], "NodeRegistryBadCharge", [1]],
      [[c(1, 0, rootA, 3n), c(1, 1, rootA, 4n), c(2, 1, rootB, 5n)], "NodeRegistryBadCharge", [0]],
      // A node's charges that do not add up to its revenue (the total still does).
      [[c(1, 0, ZERO32, 3n), c(1, 1, rootA, 5n), c(2, 1, rootB, 4n)], "NodeRegistryBadChargeTotal", [1, 8n, 7n]],
      [[c(1, 0, ZERO32, 3n), c(1, 1, rootA, 4n)], "NodeRegistryBadChargeTotal", [2, 0n, 5n]],
      [[], "NodeRegistryBadChargeTotal", [1, 0n, 7n]],
    ];
    for (const [charges, error, args] of refused) {
      const r = await withCharges(charges);
      await expect(reg.submitEpochReport(r, await signReport(s, r, q)), `${error} ${JSON.stringify(args.map(String))}`)
        .to.be.revertedWithCustomError(reg, error)
        .withArgs(...args);
    }
    // 1,025 charges (node 3's zero-amount invocations of distinct functions) exceed the bound.
    const many = Array.from({ length: 1_022 }, (_, i) => c(3, 1, `0x${(i + 1).toString(16).padStart(64, "0")}`, 0n));
    const tooMany = await withCharges([...good, ...many]);
    await expect(reg.submitEpochReport(tooMany, await signReport(s, tooMany, q)))
      .to.be.revertedWithCustomError(reg, "NodeRegistryTooManyCharges")
      .withArgs(1_025, 1_024);
    // The bound itself fits a transaction: 1,024 charges (node 3's 1,021 zero-amount functions)
    // are accepted well under EIP-7825's 2^24 gas per transaction.
    const full = await withCharges([...good, ...many.slice(0, 1_021)]);
    const snapshot = await hre.network.provider.send("evm_snapshot");
    const receipt = await (await reg.submitEpochReport(full, await signReport(s, full, q))).wait();
    console.log(`      submitEpochReport with 1,024 charges: ${receipt!.gasUsed} gas`);
    expect(receipt!.gasUsed < 2n ** 24n).to.equal(true);
    await hre.network.provider.send("evm_revert", [snapshot]);
    // Kind 2 (agents) is accepted already; the event carries every charge as signed.
    const accepted = await withCharges([c(1, 0, ZERO32, 3n), c(1, 2, rootA, 4n), c(2, 1, rootB, 5n)]);
    const tx = await reg.submitEpochReport(accepted, await signReport(s, accepted, q));
    const log = (await reg.queryFilter(reg.filters.EpochReported(1), tx.blockNumber!, tx.blockNumber!))[0];
    expect(log.args.report.charges.map((x) => [Number(x.nodeId), Number(x.kind), x.service, x.requests, x.cpuMs, x.amount])).to.deep.equal([
      [1, 0, ZERO32, 3n, 2n, 3n],
      [1, 2, rootA, 3n, 2n, 4n],
      [2, 1, rootB, 3n, 2n, 5n],
    ]);
    expect(log.args.digest).to.equal(reportDigest(reportDomain((await hre.ethers.provider.getNetwork()).chainId, await reg.getAddress()), accepted));
  });

  it("submits a full report of agent charges under the 2^24 gas cap: 1,024 charges of 256 agents of new owners, 128 settled (docs/payments.md, Agent revenue)", async function () {
    this.timeout(600_000);
    const s = await loadFixture(reporting);
    for (let i = 0; i < 256; i++) {
      const owner = hre.ethers.Wallet.createRandom().connect(hre.ethers.provider);
      await hre.network.provider.send("hardhat_setBalance", [owner.address, "0xde0b6b3a7640000"]);
      await s.agentMarketplace.connect(owner).register(`a${i}`, `0x${"0a".repeat(32)}`, `0x${"0b".repeat(32)}`, 1, 0);
    }
    await atReportTime(s);
    const [client] = s.clients;
    await s.escrow.connect(client).deposit(client.address, 20_000_000n);
    const m = (nodeId: number, revenue: bigint) => ({ nodeId, uptime: 90, latencyMs: 1, bytesServed: 1n, deliveryAcks: 1n, revenue, reputation: 50 });
    // Nodes 1-4 each serve all 256 agents, 10,000 units a charge: every owner's share is credited.
    const charges = [1, 2, 3, 4].flatMap((nodeId) =>
      Array.from({ length: 256 }, (_, i) => ({
        nodeId,
        kind: 2,
        service: `0x${(i + 1).toString(16).padStart(64, "0")}`,
        requests: 3n,
        cpuMs: 2n,
        amount: 10_000n,
      })),
    );
    const report = {
      ...(await emptyReport(s, {
        nodes: [1, 2, 3, 4].map((id) => m(id, 2_560_000n)),
        usage: [{ client: client.address, amount: 10_240_000n }],
        totalUsdcWeight: 10_240_000n,
      })),
      charges,
    };
    const q = s.members.slice(0, quorum(7));
    const receipt = await (await s.registry.submitEpochReport(report, await signReport(s, report, q))).wait();
    console.log(`      submitEpochReport with 1,024 agent charges of 256 new owners: ${receipt!.gasUsed} gas (cap 2^24 = ${2n ** 24n})`);
    expect(receipt!.gasUsed < 2n ** 24n).to.equal(true);
    // ServiceEscrow.MAX_SETTLED_AGENTS = 128 agents settled (4 charges of 10,000 each, 70% to the owner); 128 as plain revenue.
    expect(await s.agentMarketplace.totalOwed()).to.equal(128n * 4n * 7_000n);
    await expect(receipt!.hash)
      .to.emit(s.escrow, "AgentRevenueUnsettled")
      .withArgs(1, 128n * 4n * 10_000n);
  });

  it("jails nodes under 40% uptime at the epoch change; they may rejoin later", async () => {
    const s = await loadFixture(reporting);
    const [low, edge] = s.nodes;
    const report = buildEpochReport({
      ...(await emptyReport(s)),
      nodes: [
        { nodeId: low.id, uptime: 39, latencyMs: 1, bytesServed: 0n, deliveryAcks: 0n, revenue: 0n, reputation: 0 },
        { nodeId: edge.id, uptime: 40, latencyMs: 1, bytesServed: 0n, deliveryAcks: 0n, revenue: 0n, reputation: 0 },
      ],
    });
    const tx = await submitReport(s, s.nodes, report);
    await expect(tx).to.emit(s.registry, "NodeStatusChanged").withArgs(low.id, Status.Jailed, 2);
    expect((await s.registry.getNode(low.id)).status).to.equal(Status.Jailed);
    expect((await s.registry.getNode(edge.id)).status).to.equal(Status.Active);
    expect((await s.registry.activeSetIds()).map(Number)).to.not.include(low.id);
    expect((await s.registry.committeeIds()).map(Number)).to.not.include(low.id);
    await s.registry.connect(low.owner).rejoin(low.id);
    expect(await s.registry.pendingNodes()).to.deep.equal([BigInt(low.id)]);
  });

  it("lets a one-node network report on its own", async () => {
    const s = await loadFixture(registrySuite);
    const nodes = await registerNodes(s, 1);
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    await expect(submitReport(s, nodes, await emptyReport(s))).to.emit(s.registry, "EpochReported");
  });
});
