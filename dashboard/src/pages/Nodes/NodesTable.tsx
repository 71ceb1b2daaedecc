import { Table } from "../../components/Table";
import { useRecentReputation } from "../../hooks/useRegistry";
import type { NodeInfo, ReputationPoint } from "../../data/source";
import { formatToken, shortAddress } from "../../lib/format";
import { shortKey } from "../../lib/nodes";

/** Reputation over the latest epochs as a line 64 × 18 px on a 0-100 scale, with the latest score in words. */
function Sparkline({ points }: { points: readonly ReputationPoint[] }) {
  if (points.length === 0) return <>—</>;
  const first = points[0].epoch;
  const span = points[points.length - 1].epoch - first || 1;
  const coords = points.map((p) => `${((p.epoch - first) / span) * 60 + 2},${16 - (p.score / 100) * 14}`).join(" ");
  const latest = points[points.length - 1];
  return (
    <span className="sparkline">
      <svg
        viewBox="0 0 64 18"
        width={64}
        height={18}
        role="img"
        aria-label={`Reputation ${points.map((p) => p.score).join(", ")} in epochs ${first} to ${latest.epoch}`}
      >
        <polyline fill="none" stroke="#8b5cf6" strokeWidth={1.5} points={coords} />
      </svg>{" "}
      {latest.score}
    </span>
  );
}

/** Every registered node with its status, committee seat, recent reputation, stake and lock. */
export function NodesTable({ nodes, committee }: { nodes: NodeInfo[]; committee: readonly number[] }) {
  const reputation = useRecentReputation();
  return (
    <section aria-labelledby="nodes-h">
      <h2 id="nodes-h">Registry</h2>
      <Table
        columns={["Node", "Key", "Host", "Owner", "Status", "Committee", "Reputation", "Stake", "Locked until epoch"]}
        rows={nodes}
        empty="No node is registered yet."
        testId="nodes"
      >
        {(n) => (
          <tr key={n.id} data-testid={`node-${n.id}`}>
            <th scope="row">{n.id}</th>
            <td title={n.nodeKey}>{shortKey(n.nodeKey)}</td>
            <td>{n.host}</td>
            <td title={n.owner}>{shortAddress(n.owner)}</td>
            <td data-testid="node-status">{n.status}</td>
            <td data-testid="node-committee">{committee.includes(n.id) ? "member" : "—"}</td>
            <td data-testid="node-reputation">{reputation.error ? "needs the indexer" : <Sparkline points={reputation.data?.get(n.id) ?? []} />}</td>
            <td>{formatToken(n.stake)}</td>
            <td>{n.lockedUntil === 0n ? "not locked" : n.lockedUntil.toString()}</td>
          </tr>
        )}
      </Table>
    </section>
  );
}
