/**
 * The committee read from the NodeRegistry contract (docs/spec.md §5, docs/registry.md "Views for the
 * consensus node"): one `committee()` call gives the epoch and every member's ed25519 key and
 * endpoints. Epoch changes are followed by polling that view on each new block rather than
 * subscribing to events: the view is the source of truth, a missed or reorged log cannot make
 * the node skip an epoch, and it needs nothing from the RPC beyond `eth_blockNumber`/`eth_call`.
 */
import { Contract, JsonRpcProvider, Network, type Provider } from "ethers";
import { CommitteeSource } from "../committee/committeeSource";
import { Committee, Member } from "../consensus/types/committee";
import { Logger } from "../logger";
import { NODE_REGISTRY_ABI } from "./registryAbi";
import { verifyNodeKeyProof } from "../../protocol/nodeKeyProof";

/** Timing of the chain source. */
export interface RegistryPolling {
  /** How often to look for a new block. Base makes one every 2 s. */
  pollMs: number;
  /** First retry delay after an RPC error; doubles up to `maxBackoffMs`. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

/** Defaults for Base: a new block every 2 s, retries capped at 30 s. */
export const DEFAULT_REGISTRY_POLLING: RegistryPolling = { pollMs: 1_000, minBackoffMs: 500, maxBackoffMs: 30_000 };

/** The on-chain shape of one committee member, as decoded by ethers. */
interface NodeViewResult {
  id: bigint;
  owner: string;
  nodeKey: string;
  signer: string;
  endpoints: { host: string; ports: { primary: bigint; worker: bigint } };
  keyProof: readonly string[];
}

/** Where a registry lives: what a node key's proof of possession is bound to. */
export interface RegistryAddress {
  chainId: bigint;
  registry: string;
}

/**
 * Whether the registered node proved it holds its ed25519 key (docs/registry.md, "Proof of
 * possession"): the chain stores the proof without checking it, so every node does. A node without
 * a valid proof may have squatted someone else's key: it is ignored.
 */
export function hasValidKeyProof(at: RegistryAddress, n: Pick<NodeViewResult, "owner" | "nodeKey" | "signer" | "keyProof">): boolean {
  return verifyNodeKeyProof(at.chainId, at.registry, { operator: n.owner, nodeKey: n.nodeKey, signer: n.signer }, n.keyProof);
}

/**
 * Maps the result of `committee()` to the node's Committee, or undefined before the network's
 * first epoch change (no members yet). Every member has weight 1 (node/README.md, "One vote each").
 * Members without a valid key proof are left out: every honest node leaves out the same ones.
 */
export function committeeFromChain(epoch: bigint, members: readonly NodeViewResult[], at: RegistryAddress): Committee | undefined {
  const valid = members.filter((m) => hasValidKeyProof(at, m));
  if (valid.length === 0) return undefined;
  const mapped: Member[] = valid.map((m) => ({
    publicKey: Buffer.from(m.nodeKey.slice(2), "hex"),
    primary: { host: m.endpoints.host, port: Number(m.endpoints.ports.primary) },
    worker: { host: m.endpoints.host, port: Number(m.endpoints.ports.worker) },
    weight: 1,
  }));
  return new Committee(Number(epoch), mapped, at);
}

/** A provider that also passes raw JSON-RPC calls (ethers' JsonRpcProvider, Hardhat's provider). */
export type RpcProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown> };

/** The RPC serves another chain than configured: a configuration error, never retried. */
export class ChainMismatchError extends Error {}

/** A CommitteeSource backed by the NodeRegistry contract over JSON-RPC. */
export class RegistryCommitteeSource implements CommitteeSource {
  private readonly registry: Contract;
  private readonly at: RegistryAddress;
  private chainChecked = false;

  constructor(
    private readonly provider: RpcProvider,
    /** The chain the registry lives on (Base: 8453); checked once against the RPC's eth_chainId. */
    private readonly chainId: bigint,
    registryAddress: string,
    private readonly logger: Logger,
    private readonly polling: RegistryPolling = DEFAULT_REGISTRY_POLLING,
  ) {
    this.registry = new Contract(registryAddress, NODE_REGISTRY_ABI, provider);
    this.at = { chainId, registry: registryAddress };
  }

  /**
   * A source over `rpcUrl`. The network is given, not detected: ethers' detection loop would
   * retry and print on its own while the RPC is down, outside our backoff and logger.
   */
  static fromUrl(rpcUrl: string, chainId: bigint, registryAddress: string, logger: Logger, polling?: RegistryPolling): RegistryCommitteeSource {
    const provider = new JsonRpcProvider(rpcUrl, Network.from(chainId), { staticNetwork: true });
    return new RegistryCommitteeSource(provider, chainId, registryAddress, logger, polling);
  }

  /** One read of the registry; undefined while it has no committee. Throws on RPC errors. */
  async read(): Promise<Committee | undefined> {
    if (!this.chainChecked) {
      const served = BigInt((await this.provider.send("eth_chainId", [])) as string);
      if (served !== this.chainId) throw new ChainMismatchError(`registry RPC serves chain ${served}, configured ${this.chainId}`);
      this.chainChecked = true;
    }
    const [epoch, , , members] = (await this.registry.committee()) as [bigint, bigint, bigint, NodeViewResult[]];
    return committeeFromChain(epoch, members, this.at);
  }

  /**
   * The current committee. Retries RPC errors with backoff and waits for the network's first
   * epoch, so a node started before its chain is reachable or the network is started simply waits.
   * Rejects only with ChainMismatchError: a node pointed at the wrong chain should stop.
   */
  async current(): Promise<Committee> {
    let backoff = this.polling.minBackoffMs;
    for (;;) {
      try {
        const c = await this.read();
        if (c) return c;
        await sleep(this.polling.pollMs);
        backoff = this.polling.minBackoffMs;
      } catch (err) {
        if (err instanceof ChainMismatchError) throw err;
        this.logger.warn("registry read failed, retrying", { err: String(err), retryMs: backoff });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.polling.maxBackoffMs);
      }
    }
  }

  /**
   * Polls for a new block every `pollMs` and re-reads the committee when one arrived. The first
   * successful poll reports the committee of that moment too, so an epoch change between
   * `current()` and `watch()` is never missed (FleekNode ignores epochs it already runs).
   */
  watch(listener: (c: Committee) => void): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let epoch = -1;
    let lastBlock = -1;
    let backoff = this.polling.minBackoffMs;
    const poll = async (): Promise<void> => {
      let delay = this.polling.pollMs;
      try {
        const block = await this.provider.getBlockNumber();
        // The committee only changes in a transaction: nothing to read until a new block.
        if (block !== lastBlock) {
          const c = await this.read();
          lastBlock = block;
          if (c && c.epoch > epoch) {
            epoch = c.epoch;
            if (!stopped) listener(c);
          }
        }
        backoff = this.polling.minBackoffMs;
      } catch (err) {
        this.logger.warn("registry poll failed, retrying", { err: String(err), retryMs: backoff });
        delay = backoff;
        backoff = Math.min(backoff * 2, this.polling.maxBackoffMs);
      }
      if (!stopped) timer = setTimeout(() => void poll(), delay);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
