import type { KeyObject } from "node:crypto";
import { ComputeDesk, type ComputeTerms, type FunctionSponsor } from "../acks/computeDesk";
import { DeliveryAckDesk, QueuedAckSink, type DeliveryAckSink } from "../acks/deliveryAckDesk";
import { rawEd25519PublicKey } from "../acks/ed25519Keys";
import { BlockStore } from "../blockstore/blockStore";
import { startGateway, type GatewayOptions, type RunningGateway, type ServiceRouter } from "../gateway/gatewayServer";
import type { AgentGateway, PaidAgents } from "../gateway/agentRoutes";
import { OriginFetcher, type OriginFetcherOptions } from "../origins/originFetcher";
import { StaticPeerDirectory, type PeerDirectory } from "../peerfetch/peerDirectory";
import { PeerFetcher, type PeerFetcherOptions } from "../peerfetch/peerFetcher";

/** Everything an edge node is configured with. */
export interface EdgeNodeOptions {
  /** Blockstore directory. */
  directory: string;
  /** Blockstore disk budget in bytes. */
  maxBytes: number;
  /** Memory for verified hot blocks (default 64 MiB). */
  verifiedCacheBytes?: number;
  /** The node's Ed25519 key: acks are addressed to its public half. Without it, acks are off. */
  nodeKey?: KeyObject;
  /** Where accepted acks go (default: a {@link QueuedAckSink} the caller drains). */
  ackSink?: DeliveryAckSink;
  /** Clock acks are stamped and checked with (default: local time). */
  ackClock?: () => number;
  /** Peers to fetch missing content from: a directory, or a list of gateway URLs. */
  peers?: PeerDirectory | string[];
  peerFetch?: PeerFetcherOptions;
  origins?: OriginFetcherOptions;
  /** Bearer token for POST /origins; unset disables adding content over HTTP. */
  operatorToken?: string;
  host?: string;
  /** Gateway port (0 picks a free one). */
  port?: number;
  /** The node's services, routed at /services/<id>/ and /fn/. */
  services?: ServiceRouter;
  /**
   * Paid functions (needs `nodeKey`): the current epoch's terms of an escrow account and the
   * functions' CPU limit (a request reserves its cost at the limit). Unset: functions run unmetered.
   */
  compute?: {
    terms: (account: string) => Promise<ComputeTerms>;
    cpuLimitMs: number;
    maxUnacknowledged?: number;
    /** Owner-pays functions (FunctionRegistry at the epoch's first block): who pays for a root. */
    sponsorOf?: (root: string) => Promise<FunctionSponsor | undefined>;
  };
  /** FunctionRegistry by root: functions run under their registered limits (GatewayOptions.functions). */
  functions?: GatewayOptions["functions"];
  /** Agents (needs `nodeKey`): the services' token and the node's agent-sealing public key (gateway/agentRoutes.ts). */
  agents?: {
    serviceToken: string;
    sealingPublicKey: Buffer;
    paid?: PaidAgents;
    tokenPaid?: AgentGateway["tokenPaid"];
    recordSink?: AgentGateway["recordSink"];
    reportsDir?: AgentGateway["reportsDir"];
  };
}

/** A running edge node and its parts, for the rest of the node to use. */
export interface EdgeNode {
  store: BlockStore;
  origins: OriginFetcher;
  peerFetcher: PeerFetcher;
  acks?: DeliveryAckDesk;
  compute?: ComputeDesk;
  gateway: RunningGateway;
  close(): Promise<void>;
}

/** Opens the blockstore and starts the gateway with origins, peer fetch and delivery acks wired in. */
export async function startEdgeNode(options: EdgeNodeOptions): Promise<EdgeNode> {
  const store = await BlockStore.open({ directory: options.directory, maxBytes: options.maxBytes, verifiedCacheBytes: options.verifiedCacheBytes });
  const origins = new OriginFetcher(store, options.origins);
  const peers = Array.isArray(options.peers) ? new StaticPeerDirectory(options.peers) : (options.peers ?? new StaticPeerDirectory([]));
  const peerFetcher = new PeerFetcher(store, peers, options.peerFetch);
  const sink = options.ackSink ?? new QueuedAckSink();
  const acks = options.nodeKey ? new DeliveryAckDesk({ nodeKey: rawEd25519PublicKey(options.nodeKey), sink, now: options.ackClock }) : undefined;
  const compute =
    options.nodeKey && acks && options.compute
      ? new ComputeDesk({
          nodePrivateKey: options.nodeKey,
          nodeKey: acks.nodeKey,
          sink,
          payerOf: (client) => acks.payerOf(client),
          terms: options.compute.terms,
          cpuLimitMs: options.compute.cpuLimitMs,
          sponsorOf: options.compute.sponsorOf,
          maxUnacknowledged: options.compute.maxUnacknowledged,
          now: options.ackClock,
        })
      : undefined;
  const gateway = await startGateway({
    store,
    origins,
    acks,
    compute,
    operatorToken: options.operatorToken,
    fetchMissing: (hash) => peerFetcher.fetch(hash),
    services: options.services,
    functions: options.functions,
    agents: options.nodeKey && acks && options.agents ? { ...options.agents, nodeKey: acks.nodeKey, nodePrivateKey: options.nodeKey } : undefined,
    host: options.host,
    port: options.port,
  });
  return { store, origins, peerFetcher, acks, compute, gateway, close: () => gateway.close() };
}
