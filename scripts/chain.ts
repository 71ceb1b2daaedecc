/**
 * The devnet's chain alone: an in-process Hardhat chain served over JSON-RPC, the whole suite
 * deployed with Ignition (no history), the addresses written for the other parts to read. Run with
 * `npm run chain`; Ctrl-C stops it. `npm start` runs the whole devnet: this chain with a month of
 * history, the nodes, the indexer and the dashboard (scripts/network/, docs/network.md).
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import FleekModule from "../ignition/modules/Fleek";

const HOST = process.env.DEVNET_HOST ?? "127.0.0.1";
const PORT = Number(process.env.DEVNET_PORT ?? 8545);
const OUT = path.resolve(process.env.DEVNET_ADDRESSES ?? ".data/devnet/addresses.json");

async function main() {
  if (hre.network.name !== "hardhat") throw new Error(`the chain runs on the in-process hardhat network, not ${hre.network.name}`);
  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: HOST, port: PORT, provider: hre.network.provider });
  const { port } = await server.listen();

  const parameters = JSON.parse(fs.readFileSync(path.resolve("ignition/parameters/local.json"), "utf8"), (_key, value) =>
    typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
  );
  const deployed = await hre.ignition.deploy(FleekModule, { parameters });
  const addresses: Record<string, string> = {};
  for (const [name, contract] of Object.entries(deployed)) addresses[name] = await contract.getAddress();
  const { chainId } = await hre.ethers.provider.getNetwork();

  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ chainId: Number(chainId), rpcUrl: `http://${HOST}:${port}`, contracts: addresses }, null, 2) + "\n");

  console.log(`Fleek devnet chain (no nodes, no indexer): chain ${chainId} at http://${HOST}:${port}`);
  for (const [name, address] of Object.entries(addresses)) console.log(`  ${name.padEnd(10)} ${address}`);
  console.log(`Addresses written to ${path.relative(process.cwd(), OUT)}`);
  console.log("Accounts: Hardhat's default mnemonic 'test test ... junk' (public keys, never use them on Base).");
  console.log("Ctrl-C stops the chain.");

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
