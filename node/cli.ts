/**
 * The node's command line: `run` a node from its config file, `keygen`, `prove` the node's keys for
 * its registration, or write a local cluster's configs with `cluster`. Every flag has an
 * environment variable; `--help` lists them.
 */
import { parseArgs } from "node:util";
import { integerFlag, isUsageError, UsageError } from "../lib/cli";
import { getAddress, isAddress } from "ethers";
import { signNodeKeyProof, type RegistrationProof } from "../protocol/nodeKeyProof";
import { ClientServer } from "./client/clientServer";
import { loadConfig } from "./config";
import { KeyPair } from "./consensus/types/crypto";
import { consecutivePorts, writeClusterConfigs } from "./clusterConfigs";
import { Logger } from "./logger";
import { FleekNode } from "./node";
import { startServices } from "./services";

const USAGE = `usage: node <run|keygen|prove|cluster> [flags]

  run --config FILE    run a node until SIGINT/SIGTERM (NODE_CONFIG); the file: node/config.ts
  keygen               print a fresh key seed and its public key (JSON)
  prove --config FILE --operator ADDRESS
                       print the registration proof (JSON) binding the config's node key and report
                       signer to the registering wallet ADDRESS (NODE_CONFIG, NODE_OPERATOR); paste it
                       into the dashboard's registration form: the wallet never holds the node's keys
  cluster --dir DIR    write a local cluster: keys, a committee file, one config per node (NODE_CLUSTER_DIR)
    --nodes N          nodes (NODE_CLUSTER_NODES; default 4)
    --port P           first port; node i uses P+3i .. P+3i+2 (NODE_CLUSTER_PORT; default 7000)
  -h, --help           this text

Logs: JSON lines on stderr, LOG_LEVEL=debug|info|warn|error|silent (default warn).
`;

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      dir: { type: "string" },
      nodes: { type: "string" },
      port: { type: "string" },
      operator: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const env = process.env;
  if (values.help) return { command: "help" as const };
  const [command, ...rest] = positionals;
  if (rest.length > 0 || !["run", "keygen", "prove", "cluster"].includes(command)) throw new UsageError("expected one command: run, keygen, prove or cluster");
  if (command === "run" || command === "prove") {
    const config = values.config ?? env.NODE_CONFIG;
    if (!config) throw new UsageError(`${command} needs --config <file> (or NODE_CONFIG)`);
    if (command === "run") return { command: "run" as const, config };
    const operator = values.operator ?? env.NODE_OPERATOR;
    if (!operator || !isAddress(operator))
      throw new UsageError(`prove needs --operator <address of the registering wallet> (or NODE_OPERATOR), got "${operator ?? ""}"`);
    return { command: "prove" as const, config, operator: getAddress(operator) };
  }
  if (command === "cluster") {
    const dir = values.dir ?? env.NODE_CLUSTER_DIR;
    if (!dir) throw new UsageError("cluster needs --dir <folder> (or NODE_CLUSTER_DIR)");
    return {
      command: "cluster" as const,
      dir,
      nodes: integerFlag("--nodes", values.nodes ?? env.NODE_CLUSTER_NODES, { min: 1, fallback: 4 }),
      port: integerFlag("--port", values.port ?? env.NODE_CLUSTER_PORT, { min: 1, max: 65_535, fallback: 7000 }),
    };
  }
  return { command: "keygen" as const };
}

async function run(configFile: string): Promise<void> {
  const config = loadConfig(configFile);
  const logger = new Logger({ key: config.key.publicKey.toString("hex").slice(0, 8) });
  const node = new FleekNode({ key: config.key, dataDir: config.dataDir, source: config.source, params: config.params, logger });
  const server = new ClientServer(node, logger);
  await node.start();
  await server.listen(config.host, config.mempoolPort);
  const services = await startServices(config, node, logger);
  logger.info("node running", {
    mempoolPort: config.mempoolPort,
    gateway: services.edge?.gateway.url,
    reporting: services.reporter !== undefined,
    ...node.status(),
  });
  process.stdout.write(`ready ${JSON.stringify(node.status())}\n`);
  const shutdown = async (): Promise<void> => {
    await services.close();
    await server.close();
    await node.stop();
    process.exit(0);
  };
  // SIGHUP re-reads the config and applies its `services` section; the rest needs a restart.
  process.on("SIGHUP", () => {
    Promise.resolve()
      .then(() => services.reloadServices(loadConfig(configFile, logger).services))
      .then(() => logger.info("services reloaded", { services: services.supervisor?.status() }))
      .catch((error: unknown) => logger.error("config reload refused, services unchanged", { error: String(error) }));
  });
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());
}

/** The proof `register` needs, for a node whose config names its registry and report signer. */
async function prove(configFile: string, operator: string): Promise<RegistrationProof> {
  const config = loadConfig(configFile);
  if (!config.chain) throw new Error("prove: the config's committee must be the chain source (rpcUrl, chainId, registry): the proof is bound to that registry");
  if (!config.signer) throw new Error("prove: the config needs signerKey or signerKeyFile: the report signer signs the proof too");
  const { chainId, registry } = config.chain;
  const proofs = await signNodeKeyProof(chainId, registry, operator, config.key, config.signer);
  return { chainId: chainId.toString(), registry, operator, signer: config.signer.address, ...proofs };
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  switch (options.command) {
    case "help":
      process.stdout.write(USAGE);
      break;
    case "run":
      await run(options.config);
      break;
    case "keygen": {
      const key = KeyPair.generate();
      console.log(JSON.stringify({ seed: key.seed.toString("hex"), publicKey: key.publicKey.toString("hex") }));
      break;
    }
    case "prove":
      console.log(JSON.stringify(await prove(options.config, options.operator), null, 2));
      break;
    case "cluster": {
      const net = writeClusterConfigs(options.dir, options.nodes, consecutivePorts(options.port, 3 * options.nodes));
      console.log(net.nodes.map((n) => n.configFile).join("\n"));
      break;
    }
  }
}

main().catch((err) => {
  const usage = isUsageError(err);
  process.stderr.write(`node: ${err instanceof Error ? err.message : err}\n${usage ? USAGE : ""}`);
  process.exit(usage ? 2 : 1);
});
