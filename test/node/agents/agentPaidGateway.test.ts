/**
 * Paid agent calls over HTTP (docs/agents.md "Payment of calls"): a node's gateway in this process,
 * the agents service in its own, AgentMarketplace, NodeRegistry and ServiceEscrow on Hardhat's EVM
 * over JSON-RPC. A caller without funds gets 402 and the agent never runs (its counter stays
 * put); a funded caller's answer carries an agent-call receipt it countersigns once, which the
 * node forwards into consensus as an AgentAcks transaction.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import hre from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { computeAckFromJson, signComputeAck } from "../../../node/acks/computeReceipt";
import type { ComputeAckJson } from "../../../protocol/computeAck";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { AckForwarder } from "../../../node/app/ackForwarder";
import { AppTxKind, decodeAppTx } from "../../../node/app/appTransactions";
import { RegistryReporting } from "../../../node/chain/registryReporting";
import { SubmitStatus, type SubmitResult } from "../../../node/client/protocol";
import { transactionPayload } from "../../../node/client/transaction";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { startEdgeNode } from "../../../node/edge/edgeNode";
import { Logger } from "../../../node/logger";
import { agentService } from "../../../protocol/usage";
import { registrySuite, runBeacon } from "../../../testkit/registry";
import { EpochState } from "../../../node/app/epochState";
import { orderSignatures } from "../../../protocol/report";
import { bindPayer, postJson } from "../../helpers/gatewayClient";
import { CHAIN_ID, registerChainNode, serveChain } from "../chain/chainNodes";
import { newClient, signatureTx, tx } from "../app/appFixtures";
import { agentsSupervisor } from "../../../testkit/agentsSupervisor";

const COUNTER = `export default { async fetch(request, env) {
  const n = ((await env.kv.get("n")) ?? 0) + 1;
  await env.kv.put("n", n);
  return new Response(String(n));
} }`;

describe("agents: paid calls through the gateway (agents process + Hardhat chain)", function () {
  this.timeout(120_000);

  it("answers 402 before the agent runs when the caller's escrow cannot cover the price; a funded call is countersigned, reported, debited and settled to the owner", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-paid-"));
    const key = KeyPair.generate();
    const node = await registerChainNode(s, 0, 24_000 + Math.floor(Math.random() * 500) * 10, key);
    await setBalance(node.signer.address, 10n ** 18n);
    const [dev, payer] = s.clients;
    await s.agentMarketplace.connect(dev).register("counter", `0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`, 64, 50_000);
    const funded = newClient(new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider));
    const poor = newClient(new Wallet(Wallet.createRandom().privateKey, hre.ethers.provider));
    await s.escrow.connect(payer).deposit(funded.account.address, 1_000_000n);
    // 40,000 units: less than one call's 50,000 plus its CPU.
    await s.escrow.connect(payer).deposit(poor.account.address, 40_000n);
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    const provider = new JsonRpcProvider(chain.url, Network.from(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
    const reporting = new RegistryReporting(provider, CHAIN_ID, await s.registry.getAddress(), node.signer);
    await reporting.phase();
    const submitted: Buffer[] = [];
    const consensus = {
      status: () => ({ epoch: 1, member: true }),
      submit: (txs: Buffer[]): SubmitResult => {
        submitted.push(...txs);
        return { accepted: txs.length, status: SubmitStatus.Ok, reason: "" };
      },
    };
    const forwarder = new AckForwarder(consensus, key, new Logger());
    const { supervisor, agentKeys } = agentsSupervisor(() => edge.gateway.url, dir, key.seed);
    const one = agentService(1).slice(2);
    const edge = await startEdgeNode({
      directory: path.join(dir, "blocks"),
      maxBytes: 2 ** 30,
      nodeKey: ed25519PrivateKeyFromSeed(key.seed),
      ackSink: forwarder,
      ackClock: () => reporting.chainTimeMs(),
      services: supervisor,
      compute: { terms: (account) => reporting.computeTerms(account), cpuLimitMs: 100 },
      agents: {
        ...agentKeys,
        paid: {
          marketId: (id) => (id === "counter" ? 1n : undefined),
          // agent 1 is the only listed one here (services.ts reads any id the same way)
          priceOf: async () => (await reporting.agentTerms(await reporting.currentEpochStart(), [one])).get(one)?.price,
          cpuLimitMs: 100,
        },
      },
    });
    try {
      const bundle = (await edge.store.put([Buffer.from(COUNTER)], { contentType: "text/javascript" })).hash;
      const config = (await edge.store.put([Buffer.from("{}")], { contentType: "application/json" })).hash;
      await supervisor.reconcile({ agents: { agents: { counter: { config, bundle, owner: dev.address, marketId: 1 } } } });
      await supervisor.whenRunning("agents");
      const url = `${edge.gateway.url}/agents/counter/`;
      for (const c of [funded, poor]) expect(await bindPayer(edge.gateway.url, c)).to.equal(202);
      // The poor caller: 402 naming the figures, and the agent does not run.
      const refused = await fetch(url, { headers: { "x-fleek-client": poor.key.toString("hex") } });
      expect(refused.status).to.equal(402);
      expect(((await refused.json()) as { error: string }).error).to.match(
        /cannot cover this request in epoch 1: 40000 USDC units left, a request may cost 50002/,
      );
      // No client key at all: 402 too.
      expect((await fetch(url)).status).to.equal(402);
      const paid = await fetch(url, { headers: { "x-fleek-client": funded.key.toString("hex") } });
      expect(paid.status).to.equal(200);
      // The first call the agent ran: the refused ones never reached it.
      expect(await paid.text()).to.equal("1");
      const receipt = JSON.parse(paid.headers.get("x-fleek-receipt")!) as ComputeAckJson;
      expect(receipt.functionRoot).to.equal(one);
      expect(receipt.llmTokens).to.equal(0);
      const signed = computeAckFromJson({ ...receipt, clientSignature: "00".repeat(64) });
      const ack = { ...receipt, clientSignature: signComputeAck(signed.receipt, funded.privateKey).toString("hex") };
      expect((await postJson(`${edge.gateway.url}/acks/compute`, { ...ack, llmTokens: 5 })).status).to.equal(401);
      expect((await postJson(`${edge.gateway.url}/acks/compute`, ack)).status).to.equal(202);
      expect((await postJson(`${edge.gateway.url}/acks/compute`, ack)).status).to.equal(409);
      await forwarder.flush();
      const agentTxs = submitted.map((t) => decodeAppTx(transactionPayload(t))).filter((t) => t.kind === AppTxKind.AgentAcks);
      expect(agentTxs).to.have.length(1);

      // The epoch's state from what was forwarded, with the agent's terms and the payers' amounts read
      // at the epoch's first block as EpochReporter reads them; the report, submitted, debits the
      // caller and settles the call through the marketplace.
      const context = await reporting.context(1);
      const state = new EpochState(context);
      state.setAgentTerms(await reporting.agentTerms(context, state.unknownAgents(submitted)));
      state.setDebitable(await reporting.debitable(context, state.unknownPayers(submitted)));
      for (const t of submitted) expect(state.apply(t).ok).to.equal(true);
      state.apply(tx(key, { kind: AppTxKind.CloseEpoch, epoch: 1 }));
      const closed = state.report!;
      // One call at 50,000 units plus its CPU at $0.02 per million CPU-ms (under 50 ms: 0 units).
      expect(signed.receipt.cpuUs).to.be.below(50_000);
      expect(closed.report.usage).to.deep.equal([{ client: funded.account.address.toLowerCase(), amount: 50_000n }]);
      expect(closed.report.charges).to.deep.equal([
        { nodeId: node.id, kind: 2, service: `0x${one}`, requests: 1n, cpuMs: BigInt(signed.receipt.cpuUs) / 1_000n, amount: 50_000n },
      ]);
      state.apply(signatureTx(key, node.signer, 1, closed.digest));
      await runBeacon(s, [node]);
      await time.increaseTo(await s.registry.reportOpensAt());
      const rewards = await s.rewards.getAddress();
      const buyback = await s.buyback.getAddress();
      const [rewardsBefore, buybackBefore] = [await s.usdc.balanceOf(rewards), await s.usdc.balanceOf(buyback)];
      expect(await reporting.submitReport(closed.report, orderSignatures(state.reportSignatures))).to.equal("submitted");
      // 50,000 split 20/70/10: 10,000 to the node pool, 35,000 withdrawable by the owner, 5,000 to BuybackBurner.
      expect((await s.escrow.accounts(funded.account.address)).balance).to.equal(950_000n);
      expect((await s.usdc.balanceOf(rewards)) - rewardsBefore).to.equal(10_000n);
      expect(await s.agentMarketplace.balanceOf(dev.address)).to.equal(35_000n);
      expect((await s.usdc.balanceOf(buyback)) - buybackBefore).to.equal(5_000n);
      const devBefore = await s.usdc.balanceOf(dev.address);
      await s.agentMarketplace.connect(dev).withdraw();
      expect((await s.usdc.balanceOf(dev.address)) - devBefore).to.equal(35_000n);
    } finally {
      await supervisor.close();
      await edge.close();
      await chain.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
