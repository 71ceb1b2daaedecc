/**
 * Agent calls in the epoch state (docs/agents.md "Payment of calls"): countersigned agent-call
 * receipts travel in AgentAcks transactions and are charged at each agent's price for the epoch
 * plus CPU-ms, the owner paying the LLM tokens; forged and replayed acknowledgments count nothing.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { signComputeAck, signComputeReceipt, type ComputeReceipt, type SignedComputeAck } from "../../../node/acks/computeReceipt";
import { computeAckMessage } from "../../../protocol/computeAck";
import { newAckNonce } from "../../../node/acks/deliveryAck";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { AppTxKind, decodeAppTx, encodeAppTx } from "../../../node/app/appTransactions";
import { EpochState, type EpochContext } from "../../../node/app/epochState";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { agentService } from "../../../protocol/usage";
import { registrySuite } from "../../../testkit/registry";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";
import { context, members, newClient, payerTx, START_MS, tx, type Member, type TestClient } from "./appFixtures";

const AGENT_7 = agentService(7).slice(2);
const AGENT_9 = agentService(9).slice(2);
const UNLISTED = agentService(500).slice(2);
const OWNER = Wallet.createRandom().address.toLowerCase();

/** A countersigned receipt of one call of `agent` by `client` on `m`, with `cpuUs` and `llmTokens`. */
function agentAck(m: Member, client: TestClient, agent: string, cpuUs: number, llmTokens: number, at = START_MS): SignedComputeAck {
  const receipt: ComputeReceipt = {
    nodeKey: m.key.publicKey,
    clientKey: client.key,
    functionRoot: Buffer.from(agent, "hex"),
    requestHash: Buffer.alloc(32, 1),
    responseHash: Buffer.alloc(32, 2),
    cpuUs,
    wallMs: 3,
    egressBytes: 10,
    windowStart: at,
    windowEnd: at + 60_000,
    nonce: newAckNonce(),
    agent: { llmTokens },
  };
  return {
    receipt,
    nodeSignature: signComputeReceipt(receipt, ed25519PrivateKeyFromSeed(m.key.seed)),
    clientSignature: signComputeAck(receipt, client.privateKey),
  };
}

const agentTx = (m: Member, acks: SignedComputeAck[]) => tx(m.key, { kind: AppTxKind.AgentAcks, acks });

/** A state with agent 7 at `price7` and agent 9 at 10,000 a call (both owned by OWNER), every account funded. */
function stateWith(ctx: EpochContext, price7: bigint): EpochState {
  const state = new EpochState(ctx);
  state.setAgentTerms(
    new Map([
      [AGENT_7, { price: price7, owner: OWNER }],
      [AGENT_9, { price: 10_000n, owner: OWNER }],
      [UNLISTED, undefined],
    ]),
  );
  const apply = state.apply.bind(state);
  state.apply = (t) => {
    state.setDebitable(new Map(state.unknownPayers([t]).map((a) => [a, 10n ** 12n])));
    return apply(t);
  };
  return state;
}

function close(state: EpochState, ms: Member[]) {
  for (const m of ms.slice(0, 3)) state.apply(tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: state.context.epoch }));
  return state.report!.report;
}

