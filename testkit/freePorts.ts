/**
 * Loopback ports for tests to bind. Each is one the kernel handed out for port 0, so it lies in
 * the ephemeral range, away from the fixed ports of the machine's services (PostgreSQL, RabbitMQ's
 * 25672, ...), which a random pick in a fixed range can hit. All n servers are open at once, so the
 * ports are distinct; they are closed before returning, for the caller to bind.
 */
import * as net from "node:net";
import { Committee, NO_CHAIN, type Member } from "../node/consensus/types/committee";

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** One free loopback port (see {@link freePorts}). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

/** An epoch-1 committee, weight 1 each, of members listening on free loopback ports (chain-less). */
export async function loopbackCommittee(publicKeys: Buffer[]): Promise<Committee> {
  const ports = await freePorts(2 * publicKeys.length);
  const members: Member[] = publicKeys.map((publicKey, i) => ({
    publicKey,
    primary: { host: "127.0.0.1", port: ports[2 * i] },
    worker: { host: "127.0.0.1", port: ports[2 * i + 1] },
    weight: 1,
  }));
  return new Committee(1, members, NO_CHAIN);
}
