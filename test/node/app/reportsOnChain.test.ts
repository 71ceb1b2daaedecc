/**
 * Issue #8's end-to-end test: five node processes (`node run`) registered on the NodeRegistry
 * (Hardhat EVM, over JSON-RPC), four of them the committee; a client fetches content through three
 * gateways (one holds it, a member and the non-member fetch it from a peer found in the registry)
 * and signs delivery acks (the non-member forwards its acks to a member); at the epoch's end the committee closes the epoch in consensus, signs the report,
 * reveals its beacon and submits the report; the client's escrow is debited, the report carries each
 * node's revenue, the epoch advances, and the operators claim FLK and USDC with the proofs their
 * nodes computed.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { Wallet } from "ethers";
import { AppTxKind, decodeAppTx } from "../../../node/app/appTransactions";
import { readReportFile } from "../../../node/app/epochReporter";
import { NodeClient } from "../../../node/client/client";
import { transactionPayload } from "../../../node/client/transaction";
import type { NodeConfigFile } from "../../../node/config";
import { claimAmount } from "../../../protocol/rewards";
import { bandwidthCharge } from "../../../protocol/usage";
import { signNodeKeyProof } from "../../../protocol/nodeKeyProof";
import { MIN_STAKE, registrySuite } from "../../../testkit/registry";
import { freePort } from "../../../testkit/freePorts";
import { Cluster, eventually } from "../consensus/cluster";
import { CHAIN_ID, serveChain } from "../chain/chainNodes";
import { bindPayer, fetchAndAck, postJson } from "../../helpers/gatewayClient";
import { newClient } from "./appFixtures";

const TOKEN = "operator-token-for-tests";

describe("epoch reports on chain (5 node processes, committee of 4, Hardhat chain)", function () {
  this.timeout(300_000);
  let cluster: Cluster | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    if (this.ctx.currentTest?.state === "failed") for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-4000));
    await cluster?.stop();
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("turns client acks into the on-chain report, debits the client and pays the operators", async () => {
    const s = await loadFixture(registrySuite);
    const chain = await serveChain();
    closers.push(chain.close);
    const content = Buffer.alloc(3 * 1024 * 1024 + 12_345);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 11)) & 0xff;
    const origin = http.createServer((_, res) => res.end(content));
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => origin.close(r)));

    // A committee of 4 out of 5 active nodes.
    const r = s.registry;
    await r.connect(s.adminSigner).setParameters(await r.epochDuration(), await r.revealDuration(), 4, await r.slashAmount());
    // Five nodes: consensus ports from the devnet, a gateway each, a report signer with gas money.
    cluster = await Cluster.create(5);
    const registry = await s.registry.getAddress();
    const nodes: { id: number; owner: (typeof s.operators)[number]; gateway: string; dataDir: string }[] = [];
    for (const [i, n] of cluster.configs.nodes.entries()) {
      const signer = new Wallet(Wallet.createRandom().privateKey);
      await setBalance(signer.address, 10n ** 19n);
      const gatewayPort = await freePort();
      const config = JSON.parse(fs.readFileSync(n.configFile, "utf8")) as NodeConfigFile;
      config.committee = { rpcUrl: chain.url, chainId: Number(CHAIN_ID), registry, pollMs: 100 };
      config.gateway = { port: gatewayPort, blockstore: `blocks-${i}` };
      config.signerKey = signer.privateKey;
      config.reporting = { pingMs: 200, tickMs: 200, submitStaggerMs: 2_000 };
      fs.writeFileSync(n.configFile, JSON.stringify(config, null, 2));
      const owner = s.operators[i];
      const p = n.member.primaryPort;
      const m = n.mempoolPort;
      const ports = { primary: p, worker: n.member.workerPort, mempool: m, rpc: m, pool: m, gateway: gatewayPort };
      const proof = await signNodeKeyProof(CHAIN_ID, registry, owner.address, n.key, signer);
      await s.registry.connect(owner).register(proof.nodeKey, signer.address, { host: "127.0.0.1", ports }, MIN_STAKE, proof.signerProof, proof.keyProof);
      nodes.push({ id: Number(await s.registry.nodeCount()), owner, gateway: `http://127.0.0.1:${gatewayPort}`, dataDir: path.join(cluster.dir, `data-${i}`) });
    }
    // The client: an ack key, an escrow account funded by a payer before epoch 1 (a report debits
    // at most what was debitable at its epoch's first block), bound to each other at both gateways.
    const client = newClient(new Wallet(Wallet.createRandom().privateKey));
    await s.escrow.connect(s.clients[0]).deposit(client.account.address, 10_000_000n);
    await time.increaseTo(await s.registry.epochEnd());
    await s.registry.advanceEpoch();
    process.env.FLEEK_OPERATOR_TOKEN = TOKEN;
    await cluster.start();
    // Every member committed a beacon secret: their duty loops run and know the chain's time.
    await eventually("beacon commits", async () => (await s.registry.beaconCommitters(1n)).length === 4, 60_000);
    const committee = (await s.registry.committeeIds()).map(Number);
    const members = nodes.filter((n) => committee.includes(n.id));
    const outsider = nodes.find((n) => !committee.includes(n.id))!;
    // Served by: a member holding the content (twice), a member and the outsider fetching it from peers.
    const servers = [members[0], members[1], outsider];
    // Watch a member's committed sequence for the acks.
    let committedAcks = 0;
    const watcher = await NodeClient.connect("127.0.0.1", cluster.nodes[nodes.indexOf(members[2])].mempoolPort);
    closers.push(async () => watcher.close());
    watcher.subscribe(1, (f) => {
      for (const t of f.txs) {
        const app = decodeAppTx(transactionPayload(t));
        if (app.kind === AppTxKind.Acks) committedAcks += app.acks.length;
      }
    });

    const added = await postJson(
      `${servers[0].gateway}/origins`,
      { url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}/file` },
      { authorization: `Bearer ${TOKEN}` },
    );
    expect(added.status).to.equal(201);
    const { hash } = (await added.json()) as { hash: string };
    const served: Record<number, number> = {};
    for (const [i, times] of [
      [0, 2],
      [1, 1],
      [2, 1],
    ] as const) {
      const node = servers[i];
      expect(await bindPayer(node.gateway, client)).to.equal(202);
      for (let k = 0; k < times; k++) {
        const { body, ack, status } = await fetchAndAck(node.gateway, hash, client);
        expect(body.equals(content)).to.equal(true, `content from node ${i}`);
        expect(status).to.equal(202);
        // The same ack again is a replay: refused at the gateway (and would be at execution).
        expect((await postJson(`${node.gateway}/acks`, ack)).status).to.equal(409);
        served[i] = (served[i] ?? 0) + body.length;
      }
    }
    // Once the four acks are in the committed sequence, end the epoch on chain.
    await eventually("the acks committed", async () => committedAcks === 4, 60_000);
    await time.increaseTo(await s.registry.epochEnd());
    const reportFile = (n: (typeof nodes)[number]) => path.join(n.dataDir, "app", "reports", "epoch-1.json");
    await eventually("every member closed epoch 1", async () => members.every((n) => fs.existsSync(reportFile(n))), 60_000);
    const files = members.map((n) => fs.readFileSync(reportFile(n), "utf8"));
    expect(new Set(files).size).to.equal(1, "every member computed the identical report");
    await eventually(
      "beacon reveals",
      async () => {
        const b = await Promise.all(members.map((n) => s.registry.beacons(1n, n.id)));
        return b.every((x) => x.revealed);
      },
      60_000,
    );

    await time.increaseTo(await s.registry.reportOpensAt());
    await eventually("the report accepted on chain", async () => (await s.registry.epoch()) === 2n, 60_000);

    const [event] = await s.registry.queryFilter(s.registry.filters.EpochReported(1n));
    const reported = event.args.report;
    const { digest, claims } = readReportFile(path.join(members[0].dataDir, "app"), 1);
    expect(event.args.digest).to.equal(digest);
    const charges = servers.map((_, i) => bandwidthCharge(BigInt(served[i])));
    const total = charges.reduce((a, b) => a + b, 0n);
    const byId = new Map(reported.nodes.map((m) => [Number(m.nodeId), m]));
    expect(reported.nodes.map((m) => Number(m.nodeId))).to.deep.equal(
      nodes.map((n) => n.id),
      "the report covers the whole active set",
    );
    servers.forEach((n, i) => {
      expect(byId.get(n.id)!.revenue).to.equal(charges[i]);
      expect(byId.get(n.id)!.bytesServed).to.equal(BigInt(served[i]));
    });
    expect(byId.get(servers[0].id)!.deliveryAcks).to.equal(2n);
    expect(byId.get(outsider.id)!.deliveryAcks).to.equal(1n, "the outsider's acks reached consensus through a member");
    expect(byId.get(members[2].id)!.revenue).to.equal(0n);
    expect(reported.usage.map((u) => [u.client, u.amount])).to.deep.equal([[client.account.address, total]]);
    expect((await s.escrow.accounts(client.account.address)).balance).to.equal(10_000_000n - total);
    for (const m of reported.nodes) expect(m.uptime).to.be.greaterThanOrEqual(40);

    // The operators of the three serving nodes claim with the proofs their nodes computed.
    const pools = await s.rewards.pools(1n);
    expect(claims.map((c) => c.account).sort()).to.deep.equal(servers.map((n) => n.owner.address).sort());
    for (const c of claims) {
      const owner = nodes.find((n) => n.owner.address === c.account)!.owner;
      const [flkBefore, usdcBefore] = [await s.flk.balanceOf(owner.address), await s.usdc.balanceOf(owner.address)];
      await s.rewards.connect(owner).claim(1n, c.account, BigInt(c.flkWeight), BigInt(c.usdcWeight), c.proof);
      const flk = (await s.flk.balanceOf(owner.address)) - flkBefore;
      const usdc = (await s.usdc.balanceOf(owner.address)) - usdcBefore;
      expect(flk).to.equal(claimAmount(pools.flkPool, BigInt(c.flkWeight), reported.totalFlkWeight));
      expect(usdc).to.equal(claimAmount(pools.usdcPool, BigInt(c.usdcWeight), reported.totalUsdcWeight));
      expect(flk > 0n && usdc > 0n).to.equal(true);
    }
  });
});
