/**
 * What `node run` starts next to consensus: the edge gateway (blockstore, origins, peer fetch,
 * delivery acks) when configured, and the epoch reporting duties when the node has a report signer
 * and follows the registry. Peers (for peer fetch and pings) come from the registry's active nodes
 * when the node follows the chain, from `gateway.peers` otherwise. With a gateway, the services of
 * the config's `services` section run beside it, each in its own process (services/serviceSupervisor.ts).
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { JsonRpcProvider, Network } from "ethers";
import { LRUCache } from "lru-cache";
import { QueuedAckSink } from "./acks/deliveryAckDesk";
import { sealingKeyFromSeed, sealingPublicKey } from "./agents/agentSecrets";
import { agentsConfigFrom } from "./agents/agentsConfig";
import type { PaidAgents } from "./gateway/agentRoutes";
import { agentService } from "../protocol/usage";
import { ed25519PrivateKeyFromSeed } from "./acks/ed25519Keys";
import { AckForwarder } from "./app/ackForwarder";
import { CommitteeSubmitter } from "./app/committeeSubmitter";
import { EpochReporter, reportsDir } from "./app/epochReporter";
import { PeerPinger } from "./app/peerPinger";
import { FunctionDirectory, sponsorOf } from "./chain/functionDirectory";
import { RegistryReporting } from "./chain/registryReporting";
import { RentKeeper } from "./chain/rentKeeper";
import { startTokenCalls, type TokenCalls } from "./chain/tokenCallKeeper";
import type { NodeConfig } from "./config";
import { startEdgeNode, type EdgeNode } from "./edge/edgeNode";
import { functionLimitsFrom } from "./functions/functionLimits";
import type { Logger } from "./logger";
import type { FleekNode } from "./node";
import { RegistryPeerDirectory } from "./peerfetch/registryPeerDirectory";
import { ServiceSupervisor } from "./services/serviceSupervisor";

/** The running services; `close` stops them. */
export interface NodeServices {
  edge?: EdgeNode;
  reporter?: EpochReporter;
  /** The loadable services (functions, ...), each in its own process; present with a gateway. */
  supervisor?: ServiceSupervisor;
  /** Applies a reloaded config's `services` section (SIGHUP): adds, removes, restarts services. */
  reloadServices(services: NodeConfig["services"]): Promise<void>;
  close(): Promise<void>;
}

/** Starts the gateway and reporting as configured, for a started `node`. */
export async function startServices(config: NodeConfig, node: FleekNode, logger: Logger): Promise<NodeServices> {
  const selfKey = config.key.publicKey.toString("hex");
  // The reporter's folder: its closed reports are where the gateway proves agent snapshot records from.
  const appDir = path.join(config.dataDir, "app");
  const chain = config.chain
    ? new RegistryReporting(
        // No response cache: duties act on the latest block, which ethers would otherwise serve up to 250 ms stale.
        new JsonRpcProvider(config.chain.rpcUrl, Network.from(config.chain.chainId), { staticNetwork: true, cacheTimeout: -1 }),
        config.chain.chainId,
        config.chain.registry,
        config.signer,
        config.chain.fromBlock,
      )
    : undefined;
  const directory = chain ? new RegistryPeerDirectory(chain, selfKey, logger.child({ component: "peers" })) : undefined;
  const submitter = chain
    ? new CommitteeSubmitter(
        node,
        cachedFor(5_000, async () => (await chain.committeeNodes()).map((m) => m.mempool)),
        logger.child({ component: "forward" }),
      )
    : undefined;
  const forwarder = config.reporting && submitter ? new AckForwarder(submitter, config.key, logger.child({ component: "acks" })) : undefined;
  const functionDirectory = config.chain?.functionRegistry
    ? new FunctionDirectory(
        new JsonRpcProvider(config.chain.rpcUrl, Network.from(config.chain.chainId), { staticNetwork: true }),
        config.chain.functionRegistry,
      )
    : undefined;
  const marketId = marketIdsOf(config.services?.agents);
  const tokenCalls: TokenCalls | undefined =
    config.tokenCalls && chain && config.signer
      ? await startTokenCalls({
          provider: new JsonRpcProvider(config.chain!.rpcUrl, Network.from(config.chain!.chainId), { staticNetwork: true, cacheTimeout: -1 }),
          chainId: config.chain!.chainId,
          registry: config.chain!.registry,
          nodeKey: selfKey,
          escrow: config.tokenCalls.escrow,
          dataDir: path.join(config.dataDir, "token-calls"),
          signer: config.signer,
          marketId,
          currentEpochStart: () => chain.currentEpochStart(),
          redeemEveryMs: config.tokenCalls.redeemEveryMs,
          watchMs: config.tokenCalls.watchMs,
          minRedeem: config.tokenCalls.minRedeem,
          logger: logger.child({ component: "token-calls" }),
        })
      : undefined;
  let edge: EdgeNode | undefined;
  let supervisor: ServiceSupervisor | undefined;
  if (config.gateway) {
    const g = config.gateway;
    const nodeHosts = [...new Set([config.host, g.host ?? config.host])];
    // The services' token lives as long as this process: services and gateway vouch to each other with it.
    const serviceToken = randomBytes(32).toString("hex");
    const sealingKey = sealingKeyFromSeed(config.key.seed);
    supervisor = new ServiceSupervisor({
      gatewayUrl: () => edge!.gateway.url,
      nodeHosts,
      dataDir: path.join(config.dataDir, "services"),
      serviceToken,
      sealingKey: sealingKey.toString("hex"),
      logger: logger.child({ component: "services" }),
    });
    edge = await startEdgeNode({
      directory: g.blockstore,
      maxBytes: (g.maxGiB ?? 10) * 2 ** 30,
      host: g.host ?? config.host,
      port: g.port,
      peers: directory ?? g.peers ?? [],
      origins: { ipfsGateways: g.ipfsGateways ?? [] },
      operatorToken: config.gateway.operatorToken,
      nodeKey: ed25519PrivateKeyFromSeed(config.key.seed),
      ackSink: forwarder ?? new QueuedAckSink(),
      ackClock: chain ? () => chain.chainTimeMs() : undefined,
      services: supervisor,
      // A node that follows the chain charges for functions and agent calls (docs/functions.md, "Metering and payment").
      compute:
        chain && (config.services?.functions || config.services?.agents)
          ? {
              terms: (account) => chain.computeTerms(account),
              cpuLimitMs: functionLimitsFrom(config.services.functions?.limits).cpuMs,
              sponsorOf: functionDirectory
                ? async (root) => sponsorOf(await functionDirectory.lookup(root, (await chain.currentEpochStart()).startBlock))
                : undefined,
            }
          : undefined,
      functions: functionDirectory,
      agents: {
        serviceToken,
        sealingPublicKey: sealingPublicKey(sealingKey),
        paid: chain && config.services?.agents ? paidAgents(chain, marketId, config.services.agents) : undefined,
        tokenPaid: tokenCalls?.paid,
        recordSink: forwarder && ((record) => forwarder.submitSnapshot(record)),
        reportsDir: reportsDir(appDir),
      },
    });
    logger.info("gateway running", { url: edge.gateway.url });
    // Once, on the first start after the upgrade to BLAKE3 roots: old names stop resolving.
    if (edge.store.migrated.length > 0) logger.warn("blockstore: legacy objects renamed to their BLAKE3 roots", { renamed: edge.store.migrated });
    await supervisor.reconcile(config.services ?? {});
  }
  let reporter: EpochReporter | undefined;
  if (config.reporting && chain && directory && config.signer) {
    reporter = new EpochReporter({
      node,
      key: config.key,
      wallet: config.signer,
      chain,
      functions: functionDirectory,
      dataDir: appDir,
      epochDir: (epoch) => node.epochDir(epoch),
      logger: logger.child({ component: "reporter" }),
      acks: forwarder,
      pinger: new PeerPinger(directory, logger.child({ component: "pinger" }), config.reporting.pingMs),
      tickMs: config.reporting.tickMs,
      submitStaggerMs: config.reporting.submitStaggerMs,
    });
    reporter.start();
  }
  const rentKeeper = config.rentKeeper && chain && config.signer ? startRentKeeper(config, logger.child({ component: "rent" })) : undefined;
  return {
    edge,
    reporter,
    supervisor,
    reloadServices: async (services) => {
      if (!supervisor) throw new Error("services need the gateway section in the config");
      await supervisor.reconcile(services ?? {});
    },
    close: async () => {
      clearInterval(rentKeeper);
      reporter?.stop();
      submitter?.close();
      await supervisor?.close();
      await edge?.close();
      // After the gateway: a call it still admits keeps its voucher.
      await tokenCalls?.close();
    },
  };
}

