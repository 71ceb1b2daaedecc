/**
 * Runs an edge node on its own (blockstore, origins, peer fetch, HTTP gateway; docs/blockstore.md).
 * Every flag has an environment variable; `--help` lists them. The operator token for POST /origins
 * is read from FLEEK_OPERATOR_TOKEN only (never from argv, which other users of the machine can
 * see), the node key seed (32 bytes hex) from FLEEK_NODE_SEED.
 */
import { parseArgs } from "node:util";
import { integerFlag, isUsageError, positiveFlag, UsageError } from "../../lib/cli";
import { ed25519PrivateKeyFromSeed } from "../acks/ed25519Keys";
import { startEdgeNode } from "./edgeNode";

const USAGE = `usage: edge --dir DIR [flags]

  --dir DIR              blockstore folder (EDGE_DIR; required)
  --port N               gateway port, 0 for any free one (EDGE_PORT; default 4220)
  --host H               gateway address (EDGE_HOST; default 127.0.0.1)
  --max-gib N            blockstore disk budget in GiB (EDGE_MAX_GIB; default 10)
  --peer URL             a peer's gateway, repeatable (EDGE_PEERS, comma-separated)
  --ipfs-gateway URL     a gateway for ipfs:// origins, repeatable (EDGE_IPFS_GATEWAYS, comma-separated)
  -h, --help             this text

Environment only: FLEEK_OPERATOR_TOKEN (bearer token of POST /origins), FLEEK_NODE_SEED (hex
ed25519 seed signing delivery receipts).
`;

/** A repeatable flag, else its comma-separated environment variable. */
function list(values: string[] | undefined, env: string | undefined): string[] {
  if (values && values.length > 0) return values;
  return (env ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "max-gib": { type: "string" },
      peer: { type: "string", multiple: true },
      "ipfs-gateway": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  const env = process.env;
  if (values.help) return undefined;
  const dir = values.dir ?? env.EDGE_DIR;
  if (!dir) throw new UsageError("--dir <blockstore directory> is required (or EDGE_DIR)");
  return {
    dir,
    // 0: any free port.
    port: integerFlag("--port", values.port ?? env.EDGE_PORT, { min: 0, max: 65_535, fallback: 4220 }),
    host: values.host ?? env.EDGE_HOST ?? "127.0.0.1",
    maxGiB: positiveFlag("--max-gib", values["max-gib"] ?? env.EDGE_MAX_GIB ?? "10"),
    peers: list(values.peer, env.EDGE_PEERS),
    ipfsGateways: list(values["ipfs-gateway"], env.EDGE_IPFS_GATEWAYS),
  };
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  if (!options) return void process.stdout.write(USAGE);
  const seed = process.env.FLEEK_NODE_SEED;
  const node = await startEdgeNode({
    directory: options.dir,
    maxBytes: options.maxGiB * 2 ** 30,
    host: options.host,
    port: options.port,
    peers: options.peers,
    origins: { ipfsGateways: options.ipfsGateways },
    operatorToken: process.env.FLEEK_OPERATOR_TOKEN,
    nodeKey: seed ? ed25519PrivateKeyFromSeed(Buffer.from(seed, "hex")) : undefined,
  });
  console.log(`edge gateway on ${node.gateway.url} (${node.store.bytesUsed} bytes stored)`);
  for (const { from, to } of node.store.migrated) console.log(`migrated legacy object ${from} to its BLAKE3 root ${to}`);
  process.on("SIGINT", () => void node.close().then(() => process.exit(0)));
}

main().catch((error) => {
  const usage = isUsageError(error);
  process.stderr.write(`edge: ${error instanceof Error ? error.message : error}\n${usage ? USAGE : ""}`);
  process.exit(usage ? 2 : 1);
});
