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

  before(async () => {
    dir = await tempDirectory("dashboard-forward");
    store = await BlockStore.open({ directory: dir.path, maxBytes: 64 * 1024 * 1024, verifiedCacheBytes: 0 });
    gateway = await startGateway({ store, origins: new OriginFetcher(store), operatorToken: TOKEN });
    origin = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/javascript" }).end(BUNDLE));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/hello.js`;
    dashboard = await serveDashboard(dir.path, () => ({ chainId: 31337, rpcUrl: "http://127.0.0.1:1", contracts: {}, gateways: [gateway.url] }));
  });

  after(async () => {
    await dashboard.close();
    await gateway.close();
    await new Promise((resolve) => origin.close(resolve));
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
});
