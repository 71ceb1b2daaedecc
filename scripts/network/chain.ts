/**
 * Starts the local chain (scripts/network/chainServer.ts under `hardhat run`, a child process so
 * its clock jumps never touch another chain in the same process) and reads its deployment.
 */
import fs from "node:fs";
import path from "node:path";
import type { Processes, Child } from "./processes";

/** The suite's deployment as the chain process wrote it (`<chainDir>/addresses.json`). */
export interface Deployment {
  chainId: number;
  rpcUrl: string;
  startBlock: number;
  /** Ignition's future names: flk, vesting, emission, staking, serviceCredits, governor, timelock, creatorMarket, buyback, usdc, registry, rewards, escrow, functionRegistry, agentMarketplace, tokenCallEscrow. */
  contracts: Record<string, string>;
}

/** A running chain. */
export interface Chain {
  child: Child;
  rpcUrl: string;
  deployment: Deployment;
  addressesFile: string;
  /** Blocks replayed from the journal (0 on a fresh chain). */
  replayedBlocks: number;
}

/** Options of {@link startChain}. */
export interface ChainOptions {
  root: string;
  dir: string;
  port: number;
  host?: string;
  parameters?: string;
}

/** Starts the chain and waits until it serves and the suite is deployed (first start) or replayed. */
export async function startChain(processes: Processes, o: ChainOptions): Promise<Chain> {
  const child = processes.spawn("chain", path.join(o.root, "node_modules/.bin/hardhat"), ["run", "scripts/network/chainServer.ts"], {
    cwd: o.root,
    env: {
      CHAIN_DIR: o.dir,
      CHAIN_PORT: String(o.port),
      CHAIN_HOST: o.host ?? "127.0.0.1",
      ...(o.parameters ? { CHAIN_PARAMETERS: o.parameters } : {}),
    },
  });
  const line = await child.waitForLine(/^ready /, 300_000);
  const ready = JSON.parse(line.slice("ready ".length)) as { rpcUrl: string; replayedBlocks: number };
  const addressesFile = path.join(o.dir, "addresses.json");
  const deployment = JSON.parse(fs.readFileSync(addressesFile, "utf8")) as Deployment;
  return { child, rpcUrl: ready.rpcUrl, deployment, addressesFile, replayedBlocks: ready.replayedBlocks };
}
