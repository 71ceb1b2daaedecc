/**
 * This node's view of who hosts each agent (docs/agents-runtime.md "Hosting and take-over"): the
 * rendezvous order of protocol/agentHosting.ts over the nodes offering the agents service, and
 * the first node in that order that answers is the host. A node that does not answer its gateway's
 * `GET /agents/_key` (or answers with another key) within the probe's timeout is passed over until
 * it answers again.
 */
import { agentHostOrder } from "../../protocol/agentHosting";
import type { HostingConfig } from "./agentsConfig";

/** A node offering the agents service. */
export interface HostNode {
  nodeKey: string;
  gatewayUrl: string;
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

/** Hosts by agent, from the configured node set and this node's probes. */
export class AgentHosting {
  private readonly byKey: Map<string, HostNode>;
  private readonly probes = new Map<string, { up: Promise<boolean>; at: number }>();

  constructor(
    private readonly config: HostingConfig,
    /** This node's key (the gateway's). */
    readonly selfKey: string,
    private readonly probe: (node: HostNode) => Promise<boolean> = probeHost,
  ) {
    this.byKey = new Map(config.nodes.map((n) => [n.nodeKey, n]));
  }

  /** Whether `nodeKey` is one of the nodes that may host agents (the signer of a record must be). */
  isHostNode(nodeKey: string): boolean {
    return this.byKey.has(nodeKey);
  }

  /**
   * Why `signer` was not `agent`'s host as far as this node can tell, or undefined when it may have
   * been: this node, or a node of the hosting set that every node before it in the agent's order
   * let host (each is this node, which is taking the agent back, or does not answer now). A node of
   * the set ranked after a host that answers never hosted the agent: its records are refused.
   * Records in a reported `agentSnapshotsRoot` need no such guess (the committee checked them
   * against the epoch's hosting set: docs/agents-runtime.md "Snapshots through consensus").
   */
  async hostRefusal(agent: string, signer: string): Promise<string | undefined> {
    if (signer === this.selfKey) return undefined;
    if (!this.byKey.has(signer)) return `signed by node ${signer}, which is not one of the nodes that host agents`;
    for (const node of this.order(agent)) {
      if (node.nodeKey === signer) return undefined;
      if (node.nodeKey !== this.selfKey && (await this.isUp(node)))
        return `signed by node ${signer}, which was not the agent's host: node ${node.nodeKey} comes before it in the agent's order and answers`;
    }
    return undefined;
  }

  /** The agent's nodes in hosting order. */
  order(agent: string): HostNode[] {
    return agentHostOrder(agent, [...this.byKey.keys()]).map((key) => this.byKey.get(key)!);
  }

  /** The host of `agent` now: this node, or the first before it in the order that answers. */
  async hostOf(agent: string): Promise<HostNode> {
    const order = this.order(agent);
    for (const node of order) {
      if (node.nodeKey === this.selfKey || (await this.isUp(node))) return node;
    }
    // This node is not in the set: the first that answers, or the first at all.
    return order[0];
  }

  /** The nodes after this one in the agent's order, which keep its snapshot records (at most `count`). */
  successors(agent: string, count: number): HostNode[] {
    return this.order(agent)
      .filter((n) => n.nodeKey !== this.selfKey)
      .slice(0, count);
  }

  private isUp(node: HostNode): Promise<boolean> {
    const now = Date.now();
    const known = this.probes.get(node.nodeKey);
    if (known && now - known.at < this.config.probeMs) return known.up;
    const up = this.probe(node);
    this.probes.set(node.nodeKey, { up, at: now });
    return up;
  }
}
