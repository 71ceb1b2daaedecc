import { expect } from "chai";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { blake3 } from "@noble/hashes/blake3";
import { BlockStore } from "../../node/blockstore/blockStore";
import type { ContentHash } from "../../node/blockstore/contentHash";
import { startGateway, type RunningGateway } from "../../node/gateway/gatewayServer";
import { OriginFetcher } from "../../node/origins/originFetcher";
import { serveDashboard, type DashboardServer } from "../../scripts/network/dashboard";
import { uploadBundle } from "../../dashboard/src/lib/functions";
import { callAgent } from "../../dashboard/src/lib/agents";
import { tempDirectory } from "../node/edge/fixtures";

const TOKEN = "operator-secret";
const BUNDLE = fs.readFileSync(path.join(__dirname, "../../examples/functions/hello.js"));

/**
 * The Functions page uploads a bundle with `POST gateways/<i>/origins` on the page's own host (a
 * gateway answers no CORS preflight): the network's dashboard server forwards it to a real gateway,
 * which fetches the bundle from its origin and answers its content root.
 */
describe("dashboard host: uploads forwarded to a gateway", function () {
  this.timeout(60_000);
  let dir: { path: string; remove: () => Promise<void> };
  let store: BlockStore;
  let gateway: RunningGateway;
  let origin: http.Server;
  let originUrl: string;
  let dashboard: DashboardServer;
  /** A stand-in node that records what reaches it and answers as an agent would, with a receipt. */
  let node: http.Server;
  const seen: { method?: string; url?: string; authorization?: string; contentType?: string; body: string }[] = [];
  /** The payment headers of token-paid calls that reached the node. */
  const tokenPaid: unknown[][] = [];

  before(async () => {
    node = http.createServer(async (req, res) => {
      let body = "";
      for await (const part of req) body += part;
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers["content-type"], body });
      if (req.headers["x-fleek-pay"]) tokenPaid.push([req.url, req.headers["x-fleek-pay"], req.headers["x-fleek-voucher"]]);
      res.writeHead(200, { "content-type": "application/json", "x-fleek-receipt": "signed", "set-cookie": "a=b" }).end('{"n":1}');
    });
    await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
    dir = await tempDirectory("dashboard-forward");
    store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * 1024 * 1024, verifiedCacheBytes: 0 });
    gateway = await startGateway({ store, origins: new OriginFetcher(store), operatorToken: TOKEN });
    origin = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/javascript" }).end(BUNDLE));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/hello.js`;
    dashboard = await serveDashboard(dir.path, () => ({
      chainId: 31337,
      rpcUrl: "http://127.0.0.1:1",
      contracts: {},
      gateways: [gateway.url, `http://127.0.0.1:${(node.address() as AddressInfo).port}`],
    }));
  });

  after(async () => {
    await dashboard.close();
    await gateway.close();
    await new Promise((resolve) => origin.close(resolve));
    await new Promise((resolve) => node.close(resolve));
    await dir.remove();
  });

  it("says it forwards, and answers the gateway's root: the standard BLAKE3 hash of the bundle", async () => {
    const config = (await (await fetch(new URL("addresses.json", dashboard.url))).json()) as { gatewayForward?: boolean };
    expect(config.gatewayForward).to.equal(true);
    const root = await uploadBundle(new URL("gateways/0", dashboard.url).href, TOKEN, originUrl);
    expect(root).to.equal(`0x${Buffer.from(blake3(BUNDLE)).toString("hex")}`);
    expect(store.stat(root.slice(2) as ContentHash)?.length).to.equal(BUNDLE.length);
  });

  it("passes the gateway's refusals on and refuses an unknown gateway", async () => {
    let refused: unknown;
    await uploadBundle(new URL("gateways/0", dashboard.url).href, "wrong", originUrl).catch((err) => (refused = err));
    expect((refused as Error).message).to.match(/^The gateway refused the operator token \(.+\)\.$/);
    const res = await fetch(new URL("gateways/7/origins", dashboard.url), { method: "POST", body: "{}" });
    expect([res.status, await res.json()]).to.deep.equal([404, { error: "no such gateway in this network" }]);
  });

  it("forwards the Agents page's calls to /agents/<id>/... with path, query and body, without credentials, and the receipt back", async () => {
    const base = new URL("gateways/1", dashboard.url).href;
    const answer = await callAgent(base, 42, "/chat?q=a%20b", '{"q":"hi"}');
    expect(answer).to.deep.equal({ status: 200, contentType: "application/json", body: '{"n":1}', truncated: false, receipt: true });
    const get = await fetch(`${base}/agents/42/`, { headers: { authorization: "Bearer operator" } });
    expect([get.status, get.headers.get("set-cookie")]).to.deep.equal([200, null]);
    expect(seen).to.deep.equal([
      { method: "POST", url: "/agents/42/chat?q=a%20b", authorization: undefined, contentType: "application/json", body: '{"q":"hi"}' },
      { method: "GET", url: "/agents/42/", authorization: undefined, contentType: "application/json", body: "" },
    ]);
    // Only agent calls by id: the node's key and snapshot paths, other methods and unknown gateways are not forwarded.
    for (const [path, method] of [
      ["gateways/1/agents/_key", "GET"],
      ["gateways/1/agents/_snapshots?agent=1", "POST"],
      ["gateways/1/agents/42/", "DELETE"],
    ])
      expect((await fetch(new URL(path, dashboard.url), { method })).status, path).to.equal(404);
    expect(seen.length).to.equal(2);
    const unknown = await fetch(new URL("gateways/7/agents/1/", dashboard.url));
    expect([unknown.status, await unknown.json()]).to.deep.equal([404, { error: "no such gateway in this network" }]);
  });

  it("forwards GET /health, where the page reads which node takes creator-token calls", async () => {
    const health = await fetch(new URL("gateways/0/health", dashboard.url));
    // This gateway takes no token calls: no node to deposit for.
    expect([health.status, await health.json()]).to.deep.equal([200, { ok: true, node: null, tokenNodeId: null }]);
    expect((await fetch(new URL("gateways/0/health", dashboard.url), { method: "POST" })).status).to.equal(404);
  });

  it("passes a token-paid call's x-fleek-pay and x-fleek-voucher on: the voucher is the call's payment", async () => {
    const voucher = JSON.stringify({
      caller: `0x${"11".repeat(20)}`,
      token: `0x${"22".repeat(20)}`,
      cumulative: "2000000000000000000",
      signature: `0x${"33".repeat(65)}`,
    });
    const answer = await callAgent(new URL("gateways/1", dashboard.url).href, 42, "/", "", undefined, { "x-fleek-pay": "token", "x-fleek-voucher": voucher });
    expect(answer.status).to.equal(200);
    expect(tokenPaid).to.deep.equal([["/agents/42/", "token", voucher]]);
  });
});
