/**
 * Issue 20, the rent keeper as a node runs it (node/services.ts `startRentKeeper`): a real `node
 * run` process whose config names the keeper (`rentKeeper`), with its signer and its committee from
 * the NodeRegistry on a real Hardhat chain served over JSON-RPC. When an hour of a funded lease is
 * due, the node's own `collectRent` moves the hour's rent into the rewards pool, without any call
 * from the test.
 */
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import hre from "hardhat";
import * as os from "node:os";
import * as path from "node:path";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { writeClusterConfigs } from "../../../node/clusterConfigs";
import type { NodeConfigFile } from "../../../node/config";
import { spawnNode } from "../../../node/nodeProcess";
import { registrySuite } from "../../../testkit/registry";
import { freePorts } from "../../../testkit/freePorts";
import { registerChainNode, serveChain, useRegistry } from "./chainNodes";

const ROOT = `0x${"11".repeat(32)}`;

describe("rent keeper in a node process (issue 20)", function () {
  this.timeout(240_000);
  let chain: { url: string; close: () => Promise<void> } | undefined;
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  let stderr = "";

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await chain?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("collects a funded lease's due rent into the rewards pool by itself", async () => {
    const suite = await registrySuite();
    chain = await serveChain();
    // The node is the registry's one active node, so it runs as the committee of epoch 1.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rent-keeper-node-"));
    const { nodes } = writeClusterConfigs(dir, 1, await freePorts(3));
    const registered = await registerChainNode(suite, 0, nodes[0].member.primaryPort, nodes[0].key);
    await time.increaseTo(await suite.registry.epochEnd());
    await suite.registry.advanceEpoch();
    const keeper = registered.signer;
    const [, alice] = await hre.ethers.getSigners();
    const market = suite.agentMarketplace.connect(alice);
    await suite.usdc.mint(alice.address, 1_000_000n);
    await suite.usdc.connect(alice).approve(await market.getAddress(), hre.ethers.MaxUint256);
    await market.register("rented", ROOT, ROOT, 256, 0);
    // 256 MiB at the default 7,000 units per GiB-hour: 1,750 units an hour; two hours of credit.
    await market.fundLease(1, 3_500);
    await alice.sendTransaction({ to: keeper.address, value: 10n ** 18n });

    const configFile = nodes[0].configFile;
    useRegistry(configFile, chain.url, await suite.registry.getAddress(), 200);
    const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as NodeConfigFile;
    config.signerKey = keeper.privateKey;
    config.reporting = { enabled: false };
    config.rentKeeper = { marketplace: await market.getAddress(), everyMs: 1_000, scanPerTick: 256 };
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    child = await spawnNode(configFile, (d) => (stderr += d), "info");

    const rewards = await suite.rewards.getAddress();
    const before = await suite.usdc.balanceOf(rewards);
    await time.increase(3_600);
    const end = Date.now() + 60_000;
    while ((await suite.usdc.balanceOf(rewards)) === before) {
      if (Date.now() > end) throw new Error(`no rent collected in 60 s:\n${stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The hour's 1,750 units, plus the few seconds at 1,750/3,600 a second the blocks and ticks since funding add.
    const collected = (await suite.usdc.balanceOf(rewards)) - before;
    expect(collected).to.be.within(1_750n, 1_760n);
    expect(await hre.ethers.provider.getTransactionCount(keeper.address)).to.equal(1);
    expect(stderr).to.match(/"msg":"rent collected".*"units":"17[56]\d"/);
  });
});
