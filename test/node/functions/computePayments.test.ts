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
import { computeAckFromJson, verifyComputeAck } from "../../../node/acks/computeReceipt";
import { computeAckMessage, type ComputeAckJson } from "../../../protocol/computeAck";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { AckForwarder } from "../../../node/app/ackForwarder";
import { AppTxKind, decodeAppTx } from "../../../node/app/appTransactions";
import { EpochState } from "../../../node/app/epochState";
import { FunctionDirectory, sponsorOf } from "../../../node/chain/functionDirectory";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { loadBlockHashing } from "../../../node/blockstore/blockHashing";
import { SubmitStatus, type SubmitResult } from "../../../node/client/protocol";
import { transactionPayload } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { startEdgeNode, type EdgeNode } from "../../../node/edge/edgeNode";
import { Logger } from "../../../node/logger";
import { ServiceSupervisor } from "../../../node/services/serviceSupervisor";
import { startApiServer } from "../../../indexer/api/server";
import { orderSignatures } from "../../../protocol/report";
import { registrySuite, runBeacon } from "../../../testkit/registry";
import { bindPayer, countersign, postJson } from "../../helpers/gatewayClient";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";
import { newClient, payerTx, signatureTx, tx, type TestClient } from "../app/appFixtures";
import { gql } from "../../indexer/graphql";
import { dropTestDatabases, newEngine, testBackends } from "../../indexer/helpers";

/** The prices governance sets: 2,000 USDC units per request, 500 per CPU-ms (per million: ×10^6). */
const PER_MILLION_REQUESTS = 2_000_000_000n;
const PER_MILLION_CPU_MS = 500_000_000n;
const CPU_LIMIT_MS = 50;
/** Receipts a client may leave unacknowledged before the node refuses it. */
const MAX_UNACKNOWLEDGED = 3;

/** Loops for ever: only a limit stops it. */
const LOOP = `export default { fetch() { for (;;) {} } };`;
/** The CPU limit its owner registers for {@link LOOP}: well under the node's {@link CPU_LIMIT_MS}. */
const REGISTERED_CPU_MS = 10;
const REGISTERED = { memoryMiB: 64, cpuMs: REGISTERED_CPU_MS, wallMs: 1_000, bundleBytes: 1_024 };

/** A second function: answers with the path it was called on. */
const ECHO = `export default { async fetch(request) { return new Response("echo " + request.url.slice(request.url.lastIndexOf("/"))); } };`;

/** Counts its runs in module state: a request that never ran leaves the count as it was. */
const COUNTER = `let runs = 0;
export default { async fetch(request) { runs++; return new Response("run " + runs + " of " + request.url.slice(request.url.indexOf("/", "http://".length))); } };`;

