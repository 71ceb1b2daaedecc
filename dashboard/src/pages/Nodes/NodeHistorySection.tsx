import { useNodeHistory } from "../../hooks/useRegistry";
import { Loaded } from "../../components/Status";
import { LineChart } from "../../components/LineChart";
import { Table } from "../../components/Table";
import type { NodeInfo, ReputationPoint } from "../../data/source";
import { formatToken, formatUsdc } from "../../lib/format";

/** Epochs from the first scored to the last, a gap (null) where the node was not scored, so the line breaks instead of joining them. */
export function withGaps(points: readonly ReputationPoint[]): [number, number | null][] {
  if (points.length === 0) return [];
  const byEpoch = new Map(points.map((p) => [p.epoch, p.score]));
  const first = points[0].epoch;
  const last = points[points.length - 1].epoch;
  return Array.from({ length: last - first + 1 }, (_, i) => [first + i, byEpoch.get(first + i) ?? null]);
}

/** A node's reputation over epochs (chart) and its part of each reported epoch's rewards. */
export function NodeHistorySection({ node }: { node: NodeInfo }) {
  const history = useNodeHistory(node.id);
  return (
    <Loaded state={history} what={`node ${node.id}'s reputation and rewards`}>
      {(h) =>
        !h ? (
          <p className="empty">The indexer has not seen node {node.id} yet.</p>
        ) : (
          <>
            <h3>Reputation</h3>
            {h.reputation.length === 0 ? (
              <p className="empty" data-testid="reputation-empty">
                No reputation yet: scores come with the committee's epoch reports.
              </p>
            ) : (
              <LineChart
                label={`Reputation of node ${node.id} over epochs, 0 to 100`}
                series={[{ name: "Reputation (by epoch)", color: "#8b5cf6", points: withGaps(h.reputation) }]}
                yDomain={[0, 100]}
                // Ticks fall between epochs when there are few: label only whole epochs.
                formatX={(x) => (Number.isInteger(x) ? String(x) : "")}
                formatY={(y) => Math.round(y).toString()}
                xName="Epoch"
              />
            )}
            <h3>Rewards</h3>
            <Table columns={["Epoch", "FLK", "USDC", "Claimed"]} rows={h.rewards} empty="No rewards yet: each epoch report pays the nodes that served.">
              {(r) => (
                <tr key={r.epoch} data-testid="reward-row">
                  <th scope="row">{r.epoch}</th>
                  <td>{r.flkAmount === null ? "not settled" : formatToken(r.flkAmount)}</td>
                  <td>{r.usdcAmount === null ? "not settled" : formatUsdc(r.usdcAmount)}</td>
                  <td>{r.claimed ? "yes" : "no"}</td>
                </tr>
              )}
            </Table>
          </>
        )
      }
    </Loaded>
  );
}
