/**
 * The network's indexer: `indexer all` (sync and GraphQL in one process, PGlite in the data folder)
 * reading the deployment file the orchestrator wrote.
 */
import path from "node:path";
import type { Child, Processes } from "./processes";

/** A running indexer. */
export interface Indexer {
  child: Child;
  graphqlUrl: string;
}

/** Starts `indexer all` on `port` and resolves once GraphQL serves. */
export async function startIndexer(processes: Processes, o: { root: string; deploymentFile: string; dataDir: string; port: number }): Promise<Indexer> {
  const child = processes.spawn("indexer", process.execPath, ["--import", "tsx", path.join(o.root, "indexer/cli.ts"), "all"], {
    cwd: o.root,
    env: {
      INDEXER_DEPLOYMENT: o.deploymentFile,
      INDEXER_DATA_DIR: o.dataDir,
      PORT: String(o.port),
      HOST: "127.0.0.1",
      // Progress lines go to its log file; the chain is local, so poll it often.
      LOG_LEVEL: "info",
      INDEXER_POLL_INTERVAL_MS: "500",
    },
  });
  const line = await child.waitForLine(/"msg":"serving"/, 120_000);
  return { child, graphqlUrl: (JSON.parse(line) as { graphql: string }).graphql };
}
