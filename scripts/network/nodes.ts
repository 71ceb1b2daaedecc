/**
 * The network's consensus nodes: keys generated into the data folder, registration on the
 * NodeRegistry by the operator accounts, one `node run` config per node (committee from the
 * registry, content gateway with the other nodes as peers, the functions service), and the
 * `node run` processes.
 *
 * Each node's folder `<dir>/node-<i>/` holds `node.json` (the config `node run` reads, so any
 * setting the node gains is one more key here), `key` (the ed25519 seed), `signer.key` (the
 * secp256k1 key registered as the node's report signer), `operator-token` (bearer token of the
 * gateway's POST /origins), `data/` (consensus logs) and `blocks/` (the blockstore).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { MaxUint256, Wallet, parseEther, type JsonRpcProvider } from "ethers";
import type { NodeConfigFile } from "../../node/config";
import { KeyPair } from "../../node/consensus/types/crypto";
import { signNodeKeyProof } from "../../protocol/nodeKeyProof";
import { hardhatAccount, ROLES } from "./accounts";
import type { Deployment } from "./chain";
import { deployedSuite } from "./contracts";
import type { Child, Processes } from "./processes";

/** Ports of one node. */
export interface NodePorts {
  primary: number;
  worker: number;
  mempool: number;
  gateway: number;
}

/** A node's files and endpoints. */
export interface LocalNode {
  index: number;
  dir: string;
  configFile: string;
  key: KeyPair;
  signer: Wallet;
  operatorToken: string;
  ports: NodePorts;
  gatewayUrl: string;
}

const HOST = "127.0.0.1";

/**
 * Writes (or reads back) the files of `ports.length` nodes under `dir`: keys are generated once and
 * kept, configs are rewritten (the RPC URL may change between runs).
 */
export function prepareNodes(dir: string, ports: NodePorts[], deployment: Deployment, node0Agents?: Record<string, unknown>): LocalNode[] {
  const gatewayUrls = ports.map((p) => `http://${HOST}:${p.gateway}`);
  return ports.map((p, index) => {
    const nodeDir = path.join(dir, `node-${index}`);
    fs.mkdirSync(nodeDir, { recursive: true });
    const secret = (file: string, make: () => string) => {
      const f = path.join(nodeDir, file);
      if (!fs.existsSync(f)) fs.writeFileSync(f, make() + "\n", { mode: 0o600 });
      return fs.readFileSync(f, "utf8").trim();
    };
    const key = KeyPair.fromSeed(
      Buffer.from(
        secret("key", () => KeyPair.generate().seed.toString("hex")),
        "hex",
      ),
    );
    const signer = new Wallet(secret("signer.key", () => Wallet.createRandom().privateKey));
    const operatorToken = secret("operator-token", () => crypto.randomBytes(24).toString("hex"));
    const config: NodeConfigFile = {
      keyFile: "key",
      dataDir: "data",
      host: HOST,
      mempoolPort: p.mempool,
      committee: {
        rpcUrl: deployment.rpcUrl,
        chainId: deployment.chainId,
        registry: deployment.contracts.registry,
        pollMs: 500,
        fromBlock: deployment.startBlock,
        // Functions run under their registered limits; owner-pays functions charge their owners.
        functionRegistry: deployment.contracts.functionRegistry,
      },
      gateway: { port: p.gateway, blockstore: "blocks", maxGiB: 1, operatorTokenFile: "operator-token" },
      signerKeyFile: "signer.key",
      // Edge functions with the node's default limits (docs/functions.md): the example function runs here;
      // node 0 also hosts the example agent (scripts/network/exampleAgent.ts).
      services: { functions: {}, ...(index === 0 && node0Agents ? { agents: node0Agents } : {}) },
      // Node 0's agents may also be paid in their owner's creator token (docs/agents.md).
      ...(index === 0 && node0Agents ? { tokenCalls: { escrow: deployment.contracts.tokenCallEscrow } } : {}),
    };
    const configFile = path.join(nodeDir, "node.json");
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n");
    return { index, dir: nodeDir, configFile, key, signer, operatorToken, ports: p, gatewayUrl: gatewayUrls[index] };
  });
}

