/**
 * A small SVG line chart: a few series of a few hundred points, round y ticks, four x labels kept
 * inside the frame, a legend, an optional marked point, gaps where a series has no value, stacked
 * areas on request, a tooltip on hover and on focus (arrow keys move it), and the same data as a
 * table for screen readers and keyboards. Hand-written because a chart library would cost more of
 * the first page's bundle budget than every chart here together (the dashboard has none).
 */
import { ChartTip, useChartCursor } from "./ChartCursor";

/** One line of the chart; x and y are plain numbers (scale bigints before). A null y is a gap: the line breaks there. */
export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number | null])[];
}

export interface LineChartProps {
  /** What the chart shows, read by screen readers. */
  label: string;
  series: readonly Series[];
  formatX: (x: number) => string;
  formatY: (y: number) => string;
  /** A highlighted point, e.g. "now" or a curve's current supply. */
  marker?: { x: number; y: number; label: string };
  /** A fixed y range (a score of 0 to 100) instead of 0 to the data's maximum. */
  yDomain?: readonly [number, number];
  /** The x column's header in the table alternative. */
  xName?: string;
  /** An x value in the table alternative, where an axis label is too coarse (a year for a date); `formatX` by default. */
  formatRowX?: (x: number) => string;
  /**
   * Stack the series as areas, the first at the bottom: parts of a whole (the supply's). The series
   * must share their x values; the tooltip and the table give each part's own value.
   */
  stacked?: boolean;
}

const W = 640;
const H = 260;
const PAD = { left: 56, right: 16, top: 12, bottom: 28 };

/** Four evenly spaced values from `min` to `max`. */
function ticks(min: number, max: number): number[] {
  return [0, 1, 2, 3].map((i) => min + ((max - min) * i) / 3);
}

/**
 * Round ticks from `min` covering `max`: a step of 1, 2, 2.5 or 5 times a power of ten giving at
 * most five intervals (0, 25, 50, 75, 100 for a score; 0, 20M, 40M… for a supply).
 */
export function niceTicks(min: number, max: number): number[] {
  const span = max - min || 1;
  const magnitude = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => span / s <= 5) ?? 10 * magnitude;
  const count = Math.ceil(span / step - 1e-9);
  // toPrecision drops float noise (0.6000000000000001) from the labels.
  return Array.from({ length: count + 1 }, (_, i) => min + Number((i * step).toPrecision(12)));
}

/** A series' points split at its gaps: one polyline per run of values. */
function runs(points: Series["points"]): [number, number][][] {
  const out: [number, number][][] = [[]];
  for (const [x, y] of points) {
    if (y === null) {
      if (out[out.length - 1].length > 0) out.push([]);
    } else out[out.length - 1].push([x, y]);
  }
  return out.filter((r) => r.length > 0);
}

/** Each series' points raised by the series below it (a missing value counts as 0): the tops of stacked areas. */
function stack(series: readonly Series[]): [number, number][][] {
  const below = new Map<number, number>();
  return series.map((s) =>
    s.points.map(([x, y]) => {
      const top = (below.get(x) ?? 0) + (y ?? 0);
      below.set(x, top);
      return [x, top];
    }),
  );
}

/** `series`' value at `x`, or undefined where it has none. */
const valueAt = (s: Series, x: number) => s.points.find((p) => p[0] === x)?.[1] ?? undefined;

