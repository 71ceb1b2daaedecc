/**
 * The node's configuration file (JSON), read by `node run --config <file>`:
 *
 * {
 *   "keySeed": "<hex 32-byte ed25519 seed>",         // or "keyFile": "<file holding the hex seed>"
 *   "dataDir": "<folder for the logs of every epoch>",
 *   "host": "127.0.0.1", "mempoolPort": 7100,          // client endpoint (submit, subscribe)
 *   "committee": { "file": "<committee JSON>" },      // static source (see committeeSource.ts)
 *            or  { "rpcUrl": "...", "chainId": 8453,         // chain source: the NodeRegistry contract
 *                  "registry": "0x...", "pollMs": 1000,   //   (pollMs optional: block polling period;
 *                  "fromBlock": 123,                      //   fromBlock: the registry's deployment block;
 *                  "functionRegistry": "0x..." }          //   functionRegistry: registered function limits, owner pays)
 * The node runs consensus in the epochs whose committee holds its ed25519 key.
 *   "parameters": { ...overrides of DEFAULT_PARAMETERS },
 *   "gateway": { "port": 4220, "host": "127.0.0.1",       // optional: the HTTP gateway (edge services)
 *                "blockstore": "blocks", "maxGiB": 10,    //   blockstore folder and disk budget
 *                "ipfsGateways": ["https://ipfs.io"],     //   origins for ipfs:// pointers
 *                "peers": ["http://host:port"],           //   static peers (file source only; chain: the registry)
 *                "operatorTokenFile": "operator-token" }  //   bearer token of POST /origins
 *   "signerKey": "0x<secp256k1 private key>",             // or "signerKeyFile": the registered report signer
 *   "reporting": { "enabled": true, "pingMs": 5000,       // optional; on by default with a signer key
 *                  "tickMs": 1000, "submitStaggerMs": 5000 }  //   and the chain source
 *   "rentKeeper": { "marketplace": "0x...",               // optional, off by default (one node per network):
 *                   "everyMs": 600000, "scanPerTick": 256 }  //   collectRent for due leases; needs signer and chain
 *   "tokenCalls": { "escrow": "0x...",                    // optional: agent calls paid in creator tokens (TokenCallEscrow);
 *                   "redeemEveryMs": 600000, "watchMs": 5000,  //   needs signer, chain and services.agents;
 *                   "minRedeem": "1000000000000000000" }  //   least wei a redemption pays (docs/agents.md)
 *   "services": { "functions": { "limits": { "cpuMs": 50 } } }  // optional, needs gateway: services by id
 *                                                         //   (re-read on SIGHUP; docs/functions.md;
 *                                                         //   "agents": docs/agents-runtime.md)
 * }
 * Without operatorTokenFile, the gateway's operator token (for POST /origins) comes from FLEEK_OPERATOR_TOKEN.
 * Relative paths are resolved against the config file's folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isAddress, Wallet } from "ethers";
import { CommitteeSource, StaticCommitteeSource } from "./committee/committeeSource";
import { DEFAULT_PARAMETERS, Parameters } from "./consensus/parameters";
import { KeyPair } from "./consensus/types/crypto";
import { DEFAULT_REGISTRY_POLLING, RegistryCommitteeSource } from "./chain/registryCommittee";
import { Logger } from "./logger";
import { withNodeChain } from "./agents/agentsConfig";
import { checkServicesConfig } from "./services/serviceCatalog";

/** The parsed configuration file. */
export interface NodeConfigFile {
  keySeed?: string;
  keyFile?: string;
  dataDir: string;
  host: string;
  mempoolPort: number;
  committee: { file: string } | { rpcUrl: string; chainId: number; registry: string; pollMs?: number; fromBlock?: number; functionRegistry?: string };
  parameters?: Partial<Parameters>;
  gateway?: Omit<GatewayConfig, "operatorToken"> & { operatorTokenFile?: string };
  signerKey?: string;
  signerKeyFile?: string;
  reporting?: Partial<ReportingConfig> & { enabled?: boolean };
  rentKeeper?: Partial<RentKeeperConfig>;
  tokenCalls?: Partial<TokenCallsConfig>;
  services?: Record<string, Record<string, unknown>>;
}

