/**
 * The node CLI.
 *   tsx node/cli.ts run --config node.json          run a node until SIGINT/SIGTERM
 *   tsx node/cli.ts keygen                          print a fresh key seed and public key
 *   tsx node/cli.ts devnet --dir d [--nodes 4] [--port 7000]   write a local devnet's configs
 */
import { ClientServer } from "./client/client-server";
import { loadConfig } from "./config";
import { KeyPair } from "./consensus/types/crypto";
import { writeDevnet } from "./devnet";
import { Logger } from "./logger";
import { FleekNode } from "./node";
import { startServices } from "./services";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function run(configFile: string): Promise<void> {
  const config = loadConfig(configFile);
  const logger = new Logger({ key: config.key.publicKey.toString("hex").slice(0, 8) });
  const node = new FleekNode({ key: config.key, dataDir: config.dataDir, source: config.source, params: config.params, logger });
  const server = new ClientServer(node, logger);
  await node.start();
  await server.listen(config.host, config.clientPort);
  const services = await startServices(config, node, logger);
  logger.info("node running", { clientPort: config.clientPort, gateway: services.edge?.gateway.url, reporting: services.reporter !== undefined, ...node.status() });
  process.stdout.write(`ready ${JSON.stringify(node.status())}\n`);
  const shutdown = async (): Promise<void> => {
    await services.close();
    await server.close();
    await node.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case "run": {
      const config = option(args, "config");
      if (!config) throw new Error("usage: node run --config <file>");
      await run(config);
      break;
    }
    case "keygen": {
      const key = KeyPair.generate();
      console.log(JSON.stringify({ seed: key.seed.toString("hex"), publicKey: key.publicKey.toString("hex") }));
      break;
    }
    case "devnet": {
      const dir = option(args, "dir");
      if (!dir) throw new Error("usage: node devnet --dir <folder> [--nodes 4] [--port 7000]");
      const net = writeDevnet(dir, Number(option(args, "nodes") ?? 4), Number(option(args, "port") ?? 7000));
      console.log(net.nodes.map((n) => n.configFile).join("\n"));
      break;
    }
    default:
      console.error("commands: run --config <file> | keygen | devnet --dir <folder>");
      process.exit(2);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
