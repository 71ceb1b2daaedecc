import { Table } from "../../components/Table";
import { ChartTip, useChartCursor } from "../../components/ChartCursor";
import { useRecentReputation } from "../../hooks/useRegistry";
import type { NodeInfo, ReputationPoint } from "../../data/source";
import { formatToken, shortAddress } from "../../lib/format";
import { shortKey } from "../../lib/nodes";

const SPARK_W = 64;

/**
 * Reputation over the latest epochs as a line 64 × 18 px on a 0-100 scale, with the latest score in
 * words; hovering or focusing it shows each epoch's score (the arrow keys move along), and its
 * label lists them for screen readers.
 */
export function Sparkline({ points }: { points: readonly ReputationPoint[] }) {
  const cursor = useChartCursor();
  if (points.length === 0) return <>—</>;
  const first = points[0].epoch;
  const span = points[points.length - 1].epoch - first || 1;
  const sx = (epoch: number) => ((epoch - first) / span) * (SPARK_W - 4) + 2;
  const sy = (score: number) => 16 - (score / 100) * 14;
  const coords = points.map((p) => `${sx(p.epoch)},${sy(p.score)}`).join(" ");
  const latest = points[points.length - 1];
  const { shown, svgProps } = cursor(
    points.map((p) => sx(p.epoch)),
    SPARK_W,
  );
  const active = shown === undefined ? undefined : points[shown];
  return (
    <span className="sparkline">
      {/* The tooltip's frame: exactly the line's box, so the tip's position matches the point's. */}
      <span className="frame">
        <svg
          viewBox={`0 0 ${SPARK_W} 18`}
          width={SPARK_W}
          height={18}
          role="img"
          aria-label={
            // Each score with its epoch where some epochs have none (the node was not scored then).
            points.length === span + 1
              ? `Reputation ${points.map((p) => p.score).join(", ")} in epochs ${first} to ${latest.epoch}`
              : `Reputation ${points.map((p) => `${p.score} in epoch ${p.epoch}`).join(", ")}`
          }
          {...svgProps}
        >
          <polyline fill="none" stroke="#8b5cf6" strokeWidth={1.5} points={coords} />
          {active && <circle cx={sx(active.epoch)} cy={sy(active.score)} r={2.5} fill="#8b5cf6" aria-hidden="true" />}
        </svg>
        {active && (
          <ChartTip at={sx(active.epoch) / SPARK_W}>
            <strong>Epoch {active.epoch}</strong> <span>reputation {active.score}</span>
          </ChartTip>
        )}
      </span>{" "}
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