/** Token-paid agent calls (node/chain/tokenCallKeeper.ts): TokenCallEscrow's address, how often to redeem, how often to look for withdrawal requests, and the least a redemption pays. */
export interface TokenCallsConfig {
  escrow: string;
  redeemEveryMs: number;
  watchMs: number;
  /** Wei of the token (a decimal string in the file; default 10^18, one whole token): smaller channels wait (docs/agents.md "Small channels wait"). */
  minRedeem: bigint;
}

/** The rent keeper duty (node/chain/rentKeeper.ts): AgentMarketplace's address, tick period and batch. */
export interface RentKeeperConfig {
  marketplace: string;
  everyMs: number;
  scanPerTick: number;
}

/** The gateway section: where edge services listen and store. */
export interface GatewayConfig {
  port: number;
  host?: string;
  /** Blockstore folder (absolute once loaded). */
  blockstore: string;
  maxGiB?: number;
  ipfsGateways?: string[];
  /** Peers' gateway URLs; only used with the file committee source (the chain source reads the registry). */
  peers?: string[];
  /** Bearer token of POST /origins: from `operatorTokenFile`, else FLEEK_OPERATOR_TOKEN. */
  operatorToken?: string;
}

/** Timing of the epoch reporting duties. */
export interface ReportingConfig {
  pingMs: number;
  tickMs: number;
  submitStaggerMs: number;
}

/** The registry a chain-sourced node follows. */
export interface ChainConfig {
  rpcUrl: string;
  chainId: bigint;
  registry: string;
  /** The registry's deployment block: searches for its events start there (default 0). */
  fromBlock: number;
  /** FunctionRegistry: functions run under their registered limits and owners may pay (docs/functions.md). */
  functionRegistry?: string;
}

/** A configuration ready to start a node. */
export interface NodeConfig {
  key: KeyPair;
  dataDir: string;
  host: string;
  mempoolPort: number;
  source: CommitteeSource;
  params: Parameters;
  /** The registry, with the chain committee source. */
  chain?: ChainConfig;
  gateway?: GatewayConfig;
  /** The registered report signer. */
  signer?: Wallet;
  /** Set when the node reports: a signer key, the chain source, and not disabled. */
  reporting?: ReportingConfig;
  /** Set when this node collects the marketplace's due rent (needs the signer and the chain source). */
  rentKeeper?: RentKeeperConfig;
  /** Set when the gateway admits agent calls paid in creator tokens and this node redeems their vouchers. */
  tokenCalls?: TokenCallsConfig;
  /** Services to run by id, with their options (node/services/serviceCatalog.ts); needs `gateway`. */
  services?: Record<string, Record<string, unknown>>;
}

/** Reads and validates a configuration file; `logger` receives the chain source's RPC errors. */
export function loadConfig(file: string, logger: Logger = new Logger()): NodeConfig {
  const dir = path.dirname(path.resolve(file));
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as NodeConfigFile;
  const seedHex = raw.keySeed ?? (raw.keyFile ? fs.readFileSync(path.resolve(dir, raw.keyFile), "utf8").trim() : undefined);
  if (!seedHex || !/^[0-9a-fA-F]{64}$/.test(seedHex)) throw new Error("config: keySeed/keyFile must give a 32-byte hex seed");
  if (!raw.dataDir) throw new Error("config: dataDir is required");
  // Renamed for the on-chain name of the port (Endpoints.ports.mempool); say so rather than "required".
  if ("clientPort" in raw) throw new Error("config: clientPort is now called mempoolPort");
  if (!Number.isInteger(raw.mempoolPort)) throw new Error("config: mempoolPort is required");
  const key = KeyPair.fromSeed(Buffer.from(seedHex, "hex"));
  let source: CommitteeSource;
  if ("file" in raw.committee) source = new StaticCommitteeSource(path.resolve(dir, raw.committee.file));
  else source = registrySource(raw.committee, logger.child({ key: key.publicKey.toString("hex").slice(0, 8), component: "registry" }));
  const params = { ...DEFAULT_PARAMETERS, ...raw.parameters };
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== typeof DEFAULT_PARAMETERS[k as keyof Parameters]) throw new Error(`config: bad parameter ${k}`);
  }
  const chain = "file" in raw.committee ? undefined : chainOf(raw.committee);
  const signer = signerOf(raw, dir);
  const reporting = raw.reporting?.enabled === false || !signer || !chain ? undefined : reportingOf(raw.reporting ?? {});
  const services = raw.services === undefined ? undefined : checkServicesConfig(servicesWithNodeChain(raw.services, chain));
  if (services && !raw.gateway) throw new Error("config: services need the gateway section (they are served at /services/<id>/ and /fn/)");
  if (raw.reporting?.enabled && !reporting) throw new Error("config: reporting needs signerKey/signerKeyFile and the chain committee source");
  return {
    key,
    dataDir: path.resolve(dir, raw.dataDir),
    host: raw.host ?? "127.0.0.1",
    mempoolPort: raw.mempoolPort,
    source,
    params,
    chain,
    gateway: raw.gateway ? gatewayOf(raw.gateway, dir) : undefined,
    signer,
    reporting,
    rentKeeper: raw.rentKeeper === undefined ? undefined : rentKeeperOf(raw.rentKeeper, Boolean(signer && chain)),
    tokenCalls: raw.tokenCalls === undefined ? undefined : tokenCallsOf(raw.tokenCalls, Boolean(signer && chain && services?.agents)),
    services,
  };
}

