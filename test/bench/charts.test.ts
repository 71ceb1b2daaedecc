/**
 * The SVG charts of bench/run: well-formed, axes rounded up to a readable maximum, points placed
 * on the plot by value, bars in category order.
 */
import { expect } from "chai";
import { barChart, lineChart } from "../../bench/charts";

/** The numbers of an attribute list like `points="70.0,310.0 550.0,49.0"`. */
const points = (svg: string) => [...svg.matchAll(/points="([^"]+)"/g)].map((m) => m[1].split(" ").map((p) => p.split(",").map(Number)));

describe("bench charts", () => {
  it("draws a line chart with a rounded axis and each point where its value says", () => {
    const svg = lineChart({
      title: "t <&>",
      xLabel: "x",
      yLabel: "y",
      series: [
        {
          name: "p50",
          points: [
            [0, 0],
            [10, 37],
          ],
        },
      ],
    });
    expect(svg.startsWith("<svg")).to.equal(true);
    expect(svg).to.contain("t &lt;&amp;&gt;"); // text is escaped
    // y axis up to 50 (37 rounded up to 1, 2, 2.5 or 5 × 10^n), x axis up to 10.
    expect(svg).to.contain(">50</text>");
    expect(svg).not.to.contain(">60</text>");
    const [[origin, top]] = points(svg);
    // The plot spans x 70..620 and y 310..40 (640×360 with margins): (0,0) bottom left, (10,37) at 37/50 of the height.
    expect(origin).to.deep.equal([70, 310]);
    expect(top[0]).to.equal(620);
    expect(top[1]).to.be.closeTo(310 - (270 * 37) / 50, 0.1);
  });

  it("draws grouped bars in category order, the tallest reaching the rounded maximum", () => {
    const svg = barChart({
      title: "g",
      xLabel: "size",
      yLabel: "req/s",
      categories: ["4 KiB", "1 MiB"],
      series: [
        { name: "gateway", values: [20_000, 700] },
        { name: "nginx", values: [25_000, 580] },
      ],
    });
    const heights = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"/g)].map((m) => Number(m[1]));
    // Bars: 4 KiB gateway, 4 KiB nginx, 1 MiB gateway, 1 MiB nginx (legend swatches come after).
    expect(heights.slice(0, 4)).to.deep.equal([216, 270, 7.6, 6.3]);
    expect(svg).to.contain(">25k</text>");
  });
});
