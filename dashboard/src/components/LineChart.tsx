/**
 * A small SVG line chart: a few series of a few hundred points, axes with four ticks, a legend
 * and an optional marked point. Hand-written because a chart library would cost more of the
 * first page's bundle budget than every chart here together.
 */

/** One line of the chart; x and y are plain numbers (scale bigints before). */
export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
}

export interface LineChartProps {
  /** What the chart shows, read by screen readers. */
  label: string;
  series: readonly Series[];
  formatX: (x: number) => string;
  formatY: (y: number) => string;
  /** A highlighted point, e.g. "now" or a curve's current supply. */
  marker?: { x: number; y: number; label: string };
}

const W = 640;
const H = 260;
const PAD = { left: 56, right: 16, top: 12, bottom: 28 };

/** Four evenly spaced values from `min` to `max`. */
function ticks(min: number, max: number): number[] {
  return [0, 1, 2, 3].map((i) => min + ((max - min) * i) / 3);
}

export function LineChart({ label, series, formatX, formatY, marker }: LineChartProps) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <p>No data to chart yet.</p>;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const minY = 0;
  const maxY = Math.max(...ys, marker?.y ?? 0) || 1;
  const sx = (x: number) => PAD.left + ((x - minX) / (maxX - minX || 1)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - minY) / (maxY - minY)) * (H - PAD.top - PAD.bottom);

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        {ticks(minY, maxY).map((y, i) => (
          <g key={`y${i}`}>
            <line x1={PAD.left} x2={W - PAD.right} y1={sy(y)} y2={sy(y)} className="grid" />
            <text x={PAD.left - 6} y={sy(y) + 4} textAnchor="end">
              {formatY(y)}
            </text>
          </g>
        ))}
        {/* By position: with a single point every tick has the same value. */}
        {ticks(minX, maxX).map((x, i) => (
          <text key={`x${i}`} x={sx(x)} y={H - 8} textAnchor="middle">
            {formatX(x)}
          </text>
        ))}
        {series.map((s) => (
          <polyline key={s.name} fill="none" stroke={s.color} strokeWidth={2} points={s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")} />
        ))}
        {marker && (
          <g className="marker">
            <circle cx={sx(marker.x)} cy={sy(marker.y)} r={5} />
            <text x={sx(marker.x) + 8} y={sy(marker.y) - 8}>
              {marker.label}
            </text>
          </g>
        )}
      </svg>
      <figcaption>
        {series.map((s) => (
          <span key={s.name} className="legend">
            <i style={{ background: s.color }} aria-hidden="true" /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