function tokenCallsOf(t: Partial<Omit<TokenCallsConfig, "minRedeem">> & { minRedeem?: unknown }, canRun: boolean): TokenCallsConfig {
  if (!canRun) throw new Error("config: tokenCalls needs signerKey/signerKeyFile, the chain committee source and services.agents");
  const { escrow, redeemEveryMs = 600_000, watchMs = 5_000, minRedeem = "1000000000000000000" } = t;
  if (typeof minRedeem !== "string" || !/^[0-9]{1,40}$/.test(minRedeem))
    throw new Error("config: tokenCalls.minRedeem must be a decimal string of wei (at most 40 digits)");
  if (typeof escrow !== "string" || !isAddress(escrow)) throw new Error("config: tokenCalls.escrow must be the TokenCallEscrow address");
  for (const [name, ms] of [
    ["redeemEveryMs", redeemEveryMs],
    ["watchMs", watchMs],
  ] as const)
    if (!Number.isSafeInteger(ms) || ms < 1_000) throw new Error(`config: tokenCalls.${name} must be an integer of at least 1000 ms`);
  return { escrow, redeemEveryMs, watchMs, minRedeem: BigInt(minRedeem) };
}

/** The services' sections with what they may take from the node's chain settings (the agents' hosting registry). */
function servicesWithNodeChain(services: NodeConfigFile["services"], chain: ChainConfig | undefined): unknown {
  const agents = services?.agents;
  if (typeof agents !== "object" || agents === null || Array.isArray(agents)) return services;
  return { ...services, agents: withNodeChain(agents, chain) };
}

function rentKeeperOf(r: Partial<RentKeeperConfig>, canSend: boolean): RentKeeperConfig {
  if (!canSend) throw new Error("config: rentKeeper needs signerKey/signerKeyFile and the chain committee source");
  const { marketplace, everyMs = 600_000, scanPerTick = 256 } = r;
  if (typeof marketplace !== "string" || !isAddress(marketplace)) throw new Error("config: rentKeeper.marketplace must be the AgentMarketplace address");
  if (!Number.isSafeInteger(everyMs) || everyMs < 1_000) throw new Error("config: rentKeeper.everyMs must be an integer of at least 1000 ms");
  if (!Number.isSafeInteger(scanPerTick) || scanPerTick < 1 || scanPerTick > 256) throw new Error("config: rentKeeper.scanPerTick must be 1-256");
  return { marketplace, everyMs, scanPerTick };
}

function signerOf(raw: NodeConfigFile, dir: string): Wallet | undefined {
  const hex = raw.signerKey ?? (raw.signerKeyFile ? fs.readFileSync(path.resolve(dir, raw.signerKeyFile), "utf8").trim() : undefined);
  if (hex === undefined) return undefined;
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(hex)) throw new Error("config: signerKey/signerKeyFile must give a 32-byte hex secp256k1 private key");
  return new Wallet(hex.startsWith("0x") ? hex : `0x${hex}`);
}

