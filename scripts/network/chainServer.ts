/**
 * The local chain process (run by scripts/network/chain.ts as `hardhat run`): Hardhat's in-process
 * network served over JSON-RPC, with the suite deployed by Ignition on the first start.
 *
 * Hardhat keeps no state on disk, so this process keeps a journal of the chain in
 * `<CHAIN_DIR>/blocks.jsonl` (each block's timestamp and signed transactions, appended every few
 * seconds and at exit) and replays it on the next start from the same genesis date: same
 * transactions, same timestamps, hence the same blocks and hashes, so the indexer's database and
 * the nodes' logs stay valid. The clock resumes where it stopped.
 *
 * Environment: CHAIN_DIR (required), CHAIN_HOST (127.0.0.1), CHAIN_PORT (8545; 0 = any free port),
 * CHAIN_PARAMETERS (Ignition parameters, default ignition/parameters/local.json).
 * Prints one line `ready {"rpcUrl": …, "replayedBlocks": n}` once it serves.
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { Transaction } from "ethers";
import FleekModule from "../../ignition/modules/Fleek";

/** One journalled block: its timestamp and its signed transactions in order. */
interface JournalBlock {
  number: number;
  timestamp: number;
  txs: string[];
}

const DIR = process.env.CHAIN_DIR;
const HOST = process.env.CHAIN_HOST ?? "127.0.0.1";
const PORT = Number(process.env.CHAIN_PORT ?? 8545);
const PARAMETERS = path.resolve(process.env.CHAIN_PARAMETERS ?? "ignition/parameters/local.json");
const FLUSH_MS = 2_000;

type Rpc = <T = unknown>(method: string, params?: unknown[]) => Promise<T>;

/** A transaction as eth_getBlockByNumber returns it (quantities in hex). */
interface RpcTransaction {
  type: string;
  chainId: string;
  nonce: string;
  to: string | null;
  input: string;
  value: string;
  gas: string;
  gasPrice: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  accessList?: { address: string; storageKeys: string[] }[];
  r: string;
  s: string;
  v: string;
  yParity?: string;
}

async function main(): Promise<void> {
  if (!DIR) throw new Error("CHAIN_DIR is required");
  if (hre.network.name !== "hardhat") throw new Error(`the chain runs on the in-process hardhat network, not ${hre.network.name}`);
  fs.mkdirSync(DIR, { recursive: true });
  const genesisFile = path.join(DIR, "genesis.json");
  const journalFile = path.join(DIR, "blocks.jsonl");
  const addressesFile = path.join(DIR, "addresses.json");
  const resuming = fs.existsSync(genesisFile) && fs.existsSync(addressesFile);
  // The provider is created on first use, from this config: a replay starts from the same genesis.
  const genesisDate = resuming ? JSON.parse(fs.readFileSync(genesisFile, "utf8")).date : new Date().toISOString();
  hre.config.networks.hardhat.initialDate = genesisDate;
  const provider = hre.network.provider;
  const rpc: Rpc = (method, params = []) => provider.request({ method, params }) as Promise<never>;

  let journalled = 0;
  if (resuming) {
    journalled = await replay(rpc, journalFile);
  } else {
    for (const f of [journalFile, addressesFile]) fs.rmSync(f, { force: true });
    fs.writeFileSync(genesisFile, JSON.stringify({ date: genesisDate }) + "\n");
  }

  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: HOST, port: PORT, provider });
  const { port } = await server.listen();
  const rpcUrl = `http://${HOST}:${port}`;

  if (!resuming) {
    const parameters = JSON.parse(fs.readFileSync(PARAMETERS, "utf8"), (_key, value) =>
      typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
    );
    const deployed = await hre.ignition.deploy(FleekModule, { parameters });
    const contracts: Record<string, string> = {};
    for (const [name, contract] of Object.entries(deployed)) contracts[name] = await contract.getAddress();
    const { chainId } = await hre.ethers.provider.getNetwork();
    writeAtomically(addressesFile, JSON.stringify({ chainId: Number(chainId), rpcUrl, startBlock: 0, contracts }, null, 2) + "\n");
  } else {
    // The address file names the RPC URL: the port may differ from the last run.
    const addresses = JSON.parse(fs.readFileSync(addressesFile, "utf8"));
    writeAtomically(addressesFile, JSON.stringify({ ...addresses, rpcUrl }, null, 2) + "\n");
  }

  // Journal new blocks as they come; one writer, so appends never interleave.
  let flushing: Promise<void> = Promise.resolve();
  const flush = () =>
    (flushing = flushing.then(async () => {
      journalled = await appendJournal(rpc, journalFile, journalled);
    }));
  const timer = setInterval(() => void flush().catch((err) => console.error(`journal: ${err}`)), FLUSH_MS);
  process.stdout.write(`ready ${JSON.stringify({ rpcUrl, replayedBlocks: resuming ? journalled : 0 })}\n`);

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearInterval(timer);
  await flush();
  await server.close();
}