export function LineChart({ label, series, formatX, formatY, marker, yDomain, xName = "x", formatRowX = formatX, stacked = false }: LineChartProps) {
  const cursor = useChartCursor();
  const tops = stacked ? stack(series) : undefined;
  const values = (tops ?? series.map((s) => s.points)).flat().filter((p): p is readonly [number, number] => p[1] !== null);
  if (values.length === 0) return <p>No data to chart yet.</p>;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const yTicks = niceTicks(yDomain?.[0] ?? 0, yDomain?.[1] ?? (Math.max(...values.map((p) => p[1]), marker?.y ?? 0) || 1));
  const minY = yTicks[0];
  const maxY = yTicks[yTicks.length - 1];
  const sx = (x: number) => PAD.left + ((x - minX) / (maxX - minX || 1)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - minY) / (maxY - minY)) * (H - PAD.top - PAD.bottom);
  const xTicks = ticks(minX, maxX);
  // The outer x labels align to the frame's edges so they are not cut off.
  const anchor = (i: number) => (i === 0 ? "start" : i === xTicks.length - 1 ? "end" : "middle");
  const rows = [...new Set(xs)].sort((a, b) => a - b);
  // The x value the tooltip shows.
  const { shown: index, svgProps } = cursor(rows.map(sx), W);
  const shown = index === undefined ? undefined : rows[index];

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} {...svgProps}>
        {yTicks.map((y, i) => (
          <g key={`y${i}`}>
            <line x1={PAD.left} x2={W - PAD.right} y1={sy(y)} y2={sy(y)} className="grid" />
            <text x={PAD.left - 6} y={sy(y) + 4} textAnchor="end">
              {formatY(y)}
            </text>
          </g>
        ))}
        {/* By position: with a single point every tick has the same value. */}
        {xTicks.map((x, i) => (
          <text key={`x${i}`} x={sx(x)} y={H - 8} textAnchor={anchor(i)}>
            {formatX(x)}
          </text>
        ))}
        {tops
          ? // Each area runs along its top and back along the top of the one below (the axis for the first).
            tops.map((top, i) => {
              const bottom = i === 0 ? top.map(([x]) => [x, minY] as const) : tops[i - 1];
              const outline = [...top, ...[...bottom].reverse()].map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ");
              return <polygon key={series[i].name} points={outline} fill={series[i].color} fillOpacity={0.75} stroke={series[i].color} />;
            })
          : series.flatMap((s) =>
              runs(s.points).map((run, i) => (
                <polyline key={`${s.name}-${i}`} fill="none" stroke={s.color} strokeWidth={2} points={run.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")} />
              )),
            )}
        {shown !== undefined && (
          <g className="cursor" aria-hidden="true">
            <line x1={sx(shown)} x2={sx(shown)} y1={PAD.top} y2={H - PAD.bottom} />
            {series.map((s, i) => {
              const y = tops ? tops[i].find((p) => p[0] === shown)?.[1] : valueAt(s, shown);
              return y === undefined || y === null ? null : <circle key={s.name} cx={sx(shown)} cy={sy(y)} r={4} fill={s.color} />;
            })}
          </g>
        )}
        {marker && (
          <g className="marker">
            <circle cx={sx(marker.x)} cy={sy(marker.y)} r={5} />
            <text x={sx(marker.x) + (sx(marker.x) > W / 2 ? -8 : 8)} y={sy(marker.y) - 8} textAnchor={sx(marker.x) > W / 2 ? "end" : "start"}>
              {marker.label}
            </text>
          </g>
        )}
      </svg>
      {shown !== undefined && (
        <ChartTip at={sx(shown) / W}>
          <strong>{formatRowX(shown)}</strong>
          {series.map((s) => {
            const y = valueAt(s, shown);
            return (
              <span key={s.name}>
                <i style={{ background: s.color }} aria-hidden="true" /> {s.name}: {y === undefined || y === null ? "—" : formatY(y)}
              </span>
            );
          })}
        </ChartTip>
      )}
      <figcaption>
        {series.map((s) => (
          <span key={s.name} className="legend">
            <i style={{ background: s.color }} aria-hidden="true" /> {s.name}
          </span>
        ))}
        <details className="chart-table">
          <summary>Show the data as a table</summary>
          <div className="table-scroll" tabIndex={0} role="region" aria-label={`${label}: data`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{xName}</th>
                  {series.map((s) => (
                    <th key={s.name} scope="col">
                      {s.name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((x) => (
                  <tr key={x}>
                    <th scope="row">{formatRowX(x)}</th>
                    {series.map((s) => {
                      const y = valueAt(s, x);
                      return <td key={s.name}>{y === undefined || y === null ? "—" : formatY(y)}</td>;
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}
