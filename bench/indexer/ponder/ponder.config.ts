/**
 * Ponder 1.0 indexing FLK's Transfer events, for bench/indexer's side-by-side figure. The bench
 * starts it as a child process and passes the chain through the environment: PONDER_RPC_URL,
 * PONDER_FLK (address), and PONDER_DATABASE_URL (PostgreSQL) or PONDER_PGLITE_DIR (PGlite).
 * Ponder's defaults otherwise, as a user would run it.
 */
import { createConfig } from "ponder";
import { http } from "viem";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (bench/indexer sets it)`);
  return value;
};

export default createConfig({
  database: process.env.PONDER_DATABASE_URL
    ? { kind: "postgres", connectionString: process.env.PONDER_DATABASE_URL }
    : { kind: "pglite", directory: env("PONDER_PGLITE_DIR") },
  networks: { hardhat: { chainId: 31337, transport: http(env("PONDER_RPC_URL")) } },
  contracts: {
    FLK: {
      network: "hardhat",
      abi: [
        {
          type: "event",
          name: "Transfer",
          inputs: [
            { name: "from", type: "address", indexed: true },
            { name: "to", type: "address", indexed: true },
            { name: "value", type: "uint256", indexed: false },
          ],
        },
      ] as const,
      address: env("PONDER_FLK") as `0x${string}`,
      startBlock: 0,
    },
  },
});
