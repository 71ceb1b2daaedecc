/**
 * The Agents page's paid call (docs/agents.md "Payment of calls", "Dashboard"), its pure parts
 * run in Node against a real gateway with its DeliveryAckDesk and ComputeDesk, reached through the
 * network's dashboard host as the page reaches it: the page's key is bound to the wallet's escrow
 * account (the node verifies both signatures), the call carries it, and the receipt countersigned
 * by the page is accepted (the node verifies it) and reaches the node's sink. The node's own
 * verifiers judge the page's byte layouts, so a layout that drifts from the node's fails here.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { DeliveryAckDesk, QueuedAckSink } from "../../node/acks/deliveryAckDesk";
import { ComputeDesk } from "../../node/acks/computeDesk";
import { computeAckFromJson, verifyComputeAck } from "../../node/acks/computeReceipt";
import { ed25519PrivateKeyFromSeed, rawEd25519PublicKey } from "../../node/acks/ed25519Keys";
import { payerBindingFromJson, verifyPayerBinding } from "../../node/acks/payerBinding";
import { AGENT_METER_HEADER } from "../../node/agents/agentRecords";
import { BlockStore } from "../../node/blockstore/blockStore";
import { startGateway, type RunningGateway, type ServiceRouter } from "../../node/gateway/gatewayServer";
import { serveDashboard, type DashboardServer } from "../../scripts/network/dashboard";
import { bindCaller, callAgentPaid, type Caller } from "../../dashboard/src/lib/agents";
import { callerKeyOf, countersign, payerBinding, type ReceiptJson } from "../../dashboard/src/lib/callerKey";
import { agentService } from "../../protocol/usage";
import { tempDirectory } from "../node/edge/fixtures";

/** Hardhat accounts 1 and 2: a funded caller and one whose escrow cannot cover a call. */
const FUNDED = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const POOR = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
/** Agent 7's price: 0.05 USDC a call. */
const PRICE = 50_000n;

/** A page's storage. */
function memoryStorage() {
  const items = new Map<string, string>();
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
}

/** The page's caller for `wallet`: its key in a fresh storage, the wallet's signatures recorded. */
function caller(wallet: Wallet, storage = memoryStorage()): Caller & { storage: ReturnType<typeof memoryStorage>; signed: string[] } {
  const signed: string[] = [];
  return {
    key: callerKeyOf(storage, wallet.address),
    account: wallet.address,
    signMessage: (message) => (signed.push(message), wallet.signMessage(message)),
    storage,
    signed,
  };
}