describe("app: agent calls in the epoch state", () => {
  const ms = members(4);
  // $0.02 per million CPU-ms (the escrow's default) and $0.002 per 1,000 tokens.
  const ctx = context(ms, { computePrices: { perMillionRequests: 300_000n, perMillionCpuMs: 20_000n }, agentPrices: { per1kTokens: 2_000n } });

  it("charges callers each agent's price for the epoch plus CPU-ms, and the owner the LLM tokens: known answers", async () => {
    const [a, b] = ms;
    const alice = newClient();
    const bob = newClient();
    const state = stateWith(ctx, 50_000n);
    expect(state.apply(await payerTx(a.key, alice))).to.deep.equal({ ok: true });
    expect(state.apply(await payerTx(a.key, bob))).to.deep.equal({ ok: true });
    // Alice: 3 calls of agent 7 on node a, 250,000 CPU-ms in all, 1,500 tokens; Bob: 2 calls of agent 9 on node b.
    const alices = [agentAck(a, alice, AGENT_7, 100_000_000, 1_000), agentAck(a, alice, AGENT_7, 100_000_000, 500), agentAck(a, alice, AGENT_7, 50_000_000, 0)];
    expect(state.apply(agentTx(a, alices))).to.deep.equal({ ok: true, refusedAcks: 0 });
    expect(state.apply(agentTx(b, [agentAck(b, bob, AGENT_9, 0, 0), agentAck(b, bob, AGENT_9, 0, 0)]))).to.deep.equal({ ok: true, refusedAcks: 0 });
    const report = close(state, ms);
    // Agent 7: 3 × 50,000 + 250,000 CPU-ms × 20,000 / 10^6 = 155,000; tokens 1,500 × 2,000 / 1,000 = 3,000 (owner); agent 9: 2 × 10,000.
    expect(report.charges).to.deep.equal([
      { nodeId: a.node.id, kind: 2, service: `0x${"00".repeat(32)}`, requests: 0n, cpuMs: 0n, amount: 3_000n },
      { nodeId: a.node.id, kind: 2, service: agentService(7), requests: 3n, cpuMs: 250_000n, amount: 155_000n },
      { nodeId: b.node.id, kind: 2, service: agentService(9), requests: 2n, cpuMs: 0n, amount: 20_000n },
    ]);
    const usage = new Map(report.usage.map((u) => [u.client.toLowerCase(), u.amount]));
    expect(usage).to.deep.equal(
      new Map([
        [alice.account.address.toLowerCase(), 155_000n],
        [OWNER, 3_000n],
        [bob.account.address.toLowerCase(), 20_000n],
      ]),
    );
    expect(report.nodes.find((n) => n.nodeId === a.node.id)!.revenue).to.equal(158_000n);
    // Each call counts as one of the node's acks.
    expect(report.nodes.find((n) => n.nodeId === a.node.id)!.deliveryAcks).to.equal(3n);
  });

  it("charges the epoch's price: a price set during epoch N (priceAt) charges only epoch N + 1's calls", async () => {
    const [a] = ms;
    const alice = newClient();
    // The member reads priceAt(7, N) = 50,000 for epoch N and priceAt(7, N + 1) = 90,000 for the next.
    const amounts: bigint[] = [];
    for (const [epoch, price] of [
      [3, 50_000n],
      [4, 90_000n],
    ] as const) {
      const state = stateWith({ ...ctx, epoch }, price);
      state.apply(await payerTx(a.key, alice));
      state.apply(agentTx(a, [agentAck(a, alice, AGENT_7, 0, 0), agentAck(a, alice, AGENT_7, 0, 0)]));
      amounts.push(close(state, ms).usage[0].amount);
    }
    expect(amounts).to.deep.equal([100_000n, 180_000n]);
  });

  it("needs an agent's terms loaded first; calls of an agent the marketplace does not know count nothing", async () => {
    const [a] = ms;
    const alice = newClient();
    const unloaded = new EpochState(ctx);
    const t = agentTx(a, [agentAck(a, alice, AGENT_7, 0, 0)]);
    expect(unloaded.unknownAgents([t])).to.deep.equal([AGENT_7]);
    expect(() => unloaded.apply(t)).to.throw(`marketplace terms of agent 0x${AGENT_7} not loaded`);
    const state = stateWith(ctx, 50_000n);
    expect(state.unknownAgents([t])).to.deep.equal([]);
    expect(state.unknownPayers([t])).to.deep.equal([OWNER]);
    expect(state.apply(agentTx(a, [agentAck(a, alice, UNLISTED, 0, 0)]))).to.deep.equal({ ok: true, refusedAcks: 1 });
  });

  it("refuses forged and replayed acknowledgments: tampered figures, a function's receipt as an agent's, the node's own countersignature, a second submission", async () => {
    const [a, b] = ms;
    const alice = newClient();
    const state = stateWith(ctx, 50_000n);
    state.apply(await payerTx(a.key, alice));
    const genuine = agentAck(a, alice, AGENT_7, 1_000, 10);
    // More tokens than the node signed (the owner would pay them), or less CPU than it measured.
    const moreTokens = { ...genuine, receipt: { ...genuine.receipt, agent: { llmTokens: 10_000 } } };
    const lessCpu = { ...genuine, receipt: { ...genuine.receipt, cpuUs: 1 } };
    // The same figures signed as a function's receipt: the agent domain tags do not match.
    const { agent: _agent, ...asFunction } = genuine.receipt;
    void _agent;
    const fnSigned = {
      receipt: { ...asFunction, agent: { llmTokens: 10 } },
      nodeSignature: signComputeReceipt(asFunction, ed25519PrivateKeyFromSeed(a.key.seed)),
      clientSignature: signComputeAck(asFunction, alice.privateKey),
    };
    // The node countersigning for the client (it holds no client key): the client's signature fails.
    const selfAcked = { ...genuine, clientSignature: signComputeAck(genuine.receipt, ed25519PrivateKeyFromSeed(a.key.seed)) };
    // Another node claiming the call.
    const otherNode = { ...genuine, receipt: { ...genuine.receipt, nodeKey: b.key.publicKey } };
    expect(Buffer.from(computeAckMessage(genuine.receipt)).equals(computeAckMessage(asFunction))).to.equal(false);
    const forged = [moreTokens, lessCpu, fnSigned, selfAcked, otherNode];
    expect(state.apply(agentTx(a, forged))).to.deep.equal({ ok: true, refusedAcks: 5 });
    expect(state.apply(agentTx(a, [genuine, genuine]))).to.deep.equal({ ok: true, refusedAcks: 1 });
    expect(state.apply(agentTx(b, [genuine]))).to.deep.equal({ ok: true, refusedAcks: 1 });
    // An agent receipt cannot travel as a function's (nor the reverse).
    expect(() => encodeAppTx({ kind: AppTxKind.ComputeAcks, acks: [genuine] })).to.throw(/AgentAcks/);
    const report = close(state, ms);
    // One call of 1 ms (0.02 units, rounded down to 0) and 10 tokens (10 × 2,000 / 1,000 = 20, the owner's).
    expect(new Map(report.usage.map((u) => [u.client.toLowerCase(), u.amount]))).to.deep.equal(
      new Map([
        [OWNER, 20n],
        [alice.account.address.toLowerCase(), 50_000n],
      ]),
    );
  });

  it("reads each agent's price for the epoch from the chain: a setPrice racing epoch 1's calls charges only epoch 2's", async function () {
    this.timeout(60_000);
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    try {
      await registerChainNode(s, 0, 21_500);
      const [dev] = s.clients;
      // Agent 1 at 50,000 units a call; the marketplace's pricePer1kTokens as governance left it.
      await s.agentMarketplace.connect(dev).register("echo", `0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`, 128, 50_000);
      await time.increaseTo(await s.registry.epochEnd());
      await s.registry.advanceEpoch();
      const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
      const reporting = new RegistryReporting(provider, CHAIN_ID, await s.registry.getAddress(), Wallet.createRandom() as unknown as Wallet);
      const ctx = await reporting.context(1);
      expect(ctx.agentPrices).to.deep.equal({ per1kTokens: await s.agentMarketplace.pricePer1kTokens() });
      const one = agentService(1).slice(2);
      const unknown = agentService(2).slice(2);
      // The owner raises the price during epoch 1, after calls were admitted at 50,000.
      await s.agentMarketplace.connect(dev).setPrice(1, 90_000, 0);
      const owner = dev.address.toLowerCase();
      const terms = await reporting.agentTerms(ctx, [one, unknown]);
      expect(terms).to.deep.equal(
        new Map([
          [one, { price: 50_000n, owner: dev.address }],
          [unknown, undefined],
        ]),
      );
      // Read for epoch 1 at the latest block too: still 50,000; epoch 2's calls pay 90,000.
      const latest = await hre.ethers.provider.getBlockNumber();
      expect((await reporting.agentTerms({ epoch: 1, startBlock: latest }, [one])).get(one)).to.deep.equal({ price: 50_000n, owner: dev.address });
      expect((await reporting.agentTerms({ epoch: 2, startBlock: latest }, [one])).get(one)).to.deep.equal({ price: 90_000n, owner: dev.address });
      // The state built from the chain's terms charges epoch 1's two calls 100,000.
      const [a] = ms;
      const alice = newClient();
      const state = new EpochState({ ...context(ms), epoch: 1 });
      state.setAgentTerms(terms);
      const txs = [await payerTx(a.key, alice), agentTx(a, [agentAck(a, alice, one, 0, 0), agentAck(a, alice, one, 0, 0)])];
      expect(state.unknownPayers(txs).sort()).to.deep.equal([alice.account.address.toLowerCase(), owner].sort());
      state.setDebitable(new Map(state.unknownPayers(txs).map((x) => [x, 10n ** 12n])));
      for (const t of txs) expect(state.apply(t).ok).to.equal(true);
      expect(close(state, ms).usage).to.deep.equal([{ client: alice.account.address, amount: 100_000n }]);
    } finally {
      await chain.close();
    }
  });

  it("round-trips agent acks through the transaction encoding and the state through save/restore", async () => {
    const [a] = ms;
    const alice = newClient();
    const ack = agentAck(a, alice, AGENT_9, 12_345, 678);
    const decoded = decodeAppTx(encodeAppTx({ kind: AppTxKind.AgentAcks, acks: [ack] }));
    expect(decoded).to.deep.equal({ kind: AppTxKind.AgentAcks, acks: [ack] });
    const state = stateWith(ctx, 50_000n);
    state.apply(await payerTx(a.key, alice));
    state.apply(agentTx(a, [ack]));
    const restored = EpochState.restore({ ...state.save(), seenAcks: state.acksSince(0) });
    expect(close(restored, ms)).to.deep.equal(close(state, ms));
  });
});
