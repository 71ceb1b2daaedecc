/**
 * The epoch's application state: the same committed sequence gives every member the same report,
 * forged, replayed, foreign and malformed transactions are refused without stopping anything, and
 * the report it builds is the one the registry accepts (Hardhat EVM, over JSON-RPC), submitted
 * idempotently by two members.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, mine, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { signComputeAck, signComputeReceipt } from "../../../node/acks/computeReceipt";
import { newAckNonce } from "../../../node/acks/deliveryAck";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { AppTxKind } from "../../../node/app/appTransactions";
import { EpochState, type EpochContext } from "../../../node/app/epochState";
import { LOG_RANGE, RegistryReporting } from "../../../node/chain/registryReporting";
import { signTransaction } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { orderSignatures } from "../../../protocol/report";
import { computeReputation } from "../../../protocol/reputation";
import { checkEpochReport } from "../../../protocol/reportRoots";
import { bandwidthCharge } from "../../../protocol/usage";
import { registrySuite, runBeacon } from "../../../testkit/registry";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";
import { ackFrom, context, members, newClient, payerTx, signatureTx, START_MS, tx, type Member, type TestClient } from "./appFixtures";

/** A JSON-RPC provider that refuses `eth_getLogs` over more than LOG_RANGE blocks, and records the widest it served. */
class RangeLimitedProvider extends JsonRpcProvider {
  widest = 0;
  override async send(method: string, params: unknown[]): Promise<unknown> {
    if (method === "eth_getLogs") {
      const { fromBlock, toBlock } = params[0] as { fromBlock: string; toBlock: string };
      const span = Number(toBlock) - Number(fromBlock);
      if (!(span < LOG_RANGE)) throw new Error(`eth_getLogs is limited to a ${LOG_RANGE} block range`);
      this.widest = Math.max(this.widest, span);
    }
    return super.send(method, params);
  }
}

/** A sequence exercising every kind: bindings, acks, measurements, closes. */
async function sequence(ms: Member[], clients: TestClient[]): Promise<Buffer[]> {
  const [a, b, c, d] = ms;
  const txs = [await payerTx(a.key, clients[0]), await payerTx(b.key, clients[1])];
  txs.push(
    tx(a.key, {
      kind: AppTxKind.Acks,
      acks: [ackFrom(clients[0], a.key.publicKey, 3_000_000, START_MS + 1), ackFrom(clients[1], a.key.publicKey, 5_000_000, START_MS + 2)],
    }),
  );
  txs.push(tx(b.key, { kind: AppTxKind.Acks, acks: [ackFrom(clients[0], b.key.publicKey, 7_000_000, START_MS + 3)] }));
  for (const reporter of ms) {
    const reports = ms
      .filter((p) => p !== reporter)
      .map((p, i) => ({ peer: p.node.id, latency: 10 + p.node.id + i, uptime: p === d ? 30 : 100, interactions: 5, bytesReceived: 100 * p.node.id }));
    txs.push(tx(reporter.key, { kind: AppTxKind.Measurements, epoch: 3, reports }));
  }
  for (const m of [a, b, c]) txs.push(tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: 3 }));
  return txs;
}

/**
 * A state whose payers each may be debited 10^6 USDC: the amounts a member reads from the escrow
 * at the epoch's first block, given here before each transaction as the reporter does per batch.
 */
function fundedState(ctx: EpochContext): EpochState {
  const state = new EpochState(ctx);
  const apply = state.apply.bind(state);
  state.apply = (t) => {
    state.setDebitable(new Map(state.unknownPayers([t]).map((a) => [a, 10n ** 12n])));
    return apply(t);
  };
  return state;
}

function applyAll(state: EpochState, txs: Buffer[]) {
  return txs.map((t) => state.apply(t));
}

/** A transaction of `n` compute acks of `client`'s calls to function `root` on member `m`, `cpuUs` each. */
function receiptTx(m: Member, client: TestClient, root: string, n: number, cpuUs = 100): Buffer {
  const acks = Array.from({ length: n }, (_, i) => {
    const receipt = {
      nodeKey: m.key.publicKey,
      clientKey: client.key,
      functionRoot: Buffer.from(root, "hex"),
      requestHash: Buffer.alloc(32, 1),
      responseHash: Buffer.alloc(32, 2),
      cpuUs,
      wallMs: 1,
      egressBytes: 5,
      windowStart: START_MS + i,
      windowEnd: START_MS + i + 60_000,
      nonce: newAckNonce(),
    };
    return {
      receipt,
      nodeSignature: signComputeReceipt(receipt, ed25519PrivateKeyFromSeed(m.key.seed)),
      clientSignature: signComputeAck(receipt, client.privateKey),
    };
  });
  return tx(m.key, { kind: AppTxKind.ComputeAcks, acks });
}

