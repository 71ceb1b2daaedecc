/**
 * Node registration inputs and registry values in words: checks mirror `NodeStaking.register`
 * (host of 1-253 bytes, six non-zero ports; the keys come in a checked proof,
 * protocol/nodeKeyProof.ts) so a form refuses what the contract would revert on.
 */
/** The six ports of a node, named as in `NodeStaking.Ports`. */
export const PORT_NAMES = ["primary", "worker", "mempool", "rpc", "pool", "gateway"] as const;

/** One of {@link PORT_NAMES}. */
export type PortName = (typeof PORT_NAMES)[number];

/** Ports prefilled in the registration form (the registry tests' fixture, `testkit/registry.ts`). */
export const DEFAULT_PORTS: Record<PortName, string> = { primary: "4310", worker: "4311", mempool: "4210", rpc: "4240", pool: "4300", gateway: "4220" };

/** `NodeStaking.MAX_HOST_LENGTH`. */
export const MAX_HOST_LENGTH = 253;

/** A parse: the value, or the reason the input is refused. */
export type Parsed<T> = { value: T; error?: undefined } | { value?: undefined; error: string };

/** A TCP/UDP port: a whole number from 1 to 65535. */
export function parsePort(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: "A port is a whole number." };
  const port = Number(t);
  if (port < 1 || port > 65535) return { error: "A port is between 1 and 65535." };
  return { value: port };
}

/** A host name or IP address of 1 to 253 bytes, without scheme, path or spaces. */
export function parseHost(text: string): Parsed<string> {
  const host = text.trim();
  if (host === "") return { error: "Enter the node's host name or IP address." };
  if (new TextEncoder().encode(host).length > MAX_HOST_LENGTH) return { error: `The host is at most ${MAX_HOST_LENGTH} bytes.` };
  if (/[\s/]/.test(host) || host.includes("://")) return { error: "Enter a host only, without scheme, path or spaces." };
  return { value: host };
}

/** A number of epochs to add to a stake lock: 1 to `max` (`MAX_LOCK_EPOCHS`). */
export function parseLockEpochs(text: string, max: number): Parsed<bigint> {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: "Enter a whole number of epochs." };
  const epochs = BigInt(t);
  if (epochs < 1n || epochs > BigInt(max)) return { error: `Lock for 1 to ${max} epochs.` };
  return { value: epochs };
}

/** `NodeStaking.UNSTAKE_DELAY_EPOCHS`: epochs between an unstake and its withdrawal. */
export const UNSTAKE_DELAY_EPOCHS = 5n;

/** A node key shortened for tables: `0x1234…cdef`. */
export function shortKey(key: string): string {
  return `${key.slice(0, 6)}…${key.slice(-4)}`;
}
