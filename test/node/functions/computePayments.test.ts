/**
 * Paid edge functions end to end (docs/functions.md, "Metering and payment"): a node's gateway in
 * this process with the functions service in its own process, the NodeRegistry and ServiceEscrow on
 * Hardhat's EVM over JSON-RPC. A client whose payer cannot cover a request gets 402 and the function
 * never runs; a paid invocation's receipt is signed by the node and countersigned by the client,
 * forged and replayed acknowledgments are refused at the gateway and in the epoch's state, and the
 * report the acknowledgments produce debits the escrow exactly the governance prices times the units
 * and splits it 80/20.
 */
import { expect } from "chai";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { computeAckMessage, computeAckFromJson, verifyComputeAck, type ComputeAckJson } from "../../../node/acks/computeReceipt";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { AckForwarder } from "../../../node/app/ackForwarder";
import { AppTxKind, decodeAppTx } from "../../../node/app/appTransactions";
import { EpochState } from "../../../node/app/epochState";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { SubmitStatus, type SubmitResult } from "../../../node/client/protocol";
import { transactionPayload } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { startEdgeNode, type EdgeNode } from "../../../node/edge/edgeNode";
import { Logger } from "../../../node/logger";
import { ServiceSupervisor } from "../../../node/services/serviceSupervisor";
import { orderSignatures } from "../../../protocol/report";
import { registrySuite, runBeacon } from "../../../testkit/registry";
import { bindPayer, postJson } from "../../helpers/gatewayClient";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";
import { newClient, payerTx, signatureTx, tx, type TestClient } from "../app/appFixtures";

/** The prices governance sets: 2,000 USDC units per request, 500 per CPU-ms (per million: ×10^6). */
const PER_MILLION_REQUESTS = 2_000_000_000n;
const PER_MILLION_CPU_MS = 500_000_000n;
const CPU_LIMIT_MS = 50;
/** Receipts a client may leave unacknowledged before the node refuses it. */
const MAX_UNACKNOWLEDGED = 3;

/** Counts its runs in module state: a request that never ran leaves the count as it was. */
const COUNTER = `let runs = 0;
export default { async fetch(request) { runs++; return new Response("run " + runs + " of " + request.url.slice(request.url.indexOf("/", "http://".length))); } };`;

