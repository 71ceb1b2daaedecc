/**
 * Token-paid agent calls over HTTP (node/gateway/agentTokenRoutes.ts, docs/agents.md "Calls paid
 * in the creator token"): a node's gateway in this process, the agents service in its own,
 * TokenCallEscrow and AgentMarketplace on Hardhat's EVM. A call without token funds, without a
 * voucher or with a replayed one gets 402 and the agent never runs (its counter stays put); each
 * admitted call raises the voucher by the agent's token price and runs once.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { QueuedAckSink } from "../../../node/acks/deliveryAckDesk";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { TokenCallDesk } from "../../../node/acks/tokenCallDesk";
import { AGENT_METER_HEADER } from "../../../node/agents/agentRecords";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { startEdgeNode } from "../../../node/edge/edgeNode";
import { FLK } from "../../../protocol/units";
import { signedVoucher, tokenDeskSuite } from "../../../testkit/tokenCalls";
import { receiptBlock } from "../../../node/chain/tokenCallKeeper";
import { agentsSupervisor } from "../../../testkit/agentsSupervisor";

/** The example agent (examples/agents/counter.js): it counts its calls in its store. */
const EXAMPLE = path.join(__dirname, "../../../examples/agents");

describe("agents: calls paid in the creator token through the gateway (agents process + Hardhat)", function () {
  this.timeout(120_000);

  it("answers 402 before the agent runs without funds, voucher or a new one; admitted calls run once each", async () => {
    const { s, escrow, chain, clock } = await loadFixture(tokenDeskSuite);
    const [alice] = s.callers;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-token-"));
    const key = KeyPair.generate();
    const { supervisor, agentKeys } = agentsSupervisor(() => edge.gateway.url, dir, key.seed);
    const desk = new TokenCallDesk({ nodeId: s.node.id, domain: s.domain, chain });
    const edge = await startEdgeNode({
      directory: path.join(dir, "blocks"),
      maxBytes: 2 ** 30,
      nodeKey: ed25519PrivateKeyFromSeed(key.seed),
      ackSink: new QueuedAckSink(),
      services: supervisor,
      agents: {
        ...agentKeys,
        tokenPaid: { desk, nodeId: s.node.id, marketId: (id) => (id === "counter" ? 1n : undefined), epoch: async () => Number(await clock.epoch()) },
      },
    });
    try {
      const bundle = (await edge.store.put([fs.readFileSync(path.join(EXAMPLE, "counter.js"))], { contentType: "text/javascript" })).hash;
      const config = (await edge.store.put([fs.readFileSync(path.join(EXAMPLE, "counter.json"))], { contentType: "application/json" })).hash;
      await supervisor.reconcile({ agents: { agents: { counter: { config, bundle, owner: s.creator.address, marketId: 1 } } } });
      await supervisor.whenRunning("agents");
      const url = `${edge.gateway.url}/agents/counter/`;
      const call = async (cumulative?: bigint) => {
        const headers: Record<string, string> = { "x-fleek-pay": "token" };
        if (cumulative !== undefined) {
          const { voucher, signature } = await signedVoucher(s, alice, cumulative);
          headers["x-fleek-voucher"] = JSON.stringify({ caller: voucher.caller, token: voucher.token, cumulative: String(voucher.cumulative), signature });
        }
        const res = await fetch(url, { headers });
        const text = await res.text();
        return {
          status: res.status,
          body: res.status === 200 ? String((JSON.parse(text) as { calls: number }).calls) : text,
          meter: res.headers.get(AGENT_METER_HEADER),
          receipt: res.headers.get("x-fleek-receipt"),
        };
      };
      // The page a caller deposits from learns which node to deposit for from the gateway.
      expect(await (await fetch(`${edge.gateway.url}/health`)).json()).to.deep.include({ ok: true, tokenNodeId: s.node.id });
      const noFunds = await call(2n * FLK);
      expect(noFunds.status).to.equal(402);
      expect(noFunds.body).to.match(/covers 0/);
      expect((await call()).status).to.equal(402);
      await escrow.connect(alice).deposit(s.creator.address, s.node.id, 5n * FLK);
      const first = await call(2n * FLK);
      expect([first.status, first.body]).to.deep.equal([200, "1"]);
      // The voucher is the payment: no compute receipt, and the service's meter stays inside the node.
      expect([first.meter, first.receipt]).to.deep.equal([null, null]);
      // The replayed voucher pays nothing new.
      const replay = await call(2n * FLK);
      expect(replay.status).to.equal(402);
      expect(replay.body).to.match(/at least 4000000000000000000/);
      expect([(await call(4n * FLK)).body]).to.deep.equal(["2"]);
      // Beyond the deposit: refused, and the agent's counter did not move.
      expect((await call(6n * FLK)).status).to.equal(402);
      expect([(await fetch(url, { headers: { "x-fleek-pay": "token", "x-fleek-voucher": "{" } })).status]).to.deep.equal([402]);
      expect(desk.due().map((d) => d.voucher.cumulative)).to.deep.equal([4n * FLK]);
      await desk.redeemDue(async ({ voucher, signature }) => receiptBlock(await (await escrow.redeem(voucher, signature)).wait()));
      expect(await escrow.earnings(s.token, s.creator.address)).to.equal(2_800_000_000_000_000_000n);
      await escrow.connect(alice).deposit(s.creator.address, s.node.id, 2n * FLK);
      expect([(await call(6n * FLK)).body]).to.deep.equal(["3"]);
    } finally {
      await supervisor.close();
      await edge.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
