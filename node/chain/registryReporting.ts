/**
 * What the reporting side of the node reads from and sends to the NodeRegistry: the epoch's
 * context at its first block (so every member reads the same owners, locks and keys whatever block
 * it asks at), the report window, the beacon, and the report submission. Writes are signed by the
 * node's report signer (`signer` in its registration), which also pays their gas.
 */
import { Contract, getAddress, type ContractEventName, type EventLog, type Wallet } from "ethers";
import type { ContextNode, EpochContext } from "../app/epochState";
import type { EpochReport } from "../../protocol/report";
import { NODE_VIEW_TUPLE, type RpcProvider } from "./registryCommittee";

const MEASUREMENT_TUPLE =
  "tuple(uint32 nodeId, uint8 uptime, uint32 latencyMs, uint64 bytesServed, uint64 deliveryAcks, uint64 revenue, uint8 reputation)";
const REPORT_TUPLE =
  `tuple(uint64 epoch, ${MEASUREMENT_TUPLE}[] nodes, tuple(address client, uint128 amount)[] usage, bytes32 reputationRoot, ` +
  "bytes32 rewardsRoot, uint256 totalFlkWeight, uint256 totalUsdcWeight, uint256 totalUsage)";

const ABI = [
  `function committee() view returns (uint64 epoch, uint64 start, uint64 duration, ${NODE_VIEW_TUPLE}[] members)`,
  `function activeNodes() view returns (${NODE_VIEW_TUPLE}[])`,
  "function epoch() view returns (uint64)",
  "function epochEnd() view returns (uint64)",
  "function reportOpensAt() view returns (uint64)",
  "function beacons(uint64 epoch, uint32 nodeId) view returns (bytes32 commitment, bool revealed)",
  "function commitBeacon(uint32 nodeId, bytes32 commitment)",
  "function revealBeacon(uint32 nodeId, bytes32 secret)",
  `function submitEpochReport(${REPORT_TUPLE} report, bytes[] signatures)`,
  "event EpochStarted(uint64 indexed epoch, uint64 start, uint64 duration)",
  `event EpochReported(uint64 indexed epoch, bytes32 digest, ${REPORT_TUPLE} report, uint32[] signers)`,
  "error NodeRegistryWrongEpoch(uint64 reportEpoch, uint64 epoch)",
  "error NodeRegistryTooEarly(uint64 opensAt)",
  "error NodeRegistryBadBeacon(uint32 nodeId)",
  "error NodeRegistryBeaconPhase()",
  "error NodeRegistryNotEnoughSignatures(uint256 count, uint256 required)",
  "error NodeRegistryNotCommitteeSigner(address signer)",
  "error NodeRegistryNotCommitteeMember(uint32 nodeId)",
];

/** Blocks per `eth_getLogs` request: public Base endpoints refuse wider ranges. */
export const LOG_RANGE = 10_000;

/** A registered node as the reporting side uses it. */
export interface RegisteredNode extends ContextNode {
  /** `http://host:port` of its gateway. */
  gatewayUrl: string;
  /** Its transaction endpoint (`ports.mempool`, which is the node's `clientPort`). */
  mempool: { host: string; port: number };
}

interface NodeViewResult {
  id: bigint;
  owner: string;
  nodeKey: string;
  signer: string;
  lockedUntil: bigint;
  endpoints: { host: string; ports: { gateway: bigint; mempool: bigint } };
}

/** Where the current epoch stands on chain. */
export interface EpochPhase {
  epoch: number;
  /**
   * The chain's time (s): the latest block's timestamp, or the local clock moved forward to the
   * chain's ({@link RegistryReporting.chainTimeMs}) when that is later. A chain that mines only on
   * transactions (the devnet) has no block to tell that an epoch has ended, and without one the
   * members would never close it.
   */
  now: number;
  epochEnd: number;
  reportOpensAt: number;
}

/** Outcome of a report submission. */
export type SubmitOutcome = "submitted" | "already-reported";

/** Reads and writes of the registry for epoch reports and the beacon. */
export class RegistryReporting {
  private readonly registry: Contract;
  /** Sends are serialised so the signer's nonces never race. */
  private sending: Promise<unknown> = Promise.resolve();
  /** Largest (block time − local time) seen, ms: chain time runs at least this far ahead. */
  private clockOffsetMs = 0;

  constructor(
    private readonly provider: RpcProvider,
    readonly chainId: bigint,
    readonly address: string,
    /** The report signer; without it the instance only reads (peers of a node that does not report). */
    wallet?: Wallet,
    /** The registry's deployment block: log searches never go below it. */
    private readonly fromBlock = 0,
  ) {
    this.registry = new Contract(address, ABI, wallet ? wallet.connect(provider) : provider);
  }

  /** The current epoch and its deadlines against the chain's time. */
  async phase(): Promise<EpochPhase> {
    const [block, epoch, epochEnd, reportOpensAt] = await Promise.all([
      this.provider.getBlock("latest"),
      this.registry.epoch() as Promise<bigint>,
      this.registry.epochEnd() as Promise<bigint>,
      this.registry.reportOpensAt() as Promise<bigint>,
    ]);
    this.clockOffsetMs = Math.max(this.clockOffsetMs, block!.timestamp * 1000 - Date.now());
    // The offset is the least the chain can be ahead (blocks are seen after they are mined), so the
    // next block's timestamp is at least this: a transaction sent on it is not early.
    const now = Math.max(block!.timestamp, Math.floor(this.chainTimeMs() / 1000));
    return { epoch: Number(epoch), now, epochEnd: Number(epochEnd), reportOpensAt: Number(reportOpensAt) };
  }

