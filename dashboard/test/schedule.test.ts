import { describe, expect, it } from "vitest";
import { emissionSchedule, supplyProjection, unlockCalendar, MONTH, YEAR } from "../src/lib/schedule";
import { CIRCULATING_AT_TGE } from "../../protocol/genesis";
import { FLK } from "../../protocol/units";

const TGE = 1_800_000_000n;

describe("unlock calendar", () => {
  const rows = unlockCalendar(TGE);
  it("covers every allocation and unlocks the TGE circulating supply", () => {
    expect(rows).toHaveLength(6);
    expect(rows.reduce((s, r) => s + r.atTge, 0n)).toBe(CIRCULATING_AT_TGE);
  });
  it("puts the team's cliff at one year with a third of it, then monthly to month 36", () => {
    const team = rows.find((r) => r.allocation.key === "team")!;
    expect(team.cliffAt).toBe(TGE + YEAR);
    expect(team.atCliff).toBe((20_000_000n * FLK) / 3n);
    expect(team.monthly).toBe((20_000_000n * FLK) / 36n);
    expect(team.endAt).toBe(TGE + 36n * MONTH);
  });
  it("unlocks the sale at once", () => {
    const sale = rows.find((r) => r.allocation.key === "sale")!;
    expect(sale.atTge).toBe(20_000_000n * FLK);
    expect(sale.monthly).toBe(0n);
  });
});

describe("supply projection and emission", () => {
  it("starts at the TGE circulating supply and ends with everything unlocked and 16.5M emitted", () => {
    const points = supplyProjection(TGE, 60);
    expect(points[0]).toEqual({ time: TGE, unlocked: CIRCULATING_AT_TGE, emitted: 0n });
    expect(points[60].unlocked).toBe(100_000_000n * FLK);
    expect(points[60].emitted).toBe(16_500_000n * FLK);
    for (let i = 1; i < points.length; i++) expect(points[i].unlocked + points[i].emitted >= points[i - 1].unlocked + points[i - 1].emitted).toBe(true);
  });
  it("lists five emission years with dates and running totals", () => {
    const years = emissionSchedule(TGE);
    expect(years.map((y) => y.amount / FLK)).toEqual([5_000_000n, 4_000_000n, 3_000_000n, 2_500_000n, 2_000_000n]);
    expect(years[1].from).toBe(TGE + YEAR);
    expect(years[4].cumulative).toBe(16_500_000n * FLK);
  });
});
