/**
 * The tooltip point of the hand-written SVG charts (LineChart, the Nodes sparkline): set by the
 * pointer (the nearest point) or, with focus, the arrow keys, Home and End; shown beside the point.
 */
import { useState, type KeyboardEvent, type MouseEvent, type ReactNode } from "react";

/**
 * A chart's cursor. Call `bind` with each point's x in view-box units (ascending) and the view
 * box's width: it gives the index of the point the tooltip shows (undefined: none) and the props
 * for the `<svg>` that make it focusable and move the cursor. A hook with a function to call
 * later, so charts can call it before returning early on empty data.
 */
export function useChartCursor() {
  const [active, setActive] = useState<number>();
  return (positions: readonly number[], width: number) => {
    const last = positions.length - 1;
    // The pointer picks the nearest x; the view box scales with the element, so compare in its units.
    const onMouseMove = (e: MouseEvent<SVGSVGElement>) => {
      const box = e.currentTarget.getBoundingClientRect();
      if (box.width === 0) return;
      const x = ((e.clientX - box.left) / box.width) * width;
      let nearest = 0;
      positions.forEach((p, i) => Math.abs(p - x) < Math.abs(positions[nearest] - x) && (nearest = i));
      setActive(nearest);
    };
    const onKeyDown = (e: KeyboardEvent<SVGSVGElement>) => {
      const current = active ?? last;
      const next = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: last }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      setActive(Math.max(0, Math.min(last, next)));
    };
    return {
      shown: active === undefined ? undefined : Math.min(active, last),
      svgProps: {
        tabIndex: 0,
        "aria-keyshortcuts": "ArrowLeft ArrowRight Home End",
        onMouseMove,
        onMouseLeave: () => setActive(undefined),
        onFocus: () => setActive((a) => a ?? last),
        onBlur: () => setActive(undefined),
        onKeyDown,
      },
    };
  };
}

/**
 * The tooltip at `at` (0 to 1 of the chart's width), on the side with more room. A live region, so
 * arrowing through a chart reads each point's values. Its parent must be positioned.
 */
export function ChartTip({ at, children }: { at: number; children: ReactNode }) {
  return (
    <div className={`chart-tip ${at > 0.5 ? "left" : "right"}`} style={{ left: `${at * 100}%` }} role="status" data-testid="chart-tip">
      {children}
    </div>
  );
}