  /**
   * The time acks are stamped and checked with (Unix ms): local time, moved forward to the latest
   * block time seen by {@link phase}. On Base the two agree; on a devnet whose chain was moved
   * ahead it keeps ack windows inside the chain's epoch, which the application state requires.
   */
  chainTimeMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** The current committee (for forwarding transactions to it). */
  async committeeNodes(): Promise<RegisteredNode[]> {
    const [, , , members] = (await this.registry.committee()) as [bigint, bigint, bigint, NodeViewResult[]];
    return members.map(registered);
  }

  /** The active nodes now (for pings and peer fetch). */
  async activeNodes(): Promise<RegisteredNode[]> {
    return ((await this.registry.activeNodes()) as NodeViewResult[]).map(registered);
  }

  /**
   * The context of `epoch`, read at the block that started it; the previous reputation from the
   * latest report before it. Throws if the epoch has not started.
   */
  async context(epoch: number): Promise<EpochContext> {
    const head = await this.provider.getBlockNumber();
    const scheduledEnd = async (e: number) => {
      const log = await this.latestLog(this.registry.filters.EpochStarted(e), head);
      if (!log) throw new Error(`epoch ${e} has not started`);
      return { blockTag: log.blockNumber, endMs: Number(log.args.start + log.args.duration) * 1000 };
    };
    const { blockTag, endMs: acksUntilMs } = await scheduledEnd(epoch);
    const acksFromMs = epoch === 0 ? 0 : (await scheduledEnd(epoch - 1)).endMs;
    const [[e, , , members], active] = await Promise.all([
      this.registry.committee({ blockTag }) as Promise<[bigint, bigint, bigint, NodeViewResult[]]>,
      this.registry.activeNodes({ blockTag }) as Promise<NodeViewResult[]>,
    ]);
    if (Number(e) !== epoch) throw new Error(`block ${blockTag} is in epoch ${e}, not ${epoch}`);
    // A report starts the next epoch in its own transaction, so the previous one is normally in
    // `blockTag` itself; after skipped epochs the search goes further back.
    const last = await this.latestLog(this.registry.filters.EpochReported(), blockTag);
    const previousReputation = new Map<number, number>();
    for (const n of (last?.args.report ?? { nodes: [] }).nodes as { nodeId: bigint; reputation: bigint }[]) {
      previousReputation.set(Number(n.nodeId), Number(n.reputation));
    }
    return {
      epoch,
      acksFromMs,
      acksUntilMs,
      chainId: this.chainId,
      registry: getAddress(this.address),
      committee: members.map(registered),
      active: active.map(registered),
      previousReputation,
    };
  }

  /**
   * The latest log of `filter` at or below `toBlock`, searched backward {@link LOG_RANGE} blocks
   * at a time down to the deployment block (a provider refuses one request over a long chain).
   */
  private async latestLog(filter: ContractEventName, toBlock: number): Promise<EventLog | undefined> {
    for (let to = toBlock; to >= this.fromBlock; to -= LOG_RANGE) {
      const logs = await this.registry.queryFilter(filter, Math.max(this.fromBlock, to - LOG_RANGE + 1), to);
      const last = logs[logs.length - 1];
      if (last) return last as EventLog;
    }
    return undefined;
  }

  /** The beacon state of `nodeId` in `epoch`. */
  async beacon(epoch: number, nodeId: number): Promise<{ commitment: string; revealed: boolean }> {
    const [commitment, revealed] = (await this.registry.beacons(epoch, nodeId)) as [string, boolean];
    return { commitment, revealed };
  }

  /** Sends `commitBeacon` and waits for it to be mined. */
  commitBeacon(nodeId: number, commitment: string): Promise<void> {
    return this.send(async () => void (await (await this.registry.commitBeacon(nodeId, commitment)).wait()));
  }

  /** Sends `revealBeacon` and waits for it to be mined. */
  revealBeacon(nodeId: number, secret: string): Promise<void> {
    return this.send(async () => void (await (await this.registry.revealBeacon(nodeId, secret)).wait()));
  }

  /**
   * Submits the report. Idempotent: if the epoch has moved past the report's (another member's
   * submission, or a forced change) the result is "already-reported", before sending or after a
   * failed send; other failures throw for the caller to retry.
   */
  submitReport(report: EpochReport, signatures: string[]): Promise<SubmitOutcome> {
    return this.send(async () => {
      if (BigInt(await this.registry.epoch()) > report.epoch) return "already-reported";
      try {
        await (await this.registry.submitEpochReport(report, signatures)).wait();
        return "submitted";
      } catch (err) {
        if (BigInt(await this.registry.epoch()) > report.epoch) return "already-reported";
        throw err;
      }
    });
  }

  private send<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sending.then(fn, fn);
    this.sending = run.catch(() => undefined);
    return run;
  }
}

function registered(n: NodeViewResult): RegisteredNode {
  return {
    id: Number(n.id),
    nodeKey: n.nodeKey.slice(2).toLowerCase(),
    signer: getAddress(n.signer),
    owner: getAddress(n.owner),
    lockedUntil: BigInt(n.lockedUntil),
    gatewayUrl: `http://${n.endpoints.host}:${Number(n.endpoints.ports.gateway)}`,
    mempool: { host: n.endpoints.host, port: Number(n.endpoints.ports.mempool) },
  };
}
