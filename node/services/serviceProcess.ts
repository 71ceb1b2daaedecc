/**
 * Entry of a service's child process (forked by serviceSupervisor.ts): starts the service named
 * by FLEEK_SERVICE, serves it on a loopback port chosen by the system, and tells the parent the
 * port over IPC. It exits when the parent goes (IPC closed), so no service outlives its node.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "../logger";
import { serviceEntry } from "./serviceCatalog";

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

/** The message the child sends once it listens. */
export interface ServiceReady {
  ready: true;
  port: number;
}

async function main(): Promise<void> {
  const launch = JSON.parse(process.env.FLEEK_SERVICE ?? "") as ServiceLaunch;
  const logger = new Logger({ service: launch.id, pid: process.pid });
  const service = await serviceEntry(launch.id).start({ ...launch, logger });
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => service.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.on("disconnect", () => void service.close().finally(() => process.exit(0)));
  const ready: ServiceReady = { ready: true, port: (server.address() as AddressInfo).port };
  process.send!(ready);
}

main().catch((error: unknown) => {
  process.stderr.write(`service failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
