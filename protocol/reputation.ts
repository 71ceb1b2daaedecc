/**
 * Node reputation (docs/spec.md §5; the algorithm of Fleek's node, docs/consensus.md "Fleek's own node", reputation): per-metric
 * weighted means of the peers' reports (weights: the reporters' reputation; outliers beyond 3σ
 * dropped), min-max normalised across nodes, averaged to a 0-100 score, then smoothed
 * 0.7 × old + 0.3 × new. Pure and deterministic (IEEE-754 doubles, fixed iteration order), so the
 * node that signs the report and the indexer that checks it get the same integers.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

/** What one node reported about one peer during the epoch; absent metrics were not measured. */
export interface PeerMeasurement {
  reporter: number;
  peer: number;
  /** Mean latency, ms (lower is better). */
  latency?: number;
  /** Signed sum of interaction weights (good deliveries add, failures subtract). */
  interactions?: number;
  /** Bytes per ms. */
  inboundBandwidth?: number;
  outboundBandwidth?: number;
  bytesReceived?: number;
  bytesSent?: number;
  /** Percent of pings answered, 0-100. */
  uptime?: number;
}

/** The metrics, in the order the score averages them. */
export const METRICS = ["latency", "interactions", "inboundBandwidth", "outboundBandwidth", "bytesReceived", "bytesSent", "uptime"] as const;
type Metric = (typeof METRICS)[number];

/** Tunables with the values of Fleek's testnet. */
export interface ReputationOptions {
  /** Reports a node needs to be scored (4). */
  minReports: number;
  /** Weight of the old score in the smoothing (0.7). */
  ewmaWeight: number;
  /** Metrics a score needs (3). */
  minMetrics: number;
}

export const DEFAULT_REPUTATION_OPTIONS: ReputationOptions = { minReports: 4, ewmaWeight: 0.7, minMetrics: 3 };

/** Sanity bounds of a report (lightning's `verify`): latency < 20 s, bandwidth ≤ 50 Gbps, uptime ≤ 100. */
export function isPlausible(m: PeerMeasurement): boolean {
  if (m.reporter === m.peer) return false;
  if (m.latency !== undefined && !(m.latency >= 0 && m.latency < 20_000)) return false;
  for (const bw of [m.inboundBandwidth, m.outboundBandwidth]) if (bw !== undefined && !(bw >= 0 && bw <= 6.25e6)) return false;
  if (m.uptime !== undefined && !(m.uptime >= 0 && m.uptime <= 100)) return false;
  return true;
}

/** Score of a node without one (new nodes, and reporters' default weight): the 15th percentile, or 15. */
export function defaultScore(scores: readonly number[]): number {
  if (scores.length === 0) return 15;
  const sorted = [...scores].sort((a, b) => a - b);
  return sorted[Math.floor(0.15 * sorted.length)];
}

/**
 * Weighted mean with outliers dropped: values with (x − mean)² / var ≥ 9 (sample variance; 1 for a
 * single value) are left out and the remaining weights are not renormalised.
 */
export function filteredWeightedMean(values: readonly number[], weights: readonly number[]): number {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = n === 1 ? 1 : values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  let result = 0;
  for (let i = 0; i < n; i++) {
    if (variance > 0 && (values[i] - mean) ** 2 / variance >= 9) continue;
    result += values[i] * weights[i];
  }
  return result;
}

/** Per-report weights of one metric: reporter reputation share; inverted for latency. */
function metricWeights(reps: readonly number[], metric: Metric): number[] {
  const sum = reps.reduce((s, r) => s + r, 0);
  let w = sum === 0 ? reps.map(() => 1 / reps.length) : reps.map((r) => r / sum);
  if (metric === "latency" && w.length > 1) {
    const inv = w.reduce((s, x) => s + (1 - x), 0);
    w = w.map((x) => (1 - x) / inv);
  }
  return w;
}

/**
 * New reputation of every node in `nodes` (integers 0-100).
 * @param nodes the nodes to score (the epoch's active set)
 * @param measurements the peers' reports of the epoch
 * @param previous scores after the last epoch (missing: {@link defaultScore} of the known ones)
 */
export function computeReputation(
  nodes: readonly number[],
  measurements: readonly PeerMeasurement[],
  previous: ReadonlyMap<number, number>,
  options: ReputationOptions = DEFAULT_REPUTATION_OPTIONS,
): Map<number, number> {
  const fallback = defaultScore([...previous.values()]);
  const repOf = (id: number) => previous.get(id) ?? fallback;

  const byPeer = new Map<number, PeerMeasurement[]>();
  for (const m of measurements) {
    if (!isPlausible(m)) continue;
    const list = byPeer.get(m.peer) ?? [];
    list.push(m);
    byPeer.set(m.peer, list);
  }

  // 1. weighted, outlier-filtered mean of each metric for each node with enough reports
  const aggregated = new Map<number, Partial<Record<Metric, number>>>();
  for (const id of nodes) {
    const reports = byPeer.get(id) ?? [];
    if (reports.length < options.minReports) continue;
    const row: Partial<Record<Metric, number>> = {};
    for (const metric of METRICS) {
      const present = reports.filter((r) => r[metric] !== undefined);
      if (present.length === 0) continue;
      const weights = metricWeights(
        present.map((r) => repOf(r.reporter)),
        metric,
      );
      row[metric] = filteredWeightedMean(
        present.map((r) => r[metric] as number),
        weights,
      );
    }
    aggregated.set(id, row);
  }

  // 2. min-max normalisation across the scored nodes (uptime: / 100), 3. mean of the metrics
  const ranges = new Map<Metric, [number, number]>();
  for (const metric of METRICS) {
    const values = [...aggregated.values()].map((r) => r[metric]).filter((v): v is number => v !== undefined);
    if (values.length > 0) ranges.set(metric, [Math.min(...values), Math.max(...values)]);
  }
  const fresh = new Map<number, number>();
  for (const [id, row] of aggregated) {
    const parts: number[] = [];
    for (const metric of METRICS) {
      const v = row[metric];
      if (v === undefined) continue;
      if (metric === "uptime") {
        parts.push(v / 100);
        continue;
      }
      const [min, max] = ranges.get(metric) as [number, number];
      if (max - min < 1e-8) continue;
      const x = (v - min) / (max - min);
      parts.push(metric === "latency" ? 1 - x : x);
    }
    if (parts.length < options.minMetrics) continue;
    const mean = parts.reduce((s, p) => s + p, 0) / parts.length;
    fresh.set(id, Math.min(100, Math.floor(mean * 100)));
  }

  // 4. smoothing; a node without a new score gets 0 as its new score, so it decays
  const result = new Map<number, number>();
  for (const id of nodes) {
    const smoothed = options.ewmaWeight * repOf(id) + (1 - options.ewmaWeight) * (fresh.get(id) ?? 0);
    // Rounded down; the 1e-9 keeps 0.7 × 50 + 0.3 × 50 = 49.999… at 50.
    result.set(id, Math.min(100, Math.max(0, Math.floor(smoothed + 1e-9))));
  }
  return result;
}

/** Leaf encoding of the reputation tree: (nodeId, score). */
export const REPUTATION_LEAF_TYPES = ["uint32", "uint8"] as const;

/** The reputation root of the epoch report: a StandardMerkleTree of (nodeId, score), nodes in id order. */
export function reputationRoot(scores: ReadonlyMap<number, number>): string {
  if (scores.size === 0) return `0x${"00".repeat(32)}`;
  const entries = [...scores.entries()].sort((a, b) => a[0] - b[0]);
  return StandardMerkleTree.of(entries, [...REPUTATION_LEAF_TYPES]).root;
}
