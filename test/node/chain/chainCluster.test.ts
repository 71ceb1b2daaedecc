/**
 * Five node processes that take their committee from the NodeRegistry on the Hardhat EVM (served
 * over JSON-RPC): four registered nodes commit in epoch 1; then a fifth registers, the committee's
 * report jails one member, and at the epoch change after the joiner's first active epoch the leaver
 * stops and the joiner commits.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { SubmitStatus } from "../../../node/client/protocol";
import { emptyReport, registrySuite, submitReport } from "../../../testkit/registry";
import { Cluster, expectMemberSwap, payloads, waitFor } from "../consensus/cluster";
import { registerChainNode, serveChain, useRegistry, type ChainNode } from "./chainNodes";

describe("consensus cluster on the registry (5 processes, Hardhat chain)", function () {
  this.timeout(120_000);
  let cluster: Cluster | undefined;
  let closeChain: (() => Promise<void>) | undefined;
  afterEach(async () => {
    if (this.ctx.currentTest?.state === "failed") for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-3000));
    await cluster?.stop();
    await closeChain?.();
  });

  it("commits before and after an on-chain epoch change that swaps a member", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    closeChain = chain.close;
    cluster = await Cluster.create(5);
    const registry = await s.registry.getAddress();
    for (const n of cluster.configs.nodes) useRegistry(n.configFile, chain.url, registry, 100);
    const register = (i: number) =>
      registerChainNode(s, i, cluster!.configs.nodes[i].member.primaryPort, cluster!.configs.nodes[i].key, {
        workerPort: cluster!.configs.nodes[i].member.workerPort,
      });

    const members: ChainNode[] = [];
    for (let i = 0; i < 4; i++) members.push(await register(i));
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    await cluster.start();
    const [a, leaver, , , joiner] = cluster.nodes;
    expect((await joiner.submit(["early"])).status).to.equal(SubmitStatus.Unavailable);
    await a.submitAll(payloads("epoch1", 10));
    await waitFor("epoch 1 commits", () => a.committed.length >= 10);

    // The joiner is active from epoch 2 and, drawn from epoch 2's active set, on the committee of epoch 3;
    // the report of epoch 2 jails the leaver, which is off the committee of epoch 3.
    await register(4);
    await submitReport(s, members, await emptyReport(s));
    const leaving = members[1];
    await submitReport(
      s,
      members,
      await emptyReport(s, { nodes: [{ nodeId: leaving.id, uptime: 0, latencyMs: 0, bytesServed: 0n, deliveryAcks: 0n, revenue: 0n, reputation: 0 }] }),
    );
    expect(await s.registry.epoch()).to.equal(3n);
    await expectMemberSwap(a, leaver, joiner, 3);
  });
});