/** Appends the blocks after `from` to the journal; returns the last block journalled. */
async function appendJournal(rpc: Rpc, file: string, from: number): Promise<number> {
  const head = Number(await rpc("eth_blockNumber"));
  let lines = "";
  for (let n = from + 1; n <= head; n++) {
    const block = await rpc<{ timestamp: string; transactions: RpcTransaction[] }>("eth_getBlockByNumber", [`0x${n.toString(16)}`, true]);
    const txs = block.transactions.map((tx) => signedTransaction(tx));
    lines += JSON.stringify({ number: n, timestamp: Number(block.timestamp), txs } satisfies JournalBlock) + "\n";
  }
  if (lines) fs.appendFileSync(file, lines);
  return head;
}

/** The signed bytes of a transaction as returned by eth_getBlockByNumber. */
function signedTransaction(tx: RpcTransaction): string {
  return Transaction.from({
    type: Number(tx.type),
    chainId: BigInt(tx.chainId),
    nonce: Number(tx.nonce),
    to: tx.to,
    data: tx.input,
    value: BigInt(tx.value),
    gasLimit: BigInt(tx.gas),
    ...(Number(tx.type) >= 2
      ? { maxFeePerGas: BigInt(tx.maxFeePerGas), maxPriorityFeePerGas: BigInt(tx.maxPriorityFeePerGas) }
      : { gasPrice: BigInt(tx.gasPrice) }),
    accessList: tx.accessList,
    signature: { r: tx.r, s: tx.s, v: Number(tx.v), yParity: tx.yParity !== undefined ? (Number(tx.yParity) as 0 | 1) : undefined },
  }).serialized;
}

/** Re-mines every journalled block with its transactions and timestamp; returns the last block number. */
async function replay(rpc: Rpc, file: string): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  // A process killed mid-append leaves a torn last line: drop it (those blocks are lost, not corrupted).
  if (!lines[lines.length - 1].endsWith("}")) lines.pop();
  const blocks = lines.filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as JournalBlock);
  fs.writeFileSync(file, blocks.map((b) => JSON.stringify(b) + "\n").join(""));
  await rpc("evm_setAutomine", [false]);
  for (const b of blocks) {
    for (const raw of b.txs) await rpc("eth_sendRawTransaction", [raw]);
    await rpc("evm_mine", [b.timestamp]);
    const mined = Number(await rpc("eth_blockNumber"));
    if (mined !== b.number) throw new Error(`journal replay: block ${b.number} became ${mined}; delete the data folder or start with --reset`);
  }
  await rpc("evm_setAutomine", [true]);
  return blocks.length === 0 ? 0 : blocks[blocks.length - 1].number;
}

function writeAtomically(file: string, body: string): void {
  fs.writeFileSync(`${file}.tmp`, body);
  fs.renameSync(`${file}.tmp`, file);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
