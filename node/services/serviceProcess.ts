/**
 * Entry of a service's child process (forked by serviceSupervisor.ts): starts the service named
 * by FLEEK_SERVICE, serves it on the framed channel the supervisor opened (a service with
 * `invoke`) or on a loopback port chosen by the system (one with `handle`), and tells the parent
 * which over IPC. It exits when the parent goes (IPC closed), so no service outlives its node.
 */
import { createServer } from "node:http";
import { Socket, type AddressInfo } from "node:net";
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

/** The message the child sends once it serves: on the channel, or on a loopback port. */
export type ServiceReady = { ready: true; channel: true } | { ready: true; port: number };

async function main(): Promise<void> {
  const launch = JSON.parse(process.env.FLEEK_SERVICE ?? "") as ServiceLaunch;
  const logger = new Logger({ service: launch.id, pid: process.pid });
  const service = await serviceEntry(launch.id).start({ ...launch, logger });
  const exit = () => void service.close().finally(() => process.exit(0));
  process.on("disconnect", exit);
  const invoke = service.invoke?.bind(service);
  if (invoke) {
    serveChannel(new Socket({ fd: CHANNEL_FD, readable: true, writable: true }), invoke, (reason) => {
      // The gateway closed it (the service stops, or it broke the protocol): the process ends.
      logger.info("channel to the gateway closed", { reason });
      exit();
    });
    process.send!({ ready: true, channel: true } satisfies ServiceReady);
    return;
  }
  const handle = service.handle!.bind(service);
  const server = createServer({ keepAliveTimeout: 30_000 }, handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.send!({ ready: true, port: (server.address() as AddressInfo).port } satisfies ServiceReady);
}

main().catch((error: unknown) => {
  process.stderr.write(`service failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
