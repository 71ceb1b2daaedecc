/**
 * The services a node can load by id (config `services.<id>`). Each entry checks its config
 * section in the node process (so a bad config fails at start or reload, not in a restart loop)
 * and loads its module in the service's own process.
 */
import { agentsConfigFrom } from "../agents/agentsConfig";
import { functionLimitsFrom, runtimeThreadsFrom } from "../functions/functionLimits";
import type { ServiceContext, ServiceInstance } from "./serviceContract";

interface CatalogEntry {
  /** Throws with a config error for a bad section. */
  check(options: Record<string, unknown>): void;
  /** Starts the service; only called inside its child process. */
  start(context: ServiceContext): Promise<ServiceInstance>;
  /**
   * The longest its event loop may be held by one piece of work its limits allow (a module's
   * evaluation and its first call run back to back, each up to the CPU limit): the supervisor's
   * patience with unanswered pings is this and more.
   */
  longestRunMs(options: Record<string, unknown>): number;
}

const CATALOG: Record<string, CatalogEntry> = {
  functions: {
    check: (options) => {
      for (const key of Object.keys(options)) if (key !== "limits" && key !== "threads") throw new Error(`config: unknown key services.functions.${key}`);
      functionLimitsFrom(options.limits);
      runtimeThreadsFrom(options.threads);
    },
    start: async (context) => (await import("../functions/functionsService")).startFunctionsService(context),
    longestRunMs: (options) => 2 * functionLimitsFrom(options.limits).cpuMs,
  },
  agents: {
    check: (options) => void agentsConfigFrom(options),
    start: async (context) => (await import("../agents/agentsService")).startAgentsService(context),
    longestRunMs: (options) => 2 * agentsConfigFrom(options).limits.cpuMs,
  },
};

/** The ids a config may name. */
export const SERVICE_IDS = Object.keys(CATALOG);

/** The catalog entry of `id`, or a config error naming the known ids. */
export function serviceEntry(id: string): CatalogEntry {
  const entry = Object.hasOwn(CATALOG, id) ? CATALOG[id] : undefined;
  if (!entry) throw new Error(`config: unknown service ${JSON.stringify(id)} (known: ${SERVICE_IDS.join(", ")})`);
  return entry;
}

/** Checks a config's `services` section: `{ "<id>": { ...options } }`. */
export function checkServicesConfig(raw: unknown): Record<string, Record<string, unknown>> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error('config: services must be an object like {"functions": {}}');
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, options] of Object.entries(raw)) {
    if (typeof options !== "object" || options === null || Array.isArray(options)) throw new Error(`config: services.${id} must be an object`);
    serviceEntry(id).check(options as Record<string, unknown>);
    out[id] = options as Record<string, unknown>;
  }
  return out;
}