describe("functions: metered and paid through the report (gateway + functions process + Hardhat chain)", function () {
  this.timeout(120_000);

  async function paidNode() {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fn-paid-"));
    const key = KeyPair.generate();
    const node = await registerChainNode(s, 0, 23_000 + Math.floor(Math.random() * 500) * 10, key);
    await setBalance(node.signer.address, 10n ** 18n);
    const escrow = s.escrow;
    await expect(escrow.connect(s.adminSigner).setComputePrices(PER_MILLION_REQUESTS, PER_MILLION_CPU_MS))
      .to.emit(escrow, "ComputePricesSet")
      .withArgs(PER_MILLION_REQUESTS, PER_MILLION_CPU_MS);
    // Funded before epoch 1 starts, so debitable in it; the poor client never deposits.
    const funded = newClient(new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider));
    const poor = newClient(new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider));
    await escrow.connect(s.clients[0]).deposit(funded.account.address, 1_000_000n);
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
    const reporting = new RegistryReporting(provider, CHAIN_ID, await s.registry.getAddress(), node.signer);
    await reporting.phase(); // the chain clock the node stamps receipts with
    // The forwarder hands what it submits to consensus to this list, as the node's worker would.
    const submitted: Buffer[] = [];
    const consensus = {
      status: () => ({ epoch: 1, member: true }),
      submit: (txs: Buffer[]): SubmitResult => {
        submitted.push(...txs);
        return { accepted: txs.length, status: SubmitStatus.Ok, reason: "" };
      },
    };
    const forwarder = new AckForwarder(consensus, key, new Logger());
    // The supervisor asks for the gateway's URL only when it starts a service, after this.
    const supervisor = new ServiceSupervisor({ gatewayUrl: () => edge.gateway.url, nodeHosts: ["127.0.0.1"], logger: new Logger() });
    const edge: EdgeNode = await startEdgeNode({
      directory: path.join(dir, "blocks"),
      maxBytes: 2 ** 30,
      nodeKey: ed25519PrivateKeyFromSeed(key.seed),
      ackSink: forwarder,
      ackClock: () => reporting.chainTimeMs(),
      services: supervisor,
      compute: { terms: (account) => reporting.computeTerms(account), cpuLimitMs: CPU_LIMIT_MS, maxUnacknowledged: MAX_UNACKNOWLEDGED },
    });
    const root = (await edge.store.put([Buffer.from(COUNTER)], { contentType: "text/javascript" })).hash;
    await supervisor.reconcile({ functions: { limits: { cpuMs: CPU_LIMIT_MS } } });
    await supervisor.whenRunning("functions");
    const close = async () => {
      await supervisor.close();
      await edge.close();
      await chain.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return { s, node, key, reporting, forwarder, submitted, gateway: edge.gateway.url, root, funded, poor, close };
  }

  /** Calls the function as `client`; the answer, its body and the receipt header parsed. */
  async function invoke(gateway: string, root: string, client: TestClient | undefined, pathname = "/") {
    const res = await fetch(`${gateway}/fn/blake3/${root}${pathname}`, { headers: client ? { "x-fleek-client": client.key.toString("hex") } : {} });
    const body = await res.text();
    const header = res.headers.get("x-fleek-receipt");
    return { status: res.status, body, receipt: header ? (JSON.parse(header) as ComputeAckJson) : undefined, meter: res.headers.get("x-fleek-meter") };
  }

  /** The client's countersignature over a receipt it got. */
  function countersign(receipt: ComputeAckJson, client: TestClient): ComputeAckJson {
    const parsed = computeAckFromJson({ ...receipt, clientSignature: "00".repeat(64) });
    return { ...receipt, clientSignature: sign(null, computeAckMessage(parsed.receipt), client.privateKey).toString("hex") };
  }

  it("refuses with 402 before running when the payer cannot cover the request, and runs a paid one", async () => {
    const t = await paidNode();
    try {
      // No client key at all, a key bound to nobody, a payer with nothing debitable: 402 each.
      const anonymous = await invoke(t.gateway, t.root, undefined);
      expect(anonymous.status).to.equal(402);
      expect(anonymous.body).to.match(/paid: send x-fleek-client/);
      // The service's own path is the same paid door.
      const direct = await fetch(`${t.gateway}/services/functions/fn/blake3/${t.root}/`);
      expect(direct.status).to.equal(402);
      expect(await direct.text()).to.match(/paid: send x-fleek-client/);
      const unbound = await invoke(t.gateway, t.root, t.poor);
      expect(unbound.status).to.equal(402);
      expect(unbound.body).to.match(/bind one with POST \/acks\/payer/);
      expect(await bindPayer(t.gateway, t.poor)).to.equal(202);
      const poor = await invoke(t.gateway, t.root, t.poor);
      expect(poor.status).to.equal(402);
      expect(poor.body).to.contain(`cannot cover this request in epoch 1: 0 USDC units left, a request may cost ${2_000 + 500 * CPU_LIMIT_MS}`);
      expect(poor.receipt).to.equal(undefined);

      // The funded client's first request is the function's first run: none of the 402s ran it.
      expect(await bindPayer(t.gateway, t.funded)).to.equal(202);
      const paid = await invoke(t.gateway, t.root, t.funded, "/hello");
      expect(paid.status, paid.body).to.equal(200);
      expect(paid.body).to.equal("run 1 of /hello");
      expect(paid.meter, "the service's meter stays between service and gateway").to.equal(null);
      const r = paid.receipt!;
      expect(r.nodeKey).to.equal(t.key.publicKey.toString("hex"));
      expect(r.clientKey).to.equal(t.funded.key.toString("hex"));
      expect(r.functionRoot).to.equal(t.root);
      expect(r.responseHash).to.equal(createHash("sha256").update("run 1 of /hello").digest("hex"));
      expect(r.egressBytes).to.equal(Buffer.byteLength("run 1 of /hello"));
      expect(r.cpuUs).to.be.greaterThan(0).and.below(1_000_000);
      // The node's signature holds over what it says; the client's countersignature completes it.
      expect(verifyComputeAck(computeAckFromJson(countersign(r, t.funded)))).to.equal(true);
    } finally {
      await t.close();
    }
  });

  it("refuses forged and replayed compute acks at the gateway and in consensus, and a client with too many unacknowledged receipts; debits exactly price × units, split 80/20", async () => {
    const t = await paidNode();
    try {
      expect(await bindPayer(t.gateway, t.funded)).to.equal(202);
      const receipts: ComputeAckJson[] = [];
      for (const p of ["/a", "/b", "/c"]) {
        const answer = await invoke(t.gateway, t.root, t.funded, p);
        expect(answer.status).to.equal(200);
        receipts.push(answer.receipt!);
      }
      const genuine = receipts.map((r) => countersign(r, t.funded));
      // Three receipts unacknowledged: the next request is refused and does not run.
      const refused = await invoke(t.gateway, t.root, t.funded, "/d");
      expect(refused.status).to.equal(402);
      expect(refused.body).to.contain(`left ${MAX_UNACKNOWLEDGED} receipts unacknowledged in epoch 1: countersign them`);

      // Forged: signed by another key than the receipt's client; or the client lowering the CPU
      // time the node signed (its countersignature valid, the node's no longer).
      const stranger = generateKeyPairSync("ed25519").privateKey;
      const foreign = { ...genuine[0], clientSignature: sign(null, computeAckMessage(computeAckFromJson(genuine[0]).receipt), stranger).toString("hex") };
      expect((await postJson(`${t.gateway}/acks/compute`, foreign)).status).to.equal(401);
      const lowered = countersign({ ...receipts[0], cpuUs: 1 }, t.funded);
      expect((await postJson(`${t.gateway}/acks/compute`, lowered)).status).to.equal(401);
      for (const g of genuine) expect((await postJson(`${t.gateway}/acks/compute`, g)).status).to.equal(202);
      // Replayed: the same acknowledgment again.
      expect((await postJson(`${t.gateway}/acks/compute`, genuine[0])).status).to.equal(409);

      // Its fourth invocation, acknowledged like the others.
      const fourth = await invoke(t.gateway, t.root, t.funded, "/e");
      expect(fourth.body).to.equal("run 4 of /e");
      expect((await postJson(`${t.gateway}/acks/compute`, countersign(fourth.receipt!, t.funded))).status).to.equal(202);
      receipts.push(fourth.receipt!);

      // Through the forwarder into the epoch's state: the binding, then the acks.
      await t.forwarder.flush();
      const kinds = t.submitted.map((s) => decodeAppTx(transactionPayload(s)).kind);
      expect(kinds).to.deep.equal([AppTxKind.Payer, AppTxKind.ComputeAcks]);
      const context = await t.reporting.context(1);
      expect(context.computePrices).to.deep.equal({ perMillionRequests: PER_MILLION_REQUESTS, perMillionCpuMs: PER_MILLION_CPU_MS });
      const state = new EpochState(context);
      state.setDebitable(await t.reporting.debitable(context, state.unknownPayers(t.submitted)));
      for (const s of t.submitted) expect(state.apply(s)).to.deep.include({ ok: true });
      // A member replaying the acks, and one forging a client's signature, count nothing.
      const parsed = genuine.map((g) => computeAckFromJson(g));
      expect(state.apply(tx(t.key, { kind: AppTxKind.ComputeAcks, acks: parsed }))).to.deep.equal({ ok: true, refusedAcks: 3 });
      expect(state.apply(tx(t.key, { kind: AppTxKind.ComputeAcks, acks: [computeAckFromJson(foreign)] }))).to.deep.equal({ ok: true, refusedAcks: 1 });
      const fresh = await invoke(t.gateway, t.root, t.funded, "/g");
      const forgedNew = computeAckFromJson({ ...fresh.receipt!, clientSignature: sign(null, computeAckMessage(computeAckFromJson(countersign(fresh.receipt!, t.funded)).receipt), stranger).toString("hex") });
      expect(state.apply(tx(t.key, { kind: AppTxKind.ComputeAcks, acks: [forgedNew] }))).to.deep.equal({ ok: true, refusedAcks: 1 });
      expect(state.apply(await payerTx(t.key, t.funded)).ok).to.equal(false, "bound already");

      state.apply(tx(t.key, { kind: AppTxKind.CloseEpoch, epoch: 1 }));
      const report = state.report!;
      // Four acknowledged invocations at 2,000 units each plus 500 units per CPU-ms of their summed CPU time.
      const cpuUs = receipts.reduce((sum, r) => sum + BigInt(r.cpuUs), 0n);
      const expected = 4n * 2_000n + (cpuUs * 500n) / 1_000n;
      expect(report.report.usage).to.deep.equal([{ client: t.funded.account.address.toLowerCase(), amount: expected }]);
      expect(report.report.nodes.map((n) => [n.nodeId, n.revenue, n.deliveryAcks])).to.deep.equal([[t.node.id, expected, 4n]]);

      state.apply(signatureTx(t.key, t.node.signer, 1, report.digest));
      expect(state.hasQuorum).to.equal(true);
      await runBeacon(t.s, [t.node]);
      await time.increaseTo(await t.s.registry.reportOpensAt());
      const rewards = await t.s.rewards.getAddress();
      const before = await t.s.usdc.balanceOf(rewards);
      expect(await t.reporting.submitReport(report.report, orderSignatures(state.reportSignatures))).to.equal("submitted");
      expect((await t.s.escrow.accounts(t.funded.account.address)).balance).to.equal(1_000_000n - expected);
      expect((await t.s.usdc.balanceOf(rewards)) - before).to.equal((expected * 8_000n) / 10_000n);
    } finally {
      await t.close();
    }
  });
});