describe("dashboard: a paid agent call from the page's key (real gateway and desks, through the page's host)", function () {
  this.timeout(60_000);
  let dir: { path: string; remove: () => Promise<void> };
  let gateway: RunningGateway;
  let dashboard: DashboardServer;
  let base: string;
  let sink: QueuedAckSink;
  /** Calls that reached the stand-in agents service. */
  let ran = 0;

  before(async () => {
    dir = await tempDirectory("dashboard-paid-call");
    const store = await BlockStore.open({ directory: dir.path, maxBytes: 2 ** 26, verifiedCacheBytes: 0 });
    const nodePrivateKey = ed25519PrivateKeyFromSeed(Buffer.alloc(32, 9));
    const nodeKey = rawEd25519PublicKey(nodePrivateKey);
    sink = new QueuedAckSink();
    const acks = new DeliveryAckDesk({ nodeKey, sink });
    const compute = new ComputeDesk({
      nodePrivateKey,
      nodeKey,
      sink,
      payerOf: (client) => acks.payerOf(client),
      // The escrow lets epoch 3's report debit 1 USDC of the funded account, 40,000 units of the poor one.
      terms: async (account) => ({
        epoch: 3,
        debitable: account === FUNDED.address.toLowerCase() ? 1_000_000n : 40_000n,
        prices: { perMillionRequests: 300_000n, perMillionCpuMs: 20_000n },
      }),
      cpuLimitMs: 100,
    });
    // The agents service as the gateway sees it: the answer with its meter.
    const services: ServiceRouter = {
      route: (_id, _req, res, _forward, hook) => {
        ran += 1;
        const meter = { agent: "7", bundleRoot: "bb".repeat(32), requestHash: "11".repeat(32), responseHash: "22".repeat(32) };
        const figures = { cpuUs: 1_500, wallMs: 3, egressBytes: 5, promptTokens: 0, completionTokens: 0 };
        const headers = hook!(200, { "content-type": "text/plain", [AGENT_METER_HEADER]: JSON.stringify({ ...meter, ...figures }) });
        res.writeHead(200, headers).end(String(ran));
      },
      status: () => [],
      wantsAttachment: () => false,
      optionsOf: () => undefined,
    };
    gateway = await startGateway({
      store,
      acks,
      compute,
      services,
      agents: {
        nodeKey,
        nodePrivateKey,
        serviceToken: "t".repeat(64),
        sealingPublicKey: Buffer.alloc(32),
        paid: { marketId: (id) => (id === "7" ? 7n : undefined), priceOf: async () => PRICE, cpuLimitMs: 100 },
      },
    });
    dashboard = await serveDashboard(dir.path, () => ({ chainId: 31337, rpcUrl: "http://127.0.0.1:1", contracts: {}, gateways: [gateway.url] }));
    base = new URL("gateways/0", dashboard.url).href;
  });

  after(async () => {
    await dashboard.close();
    await gateway.close();
    await dir.remove();
  });

  it("keeps one key per wallet account in the page's storage", () => {
    const c = caller(FUNDED);
    expect(c.storage.items.get(`fleek.agents.callerKey.${FUNDED.address.toLowerCase()}`)).to.match(/^[0-9a-f]{64}$/);
    // Same account, same storage: the same key; another account: another key.
    expect(callerKeyOf(c.storage, FUNDED.address.toUpperCase().replace("0X", "0x")).publicKey).to.deep.equal(c.key.publicKey);
    expect(callerKeyOf(c.storage, POOR.address).publicKey).not.to.deep.equal(c.key.publicKey);
  });

  it("binds the key when the node does not know it (once), calls with it, countersigns the receipt (202), and gets the figures of a 402 when the escrow is short", async () => {
    const funded = caller(FUNDED);
    const first = await callAgentPaid(base, 7, "/", "", funded);
    expect([first.status, first.body, first.ackStatus]).to.deep.equal([200, "1", 202]);
    // The node verified the binding (else 401) and the countersignature (else 401): both are in its sink.
    const bound = sink.payers.get(Buffer.from(funded.key.publicKey).toString("hex"));
    expect(bound?.account).to.equal(FUNDED.address);
    expect(verifyPayerBinding(bound!)).to.equal(true);
    const [acked] = sink.drainCompute();
    expect(verifyComputeAck(acked)).to.equal(true);
    expect(acked.receipt.functionRoot.toString("hex")).to.equal(agentService(7).slice(2));
    expect([acked.receipt.cpuUs, acked.receipt.agent]).to.deep.equal([1_500, { llmTokens: 0 }]);
    expect(funded.signed).to.have.length(1);
    // A second call: no new wallet signature, a new acknowledged receipt.
    const second = await callAgentPaid(base, 7, "/", "", funded);
    expect([second.status, second.body, second.ackStatus, funded.signed.length]).to.deep.equal([200, "2", 202, 1]);
    expect(sink.drainCompute()).to.have.length(1);
    // The same ack again is a replay.
    const again = await fetch(`${base}/acks/compute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(countersign(second.signedReceipt!, funded.key)),
    });
    expect(again.status).to.equal(409);

    // 40,000 units left: less than the price plus 100 ms of CPU (50,002). The agent does not run.
    const poor = caller(POOR);
    const refused = await callAgentPaid(base, 7, "/", "", poor);
    expect([refused.status, refused.ackStatus, ran]).to.deep.equal([402, undefined, 2]);
    expect(JSON.parse(refused.body).error).to.match(/cannot cover this request in epoch 3: 40000 USDC units left, a request may cost 50002$/);
  });

  it("says why a binding is refused, and calls nothing more", async () => {
    // A wallet that signs for another account: the node refuses the binding, the page says so.
    const liar = { ...caller(POOR), signMessage: (m: string) => FUNDED.signMessage(m) };
    const before = ran;
    let error: unknown;
    await callAgentPaid(base, 7, "/", "", liar).catch((err) => (error = err));
    expect((error as Error).message).to.equal(
      "The gateway refused to bind your call key to your escrow account (401): payer binding refused: bad client or account signature",
    );
    expect(ran).to.equal(before);
  });

  it("lays out the binding and the countersignature as the node reads them, and refuses to countersign another key's receipt", async () => {
    const c = caller(FUNDED);
    // The wallet signed something else: the account's signature fails, the key's holds.
    expect(verifyPayerBinding(payerBindingFromJson(payerBinding(c.key, FUNDED.address, await FUNDED.signMessage("x"))))).to.equal(false);
    const hex = Buffer.from(c.key.publicKey).toString("hex");
    const message = `Fleek Network: delivery acknowledgments signed by client key ${hex} are paid from this account.`;
    expect(verifyPayerBinding(payerBindingFromJson(payerBinding(c.key, FUNDED.address, await FUNDED.signMessage(message))))).to.equal(true);
    await bindCaller(base, c);
    const res = await fetch(`${base}/agents/7/`, { headers: { "x-fleek-client": hex } });
    const receipt = JSON.parse(res.headers.get("x-fleek-receipt")!) as ReceiptJson;
    const signed = computeAckFromJson(countersign(receipt, c.key));
    expect(verifyComputeAck(signed)).to.equal(true);
    // A figure changed after signing: the node's check fails.
    expect(verifyComputeAck({ ...signed, receipt: { ...signed.receipt, cpuUs: signed.receipt.cpuUs + 1 } })).to.equal(false);
    expect(() => countersign(receipt, caller(POOR).key)).to.throw("The node's receipt names another client key: not acknowledged.");
  });
});
