/**
 * Report charges for tests that set a node's revenue directly instead of deriving it from
 * deliveries (no Hardhat import: the dashboard e2e and the indexer tests use it too).
 */
import type { NodeMeasurement, ServiceCharge } from "../protocol/report";
import { NO_SERVICE, ServiceKind } from "../protocol/usage";

/**
 * Charges that attribute each measured node's whole revenue to content delivery (its acks as the
 * requests): what a report needs when a test sets revenue directly rather than from deliveries.
 */
export function contentCharges(nodes: readonly NodeMeasurement[]): ServiceCharge[] {
  return nodes
    .filter((n) => n.revenue > 0n)
    .map((n) => ({ nodeId: n.nodeId, kind: ServiceKind.Content, service: NO_SERVICE, requests: n.deliveryAcks, cpuMs: 0n, amount: n.revenue }));
}

/** `facts` with {@link contentCharges} of its nodes (for completeEpochReport). */
export function withContentCharges<T extends { nodes: readonly NodeMeasurement[] }>(facts: T): T & { charges: ServiceCharge[] } {
  return { ...facts, charges: contentCharges(facts.nodes) };
}
