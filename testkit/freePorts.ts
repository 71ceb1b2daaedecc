/**
 * Loopback ports for tests to bind. Each is picked at random below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range) and checked by binding it: a port the kernel handed out for port
 * 0 lies inside that range, where any outgoing connection of any process may take it between the
 * check and the caller's bind (EADDRINUSE on a node's listen). Below the range only listeners
 * live, and the bind check skips the machine's services (PostgreSQL, RabbitMQ's 25672, ...). All
 * n servers are open at once, so the ports are distinct; they are closed before returning, for
 * the caller to bind.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { Committee, NO_CHAIN, type Member } from "../node/consensus/types/committee";

/** Lowest port picked: above the well-known and most registered service ports. */
const LOWEST = 10_000;
/** Binds tried per port asked for before giving up (a nearly full range). */
const TRIES_PER_PORT = 50;

/** The first port of the kernel's ephemeral range (32768 when it cannot be read, Linux's default). */
function ephemeralStart(): number {
  try {
    const start = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > LOWEST + 1000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function listen(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** `n` distinct loopback ports that were free a moment ago, outside the ephemeral range. */
export async function freePorts(n: number): Promise<number[]> {
  const top = ephemeralStart();
  const held: net.Server[] = [];
  const ports = new Set<number>();
  try {
    for (let tries = 0; ports.size < n; tries++) {
      if (tries >= TRIES_PER_PORT * n) throw new Error(`no ${n} free loopback ports in ${LOWEST}-${top - 1}`);
      const port = LOWEST + Math.floor(Math.random() * (top - LOWEST));
      if (ports.has(port)) continue;
      const server = await listen(port);
      if (!server) continue;
      held.push(server);
      ports.add(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  return [...ports];
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