const ZERO32 = `0x${"00".repeat(32)}`;

const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));

describe("app: epoch state", () => {
  const ms = members(4);
  const clients = [newClient(), newClient()];

  it("gives every member the identical report for the same sequence", async () => {
    const txs = await sequence(ms, clients);
    const one = fundedState(context(ms));
    const two = fundedState(context(ms));
    expect(applyAll(one, txs).every((r) => r.ok)).to.equal(true);
    applyAll(two, txs);
    expect(one.closed).to.equal(true);
    expect(json(one.report!.report)).to.equal(json(two.report!.report));
    expect(one.report!.digest).to.equal(two.report!.digest);

    const report = one.report!.report;
    // Usage per (client, node) pair at the bandwidth price; revenue the same charges per node.
    const c0 = bandwidthCharge(3_000_000n) + bandwidthCharge(7_000_000n);
    const c1 = bandwidthCharge(5_000_000n);
    expect(new Map(report.usage.map((u) => [u.client, u.amount]))).to.deep.equal(
      new Map([
        [clients[0].account.address.toLowerCase(), c0],
        [clients[1].account.address.toLowerCase(), c1],
      ]),
    );
    const node = (id: number) => report.nodes.find((n) => n.nodeId === id)!;
    expect(node(1).revenue).to.equal(bandwidthCharge(3_000_000n) + c1);
    expect(node(2).revenue).to.equal(bandwidthCharge(7_000_000n));
    expect([node(1).deliveryAcks, node(1).bytesServed, node(2).deliveryAcks, node(3).deliveryAcks]).to.deep.equal([2n, 8_000_000n, 1n, 0n]);
    expect(report.totalUsage).to.equal(c0 + c1);
    expect(report.charges).to.deep.equal([
      { nodeId: 1, kind: 0, service: ZERO32, requests: 2n, cpuMs: 0n, amount: 800n },
      { nodeId: 2, kind: 0, service: ZERO32, requests: 1n, cpuMs: 0n, amount: 700n },
    ]);
    expect(node(4).uptime).to.equal(30);
    expect(node(1).uptime).to.equal(100);
    // Reputation with the shared formula over the ordered measurements, smoothed with the previous scores.
    const expected = computeReputation(
      [1, 2, 3, 4],
      one.orderedMeasurements(),
      new Map([
        [1, 60],
        [2, 40],
      ]),
    );
    expect(report.nodes.map((n) => n.reputation)).to.deep.equal([1, 2, 3, 4].map((id) => expected.get(id)));
    const standing = new Map(ms.map((m) => [m.node.id, { owner: m.node.owner, lockedUntil: m.node.lockedUntil }]));
    expect(checkEpochReport(report, standing).ok).to.equal(true);
  });

  it("refuses forged, replayed, foreign, stale and malformed transactions and keeps going", async () => {
    const [a, b] = ms;
    const state = fundedState(context(ms));
    const genuine = ackFrom(clients[0], a.key.publicKey, 1_000, START_MS + 5);
    const forged = { ...genuine, ack: { ...genuine.ack, bytes: 9_999_999 } };
    const early = ackFrom(clients[0], a.key.publicKey, 1_000, START_MS - 1);
    const nextEpochs = ackFrom(clients[0], a.key.publicKey, 1_000, START_MS + 86_400_000);
    const stranger = KeyPair.generate();
    const strangerAck = ackFrom(clients[0], stranger.publicKey, 1_000, START_MS + 6);
    expect(state.apply(await payerTx(a.key, clients[0]))).to.deep.equal({ ok: true });
    expect(state.apply(tx(a.key, { kind: AppTxKind.Acks, acks: [genuine, forged, early, nextEpochs, strangerAck] }))).to.deep.equal({
      ok: true,
      refusedAcks: 4,
    });
    expect(state.apply(tx(b.key, { kind: AppTxKind.Acks, acks: [genuine] }))).to.deep.equal({ ok: true, refusedAcks: 1 });
    expect(state.apply(tx(stranger, { kind: AppTxKind.Acks, acks: [ackFrom(clients[1], a.key.publicKey, 5, START_MS + 7)] }))).to.deep.include({
      ok: false,
      reason: "signer is not an active node",
    });
    expect(state.apply(signTransaction(Buffer.from([AppTxKind.Acks, 0, 0]), a.key)).ok).to.equal(false);
    expect(state.apply(signTransaction(Buffer.from([99]), a.key)).ok).to.equal(false);
    const corrupted = tx(a.key, { kind: AppTxKind.CloseEpoch, epoch: 3 });
    corrupted[corrupted.length - 1] ^= 1;
    expect(state.apply(corrupted)).to.deep.equal({ ok: false, reason: "bad transaction signature" });
    expect(state.apply(await payerTx(b.key, clients[0]))).to.deep.include({ ok: false });
    // A binding whose account signature is someone else's: refused.
    const other = await payerTx(a.key, { ...clients[1], account: clients[0].account });
    const good = await payerTx(a.key, clients[1]);
    const mixed = Buffer.concat([other.subarray(0, other.length - 65), good.subarray(good.length - 65)]);
    expect(state.apply(signTransaction(mixed.subarray(96), a.key))).to.deep.equal({ ok: false, reason: "bad payer binding signature" });
    expect(state.apply(tx(a.key, { kind: AppTxKind.ReportSignature, epoch: 3, signature: Buffer.alloc(65) }))).to.deep.include({ ok: false });
    expect(state.apply(tx(a.key, { kind: AppTxKind.CloseEpoch, epoch: 2 }))).to.deep.include({ ok: false });

    for (const m of ms.slice(0, 3)) state.apply(tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: 3 }));
    expect(state.closed).to.equal(true);
    expect(state.apply(tx(a.key, { kind: AppTxKind.Acks, acks: [ackFrom(clients[0], a.key.publicKey, 1, START_MS + 9)] }))).to.deep.include({
      ok: false,
      reason: "epoch closed",
    });
    const report = state.report!.report;
    expect(report.nodes[0].bytesServed).to.equal(1_000n);
    expect(report.nodes[0].deliveryAcks).to.equal(1n);

    // Signatures: only a member's own signer over this report's digest counts, once.
    const digest = state.report!.digest;
    expect(state.apply(signatureTx(a.key, b.signer, 3, digest))).to.deep.include({ ok: false, reason: "not the member's signature of this report" });
    expect(state.apply(signatureTx(a.key, a.signer, 3, `0x${"11".repeat(32)}`))).to.deep.include({ ok: false });
    for (const m of ms.slice(0, 2)) expect(state.apply(signatureTx(m.key, m.signer, 3, digest))).to.deep.equal({ ok: true });
    expect(state.apply(signatureTx(a.key, a.signer, 3, digest))).to.deep.include({ ok: false, reason: "member already signed" });
    expect(state.hasQuorum).to.equal(false);
    expect(state.apply(signatureTx(ms[2].key, ms[2].signer, 3, digest))).to.deep.equal({ ok: true });
    expect(state.hasQuorum).to.equal(true);
  });

  it("takes acks forwarded by an active node outside the committee, but not its epoch business", () => {
    const state = fundedState(context(ms, { committee: ms.slice(0, 3).map((m) => m.node) }));
    const outsider = ms[3];
    expect(state.apply(tx(outsider.key, { kind: AppTxKind.Acks, acks: [ackFrom(clients[0], outsider.key.publicKey, 10, START_MS + 1)] }))).to.deep.equal({
      ok: true,
      refusedAcks: 0,
    });
    expect(state.apply(tx(outsider.key, { kind: AppTxKind.CloseEpoch, epoch: 3 }))).to.deep.equal({ ok: false, reason: "signer is not a committee member" });
    expect(state.apply(tx(outsider.key, { kind: AppTxKind.Measurements, epoch: 3, reports: [{ peer: 1, uptime: 0 }] })).ok).to.equal(false);
    for (const m of ms.slice(0, 2)) state.apply(tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: 3 }));
    expect(state.closed).to.equal(false, "2 of 3 is not more than 2/3");
    state.apply(tx(ms[2].key, { kind: AppTxKind.CloseEpoch, epoch: 3 }));
    expect(state.closed).to.equal(true);
    expect(state.report!.report.nodes[3].deliveryAcks).to.equal(1n);
  });

  it("builds a report the registry accepts; a second member's submission is success, not an error", async function () {
    this.timeout(60_000);
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    try {
      const keys = Array.from({ length: 4 }, () => KeyPair.generate());
      const nodes = [];
      for (let i = 0; i < 4; i++) nodes.push(await registerChainNode(s, i, 21_000 + 10 * i, keys[i]));
      const funded = newClient(new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider));
      await s.escrow.connect(s.clients[0]).deposit(funded.account.address, 1_000_000n);
      await time.increaseTo(await s.registry.epochEnd());
      await s.registry.advanceEpoch();
      const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
      const registry = await s.registry.getAddress();
      const reporting = nodes.map((n) => new RegistryReporting(provider, CHAIN_ID, registry, n.signer));
      for (const n of nodes) await setBalance(n.signer.address, 10n ** 18n);
      const ctx = await reporting[0].context(1);
      expect(ctx.committee.map((m) => m.id)).to.deep.equal(nodes.map((n) => n.id));

      const client = newClient(new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider));
      const [payer] = s.clients;
      // Deposited after the epoch's first block: this epoch's report may not debit it.
      await s.escrow.connect(payer).deposit(client.account.address, 1_000_000n);
      expect(await reporting[0].debitable(ctx, [client.account.address])).to.deep.equal(new Map([[client.account.address.toLowerCase(), 0n]]));
      const state = new EpochState(ctx);
      const chainMembers = nodes.map((n, i) => ({ key: keys[i], signer: n.signer }));
      const at = ctx.acksFromMs + 1;
      const seq = [
        await payerTx(keys[0], funded),
        tx(keys[0], { kind: AppTxKind.Acks, acks: [ackFrom(funded, keys[0].publicKey, 20_000_000, at)] }),
        tx(keys[1], { kind: AppTxKind.Acks, acks: [ackFrom(funded, keys[1].publicKey, 30_000_000, at)] }),
        ...keys.slice(0, 3).map((k) => tx(k, { kind: AppTxKind.CloseEpoch, epoch: 1 })),
      ];
      state.setDebitable(await reporting[0].debitable(ctx, state.unknownPayers(seq)));
      for (const t of seq) expect(state.apply(t).ok).to.equal(true);
      for (const m of chainMembers) state.apply(signatureTx(m.key, m.signer, 1, state.report!.digest));
      expect(state.hasQuorum).to.equal(true);
      expect(state.report!.digest).to.equal(await s.registry.reportDigest(state.report!.report));

      await runBeacon(s, nodes); // as the members' epoch reporters do: silent members are jailed
      await time.increaseTo(await s.registry.reportOpensAt());
      const sigs = orderSignatures(state.reportSignatures);
      const results = await Promise.all([reporting[0].submitReport(state.report!.report, sigs), reporting[1].submitReport(state.report!.report, sigs)]);
      expect([...results].sort()).to.deep.equal(["already-reported", "submitted"]);
      expect(await reporting[2].submitReport(state.report!.report, sigs)).to.equal("already-reported");
      expect(await s.registry.epoch()).to.equal(2n);
      const charged = bandwidthCharge(50_000_000n);
      expect((await s.escrow.accounts(funded.account.address)).balance).to.equal(1_000_000n - charged);
      // The next epoch's context takes its previous reputation from this report.
      const next = await reporting[0].context(2);
      const reputation = state.report!.report.nodes.map((n) => [n.nodeId, n.reputation]);
      expect([...next.previousReputation.entries()]).to.deep.equal(reputation);

      // Two log ranges later, after an epoch skipped without a report, through a provider that
      // refuses wider log requests (as Base's public endpoint does), the search still finds both.
      const reportBlock = await hre.ethers.provider.getBlockNumber();
      // The members still run epoch 2's beacon (a member that never commits is jailed); only the report is missing.
      await runBeacon(s, nodes);
      await mine(2 * LOG_RANGE);
      await time.increaseTo((await s.registry.reportOpensAt()) + (await s.registry.epochDuration()));
      await s.registry.advanceEpoch();
      await mine(LOG_RANGE);
      const limited = new RangeLimitedProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
      const far = await new RegistryReporting(limited, CHAIN_ID, registry).context(3);
      expect([...far.previousReputation.entries()]).to.deep.equal(reputation);
      expect(far.committee.map((m) => m.id)).to.deep.equal(nodes.map((n) => n.id));
      expect(limited.widest).to.be.at.most(LOG_RANGE - 1);
      // The search stops at the deployment block it is given: below it, epoch 2 never started.
      const floored = new RegistryReporting(limited, CHAIN_ID, registry, undefined, reportBlock + 1);
      await expect(floored.context(3)).to.be.rejectedWith("epoch 2 has not started");
    } finally {
      await chain.close();
    }
  });

  it("charges an owner-pays function's invocations to its owner, within its cap, and needs its terms loaded first", () => {
    const [a, b] = ms;
    const client = newClient(); // never binds a payer
    const owner = Wallet.createRandom().address.toLowerCase();
    const sponsored = "5a".repeat(32);
    const clientPays = "c1".repeat(32);
    // 1,000 units a request; the owner lets its function spend 5,000 an epoch.
    const ctx = context(ms, { computePrices: { perMillionRequests: 1_000_000_000n, perMillionCpuMs: 0n } });
    const txs = [receiptTx(a, client, sponsored, 3), receiptTx(b, client, sponsored, 7), receiptTx(a, client, clientPays, 2)];
    const unloaded = new EpochState(ctx);
    expect(() => unloaded.apply(txs[0])).to.throw(`owner-pays terms of function ${sponsored} not loaded`);

    const state = new EpochState(ctx);
    expect(state.unknownFunctions(txs).sort()).to.deep.equal([clientPays, sponsored].sort());
    state.setSponsors(
      new Map([
        [sponsored, { functionId: 4, account: owner, cap: 5_000n }],
        [clientPays, undefined],
      ]),
    );
    expect(state.unknownPayers(txs)).to.deep.equal([owner]);
    state.setDebitable(new Map([[owner, 10n ** 12n]]));
    for (const t of txs) expect(state.apply(t)).to.deep.equal({ ok: true, refusedAcks: 0 });
    for (const m of [a, b, ms[2]]) state.apply(tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: 3 }));
    const report = state.report!.report;
    // 10 invocations owe 10,000 over the cap of 5,000: node a's 3,000 → 1,500, node b's 7,000 → 3,500.
    // The unbound client's own invocations of the other function are nobody's: not charged.
    expect(report.usage).to.deep.equal([{ client: owner, amount: 5_000n }]);
    expect(report.nodes.filter((n) => n.revenue > 0n).map((n) => [n.nodeId, n.revenue])).to.deep.equal([
      [a.node.id, 1_500n],
      [b.node.id, 3_500n],
    ]);
    // The same split per function: 3 and 7 calls of 100 µs (0 ms in all, rounded down).
    expect(report.charges).to.deep.equal([
      { nodeId: a.node.id, kind: 1, service: `0x${sponsored}`, requests: 3n, cpuMs: 0n, amount: 1_500n },
      { nodeId: b.node.id, kind: 1, service: `0x${sponsored}`, requests: 7n, cpuMs: 0n, amount: 3_500n },
    ]);
  });

  it("itemizes each function's invocations, CPU-ms and paid USDC per node, identically on every member", async () => {
    const [a, b, c] = ms;
    const client = newClient();
    const fnX = "11".repeat(32);
    const fnY = "22".repeat(32);
    // 1,000 units a call and 1 unit a CPU-ms.
    const ctx = context(ms, { computePrices: { perMillionRequests: 1_000_000_000n, perMillionCpuMs: 1_000_000n } });
    const txs = [
      await payerTx(a.key, client),
      receiptTx(a, client, fnY, 1, 2_500),
      receiptTx(a, client, fnX, 4, 2_500),
      receiptTx(b, client, fnX, 2, 2_500),
      tx(a.key, { kind: AppTxKind.Acks, acks: [ackFrom(client, a.key.publicKey, 3_000_000, START_MS + 9)] }),
      ...[a, b, c].map((m) => tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: 3 })),
    ];
    const build = () => {
      const state = fundedState(ctx);
      state.setSponsors(
        new Map([
          [fnX, undefined],
          [fnY, undefined],
        ]),
      );
      for (const t of txs) expect(state.apply(t).ok).to.equal(true);
      return state.report!;
    };
    const [one, two] = [build(), build()];
    expect(one.digest).to.equal(two.digest);
    // a: 3,000,000 bytes = 300; fnX 4 calls, 10 ms = 4,010; fnY 1 call, 2.5 ms = 1,002 (rounded down).
    // b: fnX 2 calls, 5 ms = 2,005.
    expect(one.report.charges).to.deep.equal([
      { nodeId: a.node.id, kind: 0, service: ZERO32, requests: 1n, cpuMs: 0n, amount: 300n },
      { nodeId: a.node.id, kind: 1, service: `0x${fnX}`, requests: 4n, cpuMs: 10n, amount: 4_010n },
      { nodeId: a.node.id, kind: 1, service: `0x${fnY}`, requests: 1n, cpuMs: 2n, amount: 1_002n },
      { nodeId: b.node.id, kind: 1, service: `0x${fnX}`, requests: 2n, cpuMs: 5n, amount: 2_005n },
    ]);
    expect(one.report.nodes.map((n) => n.revenue)).to.deep.equal([5_312n, 2_005n, 0n, 0n]);
    expect(one.report.usage).to.deep.equal([{ client: client.account.address.toLowerCase(), amount: 7_317n }]);
  });
});
