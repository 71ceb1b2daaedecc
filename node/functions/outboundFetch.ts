/**
 * Functions' outbound `fetch`, done by the host: only http(s), only to public addresses. The name
 * is resolved here and the connection is made to the checked address (the lookup hook below), so
 * a name that resolves to a public address when checked and a private one when connecting (DNS
 * rebinding) cannot reach the node's network. Refused: loopback, private (RFC 1918, ULA),
 * link-local (169.254/16 with cloud metadata, fe80::/10), CGNAT, unspecified, multicast,
 * reserved, the machine's own interface addresses, and `refusedHosts` (e.g. the node's public name).
 */
import { lookup as dnsLookup } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { networkInterfaces } from "node:os";

/** Why an outbound fetch was refused: the function sees it as a rejected `fetch`. */
export class OutboundRefused extends Error {}

const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  NON_PUBLIC.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["2001:db8::", 32],
  ["64:ff9b::", 96],
  ["100::", 64],
] as const) {
  NON_PUBLIC.addSubnet(net, bits, "ipv6");
}

/** The reason an address may not be reached, or undefined if it is public. */
export function refusalOf(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return `not an IP address: ${address}`;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is the IPv4 address it maps.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return refusalOf(mapped);
  if (NON_PUBLIC.check(address, family === 4 ? "ipv4" : "ipv6")) return `${address} is not a public address`;
  if (ownAddresses().has(address.toLowerCase())) return `${address} is this node`;
  return undefined;
}

let own: Set<string> | undefined;
function ownAddresses(): Set<string> {
  own ??= new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.toLowerCase())));
  return own;
}

/** A subrequest's answer, as the sandbox receives it. */
export interface OutboundResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** What an outbound fetch may do. */
export interface OutboundPolicy {
  maxResponseBytes: number;
  /** Until when the subrequest may run (the request's wall deadline), on `performance.now()`'s monotonic clock: a wall clock slewed or stepped by NTP ends a request early or late. */
  deadline: number;
  /** Host names refused outright (lowercase). */
  refusedHosts: ReadonlySet<string>;
  /**
   * Skip the address rules: only for a destination the operator named in the node's config (an
   * agent owner's model server on the operator's network, node/agents/agentLlm.ts), never for one
   * a sandbox chose.
   */
  allowPrivate?: boolean;
}

/** Fetches `url` for a function, or rejects with {@link OutboundRefused} / a network error. */
export function outboundFetch(
  url: string,
  method: string,
  headers: [string, string][],
  body: Uint8Array | null,
  policy: OutboundPolicy,
): Promise<OutboundResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new OutboundRefused(`fetch: not a URL: ${url}`));
  }
  if (target.protocol !== "http:" && target.protocol !== "https:")
    return Promise.reject(new OutboundRefused(`fetch: only http and https, not ${target.protocol}`));
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (policy.allowPrivate) return send(target, method, headers, body, policy, undefined);
  if (policy.refusedHosts.has(host) || host === "localhost" || host.endsWith(".localhost"))
    return Promise.reject(new OutboundRefused(`fetch refused: ${host} is this node`));
  if (isIP(host)) {
    const refusal = refusalOf(host);
    if (refusal) return Promise.reject(new OutboundRefused(`fetch refused: ${refusal}`));
  }
  // Every connection goes through this check, whatever the name resolves to at connect time.
  const checkedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 4);
      const list = addresses as { address: string; family: number }[];
      const refused = list.map((a) => refusalOf(a.address)).find((r) => r !== undefined);
      if (refused) return callback(new OutboundRefused(`fetch refused: ${hostname} resolves to ${refused.replace(/^.* is /, "an address that is ")}`), "", 4);
      if (options.all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
  return send(target, method, headers, body, policy, checkedLookup);
}

/** Sends the request, connecting through `lookup` (the checked one unless the destination is allowed). */
function send(
  target: URL,
  method: string,
  headers: [string, string][],
  body: Uint8Array | null,
  policy: OutboundPolicy,
  lookup: LookupFunction | undefined,
): Promise<OutboundResponse> {
  const remaining = policy.deadline - performance.now();
  if (remaining <= 0) return Promise.reject(new OutboundRefused("fetch: the request's wall time is used up"));
  return new Promise((resolve, reject) => {
    const request = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(target, { method, headers: Object.fromEntries(headers), lookup, timeout: remaining }, (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (part: Buffer) => {
        size += part.length;
        if (size > policy.maxResponseBytes) return req.destroy(new OutboundRefused(`fetch: response over ${policy.maxResponseBytes} bytes`));
        parts.push(part);
      });
      res.on("end", () => {
        const out: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) out.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
        resolve({ status: res.statusCode ?? 502, headers: out, body: new Uint8Array(Buffer.concat(parts)) });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new OutboundRefused("fetch: the request's wall time is used up")));
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}
