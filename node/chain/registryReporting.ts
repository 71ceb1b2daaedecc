/**
 * What the reporting side of the node reads from and sends to the NodeRegistry: the epoch's
 * context at its first block (so every member reads the same owners, locks and keys whatever block
 * it asks at), the report window, the beacon, and the report submission. Writes are signed by the
 * node's report signer (`signer` in its registration), which also pays their gas.
 */
import { Contract, getAddress, ZeroAddress, type ContractEventName, type EventLog, type Wallet } from "ethers";
import type { AgentTerms, ContextNode, EpochContext } from "../app/epochState";
import type { ComputeTerms } from "../acks/computeDesk";
import type { EpochReport } from "../../protocol/report";
import type { AgentPrices, ComputePrices } from "../../protocol/usage";
import { AGENT_MARKETPLACE_ABI, NODE_REGISTRY_ABI, SERVICE_ESCROW_ABI } from "./registryAbi";
import { hasValidKeyProof, type RpcProvider } from "./registryCommittee";

/** Accounts per `debitable` call (a bounded request whatever an epoch's number of payers). */
const DEBITABLE_BATCH = 500;

/** Blocks per `eth_getLogs` request: public Base endpoints refuse wider ranges. */
export const LOG_RANGE = 10_000;

/**
 * The latest log of `filter` on `contract` at or below `toBlock`, searched backward
 * {@link LOG_RANGE} blocks at a time down to `fromBlock` (a provider refuses one request over a
 * long chain).
 */
export async function latestLogOf(contract: Contract, filter: ContractEventName, toBlock: number, fromBlock: number): Promise<EventLog | undefined> {
  for (let to = toBlock; to >= fromBlock; to -= LOG_RANGE) {
    const logs = await contract.queryFilter(filter, Math.max(fromBlock, to - LOG_RANGE + 1), to);
    const last = logs[logs.length - 1];
    if (last) return last as EventLog;
  }
  return undefined;
}

/** Reported epochs whose `agentSnapshotsRoot` is kept (a few bytes each). */
const REPORTED_ROOTS_KEPT = 1024;

/** A registered node as the reporting side uses it. */
export interface RegisteredNode extends ContextNode {
  /** `http://host:port` of its gateway. */
  gatewayUrl: string;
  /** Its transaction endpoint (`ports.mempool`, which is the node's `mempoolPort`). */
  mempool: { host: string; port: number };
}

interface NodeViewResult {
  id: bigint;
  owner: string;
  nodeKey: string;
  signer: string;
  lockedUntil: bigint;
  endpoints: { host: string; ports: { gateway: bigint; mempool: bigint } };
  keyProof: readonly string[];
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

/**
 * Longest wait for a report or beacon transaction to be mined (ms). Sends are serialised, so one
 * that never mines (a stalled RPC, fees below the market's) would otherwise hold every later one,
 * and the reporter's duties with them; after it the send fails and is retried on a later tick.
 */
export const TX_WAIT_MS = 120_000;

/** Outcome of a report submission. */
export type SubmitOutcome = "submitted" | "already-reported";

/** Reads and writes of the registry for epoch reports and the beacon. */
export class RegistryReporting {
  private readonly registry: Contract;
  /** Sends are serialised so the signer's nonces never race. */
  private sending: Promise<unknown> = Promise.resolve();
  /** Largest (block time − local time) seen, ms: chain time runs at least this far ahead. */
  private clockOffsetMs = 0;
  /** The current epoch's first block, once found (computeTerms reads there on every call). */
  private readonly startBlocks = new Map<number, number>();
  /** Non-zero `agentSnapshotsRoot` of reported epochs, oldest asked first. */
  private readonly reportedRoots = new Map<number, string>();

  constructor(
    private readonly provider: RpcProvider,
    readonly chainId: bigint,
    readonly address: string,
    /** The report signer; without it the instance only reads (peers of a node that does not report). */
    wallet?: Wallet,
    /** The registry's deployment block: log searches never go below it. */
    private readonly fromBlock = 0,
    /** Longest wait for a sent transaction to be mined; then the send fails and the next one may go. */
    private readonly txWaitMs = TX_WAIT_MS,
  ) {
    this.registry = new Contract(address, NODE_REGISTRY_ABI, wallet ? wallet.connect(provider) : provider);
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

  /** The active nodes now (for pings and peer fetch), without those whose key proof is invalid. */
  async activeNodes(): Promise<RegisteredNode[]> {
    const at = { chainId: this.chainId, registry: this.address };
    return ((await this.registry.activeNodes()) as NodeViewResult[]).filter((n) => hasValidKeyProof(at, n)).map(registered);
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
      computePrices: await this.computePricesAt(blockTag),
      startBlock: blockTag,
      agentPrices: await this.agentPricesAt(blockTag),
    };
  }

