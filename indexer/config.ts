import fs from "node:fs";
import path from "node:path";
import { getAddress } from "ethers";

/** Contract addresses (by the names modules use) and the first block worth reading. */
export interface ContractsConfig {
  contracts: Record<string, string>;
  startBlock: number;
  chainId?: number;
  rpcUrl?: string;
}

/** Finality depth per chain id when none is given: Base reorgs only before L1 posting (~2 min). */
export const DEFAULT_FINALITY_DEPTH: Record<number, number> = { 8453: 150, 84532: 150, 31337: 5 };
/** Finality depth for chains missing from {@link DEFAULT_FINALITY_DEPTH}. */
export const FALLBACK_FINALITY_DEPTH = 64;

/** Contract names the derivation modules use, by lower-case name. */
const CANONICAL_NAMES: Record<string, string> = {
  flk: "FLK",
  vesting: "Vesting",
  emission: "Emission",
  staking: "Staking",
  governor: "Governor",
  fleekgovernor: "Governor",
  creatormarket: "CreatorMarket",
  buyback: "BuybackBurner",
  buybackburner: "BuybackBurner",
  registry: "NodeRegistry",
  noderegistry: "NodeRegistry",
  rewards: "EpochRewards",
  epochrewards: "EpochRewards",
  servicecredits: "ServiceCredits",
  escrow: "ServiceEscrow",
  serviceescrow: "ServiceEscrow",
  functionregistry: "FunctionRegistry",
  agentmarketplace: "AgentMarketplace",
  tokencallescrow: "TokenCallEscrow",
};

/**
 * Reads contract addresses from one of:
 * - the devnet's `addresses.json` (`{chainId, rpcUrl, contracts: {flk, vesting, emission, staking, governor, creatorMarket, buyback, …}}`);
 * - an Ignition deployment folder (`ignition/deployments/chain-<id>`: `deployed_addresses.json`,
 *   with the start block taken from the deployment journal's receipts);
 * - a JSON file mapping names to addresses, optionally with `startBlock`.
 */
export function loadContractsConfig(file: string): ContractsConfig {
  if (!fs.existsSync(file))
    throw new Error(`no deployment at ${file}: pass --deployment (a devnet addresses.json, an Ignition deployment folder or a JSON of addresses)`);
  if (fs.statSync(file).isDirectory()) {
    const addresses = readJson(path.join(file, "deployed_addresses.json"));
    return { contracts: normalise(addresses), startBlock: journalStartBlock(path.join(file, "journal.jsonl")) };
  }
  const json = readJson(file);
  const contracts = (json.contracts as Record<string, string> | undefined) ?? json;
  return {
    contracts: normalise(contracts),
    startBlock: typeof json.startBlock === "number" ? json.startBlock : 0,
    chainId: typeof json.chainId === "number" ? json.chainId : undefined,
    rpcUrl: typeof json.rpcUrl === "string" ? json.rpcUrl : undefined,
  };
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** `Token#FLK`, `flk` and `FLK` all become `FLK`; addresses are checked and checksummed. */
function normalise(entries: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (typeof value !== "string" || !value.startsWith("0x")) continue;
    const bare = key.split("#").pop()!;
    out[CANONICAL_NAMES[bare.toLowerCase()] ?? bare] = getAddress(value.toLowerCase());
  }
  return out;
}

/** The lowest block of any confirmed deployment transaction in an Ignition journal (0 if unknown). */
function journalStartBlock(journal: string): number {
  if (!fs.existsSync(journal)) return 0;
  let lowest = Infinity;
  for (const line of fs.readFileSync(journal, "utf8").split("\n")) {
    const match = /"blockNumber":\s*"?(\d+)/.exec(line);
    if (match) lowest = Math.min(lowest, Number(match[1]));
  }
  return Number.isFinite(lowest) ? lowest : 0;
}
