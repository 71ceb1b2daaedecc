/**
 * The node's side of paid agent calls (docs/agents.md "Payment of calls"): the ComputeDesk admits
 * a call only when the caller's escrow covers the agent's price for the epoch plus its CPU limit
 * (the gateway answers 402 otherwise, before the call runs), signs an agent-call receipt of what
 * was measured, and accepts the client's countersignature once; forged or replayed ones are refused.
 */
import { expect } from "chai";
import { generateKeyPairSync } from "node:crypto";
import { Wallet } from "ethers";
import { ComputeDesk, type ComputeTerms } from "../../../node/acks/computeDesk";
import { computeAckFromJson, signComputeAck, verifyComputeAck } from "../../../node/acks/computeReceipt";
import { QueuedAckSink } from "../../../node/acks/deliveryAckDesk";
import { rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";
import { signPayerBinding, type PayerBinding } from "../../../node/acks/payerBinding";
import { agentService } from "../../../protocol/usage";

const AGENT = agentService(7).slice(2);

describe("agents: paid calls at the node", () => {
  const node = generateKeyPairSync("ed25519").privateKey;
  const client = generateKeyPairSync("ed25519").privateKey;
  const clientKey = rawEd25519PublicKey(client);
  const account = Wallet.createRandom();
  let binding: PayerBinding;
  before(async () => {
    binding = await signPayerBinding(client, clientKey, account);
  });

  /** A desk whose client may be debited `debitable` in epoch 5, at $0.02 per million CPU-ms. */
  function desk(debitable: bigint, now = () => 1_800_000_000_000) {
    const sink = new QueuedAckSink();
    const terms: ComputeTerms = { epoch: 5, debitable, prices: { perMillionRequests: 300_000n, perMillionCpuMs: 20_000n } };
    const d = new ComputeDesk({
      nodePrivateKey: node,
      nodeKey: rawEd25519PublicKey(node),
      sink,
      payerOf: (key) => (key.equals(clientKey) ? binding : undefined),
      terms: async () => terms,
      cpuLimitMs: 100,
      now,
    });
    return { d, sink };
  }
  const meter = { root: AGENT, requestHash: "11".repeat(32), responseHash: "22".repeat(32), cpuUs: 40_000, wallMs: 50, egressBytes: 9, llmTokens: 1_200 };

  it("refuses a call the escrow cannot cover before it runs: the price for the epoch plus the CPU limit", async () => {
    const asked: number[] = [];
    const priceOf = async (epoch: number) => (asked.push(epoch), 50_000n);
    // A call with a CPU limit of 100,000 ms reserves 50,000 + 100,000 × 20,000 / 10^6 = 52,000.
    const { d: poor } = desk(50_001n);
    const refusal = await poor.admitAgent(clientKey, priceOf, 100_000);
    expect(refusal).to.equal(`escrow account ${account.address} cannot cover this request in epoch 5: 50001 USDC units left, a request may cost 52000`);
    expect(asked).to.deep.equal([5]);
    // Enough for two calls: the third is refused while the first two hold their reservations.
    const { d } = desk(104_000n);
    const first = await d.admitAgent(clientKey, priceOf, 100_000);
    const second = await d.admitAgent(clientKey, priceOf, 100_000);
    expect(typeof first).to.equal("object");
    expect(typeof second).to.equal("object");
    expect(await d.admitAgent(clientKey, priceOf, 100_000)).to.match(/cannot cover this request in epoch 5: 0 USDC units left/);
    // An unlisted agent, or an unbound client, is refused too.
    expect(await d.admitAgent(clientKey, async () => undefined, 100)).to.match(/not listed on the marketplace/);
    expect(await d.admitAgent(Buffer.alloc(32, 9), priceOf, 100)).to.match(/bind one with POST \/acks\/payer/);
  });

  it("gives a reservation back once: a bad meter after issue released it does not hand the payer budget twice", async () => {
    const priceOf = async () => 50_000n;
    // Room for exactly one call of 52,000 (50,000 + 100,000 ms × 20,000 / 10^6).
    const { d } = desk(52_000n);
    const admission = await d.admitAgent(clientKey, priceOf, 100_000);
    if (typeof admission === "string") throw new Error(admission);
    // A meter the node cannot sign: issue releases the reservation, then throws; the gateway's catch releases again.
    expect(() => d.issue(admission, { ...meter, cpuUs: 1.5 })).to.throw();
    d.release(admission);
    // The budget is back to one call, not two.
    expect(typeof (await d.admitAgent(clientKey, priceOf, 100_000))).to.equal("object");
    expect(await d.admitAgent(clientKey, priceOf, 100_000)).to.match(/cannot cover this request in epoch 5: 0 USDC units left/);
  });

  it("signs an agent-call receipt the client countersigns once; forged and replayed acknowledgments are refused", async () => {
    const { d, sink } = desk(10n ** 9n);
    const admission = await d.admitAgent(clientKey, async () => 50_000n, 100);
    if (typeof admission === "string") throw new Error(admission);
    const json = d.issue(admission, meter);
    expect(json.functionRoot).to.equal(AGENT);
    expect(json.llmTokens).to.equal(1_200);
    const signed = computeAckFromJson({ ...json, clientSignature: "00".repeat(64) });
    signed.clientSignature = signComputeAck(signed.receipt, client);
    expect(verifyComputeAck(signed)).to.equal(true);
    // The same receipt without its agent part (a function's) or with fewer tokens: signatures fail.
    const asFunction = { ...signed, receipt: { ...signed.receipt, agent: undefined } };
    const fewerTokens = { ...signed, receipt: { ...signed.receipt, agent: { llmTokens: 1 } } };
    const nodeSelfAck = { ...signed, clientSignature: signComputeAck(signed.receipt, node) };
    expect(d.accept(asFunction)).to.equal("bad-signature");
    expect(d.accept(fewerTokens)).to.equal("bad-signature");
    expect(d.accept(nodeSelfAck)).to.equal("bad-signature");
    expect(d.accept(signed)).to.equal(undefined);
    expect(d.accept(signed)).to.equal("replay");
    const forwarded = sink.drainCompute();
    expect(forwarded).to.have.length(1);
    expect(forwarded[0].receipt.agent).to.deep.equal({ llmTokens: 1_200 });
  });
});
