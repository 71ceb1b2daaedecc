/**
 * What a service is (docs/functions.md "Service framework"): a module run in its own child
 * process by {@link ./serviceProcess}, answering the HTTP requests the gateway routes to
 * `/services/<id>/...`. It reaches the rest of the node only over HTTP (the gateway's content
 * routes), so a crash, a leak or a loop in it never touches consensus.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../logger";

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

/** A started service. */
export interface ServiceInstance {
  /** Answers one request; the path is the part after `/services/<id>` (or `/fn/...` for functions). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}
