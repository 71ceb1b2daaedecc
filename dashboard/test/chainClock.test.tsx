import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, render, renderHook, screen } from "@testing-library/react";
import { useChainClock } from "../src/hooks/useChainClock";
import { Timeline } from "../src/pages/Governance";
import type { Proposal } from "../src/data/source";

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("useChainClock", () => {
  it("adds the wall-clock seconds since the chain's time was read, every second", () => {
    const { result } = renderHook(() => useChainClock(1_000n));
    expect(result.current).toBe(1_000n);
    act(() => vi.advanceTimersByTime(999));
    expect(result.current).toBe(1_000n);
    act(() => vi.advanceTimersByTime(1));
    expect(result.current).toBe(1_001n);
    act(() => vi.advanceTimersByTime(59_000));
    expect(result.current).toBe(1_060n);
  });
  it("counts from a refreshed chain time, not the old one", () => {
    const { result, rerender } = renderHook(({ now }) => useChainClock(now), { initialProps: { now: 1_000n } });
    act(() => vi.advanceTimersByTime(5_000));
    expect(result.current).toBe(1_005n);
    rerender({ now: 2_000n });
    expect(result.current).toBe(2_000n);
    act(() => vi.advanceTimersByTime(2_000));
    expect(result.current).toBe(2_002n);
  });
});

describe("Governance timeline", () => {
  const proposal = {
    state: "Pending",
    created: 1_000n,
    voteStart: 1_000n + 86_400n,
    voteEnd: 1_000n + 6n * 86_400n,
    eta: 0n,
    lifecycle: [],
  } as unknown as Proposal;
  it("counts down between data refreshes", () => {
    render(<Timeline proposal={proposal} chainNow={1_000n + 3_600n} />);
    const opens = () => screen.getAllByTestId("timeline-step")[1].textContent;
    expect(opens()).toMatch(/\(in 23 h\)$/);
    act(() => vi.advanceTimersByTime(61_000));
    expect(opens()).toMatch(/\(in 22 h 58 min\)$/);
  });
});