describe("functions: metered and paid through the report (gateway + functions process + Hardhat chain)", function () {
  this.timeout(120_000);
  after(dropTestDatabases);

  /** `beforeEpoch` runs before epoch 1 starts: what FunctionRegistry and the escrow hold then is what epoch 1 reads. */
  async function paidNode(beforeEpoch?: (s: Awaited<ReturnType<typeof registrySuite>>) => Promise<void>) {
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
    await beforeEpoch?.(s);
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
    const functions = new FunctionDirectory(provider, await s.functionRegistry.getAddress());
    const edge: EdgeNode = await startEdgeNode({
      directory: path.join(dir, "blocks"),
      maxBytes: 2 ** 30,
      nodeKey: ed25519PrivateKeyFromSeed(key.seed),
      ackSink: forwarder,
      ackClock: () => reporting.chainTimeMs(),
      services: supervisor,
      compute: {
        terms: (account) => reporting.computeTerms(account),
        cpuLimitMs: CPU_LIMIT_MS,
        maxUnacknowledged: MAX_UNACKNOWLEDGED,
        sponsorOf: async (root) => sponsorOf(await functions.lookup(root, (await reporting.currentEpochStart()).startBlock)),
      },
      functions,
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
    /** The epoch's state with the owner-pays terms and debitable amounts of `txs` loaded, as EpochReporter loads them. */
    const stateFor = async (txs: Buffer[]) => {
      const context = await reporting.context(1);
      const state = new EpochState(context);
      const roots = state.unknownFunctions(txs);
      state.setSponsors(new Map(await Promise.all(roots.map(async (r) => [r, sponsorOf(await functions.lookup(r, context.startBlock))] as const))));
      state.setDebitable(await reporting.debitable(context, state.unknownPayers(txs)));
      return { context, state };
    };
    return { s, node, key, reporting, forwarder, submitted, gateway: edge.gateway.url, store: edge.store, root, funded, poor, stateFor, close };
  }

  /** Calls the function as `client`; the answer, its body and the receipt header parsed. */
  async function invoke(gateway: string, root: string, client: TestClient | undefined, pathname = "/") {
    const res = await fetch(`${gateway}/fn/blake3/${root}${pathname}`, { headers: client ? { "x-fleek-client": client.key.toString("hex") } : {} });
    const body = await res.text();
    const header = res.headers.get("x-fleek-receipt");
    return { status: res.status, body, receipt: header ? (JSON.parse(header) as ComputeAckJson) : undefined, meter: res.headers.get("x-fleek-meter") };
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

  it("runs a function under the limits registered on FunctionRegistry (capped by the node's) and receipts a run a limit stopped with the CPU it used", async () => {
    const t = await paidNode();
    try {
      const developer = t.s.clients[1];
      const loop = (await t.store.put([Buffer.from(LOOP)], { contentType: "text/javascript" })).hash;
      await t.s.functionRegistry.connect(developer).register("loop", `0x${loop}`, REGISTERED);
      // A bundle over the size its owner registered is refused before it runs.
      const big = (await t.store.put([Buffer.from(COUNTER + "\n// " + "x".repeat(2_000))], { contentType: "text/javascript" })).hash;
      await t.s.functionRegistry.connect(developer).register("big", `0x${big}`, REGISTERED);
      expect(await bindPayer(t.gateway, t.funded)).to.equal(202);
      const tooBig = await invoke(t.gateway, big, t.funded);
      expect(tooBig.status).to.equal(422);
      expect(tooBig.body).to.contain("over its 1024-byte limit");

      const sent = performance.now();
      const stopped = await invoke(t.gateway, loop, t.funded);
      const elapsedUs = (performance.now() - sent) * 1_000;
      expect(stopped.status).to.equal(503);
      expect(JSON.parse(stopped.body)).to.deep.equal({ error: `the function ran over its CPU time limit (${REGISTERED_CPU_MS} ms)` });
      // The client pays for what the stopped run used: a receipt of the error answer, node-signed.
      const r = stopped.receipt!;
      expect(r, "receipt of a stopped run").to.not.equal(undefined);
      expect([r.functionRoot, r.clientKey, r.nodeKey]).to.deep.equal([loop, t.funded.key.toString("hex"), t.key.publicKey.toString("hex")]);
      expect(r.responseHash).to.equal(createHash("sha256").update(stopped.body).digest("hex"));
      expect(r.cpuUs, "metered CPU of the loop").to.be.greaterThan(1_000);
      // The receipt charges the CPU the run used, which the request's wall time bounds (one thread
      // runs it). Not a fixed bound: V8 stops the run from a timer thread a loaded machine may
      // schedule late (65 ms of CPU once at load 19 against the 10 ms limit). Which limit stopped
      // it is in the message above; the unregistered run below is charged more than 10 ms.
      expect(r.cpuUs, "metered CPU within the request's wall time").to.be.at.most(elapsedUs);
      const acked = countersign(r, t.funded);
      expect(verifyComputeAck(computeAckFromJson(acked))).to.equal(true);
      expect((await postJson(`${t.gateway}/acks/compute`, acked)).status).to.equal(202);
      // A client naming its own limits gets the registered ones: the gateway replaces the header.
      const spoofed = await fetch(`${t.gateway}/fn/blake3/${loop}/`, {
        headers: { "x-fleek-client": t.funded.key.toString("hex"), "x-fleek-limits": JSON.stringify({ ...REGISTERED, cpuMs: CPU_LIMIT_MS }) },
      });
      expect(JSON.parse(await spoofed.text()).error).to.contain(`(${REGISTERED_CPU_MS} ms)`);
      // A function nobody registered runs under the node's limits.
      const free = (await t.store.put([Buffer.from(LOOP + "\n// unregistered")], { contentType: "text/javascript" })).hash;
      const unregistered = await invoke(t.gateway, free, t.funded);
      expect(unregistered.status).to.equal(503);
      expect(JSON.parse(unregistered.body).error).to.contain(`(${CPU_LIMIT_MS} ms)`);
      expect(unregistered.receipt!.cpuUs).to.be.greaterThan(REGISTERED_CPU_MS * 1_000);
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
      const { context, state } = await t.stateFor(t.submitted);
      expect(context.computePrices).to.deep.equal({ perMillionRequests: PER_MILLION_REQUESTS, perMillionCpuMs: PER_MILLION_CPU_MS });
      for (const s of t.submitted) expect(state.apply(s)).to.deep.include({ ok: true });
      // A member replaying the acks, and one forging a client's signature, count nothing.
      const parsed = genuine.map((g) => computeAckFromJson(g));
      expect(state.apply(tx(t.key, { kind: AppTxKind.ComputeAcks, acks: parsed }))).to.deep.equal({ ok: true, refusedAcks: 3 });
      expect(state.apply(tx(t.key, { kind: AppTxKind.ComputeAcks, acks: [computeAckFromJson(foreign)] }))).to.deep.equal({ ok: true, refusedAcks: 1 });
      const fresh = await invoke(t.gateway, t.root, t.funded, "/g");
      const forgedNew = computeAckFromJson({
        ...fresh.receipt!,
        clientSignature: sign(null, computeAckMessage(computeAckFromJson(countersign(fresh.receipt!, t.funded)).receipt), stranger).toString("hex"),
      });
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

  it("owner pays: a client with no escrow calls the function, its owner's account is debited by the report, and once the owner's cap is spent the node answers 402", async () => {
    const sponsored = COUNTER + "\n// owner pays";
    const sponsoredRoot = (await loadBlockHashing()).hash(Buffer.from(sponsored)).toString("hex");
    // A cap of 20,000 units per epoch: each request reserves 2,000 + 500 × 10 ms = 7,000 and costs about 2,000.
    const CAP = 20_000n;
    let developer!: Awaited<ReturnType<typeof registrySuite>>["clients"][number];
    const t = await paidNode(async (s) => {
      developer = s.clients[1];
      await s.functionRegistry.connect(developer).register("sponsored", `0x${sponsoredRoot}`, REGISTERED);
      await expect(s.functionRegistry.connect(developer).setOwnerPays(1, CAP)).to.emit(s.functionRegistry, "OwnerPaysSet").withArgs(1, developer.address, CAP);
      await s.escrow.connect(developer).deposit(developer.address, 1_000_000n);
    });
    try {
      expect((await t.store.put([Buffer.from(sponsored)], { contentType: "text/javascript" })).hash).to.equal(sponsoredRoot);
      const before = (await t.s.escrow.accounts(developer.address)).balance;
      // The poor client never binds a payer nor deposits; it countersigns each receipt.
      const receipts: ComputeAckJson[] = [];
      let refused: Awaited<ReturnType<typeof invoke>> | undefined;
      for (let i = 0; i < 20 && !refused; i++) {
        const answer = await invoke(t.gateway, sponsoredRoot, t.poor, `/${i}`);
        if (answer.status === 402) {
          refused = answer;
          break;
        }
        expect(answer.status, answer.body).to.equal(200);
        expect(answer.body).to.equal(`run ${i + 1} of /${i}`);
        expect(answer.receipt!.clientKey).to.equal(t.poor.key.toString("hex"));
        expect((await postJson(`${t.gateway}/acks/compute`, countersign(answer.receipt!, t.poor))).status).to.equal(202);
        receipts.push(answer.receipt!);
      }
      expect(receipts.length, "requests the owner paid for").to.be.greaterThan(0);
      expect(refused?.body).to.match(
        /the owner of function 1 \(escrow account 0x[0-9a-f]{40}, owner pays\) cannot cover this request in epoch 1: \d+ USDC units left, a request may cost 7000/,
      );
      // The same client on a function whose owner does not pay still needs an escrow.
      expect((await invoke(t.gateway, t.root, t.poor)).status).to.equal(402);

      await t.forwarder.flush();
      const { state } = await t.stateFor(t.submitted);
      for (const s of t.submitted) expect(state.apply(s)).to.deep.include({ ok: true });
      state.apply(tx(t.key, { kind: AppTxKind.CloseEpoch, epoch: 1 }));
      const report = state.report!;
      const cpuUs = receipts.reduce((sum, r) => sum + BigInt(r.cpuUs), 0n);
      const expected = BigInt(receipts.length) * 2_000n + (cpuUs * 500n) / 1_000n;
      expect(expected).to.be.at.most(CAP);
      expect(report.report.usage).to.deep.equal([{ client: developer.address.toLowerCase(), amount: expected }]);
      state.apply(signatureTx(t.key, t.node.signer, 1, report.digest));
      await runBeacon(t.s, [t.node]);
      await time.increaseTo(await t.s.registry.reportOpensAt());
      expect(await t.reporting.submitReport(report.report, orderSignatures(state.reportSignatures))).to.equal("submitted");
      expect((await t.s.escrow.accounts(developer.address)).balance).to.equal(before - expected);
    } finally {
      await t.close();
    }
  });

  it("two functions: the report on chain itemizes each one's invocations, CPU-ms and USDC, and the indexer totals them per function", async () => {
    const t = await paidNode();
    try {
      expect(await bindPayer(t.gateway, t.funded)).to.equal(202);
      const echoRoot = (await t.store.put([Buffer.from(ECHO)], { contentType: "text/javascript" })).hash;
      const receipts = new Map<string, ComputeAckJson[]>([
        [t.root, []],
        [echoRoot, []],
      ]);
      // Three calls of the counter and two of echo, each acknowledged at once.
      for (const [root, paths] of [
        [t.root, ["/1", "/2", "/3"]],
        [echoRoot, ["/x", "/y"]],
      ] as const) {
        for (const p of paths) {
          const answer = await invoke(t.gateway, root, t.funded, p);
          expect(answer.status, answer.body).to.equal(200);
          expect((await postJson(`${t.gateway}/acks/compute`, countersign(answer.receipt!, t.funded))).status).to.equal(202);
          receipts.get(root)!.push(answer.receipt!);
        }
      }
      await t.forwarder.flush();
      const { state } = await t.stateFor(t.submitted);
      for (const s of t.submitted) expect(state.apply(s)).to.deep.include({ ok: true });
      state.apply(tx(t.key, { kind: AppTxKind.CloseEpoch, epoch: 1 }));
      const closed = state.report!;
      state.apply(signatureTx(t.key, t.node.signer, 1, closed.digest));
      await runBeacon(t.s, [t.node]);
      await time.increaseTo(await t.s.registry.reportOpensAt());
      expect(await t.reporting.submitReport(closed.report, orderSignatures(state.reportSignatures))).to.equal("submitted");

      // Each function at the governance prices: 2,000 units a call plus 500 a CPU-ms of the
      // receipts' CPU time (signed by the node), rounded down per function; listed by root.
      const expected = [...receipts]
        .map(([root, rs]) => {
          const cpuUs = rs.reduce((sum, r) => sum + BigInt(r.cpuUs), 0n);
          return { root: `0x${root}`, requests: BigInt(rs.length), cpuMs: cpuUs / 1_000n, amount: BigInt(rs.length) * 2_000n + (cpuUs * 500n) / 1_000n };
        })
        .sort((a, b) => (a.root < b.root ? -1 : 1));
      const reported = (await t.s.registry.queryFilter(t.s.registry.filters.EpochReported(1)))[0].args.report;
      expect(reported.charges.map((c) => [Number(c.nodeId), Number(c.kind), c.service, c.requests, c.cpuMs, c.amount])).to.deep.equal(
        expected.map((e) => [t.node.id, 1, e.root, e.requests, e.cpuMs, e.amount]),
      );
      const total = expected.reduce((sum, e) => sum + e.amount, 0n);
      expect(reported.nodes.map((n) => [Number(n.nodeId), n.revenue])).to.deep.equal([[t.node.id, total]]);
      expect((await t.s.escrow.accounts(t.funded.account.address)).balance).to.equal(1_000_000n - total);

      // Registered afterwards (a root counts for whichever function publishes it), then indexed.
      const developer = t.s.clients[1];
      const limits = { memoryMiB: 64, cpuMs: 10, wallMs: 1_000, bundleBytes: 1_024 };
      await t.s.functionRegistry.connect(developer).register("counter", `0x${t.root}`, limits);
      await t.s.functionRegistry.connect(developer).register("echo", `0x${echoRoot}`, limits);
      const database = await (await testBackends()).find((b) => b.name === "pglite")!.fresh!();
      const api = await startApiServer({ database, port: 0 });
      try {
        await (await newEngine(database, t.s)).syncToHead();
        const answer = await gql(api.url, `{ edgeFunctions { nodes { name root invocations cpuMs revenue usage { nodes { epoch nodeId amount } } } } }`);
        expect(answer.errors).to.equal(undefined);
        const of = (root: string) => expected.find((e) => e.root === `0x${root}`)!;
        expect(answer.data.edgeFunctions.nodes).to.deep.equal(
          [
            ["counter", t.root, 3n],
            ["echo", echoRoot, 2n],
          ].map(([name, root, calls]) => {
            const e = of(root as string);
            expect(e.requests).to.equal(calls);
            return {
              name,
              root: `0x${root}`,
              invocations: String(e.requests),
              cpuMs: String(e.cpuMs),
              revenue: String(e.amount),
              usage: { nodes: [{ epoch: 1, nodeId: t.node.id, amount: String(e.amount) }] },
            };
          }),
        );
      } finally {
        await api.close();
        await database.close();
      }
    } finally {
      await t.close();
    }
  });
});
