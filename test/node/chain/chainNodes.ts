/**
 * Consensus nodes on the real NodeRegistry (Hardhat EVM): registration with their ed25519 keys and
 * loopback endpoints, the in-process chain served over JSON-RPC, node configs pointed at it.
 */
import hre from "hardhat";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { Wallet } from "ethers";
import { writeClusterConfigs } from "../../../node/clusterConfigs";
import { freePorts } from "../../../testkit/freePorts";
import type { NodeConfigFile } from "../../../node/config";
import { spawnNode } from "../../../node/nodeProcess";
import { Committee, NO_CHAIN } from "../../../node/consensus/types/committee";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { MIN_STAKE, type RegistrySuite, type TestNode } from "../../../testkit/registry";
import { signNodeKeyProof } from "../../../protocol/nodeKeyProof";

/** Hardhat's chain id. */
export const CHAIN_ID = 31337n;

/** A registered node: the registry fixtures' TestNode plus its consensus key and endpoints. */
export interface ChainNode extends TestNode {
  ed25519: KeyPair;
  primaryPort: number;
  workerPort: number;
}

/**
 * Registers a node with `ed25519` listening on 127.0.0.1 `primaryPort` and `opts.workerPort`
 * (default `primaryPort + 1`); owner `i` round-robin over the operators, a fresh report-signing wallet, minimum stake.
 */
export async function registerChainNode(
  s: RegistrySuite,
  i: number,
  primaryPort: number,
  ed25519 = KeyPair.generate(),
  opts: { forgeKeyProof?: boolean; workerPort?: number } = {},
): Promise<ChainNode> {
  const owner = s.operators[i % s.operators.length];
  const signer = new Wallet(Wallet.createRandom().privateKey);
  // Only primary and worker matter to consensus; the registry wants every port non-zero.
  const p = primaryPort;
  const ports = { primary: p, worker: opts.workerPort ?? p + 1, mempool: p + 2, rpc: p + 2, pool: p + 2, gateway: p + 2 };
  const key = `0x${ed25519.publicKey.toString("hex")}`;
  const { chainId } = await hre.ethers.provider.getNetwork();
  const proof = await signNodeKeyProof(chainId, await s.registry.getAddress(), owner.address, ed25519, signer);
  // A forged key proof: the signature of another key over the same digest.
  const keyProof = opts.forgeKeyProof
    ? (await signNodeKeyProof(chainId, await s.registry.getAddress(), owner.address, KeyPair.generate(), signer)).keyProof
    : proof.keyProof;
  await s.registry.connect(owner).register(key, signer.address, { host: "127.0.0.1", ports }, MIN_STAKE, proof.signerProof, keyProof);
  return { id: Number(await s.registry.nodeCount()), owner, signer, key, ed25519, primaryPort: p, workerPort: p + 1 };
}

/** The committee a node should derive from these registered nodes, in a comparable form. */
export function expectedCommittee(epoch: number, nodes: readonly ChainNode[]) {
  const members = nodes.map((n) => ({
    publicKey: n.ed25519.publicKey,
    primary: { host: "127.0.0.1", port: n.primaryPort },
    worker: { host: "127.0.0.1", port: n.workerPort },
    weight: 1,
  }));
  return describeCommittee(new Committee(epoch, members, NO_CHAIN));
}

/** A committee in a form chai can compare deeply. */
export function describeCommittee(c: Committee) {
  return { epoch: c.epoch, members: c.members.map((m) => ({ key: m.publicKey.toString("hex"), primary: m.primary, worker: m.worker, weight: m.weight })) };
}

/** Serves the in-process Hardhat network over JSON-RPC on `port` (0: any free port). */
export async function serveChain(port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider });
  const { port: bound } = await server.listen();
  return { url: `http://127.0.0.1:${bound}`, close: () => server.close() };
}

/** Rewrites a node config file to take its committee from the registry at `rpcUrl`. */
export function useRegistry(configFile: string, rpcUrl: string, registry: string, pollMs: number): void {
  const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as NodeConfigFile;
  config.committee = { rpcUrl, chainId: Number(CHAIN_ID), registry, pollMs };
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
}

/**
 * One registered node run as a `node run` process on the served chain, for the tests of a node's
 * chain duties: {@link create} registers it, {@link start} spawns it with its report signer, its
 * committee from the registry and reporting off (plus the test's config edit), {@link close} stops
 * it and the chain and removes its folder.
 */
export class OneChainNode {
  child: ChildProcess | undefined;
  /** The process's logs (info level). */
  stderr = "";

  private constructor(
    readonly chain: { url: string; close: () => Promise<void> },
    readonly dir: string,
    readonly configFile: string,
    readonly registered: ChainNode,
  ) {}

  /** Serves the chain and registers the node (operator 0) in `s`'s registry, on ports the kernel picks. */
  static async create(s: RegistrySuite, prefix: string): Promise<OneChainNode> {
    const chain = await serveChain();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const { nodes } = writeClusterConfigs(dir, 1, await freePorts(3));
    const registered = await registerChainNode(s, 0, nodes[0].member.primaryPort, nodes[0].key, { workerPort: nodes[0].member.workerPort });
    return new OneChainNode(chain, dir, nodes[0].configFile, registered);
  }

  /** Spawns the node; `edit` adds the duty under test to its config. */
  async start(s: RegistrySuite, edit: (config: NodeConfigFile) => void | Promise<void>): Promise<void> {
    useRegistry(this.configFile, this.chain.url, await s.registry.getAddress(), 200);
    const config = JSON.parse(fs.readFileSync(this.configFile, "utf8")) as NodeConfigFile;
    config.signerKey = this.registered.signer.privateKey;
    config.reporting = { enabled: false };
    await edit(config);
    fs.writeFileSync(this.configFile, JSON.stringify(config, null, 2));
    this.child = await spawnNode(this.configFile, (d) => (this.stderr += d), "info");
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await this.chain.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
