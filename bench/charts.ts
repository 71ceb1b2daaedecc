/**
 * SVG charts for bench/RESULTS.md, drawn by plain templating (no browser, no dependency): a line
 * chart with points (x/y series) and a grouped bar chart. Axes start at zero and carry five ticks
 * of rounded values, so charts of different runs compare by eye.
 */

/** A named series of (x, y) points. */
export interface Series {
  name: string;
  points: [number, number][];
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 };
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"];

/** A "nice" upper bound for an axis (1, 2, 2.5 or 5 × a power of ten). */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const label = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(2)}`);

function frame(title: string, xLabel: string, yLabel: string, yMax: number, body: string, xTicks: string, legend: string[]): string {
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const yTicks = [0, 1, 2, 3, 4, 5]
    .map((i) => {
      const y = MARGIN.top + plotH - (plotH * i) / 5;
      return `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/><text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${label((yMax * i) / 5)}</text>`;
    })
    .join("");
  const legendSvg = legend
    .map(
      (name, i) =>
        `<rect x="${MARGIN.left + 10 + i * 150}" y="${MARGIN.top - 22}" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${MARGIN.left + 24 + i * 150}" y="${MARGIN.top - 13}">${escape(name)}</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escape(title)}</text>
${yTicks}${xTicks}${body}${legendSvg}
<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#111"/>
<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}" stroke="#111"/>
<text x="${WIDTH / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escape(xLabel)}</text>
<text transform="translate(16 ${HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>
</svg>
`;
}

/** A line chart of `series` (each drawn as a polyline with its points marked). */
export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const all = o.series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(0, ...all.map((p) => p[0])));
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + (plotW * v) / xMax;
  const y = (v: number) => MARGIN.top + plotH - (plotH * v) / yMax;
  const xTicks = [0, 1, 2, 3, 4, 5]
    .map((i) => `<text x="${x((xMax * i) / 5)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${label((xMax * i) / 5)}</text>`)
    .join("");
  const body = o.series
    .map((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const pts = s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`);
      const marks =
        s.points.length <= 40 ? s.points.map(([a, b]) => `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3" fill="${colour}"/>`).join("") : "";
      return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(" ")}"/>${marks}`;
    })
    .join("\n");
  return frame(
    o.title,
    o.xLabel,
    o.yLabel,
    yMax,
    body,
    xTicks,
    o.series.map((s) => s.name),
  );
}

/** A grouped bar chart: one group per category, one bar per series (values in category order). */
export function barChart(o: { title: string; xLabel: string; yLabel: string; categories: string[]; series: { name: string; values: number[] }[] }): string {
  const yMax = niceMax(Math.max(0, ...o.series.flatMap((s) => s.values)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const group = plotW / Math.max(1, o.categories.length);
  const bar = (group * 0.7) / Math.max(1, o.series.length);
  const body = o.categories
    .flatMap((_, c) =>
      o.series.map((s, i) => {
        const h = (plotH * (s.values[c] ?? 0)) / yMax;
        const left = MARGIN.left + c * group + group * 0.15 + i * bar;
        return `<rect x="${left.toFixed(1)}" y="${(MARGIN.top + plotH - h).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[i % COLOURS.length]}"/>`;
      }),
    )
    .join("\n");
  const xTicks = o.categories
    .map((name, c) => `<text x="${MARGIN.left + c * group + group / 2}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${escape(name)}</text>`)
    .join("");
  return frame(
    o.title,
    o.xLabel,
    o.yLabel,
    yMax,
    body,
    xTicks,
    o.series.map((s) => s.name),
  );
}
