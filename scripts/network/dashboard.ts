/**
 * The dashboard for the local network: the production build (made once, rebuilt when asked) served
 * as static files, with `/addresses.json` answering the deployment plus `graphqlUrl` (the indexer)
 * and `gateways`, so one build works against any network. `PUT /gateways/<i>/blake3/<root>` and `POST /gateways/<i>/origins` are forwarded
 * to gateway `i`: the Functions and Agents pages upload bundles through it, since a gateway answers
 * no CORS preflight and a page cannot POST to it from another origin. So are the Agents page's
 * calls, `GET`/`POST /gateways/<i>/agents/<id>/...` (without the page's credentials: an agent call
 * needs none, and the operator's `_fleek` paths stay the operator's; the caller's `x-fleek-client`
 * key and a token-paid call's `x-fleek-pay` and `x-fleek-voucher` pass), and its payment steps, `POST /gateways/<i>/acks/payer` and `/acks/compute`,
 * and `GET /gateways/<i>/health`, whose `tokenNodeId` names the node a creator-token deposit is for.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

/** What the dashboard reads at `/addresses.json`: the chain's deployment and where the rest of the network answers. */
export interface DashboardConfig {
  chainId: number;
  rpcUrl: string;
  contracts: Record<string, string>;
  graphqlUrl?: string;
  gateways?: string[];
  /** Set by {@link serveDashboard}: this host forwards `POST gateways/<i>/origins`, agent calls and their acks to `gateways[i]`. */
  gatewayForward?: boolean;
}

/** A served dashboard. */
export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Builds the dashboard into `outDir` with Vite unless a build is there already (or `force`). */
export async function buildDashboard(root: string, outDir: string, force = false): Promise<boolean> {
  if (!force && fs.existsSync(path.join(outDir, "index.html"))) return false;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      path.join(root, "node_modules/.bin/vite"),
      ["build", "--config", "dashboard/vite.config.ts", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
      {
        cwd: root,
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}`))));
  });
  return true;
}

/**
 * Serves the built dashboard in `distDir` and `config` as /addresses.json on `port` (0: any free
 * port). `config` is read on each request, so the caller may update it.
 */
export async function serveDashboard(distDir: string, config: () => DashboardConfig, port = 0, host = "127.0.0.1"): Promise<DashboardServer> {
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (urlPath === "/addresses.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify({ ...config(), gatewayForward: true }));
      return;
    }
    const forward = /^\/gateways\/(\d{1,3})\/(origins|acks\/payer|acks\/compute)$/.exec(urlPath);
    // The operator's token goes with uploads only; a payer binding and a countersigned receipt need none.
    if (forward && req.method === "POST")
      return forwardToGateway(config().gateways?.[Number(forward[1])], `/${forward[2]}`, forward[2] === "origins", req, res);
    const health = /^\/gateways\/(\d{1,3})\/health$/.exec(urlPath);
    if (health && req.method === "GET") return forwardToGateway(config().gateways?.[Number(health[1])], "/health", false, req, res);
    // The raw path: an agent's own path and query pass as the page sent them.
    // A registered function's bundle, uploaded by the page (no token: the registration is the permission).
    const bundle = /^\/gateways\/(\d{1,3})(\/blake3\/[0-9a-f]{64})$/.exec(urlPath);
    if (bundle && req.method === "PUT") return forwardToGateway(config().gateways?.[Number(bundle[1])], bundle[2], false, req, res);
    const call = /^\/gateways\/(\d{1,3})(\/agents\/[1-9][0-9]{0,9}(?:[/?].*)?)$/.exec(req.url ?? "");
    if (call && (req.method === "GET" || req.method === "POST")) return forwardToGateway(config().gateways?.[Number(call[1])], call[2], false, req, res);
    const file = path.join(distDir, urlPath === "/" ? "index.html" : urlPath);
    if (!file.startsWith(distDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${bound}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Forwards one request (method, body, content type, and the bearer token when `withToken`) to
 * `upstreamPath` on `gateway`, and its answer (status, content type, receipt) back.
 */
function forwardToGateway(gateway: string | undefined, upstreamPath: string, withToken: boolean, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (!gateway) {
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "no such gateway in this network" }));
    return;
  }
  const headers: Record<string, string> = { "content-type": req.headers["content-type"] ?? "application/json" };
  if (withToken && req.headers.authorization) headers.authorization = req.headers.authorization;
  // A paying caller's key (docs/agents.md "Payment of calls"): public, it names who pays, not a credential.
  // So are a token-paid call's `x-fleek-pay` and voucher: the voucher is the payment the caller signed for this node.
  for (const name of ["x-fleek-client", "x-fleek-pay", "x-fleek-voucher"]) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const upstream = http.request(`${gateway}${upstreamPath}`, { method: req.method, headers }, (answer) => {
    const back: Record<string, string> = { "content-type": answer.headers["content-type"] ?? "application/json" };
    const receipt = answer.headers["x-fleek-receipt"];
    if (typeof receipt === "string") back["x-fleek-receipt"] = receipt;
    res.writeHead(answer.statusCode ?? 502, back);
    answer.pipe(res);
  });
  upstream.on("error", (err) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ error: `gateway unreachable: ${err.message}` }));
    else res.destroy();
  });
  req.pipe(upstream);
}