/** The rent keeper duty: a tick every `everyMs`, one at a time; failures are logged and retried at the next tick. */
function startRentKeeper(config: NodeConfig, logger: Logger): NodeJS.Timeout {
  const { rpcUrl, chainId } = config.chain!;
  const { marketplace, everyMs, scanPerTick } = config.rentKeeper!;
  const keeper = new RentKeeper(new JsonRpcProvider(rpcUrl, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 }), marketplace, config.signer!, {
    scanPerTick,
  });
  let running = false;
  return setInterval(() => {
    if (running) return;
    running = true;
    keeper
      .tick()
      .then((sent) => sent > 0n && logger.info("rent collected", { units: String(sent) }))
      .catch((err: unknown) => logger.warn("collecting rent failed", { err: String(err) }))
      .finally(() => (running = false));
  }, everyMs);
}

/**
 * How the gateway charges the hosted agents' calls (docs/agents.md "Payment of calls"): each
 * listed agent's marketplace id from the config, its price for an epoch as the committee reads it
 * (at the epoch's first block, so it never changes within the epoch and is kept per epoch).
 */
function paidAgents(chain: RegistryReporting, marketId: (agent: string) => bigint | undefined, raw: Record<string, unknown>): PaidAgents {
  const prices = new LRUCache<string, { price: bigint | undefined }>({ max: 10_000 });
  return {
    marketId,
    cpuLimitMs: agentsConfigFrom(raw).limits.cpuMs,
    priceOf: async (marketId, epoch) => {
      const key = `${epoch}:${marketId}`;
      const cached = prices.get(key);
      if (cached) return cached.price;
      const start = await chain.currentEpochStart();
      if (start.epoch !== epoch) throw new Error(`epoch ${epoch} is not the current one (${start.epoch})`);
      const service = agentService(marketId).slice(2);
      const price = (await chain.agentTerms(start, [service])).get(service)?.price;
      prices.set(key, { price });
      return price;
    },
  };
}

/** Each hosted agent's marketplace id, from the config (undefined: not listed, its calls are not paid). */
function marketIdsOf(raw: Record<string, unknown> | undefined): (agent: string) => bigint | undefined {
  const agents = raw ? agentsConfigFrom(raw).agents : [];
  const ids = new Map(agents.filter((a) => a.marketId !== undefined).map((a) => [a.id, BigInt(a.marketId!)]));
  return (agent) => ids.get(agent);
}

/** `read`, answered from memory for `ms` after each successful call. */
function cachedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let value: { at: number; v: T } | undefined;
  return async () => {
    // performance.now(): a TTL is an interval, which a wall clock stepped back would stretch.
    if (!value || performance.now() - value.at > ms) value = { at: performance.now(), v: await read() };
    return value.v;
  };
}
