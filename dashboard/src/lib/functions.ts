/**
 * Edge functions on the dashboard (docs/functions.md): FunctionRegistry's rules checked before a
 * wallet is asked to sign, the cost of a call from ServiceEscrow's compute prices, and the upload
 * of a bundle to a gateway: a file the page hashes and uploads once it is registered (`PUT
 * /blake3/<root>`), or a URL the gateway fetches with its operator's token (`POST /origins`, as `npm
 * start` adds the example function).
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { blake3 } from "hash-wasm";

/** FunctionRegistry's caps: what a node enforces at most (MAX_MEMORY_MIB, MAX_WALL_MS, MAX_BUNDLE_BYTES). */
export const LIMIT_CAPS = { memoryMiB: 128, wallMs: 15_000, bundleBytes: 10 * 1024 * 1024 } as const;

/** A version's limits, as `FunctionRegistry.Limits`. */
export interface FunctionLimits {
  memoryMiB: number;
  cpuMs: number;
  wallMs: number;
  bundleBytes: number;
}

/** The node's defaults (docs/functions.md, "Limits"): what the form proposes and the example is registered with. */
export const DEFAULT_LIMITS: FunctionLimits = { memoryMiB: 128, cpuMs: 50, wallMs: 15_000, bundleBytes: 1_048_576 };

/** A parsed input: its value, or why it is refused. */
export type Parsed<T> = { value: T; error?: undefined } | { value?: undefined; error: string };

/** FunctionRegistry's name rule (`_checkName`): 1-64 bytes of a-z, 0-9 and '-', not first or last. */
export function parseFunctionName(text: string): Parsed<string> {
  if (text.length === 0 || text.length > 64) return { error: "A name has 1 to 64 characters." };
  if (!/^[a-z0-9-]+$/.test(text)) return { error: "Use only lower-case letters a-z, digits and '-'." };
  if (text.startsWith("-") || text.endsWith("-")) return { error: "A name cannot start or end with '-'." };
  return { value: text };
}

const LIMIT_LABELS: Record<keyof FunctionLimits, string> = { memoryMiB: "Memory", cpuMs: "CPU time", wallMs: "Wall time", bundleBytes: "Bundle size" };

/**
 * The limits typed in the form, checked as `_publish` checks them: each a whole number above 0 and
 * at most its cap, the CPU time at most the wall time.
 */
export function parseLimits(text: Record<keyof FunctionLimits, string>): Parsed<FunctionLimits> {
  const value = {} as FunctionLimits;
  for (const key of Object.keys(LIMIT_LABELS) as (keyof FunctionLimits)[]) {
    const t = text[key].trim();
    if (!/^[0-9]{1,10}$/.test(t) || Number(t) === 0) return { error: `${LIMIT_LABELS[key]} must be a whole number above 0.` };
    value[key] = Number(t);
  }
  if (value.memoryMiB > LIMIT_CAPS.memoryMiB) return { error: `Memory is at most ${LIMIT_CAPS.memoryMiB} MiB.` };
  if (value.wallMs > LIMIT_CAPS.wallMs) return { error: `Wall time is at most ${LIMIT_CAPS.wallMs.toLocaleString("en-US")} ms.` };
  if (value.cpuMs > value.wallMs) return { error: "CPU time cannot exceed the wall time." };
  if (value.bundleBytes > LIMIT_CAPS.bundleBytes) return { error: `A bundle is at most ${LIMIT_CAPS.bundleBytes.toLocaleString("en-US")} bytes (10 MiB).` };
  return { value };
}

/** ServiceEscrow's compute prices, USDC units (6 decimals) per million. */
export interface ComputePrices {
  perMillionRequests: bigint;
  perMillionCpuMs: bigint;
}

/**
 * USDC units a million calls cost if each uses `cpuMs` of CPU: exact. One call is this / 10^6; the
 * committee rounds once per (node, client) pair and epoch (protocol/usage.ts `computeCharge`).
 */
export function costPerMillionCalls(prices: ComputePrices, cpuMs: number): bigint {
  return prices.perMillionRequests + BigInt(cpuMs) * prices.perMillionCpuMs;
}

/** A registered name as FunctionRegistry holds it now: its function, owner and latest version. */
export interface NameHolder {
  id: number;
  owner: string;
  version: number;
}

/** The registry's views {@link nameHolder} reads. */
export interface RegistryReads {
  idOfName(nameHash: string): Promise<bigint>;
  functions(id: bigint): Promise<{ owner: string; versionCount: bigint }>;
}

/**
 * Who holds `name`, read from the chain at the moment of deploying (the indexer may not have seen
 * a registration made a block ago); null when the name is free.
 */
export async function nameHolder(registry: RegistryReads, name: string): Promise<NameHolder | null> {
  const id = await registry.idOfName(keccak256(toUtf8Bytes(name)));
  if (id === 0n) return null;
  const f = await registry.functions(id);
  return { id: Number(id), owner: f.owner, version: Number(f.versionCount) };
}

