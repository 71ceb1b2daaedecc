/**
 * Entry of a service's child process (forked by serviceSupervisor.ts): starts the service named
 * by FLEEK_SERVICE, serves it on the framed channel the supervisor opened, and tells the parent
 * over IPC. It exits when the parent goes (IPC closed), so no service outlives its node.
 */
import { Socket } from "node:net";
import { Logger } from "../logger";
import { serviceEntry } from "./serviceCatalog";
import { CHANNEL_FD, serveChannel } from "./serviceChannel";

/** What the supervisor passes in FLEEK_SERVICE (JSON). */
export interface ServiceLaunch {
  id: string;
  options: Record<string, unknown>;
  gatewayUrl: string;
  nodeHosts: string[];
  dataDir: string;
  serviceToken?: string;
  sealingKey?: string;
}

/** What the child tells the parent over IPC: it serves on the channel, or it answers a ping. */
export type ServiceMessage = { ready: true } | { pong: number };

/** The parent's ping (serviceSupervisor.ts): the child answers it from its event loop. */
export type ServicePing = { ping: number };

async function main(): Promise<void> {
  const launch = JSON.parse(process.env.FLEEK_SERVICE ?? "") as ServiceLaunch;
  const logger = new Logger({ service: launch.id, pid: process.pid });
  const service = await serviceEntry(launch.id).start({ ...launch, logger });
  const exit = () => void service.close().finally(() => process.exit(0));
  process.on("disconnect", exit);
  serveChannel(new Socket({ fd: CHANNEL_FD, readable: true, writable: true }), service.invoke.bind(service), (reason) => {
    // The gateway closed it (the service stops, or it broke the protocol): the process ends.
    logger.info("channel to the gateway closed", { reason });
    exit();
  });
  // Answered on the event loop: a loop held by a run that never yields misses the pings, and the
  // supervisor restarts the process.
  process.on("message", (message: ServicePing) => {
    if (typeof message?.ping === "number") process.send!({ pong: message.ping } satisfies ServiceMessage);
  });
  process.send!({ ready: true } satisfies ServiceMessage);
}

main().catch((error: unknown) => {
  process.stderr.write(`service failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
