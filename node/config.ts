/**
 * The node's configuration file (JSON), read by `node run --config <file>`:
 *
 * {
 *   "keySeed": "<hex 32-byte ed25519 seed>",         // or "keyFile": "<file holding the hex seed>"
 *   "dataDir": "<folder for the logs of every epoch>",
 *   "host": "127.0.0.1", "clientPort": 7100,          // client endpoint (submit, subscribe)
 *   "committee": { "file": "<committee JSON>" },      // static source (see committee-source.ts)
 *            or  { "rpcUrl": "...", "registry": "0x..." }   // chain source: not implemented yet
 *   "parameters": { ...overrides of DEFAULT_PARAMETERS }
 * }
 * Relative paths are resolved against the config file's folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CommitteeSource, StaticCommitteeSource } from "./committee/committee-source";
import { DEFAULT_PARAMETERS, Parameters } from "./consensus/parameters";
import { KeyPair } from "./consensus/types/crypto";

/** The parsed configuration file. */
export interface NodeConfigFile {
  keySeed?: string;
  keyFile?: string;
  dataDir: string;
  host: string;
  clientPort: number;
  committee: { file: string } | { rpcUrl: string; registry: string };
  parameters?: Partial<Parameters>;
}

/** A configuration ready to start a node. */
export interface NodeConfig {
  key: KeyPair;
  dataDir: string;
  host: string;
  clientPort: number;
  source: CommitteeSource;
  params: Parameters;
}

/** Reads and validates a configuration file. */
export function loadConfig(file: string): NodeConfig {
  const dir = path.dirname(path.resolve(file));
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as NodeConfigFile;
  const seedHex = raw.keySeed ?? (raw.keyFile ? fs.readFileSync(path.resolve(dir, raw.keyFile), "utf8").trim() : undefined);
  if (!seedHex || !/^[0-9a-fA-F]{64}$/.test(seedHex)) throw new Error("config: keySeed/keyFile must give a 32-byte hex seed");
  if (!raw.dataDir) throw new Error("config: dataDir is required");
  if (!Number.isInteger(raw.clientPort)) throw new Error("config: clientPort is required");
  let source: CommitteeSource;
  if ("file" in raw.committee) source = new StaticCommitteeSource(path.resolve(dir, raw.committee.file));
  else throw new Error("config: the registry-contract committee source is not implemented yet; use committee.file");
  const params = { ...DEFAULT_PARAMETERS, ...raw.parameters };
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== typeof DEFAULT_PARAMETERS[k as keyof Parameters]) throw new Error(`config: bad parameter ${k}`);
  }
  return {
    key: KeyPair.fromSeed(Buffer.from(seedHex, "hex")),
    dataDir: path.resolve(dir, raw.dataDir),
    host: raw.host ?? "127.0.0.1",
    clientPort: raw.clientPort,
    source,
    params,
  };
}
