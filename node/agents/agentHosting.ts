/**
 * This node's view of who hosts each agent (docs/agents-runtime.md "Hosting and take-over"): the
 * rendezvous order of protocol/agentHosting.ts over the hosting set (one function, {@link HostingNodes}:
 * the config's nodes, or the registry's active nodes of the epoch), and
 * the first node in that order that answers is the host. A node that does not answer its gateway's
 * `GET /agents/_key` (or answers with another key) within the probe's timeout is passed over until
 * it answers again.
 */
import { agentHostOrder } from "../../protocol/agentHosting";

/** A node offering the agents service. */
export interface HostNode {
  nodeKey: string;
  gatewayUrl: string;
}

/** A registry's committees as take-over asks them for reported snapshot proofs. */
export interface Committees {
  /** The committee of the latest reported epoch (the previous one unless it was skipped): it signed that report, and its members keep its proofs. */
  closedLast: HostNode[];
  /** The current epoch's: it closes the next report. */
  current: HostNode[];
}

const PROBE_TIMEOUT_MS = 1_500;

/** Whether the node at `node.gatewayUrl` is up and is the node named (its gateway answers with its key). */
export async function probeHost(node: HostNode): Promise<boolean> {
  try {
    const answer = await fetch(`${node.gatewayUrl}/agents/_key`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (answer.status !== 200) return false;
    return ((await answer.json()) as { nodeKey?: unknown }).nodeKey === node.nodeKey;
  } catch {
    return false;
  }
}

/** The nodes that may host agents now, and those that just left the set. */
export interface HostingSet {
  nodes: readonly HostNode[];
  /**
   * Nodes of the previous epoch's set that are not in this one (jailed, exited), with when they
   * left (the epoch's start, ms): a record one of them signed before then was signed by a host,
   * and is what the agents it hosted resume from.
   */
  left: readonly { nodeKey: string; atMs: number }[];
}

/** The one source of the hosting set: config's `hosting.nodes`, or the registry's active set of the epoch. */
export type HostingNodes = () => Promise<HostingSet>;

/** Hosts by agent, from the hosting set and this node's probes. */
export class AgentHosting {
  private readonly probes = new Map<string, { up: Promise<boolean>; at: number }>();

  constructor(
    /** The one source of the hosting set: every question below asks it afresh (it may change at an epoch change). */
    private readonly hostingNodes: HostingNodes,
    /** How long a node's answer (or silence) to the probe is trusted, ms. */
    private readonly probeMs: number,
    /** This node's key (the gateway's). */
    readonly selfKey: string,
    private readonly probe: (node: HostNode) => Promise<boolean> = probeHost,
  ) {}

  /**
   * Whether `nodeKey` may sign a record taken at `takenAt` (ms): a node of the set now, or one that
   * left it at the last epoch change when the record was taken before it left.
   */
  async isHostNode(nodeKey: string, takenAt = Infinity): Promise<boolean> {
    const set = await this.hostingNodes();
    return set.nodes.some((n) => n.nodeKey === nodeKey) || set.left.some((n) => n.nodeKey === nodeKey && takenAt <= n.atMs);
  }

  /**
   * Why `signer` was not `agent`'s host as far as this node can tell, or undefined when it may have
   * been: this node, a node that left the set after taking the record (`takenAt`, ms), or a node of the hosting set that every node before it in the agent's order
   * let host (each is this node, which is taking the agent back, or does not answer now). A node of
   * the set ranked after a host that answers never hosted the agent: its records are refused.
   * Records in a reported `agentSnapshotsRoot` need no such guess (the committee checked them
   * against the epoch's hosting set: docs/agents-runtime.md "Snapshots through consensus").
   */
  async hostRefusal(agent: string, signer: string, takenAt = Infinity): Promise<string | undefined> {
    if (signer === this.selfKey) return undefined;
    if (!(await this.isHostNode(signer, takenAt))) return `signed by node ${signer}, which is not one of the nodes that host agents`;
    const order = await this.order(agent);
    // A host that left the set at the last epoch change (jailed, exited): its records from before then stand.
    if (!order.some((n) => n.nodeKey === signer)) return undefined;
    for (const node of order) {
      if (node.nodeKey === signer) return undefined;
      if (node.nodeKey !== this.selfKey && (await this.isUp(node)))
        return `signed by node ${signer}, which was not the agent's host: node ${node.nodeKey} comes before it in the agent's order and answers`;
    }
    return undefined;
  }

  /** The agent's nodes in hosting order. */
  async order(agent: string): Promise<HostNode[]> {
    const byKey = new Map((await this.hostingNodes()).nodes.map((n) => [n.nodeKey, n]));
    return agentHostOrder(agent, [...byKey.keys()]).map((key) => byKey.get(key)!);
  }

  /** The host of `agent` now: this node, or the first before it in the order that answers. */
  async hostOf(agent: string): Promise<HostNode> {
    const order = await this.order(agent);
    for (const node of order) {
      if (node.nodeKey === this.selfKey || (await this.isUp(node))) return node;
    }
    // This node is not in the set: the first that answers, or the first at all.
    return order[0];
  }

  /** The nodes after this one in the agent's order, which keep its snapshot records (at most `count`). */
  async successors(agent: string, count: number): Promise<HostNode[]> {
    return (await this.order(agent)).filter((n) => n.nodeKey !== this.selfKey).slice(0, count);
  }

  private isUp(node: HostNode): Promise<boolean> {
    const now = Date.now();
    const known = this.probes.get(node.nodeKey);
    if (known && now - known.at < this.probeMs) return known.up;
    const up = this.probe(node);
    this.probes.set(node.nodeKey, { up, at: now });
    return up;
  }
}
