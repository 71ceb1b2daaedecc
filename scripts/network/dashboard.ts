/**
 * The dashboard for the local network: the production build (made once, rebuilt when asked) served
 * as static files, with `/addresses.json` answering the deployment plus `graphqlUrl` (the indexer)
 * and `gateways`, so one build works against any network.
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
}

/** A served dashboard. */
export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png" };

/** Builds the dashboard into `outDir` with Vite unless a build is there already (or `force`). */
export async function buildDashboard(root: string, outDir: string, force = false): Promise<boolean> {
  if (!force && fs.existsSync(path.join(outDir, "index.html"))) return false;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path.join(root, "node_modules/.bin/vite"), ["build", "--config", "dashboard/vite.config.ts", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
    });
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
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(config()));
      return;
    }
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
