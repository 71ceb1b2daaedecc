/** The chain's clock, ticking every second between data refreshes. */
import { useEffect, useState } from "react";

/**
 * `chainNow` (the latest block's time, unix seconds) plus the wall-clock seconds since the page read
 * it: countdowns move on their own instead of only when the data refreshes. A new `chainNow`
 * (a refresh) becomes the new base.
 */
export function useChainClock(chainNow: bigint): bigint {
  const [elapsed, setElapsed] = useState({ base: chainNow, seconds: 0 });
  useEffect(() => {
    const start = Date.now();
    setElapsed({ base: chainNow, seconds: 0 });
    // From the wall clock rather than by counting ticks: timers in a background tab fire late.
    const timer = setInterval(() => setElapsed({ base: chainNow, seconds: Math.floor((Date.now() - start) / 1000) }), 1000);
    return () => clearInterval(timer);
  }, [chainNow]);
  // Until the effect rebases on a new `chainNow`, the elapsed time belongs to the old one.
  return chainNow + BigInt(elapsed.base === chainNow ? elapsed.seconds : 0);
}