/** What deploying does: register a free name, publish a root the account's function never had, or nothing and why. */
export type DeployPlan = { kind: "register" } | { kind: "publish"; id: number; nextVersion: number } | { kind: "refused"; reason: string };

/** Which function published a root, and as which version (FunctionRegistry's `lookup`); null: none. */
export interface RootHolder {
  id: number;
  version: number;
}

/**
 * The registry's rules for `account` deploying over `holder` (null: a free name). `rootHolder` is
 * who published the bundle's root (a root belongs to the first function that publishes it); pass
 * null before the upload to learn early that the name is someone else's.
 */
export function deployPlan(holder: NameHolder | null, account: string, rootHolder: RootHolder | null): DeployPlan {
  if (holder && holder.owner.toLowerCase() !== account.toLowerCase())
    return { kind: "refused", reason: `The name is taken: function ${holder.id} belongs to ${holder.owner}.` };
  if (rootHolder && holder && rootHolder.id === holder.id)
    return { kind: "refused", reason: `This bundle is already version ${rootHolder.version} of the function; a new version needs a new root.` };
  if (rootHolder)
    return { kind: "refused", reason: `This bundle is already published by function ${rootHolder.id}; change a byte to publish it under this name.` };
  if (!holder) return { kind: "register" };
  return { kind: "publish", id: holder.id, nextVersion: holder.version + 1 };
}

/** A content root as the registry takes it (bytes32), from the gateway's 64 hex characters. */
export function rootToBytes32(hash: string): string {
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(hash)) throw new Error(`not a content root (64 hex characters): ${hash}`);
  return `0x${hash.replace(/^0x/, "").toLowerCase()}`;
}

/**
 * Where the deploy form uploads by default: gateway 0 through the page's own host when it forwards
 * uploads (a gateway answers no CORS preflight, so a page on another origin cannot POST to it),
 * else gateway 0 itself, else nothing (the developer types one).
 */
export function defaultUploadGateway(deployment: { gateways?: string[]; gatewayForward?: boolean }, pageUrl: string): string {
  if (!deployment.gateways?.length) return "";
  return deployment.gatewayForward ? new URL("gateways/0", pageUrl).href : deployment.gateways[0];
}

/** Why a gateway refused `POST /origins`, in words a developer can act on. */
function uploadRefusal(status: number, body: string): string {
  let message = body;
  try {
    message = (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {
    // a plain-text body is the message
  }
  if (status === 401) return `The gateway refused the operator token (${message}).`;
  if (status === 403) return `The gateway does not accept uploads (${message}).`;
  return `The gateway refused the bundle: HTTP ${status} ${message}`;
}

/**
 * Has the gateway at `gatewayUrl` fetch the bundle at `bundleUrl` into its blockstore
 * (`POST /origins {url}` with the node's operator token) and resolves with its content root as
 * bytes32: the standard BLAKE3 hash of the bundle, what `b3sum` prints.
 */
export async function uploadBundle(gatewayUrl: string, token: string, bundleUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): Promise<string> {
  let res: Response;
  try {
    res = await fetchImpl(`${gatewayUrl.replace(/\/+$/, "")}/origins`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ url: bundleUrl }),
    });
  } catch {
    throw new Error(`The gateway at ${gatewayUrl} is unreachable from this page (down, or it does not allow this page's origin).`);
  }
  const body = await res.text();
  if (res.status !== 201) throw new Error(uploadRefusal(res.status, body));
  const { hash } = JSON.parse(body) as { hash?: string };
  if (!hash) throw new Error(`The gateway answered without a content root: ${body}`);
  return rootToBytes32(hash);
}

/** A bundle's content root as bytes32: the standard BLAKE3 hash of its bytes, what `b3sum` prints. */
export async function bundleRoot(bytes: Uint8Array): Promise<string> {
  return `0x${await blake3(bytes)}`;
}

/**
 * Uploads a registered function's bundle to the gateway at `gatewayUrl` (`PUT /blake3/<root>`, no
 * operator token: FunctionRegistry's registration of `root` is the permission, docs/functions.md
 * "Deploying without the operator"). Resolves once the gateway holds it.
 */
export async function putBundle(
  gatewayUrl: string,
  root: string,
  bytes: Uint8Array<ArrayBuffer>,
  fetchImpl: typeof fetch = (...a) => fetch(...a),
): Promise<void> {
  let res: Response;
  try {
    res = await fetchImpl(`${gatewayUrl.replace(/\/+$/, "")}/blake3/${root.replace(/^0x/, "")}`, {
      method: "PUT",
      headers: { "content-type": "text/javascript" },
      body: bytes,
    });
  } catch {
    throw new Error(`The gateway at ${gatewayUrl} is unreachable from this page (down, or it does not allow this page's origin).`);
  }
  if (res.status === 200 || res.status === 201) return;
  const body = await res.text();
  let message = body;
  try {
    message = (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {
    // a plain-text body is the message
  }
  throw new Error(`The gateway did not take the bundle: HTTP ${res.status} ${message}`);
}
