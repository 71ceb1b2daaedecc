/**
 * The node's configuration file (JSON), read by `node run --config <file>`:
 *
 * {
 *   "keySeed": "<hex 32-byte ed25519 seed>",         // or "keyFile": "<file holding the hex seed>"
 *   "dataDir": "<folder for the logs of every epoch>",
 *   "host": "127.0.0.1", "clientPort": 7100,          // client endpoint (submit, subscribe)
 *   "committee": { "file": "<committee JSON>" },      // static source (see committee-source.ts)
 *            or  { "rpcUrl": "...", "chainId": 8453,         // chain source: the NodeRegistry contract
 *                  "registry": "0x...", "pollMs": 1000 }  //   (pollMs optional: block polling period)
 * The node runs consensus in the epochs whose committee holds its ed25519 key.
 *   "parameters": { ...overrides of DEFAULT_PARAMETERS },
 *   "gateway": { "port": 4220, "dir": "blocks", "maxGiB": 1,   // optional: the content gateway
 *                "peers": ["http://127.0.0.1:4221"],             //   other gateways to fetch from
 *                "operatorTokenFile": "operator-token" }         //   bearer token of POST /origins
 * }
 * Relative paths are resolved against the config file's folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isAddress } from "ethers";
import { CommitteeSource, StaticCommitteeSource } from "./committee/committee-source";
import { DEFAULT_PARAMETERS, Parameters } from "./consensus/parameters";
import { KeyPair } from "./consensus/types/crypto";
import { DEFAULT_REGISTRY_POLLING, RegistryCommitteeSource } from "./chain/registryCommittee";
import { Logger } from "./logger";

/** The parsed configuration file. */
export interface NodeConfigFile {
  keySeed?: string;
  keyFile?: string;
  dataDir: string;
  host: string;
  clientPort: number;
  committee: { file: string } | { rpcUrl: string; chainId: number; registry: string; pollMs?: number };
  parameters?: Partial<Parameters>;
  gateway?: { port: number; dir: string; maxGiB?: number; peers?: string[]; operatorTokenFile?: string };
}

/** The content gateway of a node (node/edge): blockstore, peers to fetch from, operator token. */
export interface GatewayConfig {
  port: number;
  directory: string;
  maxBytes: number;
  peers: string[];
  operatorToken?: string;
}

/** A configuration ready to start a node. */
export interface NodeConfig {
  key: KeyPair;
  dataDir: string;
  host: string;
  clientPort: number;
  source: CommitteeSource;
  params: Parameters;
  gateway?: GatewayConfig;
}

/** Reads and validates a configuration file; `logger` receives the chain source's RPC errors. */
export function loadConfig(file: string, logger: Logger = new Logger()): NodeConfig {
  const dir = path.dirname(path.resolve(file));
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as NodeConfigFile;
  const seedHex = raw.keySeed ?? (raw.keyFile ? fs.readFileSync(path.resolve(dir, raw.keyFile), "utf8").trim() : undefined);
  if (!seedHex || !/^[0-9a-fA-F]{64}$/.test(seedHex)) throw new Error("config: keySeed/keyFile must give a 32-byte hex seed");
  if (!raw.dataDir) throw new Error("config: dataDir is required");
  if (!Number.isInteger(raw.clientPort)) throw new Error("config: clientPort is required");
  const key = KeyPair.fromSeed(Buffer.from(seedHex, "hex"));
  let source: CommitteeSource;
  if ("file" in raw.committee) source = new StaticCommitteeSource(path.resolve(dir, raw.committee.file));
  else source = registrySource(raw.committee, logger.child({ key: key.publicKey.toString("hex").slice(0, 8), component: "registry" }));
  const params = { ...DEFAULT_PARAMETERS, ...raw.parameters };
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== typeof DEFAULT_PARAMETERS[k as keyof Parameters]) throw new Error(`config: bad parameter ${k}`);
  }
  return {
    key,
    dataDir: path.resolve(dir, raw.dataDir),
    host: raw.host ?? "127.0.0.1",
    clientPort: raw.clientPort,
    source,
    params,
    gateway: raw.gateway === undefined ? undefined : gatewayConfig(raw.gateway, dir),
  };
}

/** The `gateway` section, checked: a port, a blockstore folder, peer URLs, an optional token file. */
function gatewayConfig(g: NonNullable<NodeConfigFile["gateway"]>, dir: string): GatewayConfig {
  if (!Number.isInteger(g.port) || g.port < 0 || g.port > 65535) throw new Error("config: gateway.port must be a port number");
  if (typeof g.dir !== "string" || g.dir === "") throw new Error("config: gateway.dir (the blockstore folder) is required");
  const maxGiB = g.maxGiB ?? 10;
  if (typeof maxGiB !== "number" || !(maxGiB > 0)) throw new Error("config: gateway.maxGiB must be a positive number");
  const peers = g.peers ?? [];
  if (!Array.isArray(peers) || peers.some((p) => typeof p !== "string" || !/^https?:\/\//.test(p))) throw new Error("config: gateway.peers must be http(s) URLs");
  const operatorToken = g.operatorTokenFile ? fs.readFileSync(path.resolve(dir, g.operatorTokenFile), "utf8").trim() : undefined;
  return { port: g.port, directory: path.resolve(dir, g.dir), maxBytes: maxGiB * 2 ** 30, peers, operatorToken };
}

/** The chain committee source of a `{ rpcUrl, registry }` config, checked before any RPC call. */
function registrySource(c: { rpcUrl?: unknown; chainId?: unknown; registry?: unknown; pollMs?: unknown }, logger: Logger): CommitteeSource {
  if (typeof c.rpcUrl !== "string" || !/^(https?|wss?):\/\//.test(c.rpcUrl)) throw new Error("config: committee.rpcUrl must be an http(s) or ws(s) URL");
  if (!Number.isSafeInteger(c.chainId) || (c.chainId as number) <= 0) throw new Error("config: committee.chainId must be the registry's chain id (Base: 8453)");
  if (typeof c.registry !== "string" || !isAddress(c.registry)) throw new Error("config: committee.registry must be the NodeRegistry address");
  if (c.pollMs !== undefined && (!Number.isInteger(c.pollMs) || (c.pollMs as number) <= 0)) throw new Error("config: committee.pollMs must be a positive integer");
  const polling = { ...DEFAULT_REGISTRY_POLLING, ...(c.pollMs !== undefined ? { pollMs: c.pollMs as number } : {}) };
  return RegistryCommitteeSource.fromUrl(c.rpcUrl, BigInt(c.chainId as number), c.registry, logger, polling);
}