/**
 * Registers each node from its operator account (Hardhat accounts 10-13) with `stake` FLK, funds
 * its report signer with ETH for gas, then
 * starts epoch 1 with them as its committee (no committee yet, so the epoch may change as soon as
 * epoch 0 has ended).
 */
export async function registerNodes(nodes: LocalNode[], deployment: Deployment, provider: JsonRpcProvider, stake = parseEther("5000")): Promise<void> {
  const { flk, registry } = deployedSuite(deployment, provider);
  for (const n of nodes) {
    const owner = hardhatAccount(ROLES.operators[n.index % ROLES.operators.length], provider);
    await (await flk.connect(owner).approve(deployment.contracts.registry, MaxUint256)).wait();
    const ports = {
      primary: n.ports.primary,
      worker: n.ports.worker,
      mempool: n.ports.mempool,
      rpc: n.ports.mempool,
      pool: n.ports.mempool,
      gateway: n.ports.gateway,
    };
    // Proofs of possession of both keys, bound to this chain, registry and owner.
    const { chainId } = await provider.getNetwork();
    const proof = await signNodeKeyProof(chainId, deployment.contracts.registry, owner.address, n.key, n.signer);
    await (await registry.connect(owner).register(proof.nodeKey, n.signer.address, { host: HOST, ports }, stake, proof.signerProof, proof.keyProof)).wait();
    // The signer pays the gas of its beacon commits, reveals and report submissions.
    await (await owner.sendTransaction({ to: n.signer.address, value: parseEther("10") })).wait();
  }
  const end = await registry.epochEnd();
  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  if (now < end) {
    await provider.send("evm_increaseTime", [Number(end - now) + 1]);
    await provider.send("evm_mine", []);
  }
  await (await registry.connect(hardhatAccount(ROLES.deployer, provider)).advanceEpoch()).wait();
}

/**
 * Starts `node run` for each node and waits until each serves clients and its gateway. Should a
 * node die later, `notify` gets a message saying so, where its log is, and the command that
 * restarts it (its state is in its data folder: it resumes where it stopped).
 */
export async function startNodes(processes: Processes, root: string, nodes: LocalNode[], notify: (message: string) => void): Promise<Child[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const logLevel = process.env.LOG_LEVEL ?? "warn";
      const cli = path.join(root, "node/cli.ts");
      // node --import tsx, not the tsx wrapper: one process per node, signalled directly.
      const child = processes.spawn(`node-${n.index}`, process.execPath, ["--import", "tsx", cli, "run", "--config", n.configFile], {
        cwd: root,
        env: { LOG_LEVEL: logLevel },
        onUnexpectedExit: ({ code, signal, logFile }) =>
          notify(
            `node ${n.index} exited (${signal ?? `code ${code}`}); its log: ${logFile}. ` +
              `Restart it in another terminal (it resumes from its data folder; stop it yourself later) with: ` +
              `cd ${root} && LOG_LEVEL=${logLevel} ${process.execPath} --import tsx ${cli} run --config ${n.configFile}`,
          ),
      });
      await child.waitForLine(/^ready /, 120_000);
      return child;
    }),
  );
}

/**
 * On a resumed network, checks that each node listens where the registry says it does: peers dial
 * the registered endpoints, so ports changed since the first start would split the committee.
 */
export async function checkRegisteredEndpoints(nodes: LocalNode[], deployment: Deployment, provider: JsonRpcProvider): Promise<void> {
  const registered = await deployedSuite(deployment, provider).registry.activeNodes();
  for (const n of nodes) {
    const view = registered.find((v) => v.nodeKey === `0x${n.key.publicKey.toString("hex")}`);
    if (!view) continue; // jailed or gone: nothing to dial
    const { primary, worker, gateway } = view.endpoints.ports;
    if (Number(primary) !== n.ports.primary || Number(worker) !== n.ports.worker || Number(gateway) !== n.ports.gateway) {
      throw new Error(
        `node ${n.index} is registered at ports ${primary}/${worker}/${gateway} but would listen on ${n.ports.primary}/${n.ports.worker}/${n.ports.gateway}: ` +
          `start with the NODE_BASE_PORT of the first start, or --reset`,
      );
    }
  }
}
