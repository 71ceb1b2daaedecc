/**
 * The nodes that may host agents, from the NodeRegistry (docs/agents-runtime.md "Hosting and
 * take-over"): the current epoch's active set, without the nodes that are not `Active` (jailed,
 * exiting) and those whose key proof is invalid, each with the gateway origin it registered
 * (`http://host:ports.gateway`). The registry has no "offers agents" flag: every active node is in
 * the set, and one that does not run the agents service simply never answers the host probe
 * (`GET /agents/_key`), so it is passed over like a node that is down.
 *
 * The set changes only at an epoch change (registration, jailing and exit all take effect there),
 * so the epoch is checked at most every `pollMs` and the set re-read, at the same block, only when
 * it moved. While the RPC fails the last set is kept; before the first read succeeds, callers get
 * the error. The committee is read with it: its members (and those of the committee before) keep
 * the reported snapshot proofs a node taking an agent over asks for. The committee that signed the
 * latest report is that of the epoch the registry's latest `EpochReported` names: the previous
 * epoch's unless it was skipped (`EpochSkipped`, no report). It is the committee this node read in
 * that epoch when it read it just before this change; otherwise (started since, down over a change,
 * or the epoch skipped) it is read from the chain: the ids of that epoch's `CommitteeSelected` (a
 * log found by its indexed epoch), their nodes as the registry shows them now. Both logs are
 * searched back at most {@link PREVIOUS_COMMITTEE_BLOCKS}.
 */
import { Contract, getAddress } from "ethers";
import type { Committees, HostingSet, HostNode } from "../agents/agentHosting";
import { NODE_REGISTRY_ABI } from "./registryAbi";
import { hasValidKeyProof, type RegistryAddress, type RpcProvider } from "./registryCommittee";
import { gatewayUrlOf, latestLogOf } from "./registryReporting";

/** NodeStaking.Status.Active. */
const ACTIVE = 2n;

/**
 * Blocks searched back for the latest `EpochReported` and its epoch's `CommitteeSelected` (in
 * requests of LOG_RANGE, at most 100 each): about 23 days of Base's 2-second blocks, many epochs of
 * a day; past it the committee that signed the latest report stays unknown (the current committee
 * alone is asked).
 */
const PREVIOUS_COMMITTEE_BLOCKS = 1_000_000;

interface NodeViewResult {
  owner: string;
  nodeKey: string;
  signer: string;
  status: bigint;
  endpoints: { host: string; ports: { gateway: bigint } };
  keyProof: readonly string[];
}

/** The hosting set read from the registry, re-read at each epoch change. */
export class RegistryHostingNodes {
  private readonly registry: Contract;
  private readonly at: RegistryAddress;
  private set: (HostingSet & { epoch: bigint; committee: HostNode[]; reportedCommittee: HostNode[] }) | undefined;
  private checkedAt = -Infinity;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly provider: RpcProvider,
    chainId: bigint,
    address: string,
    private readonly pollMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.registry = new Contract(address, NODE_REGISTRY_ABI, provider);
    this.at = { chainId, registry: getAddress(address) };
  }

  /** The hosting set of the current epoch (checked against the chain at most every `pollMs`). */
  async nodes(): Promise<HostingSet> {
    await this.current();
    return this.set!;
  }

  /**
   * The committee of the latest reported epoch (`closedLast`: the nodes that signed the latest
   * report and keep its proofs) and of the current epoch (`current`: they close the next one), those
   * with a valid key proof and a gateway; read with the hosting set.
   */
  async committees(): Promise<Committees> {
    await this.current();
    const { committee, reportedCommittee } = this.set!;
    return { closedLast: reportedCommittee, current: committee };
  }

  /** Re-reads the set when `pollMs` has passed since the last check (the last set stands while the RPC fails). */
  private async current(): Promise<void> {
    if (this.now() - this.checkedAt >= this.pollMs) {
      this.reading ??= this.refresh().finally(() => (this.reading = undefined));
      try {
        await this.reading;
      } catch (error) {
        if (!this.set) throw error;
      }
    }
  }

  private async refresh(): Promise<void> {
    const blockTag = await this.provider.getBlockNumber();
    const epoch = (await this.registry.epoch({ blockTag })) as bigint;
    if (epoch !== this.set?.epoch) {
      const [views, start, [, , , members]] = await Promise.all([
        this.registry.activeNodes({ blockTag }) as Promise<NodeViewResult[]>,
        this.registry.epochStart({ blockTag }) as Promise<bigint>,
        this.registry.committee({ blockTag }) as Promise<[bigint, bigint, bigint, NodeViewResult[]]>,
      ]);
      const nodes = hostingNodesOf(views, this.at);
      const committee = hostingNodesOf(members, this.at);
      const reportedCommittee = await this.reportedCommittee(epoch, blockTag);
      // Who left at this change, as far as this node saw the previous epoch (a node started in this epoch knows of none).
      const stay = new Set(nodes.map((n) => n.nodeKey));
      const left = (this.set?.nodes ?? []).filter((n) => !stay.has(n.nodeKey)).map((n) => ({ nodeKey: n.nodeKey, atMs: Number(start) * 1000 }));
      this.set = { epoch, nodes, left, committee, reportedCommittee };
    }
    this.checkedAt = this.now();
  }

  /**
   * The committee that signed the latest report before `epoch`, read at `blockTag`: the one this
   * node read in the epoch before when that epoch was reported, else the ids its epoch's
   * `CommitteeSelected` log names, their nodes as the registry shows them at `blockTag`. Empty when
   * a log is not within {@link PREVIOUS_COMMITTEE_BLOCKS} or the RPC refuses the search: the proof
   * sources are then the current committee alone, rather than no hosting set at all.
   */
  private async reportedCommittee(epoch: bigint, blockTag: number): Promise<HostNode[]> {
    if (epoch === 0n) return [];
    const from = Math.max(0, blockTag - PREVIOUS_COMMITTEE_BLOCKS);
    try {
      const reported = await latestLogOf(this.registry, this.registry.filters.EpochReported(), blockTag, from);
      if (!reported) return [];
      const reportedEpoch = BigInt(reported.args.epoch as bigint);
      if (this.set && reportedEpoch === this.set.epoch && epoch === this.set.epoch + 1n) return this.set.committee;
      const selected = await latestLogOf(this.registry, this.registry.filters.CommitteeSelected(reportedEpoch), blockTag, from);
      const ids = (selected?.args.nodeIds ?? []) as readonly bigint[];
      if (ids.length === 0) return [];
      return hostingNodesOf((await this.registry.getNodes([...ids], { blockTag })) as NodeViewResult[], this.at);
    } catch {
      // A node that read the epoch before keeps that committee rather than none (right unless the epoch was skipped).
      return this.set && epoch === this.set.epoch + 1n ? this.set.committee : [];
    }
  }
}

/** The registry's active set as hosting nodes: `Active` status, a valid key proof and a gateway port. */
export function hostingNodesOf(views: readonly NodeViewResult[], at: RegistryAddress): HostNode[] {
  return views
    .filter((n) => BigInt(n.status) === ACTIVE && Number(n.endpoints.ports.gateway) > 0 && hasValidKeyProof(at, n))
    .map((n) => ({ nodeKey: n.nodeKey.slice(2).toLowerCase(), gatewayUrl: gatewayUrlOf(n.endpoints) }));
}