function gatewayOf(g: NodeConfigFile["gateway"] & object, dir: string): GatewayConfig {
  if (!Number.isInteger(g.port) || g.port < 0 || g.port > 65535) throw new Error("config: gateway.port must be a port number");
  if (typeof g.blockstore !== "string" || !g.blockstore) throw new Error("config: gateway.blockstore must name a folder");
  if (g.maxGiB !== undefined && !(typeof g.maxGiB === "number" && g.maxGiB > 0)) throw new Error("config: gateway.maxGiB must be positive");
  for (const list of [g.ipfsGateways, g.peers]) {
    if (list !== undefined && (!Array.isArray(list) || list.some((u) => typeof u !== "string" || !/^https?:\/\//.test(u)))) {
      throw new Error("config: gateway.ipfsGateways and gateway.peers must be lists of http(s) URLs");
    }
  }
  const { operatorTokenFile, ...rest } = g;
  const operatorToken = operatorTokenFile ? fs.readFileSync(path.resolve(dir, operatorTokenFile), "utf8").trim() : process.env.FLEEK_OPERATOR_TOKEN;
  return { ...rest, blockstore: path.resolve(dir, g.blockstore), operatorToken };
}

function reportingOf(r: Partial<ReportingConfig>): ReportingConfig {
  const { pingMs = 5_000, tickMs = 1_000, submitStaggerMs = 5_000 } = r;
  const out = { pingMs, tickMs, submitStaggerMs };
  for (const k of ["pingMs", "tickMs", "submitStaggerMs"] as const) {
    if (!Number.isInteger(out[k]) || out[k] <= 0) throw new Error(`config: reporting.${k} must be a positive integer`);
  }
  return out;
}

/** The chain settings of a chain committee source (checked by {@link registrySource} first). */
function chainOf(c: { rpcUrl: string; chainId: number; registry: string; fromBlock?: unknown; functionRegistry?: unknown }): ChainConfig {
  if (c.fromBlock !== undefined && !(Number.isSafeInteger(c.fromBlock) && (c.fromBlock as number) >= 0)) {
    throw new Error("config: committee.fromBlock must be the registry's deployment block (a block number)");
  }
  if (c.functionRegistry !== undefined && (typeof c.functionRegistry !== "string" || !isAddress(c.functionRegistry))) {
    throw new Error("config: committee.functionRegistry must be the FunctionRegistry address");
  }
  return {
    rpcUrl: c.rpcUrl,
    chainId: BigInt(c.chainId),
    registry: c.registry,
    fromBlock: (c.fromBlock as number | undefined) ?? 0,
    ...(c.functionRegistry === undefined ? {} : { functionRegistry: c.functionRegistry as string }),
  };
}

/** The chain committee source of a `{ rpcUrl, registry }` config, checked before any RPC call. */
function registrySource(c: { rpcUrl?: unknown; chainId?: unknown; registry?: unknown; pollMs?: unknown }, logger: Logger): CommitteeSource {
  if (typeof c.rpcUrl !== "string" || !/^(https?|wss?):\/\//.test(c.rpcUrl)) throw new Error("config: committee.rpcUrl must be an http(s) or ws(s) URL");
  if (!Number.isSafeInteger(c.chainId) || (c.chainId as number) <= 0) throw new Error("config: committee.chainId must be the registry's chain id (Base: 8453)");
  if (typeof c.registry !== "string" || !isAddress(c.registry)) throw new Error("config: committee.registry must be the NodeRegistry address");
  if (c.pollMs !== undefined && (!Number.isInteger(c.pollMs) || (c.pollMs as number) <= 0))
    throw new Error("config: committee.pollMs must be a positive integer");
  const polling = { ...DEFAULT_REGISTRY_POLLING, ...(c.pollMs !== undefined ? { pollMs: c.pollMs as number } : {}) };
  return RegistryCommitteeSource.fromUrl(c.rpcUrl, BigInt(c.chainId as number), c.registry, logger, polling);
}