  /** The escrow's marketplace at `blockTag`, or undefined when it has none (agent calls are then not charged). */
  private async marketplaceAt(blockTag: number): Promise<Contract | undefined> {
    const address = (await (await this.escrowAt(blockTag)).marketplace({ blockTag })) as string;
    return address === ZeroAddress ? undefined : new Contract(address, AGENT_MARKETPLACE_ABI, this.provider);
  }

  /** The marketplace's LLM token price at `blockTag` (no marketplace: tokens are free). */
  private async agentPricesAt(blockTag: number): Promise<AgentPrices> {
    const market = await this.marketplaceAt(blockTag);
    return { per1kTokens: market ? ((await market.pricePer1kTokens({ blockTag })) as bigint) : 0n };
  }

  /**
   * Each agent's terms for `context`'s epoch (`agents`: `bytes32(agentId)` hex, without 0x): its
   * price `priceAt(id, epoch)` and its owner, read at the epoch's first block, so a price set
   * during the epoch charges only the next one's calls. Undefined for an id the marketplace does
   * not know (or no marketplace): its calls are not counted.
   */
  async agentTerms(context: Pick<EpochContext, "epoch" | "startBlock">, agents: readonly string[]): Promise<Map<string, AgentTerms | undefined>> {
    if (context.startBlock === undefined) throw new Error(`epoch ${context.epoch}'s context has no start block`);
    const blockTag = context.startBlock;
    const market = await this.marketplaceAt(blockTag);
    const count = market ? ((await market.agentCount({ blockTag })) as bigint) : 0n;
    const terms = new Map<string, AgentTerms | undefined>();
    for (const agent of agents) {
      const id = BigInt(`0x${agent}`);
      if (!market || id === 0n || id > count) {
        terms.set(agent, undefined);
        continue;
      }
      const [[price], { owner }] = (await Promise.all([market.priceAt(id, context.epoch, { blockTag }), market.agents(id, { blockTag })])) as [
        [bigint],
        { owner: string },
      ];
      terms.set(agent, { price, owner });
    }
    return terms;
  }

  /** The escrow's edge function prices at `blockTag` (governance parameters, docs/functions.md). */
  private async computePricesAt(blockTag: number): Promise<ComputePrices> {
    const escrow = await this.escrowAt(blockTag);
    const [perMillionRequests, perMillionCpuMs] = (await Promise.all([
      escrow.pricePerMillionRequests({ blockTag }),
      escrow.pricePerMillionCpuMs({ blockTag }),
    ])) as [bigint, bigint];
    return { perMillionRequests, perMillionCpuMs };
  }

  private async escrowAt(blockTag: number): Promise<Contract> {
    return new Contract((await this.registry.escrow({ blockTag })) as string, SERVICE_ESCROW_ABI, this.provider);
  }

  /**
   * What the current epoch's report may charge `account` for edge functions and at what prices,
   * both read at the block that started the epoch, as the committee reads them: the gateway admits
   * a paid request only when this covers it.
   */
  async computeTerms(account: string): Promise<ComputeTerms> {
    const { epoch, startBlock } = await this.currentEpochStart();
    const escrow = await this.escrowAt(startBlock);
    const [[debitable], prices] = await Promise.all([
      escrow.debitable([account], epoch, { blockTag: startBlock }) as Promise<bigint[]>,
      this.computePricesAt(startBlock),
    ]);
    return { epoch, debitable, prices };
  }

  /** The current epoch and the block that started it (cached per epoch). */
  async currentEpochStart(): Promise<{ epoch: number; startBlock: number }> {
    const epoch = Number(await this.registry.epoch());
    let startBlock = this.startBlocks.get(epoch);
    if (startBlock === undefined) {
      const log = await this.latestLog(this.registry.filters.EpochStarted(epoch), await this.provider.getBlockNumber());
      if (!log) throw new Error(`epoch ${epoch} has not started`);
      startBlock = log.blockNumber;
      this.startBlocks.clear();
      this.startBlocks.set(epoch, startBlock);
    }
    return { epoch, startBlock };
  }

