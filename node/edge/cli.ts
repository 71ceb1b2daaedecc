/**
 * Runs an edge node: `npx tsx node/edge/cli.ts --dir <path> [--port 4220] [--host 127.0.0.1]
 * [--max-gib 10] [--peer http://host:port]... [--ipfs-gateway https://ipfs.io]...`.
 * The operator token for POST /origins is read from FLEEK_OPERATOR_TOKEN (never from argv,
 * which other users of the machine can see); the node key seed (32 bytes hex) from FLEEK_NODE_SEED.
 */
import { parseArgs } from "node:util";
import { ed25519PrivateKeyFromSeed } from "../acks/ed25519Keys";
import { startEdgeNode } from "./edgeNode";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: "string" },
      port: { type: "string", default: "4220" },
      host: { type: "string", default: "127.0.0.1" },
      "max-gib": { type: "string", default: "10" },
      peer: { type: "string", multiple: true, default: [] },
      "ipfs-gateway": { type: "string", multiple: true, default: [] },
    },
  });
  if (!values.dir) throw new Error("--dir <blockstore directory> is required");
  const seed = process.env.FLEEK_NODE_SEED;
  const node = await startEdgeNode({
    directory: values.dir,
    maxBytes: Number(values["max-gib"]) * 2 ** 30,
    host: values.host,
    port: Number(values.port),
    peers: values.peer,
    origins: { ipfsGateways: values["ipfs-gateway"] },
    operatorToken: process.env.FLEEK_OPERATOR_TOKEN,
    nodeKey: seed ? ed25519PrivateKeyFromSeed(Buffer.from(seed, "hex")) : undefined,
  });
  console.log(`edge gateway on ${node.gateway.url} (${node.store.bytesUsed} bytes stored)`);
  process.on("SIGINT", () => void node.close().then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
