/**
 * Issue 20, the rent keeper as a node runs it (node/services.ts `startRentKeeper`): a real `node
 * run` process whose config names the keeper (`rentKeeper`), with its signer and its committee from
 * the NodeRegistry on a real Hardhat chain served over JSON-RPC. When an hour of a funded lease is
 * due, the node's own `collectRent` moves the hour's rent into the rewards pool, without any call
 * from the test.
 */
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { registrySuite } from "../../../testkit/registry";
import { OneChainNode } from "./chainNodes";

const ROOT = `0x${"11".repeat(32)}`;

describe("rent keeper in a node process (issue 20)", function () {
  this.timeout(240_000);
  let node: OneChainNode | undefined;

  after(async () => node?.close());

  it("collects a funded lease's due rent into the rewards pool by itself", async () => {
    const suite = await registrySuite();
    // The node is the registry's one active node, so it runs as the committee of epoch 1.
    node = await OneChainNode.create(suite, "rent-keeper-node-");
    await time.increaseTo(await suite.registry.epochEnd());
    await suite.registry.advanceEpoch();
    const keeper = node.registered.signer;
    const [, alice] = await hre.ethers.getSigners();
    const market = suite.agentMarketplace.connect(alice);
    await suite.usdc.mint(alice.address, 1_000_000n);
    await suite.usdc.connect(alice).approve(await market.getAddress(), hre.ethers.MaxUint256);
    await market.register("rented", ROOT, ROOT, 256, 0);
    // 256 MiB at the default 7,000 units per GiB-hour: 1,750 units an hour; two hours of credit.
    await market.fundLease(1, 3_500);
    await alice.sendTransaction({ to: keeper.address, value: 10n ** 18n });
    const marketplace = await market.getAddress();
    await node.start(suite, (config) => void (config.rentKeeper = { marketplace, everyMs: 1_000, scanPerTick: 256 }));
    const n = node;

    const rewards = await suite.rewards.getAddress();
    const before = await suite.usdc.balanceOf(rewards);
    await time.increase(3_600);
    const end = Date.now() + 60_000;
    while ((await suite.usdc.balanceOf(rewards)) === before) {
      if (Date.now() > end) throw new Error(`no rent collected in 60 s:\n${n.stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The hour's 1,750 units, plus the few seconds at 1,750/3,600 a second the blocks and ticks since funding add.
    const collected = (await suite.usdc.balanceOf(rewards)) - before;
    expect(collected).to.be.within(1_750n, 1_760n);
    expect(await hre.ethers.provider.getTransactionCount(keeper.address)).to.equal(1);
    expect(n.stderr).to.match(/"msg":"rent collected".*"units":"17[56]\d"/);
  });
});
