/**
 * Which node hosts an agent (docs/agents-runtime.md "Hosting and take-over"): rendezvous hashing
 * of (agent id, node key) over the nodes offering the agents service. Every node computes the
 * same order from the same node set, with no coordination; when a node leaves only the agents it
 * hosted move, each to the next node in its own order.
 */
import { concat, keccak256, toUtf8Bytes } from "ethers";

const DOMAIN = toUtf8Bytes("fleek-network/agent-host/v1\0");
const NODE_KEY = /^[0-9a-f]{64}$/;

/** The score of node `nodeKey` (32-byte hex) for agent `agent`: keccak256(domain ‖ agent ‖ 0x00 ‖ nodeKey). */
export function agentHostScore(agent: string, nodeKey: string): bigint {
  if (!NODE_KEY.test(nodeKey)) throw new Error(`node key ${JSON.stringify(nodeKey)} must be 32 bytes of lower-case hex`);
  return BigInt(keccak256(concat([DOMAIN, toUtf8Bytes(agent), new Uint8Array([0]), "0x" + nodeKey])));
}

/** The nodes in the order they host `agent`: highest score first (the host), then its successors. */
export function agentHostOrder(agent: string, nodeKeys: readonly string[]): string[] {
  const scored = [...new Set(nodeKeys)].map((key) => ({ key, score: agentHostScore(agent, key) }));
  return scored.sort((a, b) => (a.score === b.score ? 0 : a.score > b.score ? -1 : 1)).map((s) => s.key);
}

/**
 * The host an agent is assigned among `hostingSet` (node keys): the first of its rendezvous order.
 * The epoch state keeps only this node's snapshot records of the agent (docs/agents-runtime.md
 * "Snapshots through consensus"); undefined with an empty set.
 */
export function assignedAgentHost(agent: string, hostingSet: readonly string[]): string | undefined {
  return agentHostOrder(agent, hostingSet)[0];
}
