/**
 * Issue 20, token-paid agent calls as a node runs them (node/services.ts with
 * node/chain/tokenCallKeeper.ts): a real `node run` process whose config names TokenCallEscrow
 * (`tokenCalls`), hosting the example agent, with its signer and its committee from the
 * NodeRegistry on a Hardhat chain served over JSON-RPC. A call paid with a voucher runs the agent,
 * and the node redeems the voucher by itself: its operator is credited 20% of the token price.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { blake3 } from "hash-wasm";
import { uploadThroughGateway } from "../../../scripts/network/exampleFunction";
import { signTokenVoucher, tokenChannelId, tokenVoucherDomain } from "../../../protocol/tokenVoucher";
import { FLK } from "../../../protocol/units";
import { fundWithFlk } from "../../../testkit/flk";
import { registrySuite } from "../../../testkit/registry";
import { buyCreatorToken } from "../../../testkit/tokenCalls";
import { eventually } from "../consensus/cluster";
import { OneChainNode } from "./chainNodes";

const EXAMPLE = path.join(__dirname, "../../../examples/agents");
const FILES = ["counter.json", "counter.js"];

describe("token-paid agent calls in a node process (issue 20)", function () {
  this.timeout(300_000);
  let node: OneChainNode | undefined;

  after(async () => node?.close());

  it("admits a call paid with a voucher and redeems the voucher by itself", async () => {
    const suite = await registrySuite();
    node = await OneChainNode.create(suite, "token-call-node-");
    const { registered } = node;
    const signers = await hre.ethers.getSigners();
    const [creator, caller] = [signers[10], signers[11]];
    await fundWithFlk(suite, [creator.address, caller.address], 100_000n * FLK);
    await buyCreatorToken(suite, creator, creator.address, FLK);
    await buyCreatorToken(suite, caller, creator.address, 100n * FLK);
    const token = await suite.creatorMarket.tokenOf(creator.address);
    const escrow = suite.tokenCallEscrow;
    await (await hre.ethers.getContractAt("IERC20", token)).connect(caller).approve(await escrow.getAddress(), hre.ethers.MaxUint256);
    await escrow.connect(caller).deposit(creator.address, registered.id, 100n * FLK);
    const roots = await Promise.all(FILES.map(async (f) => blake3(fs.readFileSync(path.join(EXAMPLE, f)))));
    // Listed at 2 tokens a call from the next epoch, which the node then runs in.
    await suite.agentMarketplace.connect(creator).register("counter", `0x${roots[0]}`, `0x${roots[1]}`, 64, 0);
    await suite.agentMarketplace.connect(creator).setPrice(1, 0, 2n * FLK);
    await time.increaseTo(await suite.registry.epochEnd());
    await suite.registry.advanceEpoch();
    await signers[0].sendTransaction({ to: registered.signer.address, value: 10n ** 18n });

    const operatorToken = "op".repeat(16);
    fs.writeFileSync(path.join(node.dir, "operator-token"), operatorToken);
    const escrowAddress = await escrow.getAddress();
    let dataDir = "";
    await node.start(suite, (config) => {
      dataDir = path.resolve(path.dirname(node!.configFile), config.dataDir);
      config.gateway = { port: 0, blockstore: path.join(node!.dir, "blocks"), operatorTokenFile: path.join(node!.dir, "operator-token") };
      config.services = { agents: { agents: { counter: { config: roots[0], bundle: roots[1], owner: creator.address, marketId: 1 } } } };
      config.tokenCalls = { escrow: escrowAddress, redeemEveryMs: 1_000 };
    });
    const n = node;

    let gatewayUrl = "";
    await eventually(
      "the gateway's url in the log",
      async () => {
        gatewayUrl = /"msg":"gateway running".*?"url":"([^"]+)"/.exec(n.stderr)?.[1] ?? "";
        if (n.child!.exitCode !== null) throw new Error(`the node exited:\n${n.stderr.slice(-3000)}`);
        return gatewayUrl !== "";
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${n.stderr.slice(-3000)}`);
    });
    for (const f of FILES) await uploadThroughGateway({ index: 0, gatewayUrl, operatorToken }, fs.readFileSync(path.join(EXAMPLE, f)), f);

    await eventually("the agents service running", async () => /"msg":"service running".*"service":"agents"/.test(n.stderr), 60_000);

    // A call admitted while the agent is still opening its store (502/503) is paid all the same, so each try raises the voucher.
    const { chainId } = await hre.ethers.provider.getNetwork();
    const domain = tokenVoucherDomain(chainId, await escrow.getAddress());
    const voucher = { caller: caller.address, agentId: 1n, nodeId: registered.id, token, cumulative: 0n };
    let answer = "";
    for (let tries = 0; tries < 40 && !answer.startsWith("200"); tries++) {
      if (tries > 0) await new Promise((r) => setTimeout(r, 1_000));
      voucher.cumulative += 2n * FLK;
      const signature = await signTokenVoucher(caller, domain, voucher);
      const headers = {
        "x-fleek-pay": "token",
        "x-fleek-voucher": JSON.stringify({ caller: voucher.caller, token, cumulative: String(voucher.cumulative), signature }),
      };
      const res = await fetch(`${gatewayUrl}/agents/counter/`, { headers });
      answer = `${res.status} ${await res.text()}`;
      if (res.status !== 502 && res.status !== 503) break;
    }
    expect(answer.slice(0, 4), n.stderr.slice(-3000)).to.equal("200 ");
    expect((JSON.parse(answer.slice(4)) as { calls: number }).calls).to.equal(1);
    // The voucher is in the node's data folder before the call is answered: a restart would still redeem it.
    const log = fs.readFileSync(path.join(dataDir, "token-calls", `vouchers-${escrowAddress.toLowerCase()}.log`), "utf8");
    expect(log).to.include(`"cumulative":"${voucher.cumulative}"`);
    await eventually("the voucher redeemed by the node", async () => (await escrow.redeemed(tokenChannelId(voucher))) === voucher.cumulative, 60_000);
    // The node's operator: 20% of what was vouched (docs/agents.md, the split 20/70/10), the creator 70%.
    expect(await escrow.earnings(token, registered.owner.address)).to.equal((voucher.cumulative * 2_000n) / 10_000n);
    expect(await escrow.earnings(token, creator.address)).to.equal((voucher.cumulative * 7_000n) / 10_000n);
    expect(n.stderr).to.match(/"msg":"token vouchers redeemed".*"count":1/);
  });
});
