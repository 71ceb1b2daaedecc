/**
 * What a service is (docs/functions.md "Service framework"): a module run in its own child
 * process by {@link ./serviceProcess}, answering the requests the gateway routes to
 * `/services/<id>/...`. It reaches the rest of the node only over HTTP (the gateway's content
 * routes), so a crash, a leak or a loop in it never touches consensus.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../logger";
import type { ServiceAnswer, ServiceRequest } from "./serviceChannel";

/** What a service process is started with. */
export interface ServiceContext {
  id: string;
  /** The service's section of the node config (`services.<id>`), already checked. */
  options: Record<string, unknown>;
  /** The node's gateway, for content by root (`GET /blake3/<root>`). */
  gatewayUrl: string;
  /** Host names that are the node itself (refused as outbound destinations). */
  nodeHosts: string[];
  logger: Logger;
}

/**
 * A started service: one of `invoke` or `handle`. The path a request names is the part after
 * `/services/<id>` (or `/fn/...` for functions).
 */
export interface ServiceInstance {
  /**
   * Answers one request with a complete answer, over the framed channel (serviceChannel.ts): the
   * cheaper transport, for services whose answers are bounded in size (functions).
   */
  invoke?(request: ServiceRequest): Promise<ServiceAnswer>;
  /** Answers one request over HTTP on a loopback port (for services that stream their answers). */
  handle?(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}