  /**
   * What the escrow lets `context`'s report debit each account (`ServiceEscrow.debitable`), read at
   * the block that started the epoch: every member reads the same amounts whenever it asks, and
   * none of them can fall before the report (docs/payments.md).
   */
  async debitable(context: EpochContext, accounts: readonly string[]): Promise<Map<string, bigint>> {
    if (context.startBlock === undefined) throw new Error(`epoch ${context.epoch}'s context has no start block`);
    const blockTag = context.startBlock;
    const escrow = await this.escrowAt(blockTag);
    const amounts = new Map<string, bigint>();
    for (let i = 0; i < accounts.length; i += DEBITABLE_BATCH) {
      const part = accounts.slice(i, i + DEBITABLE_BATCH);
      const got = (await escrow.debitable(part, context.epoch, { blockTag })) as bigint[];
      part.forEach((a, j) => amounts.set(a.toLowerCase(), got[j]));
    }
    return amounts;
  }

  /**
   * The `agentSnapshotsRoot` of `epoch`'s report as the registry stores it
   * (`NodeRegistry.agentSnapshotsRoot(epoch)`), or undefined when the registry answers zero: the
   * epoch is not reported yet (not over, or its report not on chain), ended without a report, or
   * its report snapshotted no agent. None of these proves a record (a zero root proves nothing,
   * protocol/agentSnapshots.ts), so a taker treats them alike. One `eth_call` at the latest block,
   * whatever the epoch: no archive endpoint, no search. A reported epoch's root never changes:
   * a non-zero answer is kept (the last {@link REPORTED_ROOTS_KEPT} epochs asked); a zero one is
   * asked again, as its epoch may be reported yet.
   */
  async reportedAgentSnapshotsRoot(epoch: number): Promise<string | undefined> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) return undefined;
    const kept = this.reportedRoots.get(epoch);
    if (kept) return kept;
    const root = (await this.registry.agentSnapshotsRoot(epoch)) as string;
    if (BigInt(root) === 0n) return undefined;
    if (this.reportedRoots.size >= REPORTED_ROOTS_KEPT) this.reportedRoots.delete(this.reportedRoots.keys().next().value!);
    this.reportedRoots.set(epoch, root);
    return root;
  }

  /** The registry's latest log of `filter` at or below `toBlock`, down to `fromBlock`, the deployment block by default ({@link latestLogOf}). */
  private latestLog(filter: ContractEventName, toBlock: number, fromBlock = this.fromBlock): Promise<EventLog | undefined> {
    return latestLogOf(this.registry, filter, toBlock, fromBlock);
  }

  /** The beacon state of `nodeId` in `epoch`. */
  async beacon(epoch: number, nodeId: number): Promise<{ commitment: string; revealed: boolean }> {
    const [commitment, revealed] = (await this.registry.beacons(epoch, nodeId)) as [string, boolean];
    return { commitment, revealed };
  }

  /** Sends `commitBeacon` and waits for it to be mined. */
  commitBeacon(nodeId: number, commitment: string): Promise<void> {
    return this.send(async () => void (await (await this.registry.commitBeacon(nodeId, commitment)).wait(1, this.txWaitMs)));
  }

  /** Sends `revealBeacon` and waits for it to be mined. */
  revealBeacon(nodeId: number, secret: string): Promise<void> {
    return this.send(async () => void (await (await this.registry.revealBeacon(nodeId, secret)).wait(1, this.txWaitMs)));
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
        await (await this.registry.submitEpochReport(report, signatures)).wait(1, this.txWaitMs);
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

/** The gateway origin a node registered: `http://host:ports.gateway`. */
export function gatewayUrlOf(endpoints: { host: string; ports: { gateway: bigint } }): string {
  return `http://${endpoints.host}:${Number(endpoints.ports.gateway)}`;
}

function registered(n: NodeViewResult): RegisteredNode {
  return {
    id: Number(n.id),
    nodeKey: n.nodeKey.slice(2).toLowerCase(),
    signer: getAddress(n.signer),
    owner: getAddress(n.owner),
    lockedUntil: BigInt(n.lockedUntil),
    gatewayUrl: gatewayUrlOf(n.endpoints),
    mempool: { host: n.endpoints.host, port: Number(n.endpoints.ports.mempool) },
  };
}
