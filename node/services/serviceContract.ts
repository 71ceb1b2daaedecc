/**
 * What a service is (docs/functions.md "Service framework"): a module run in its own child
 * process by {@link ./serviceProcess}, answering the requests the gateway routes to
 * `/services/<id>/...`. It reaches the rest of the node only over HTTP (the gateway's content
 * routes), so a crash, a leak or a loop in it never touches consensus.
 */
import type { Logger } from "../logger";
import type { ServiceAnswer, ServiceRequest } from "./serviceChannel";

/** The header a service and the gateway vouch to each other with (ServiceContext.serviceToken); the gateway strips a client's own. */
export const SERVICE_TOKEN_HEADER = "x-fleek-service-token";

/** What a service process is started with. */
export interface ServiceContext {
  id: string;
  /** The service's section of the node config (`services.<id>`), already checked. */
  options: Record<string, unknown>;
  /** The node's gateway, for content by root (`GET /blake3/<root>`). */
  gatewayUrl: string;
  /** Host names that are the node itself (refused as outbound destinations). */
  nodeHosts: string[];
  /** The service's own data folder (`<node dataDir>/services/<id>`), for services with state (agents). */
  dataDir: string;
  /** A secret the gateway knows too: the service vouches with it for its writes (agents' snapshots) and checks it on the operator's requests the gateway forwards. */
  serviceToken?: string;
  /** The node's agent-sealing key, hex (node/agents/agentSecrets.ts): only the agents service receives it. */
  sealingKey?: string;
  logger: Logger;
}

/**
 * A started service. The path a request names is the part after `/services/<id>` (or `/fn/...`
 * for functions, `/agents/...` for agents).
 */
export interface ServiceInstance {
  /**
   * Answers one request with a complete answer, over the framed channel (serviceChannel.ts):
   * answers are bounded in size, which every service's limits guarantee.
   */
  invoke(request: ServiceRequest): Promise<ServiceAnswer>;
  close(): Promise<void>;
}
