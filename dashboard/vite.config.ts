import fs from "node:fs";
import path from "node:path";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

/** The devnet's addresses file (`npm start` writes it); served as /addresses.json in dev and preview. */
const ADDRESSES = path.resolve(__dirname, "../.data/devnet/addresses.json");
/** The indexer's GraphQL endpoint added to it (`npm run indexer -- all` listens there by default). */
const INDEXER_URL = process.env.DASHBOARD_INDEXER_URL ?? "http://127.0.0.1:4000/graphql";

/**
 * Serves the devnet's addresses and the indexer's URL at runtime instead of baking them into the bundle, so one build
 * works against any deployment (the e2e test and a production host serve their own file).
 */
function devnetAddresses(): Plugin {
  const serve = (_req: unknown, res: { setHeader(k: string, v: string): void; end(body: string): void; statusCode: number }) => {
    if (!fs.existsSync(ADDRESSES)) {
      res.statusCode = 404;
      res.end("no devnet addresses: run `npm start` first");
      return;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ...JSON.parse(fs.readFileSync(ADDRESSES, "utf8")), graphqlUrl: INDEXER_URL }));
  };
  return {
    name: "devnet-addresses",
    configureServer: (server) => void server.middlewares.use("/addresses.json", serve),
    configurePreviewServer: (server) => void server.middlewares.use("/addresses.json", serve),
  };
}

export default defineConfig({
  root: __dirname,
  base: "./",
  plugins: [react(), devnetAddresses()],
  // The dashboard imports the genesis formulas, curve maths and contract types from the repository root.
  server: { fs: { allow: [path.resolve(__dirname, "..")] } },
  build: {
    // The ABIs weigh most of the entry chunk; the budget that matters is the 350 KB gzipped first page, checked by the e2e test.
    chunkSizeWarningLimit: 800,
    outDir: path.resolve(__dirname, "../dist/dashboard"),
    emptyOutDir: true,
    target: "es2022",
  },
});
