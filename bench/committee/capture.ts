/**
 * Per-epoch probability that an adversary captures the committee (docs/registry.md, "Committee
 * capture"). `Selection.draw` is weighted sampling without replacement: each seat goes to a
 * not-yet-drawn candidate with probability its stake over the stake not yet drawn. With the
 * adversary's stake on `a` nodes of equal stake and the honest stake on `h` nodes of equal stake
 * the seat count is a Markov chain over (adversary seats, honest seats), computed exactly here
 * (a dynamic program over all 2^32 draw orders grouped by count; floating point adds only positive
 * terms, relative error below 1e-12). With equal stakes on every node it is the hypergeometric law,
 * which the script checks against a closed form.
 *
 *   capture:  more than 2/3 of the seats (≥ 22 of 32): the adversary alone signs a report
 *   liveness: at least 1/3 (≥ 11 of 32): the adversary can withhold every quorum
 *
 * A withheld reveal gives the adversary no second draw (the registry then keeps the ending committee,
 * less the jailed withholders), so these are the probabilities whatever it reveals.
 *
 * Run: npx tsx bench/committee/capture.ts
 */

const CANDIDATES = 100;
const SEATS = 32;
const CAPTURE = Math.floor((2 * SEATS) / 3) + 1; // 22: a quorum of its own
const BLOCK = SEATS - CAPTURE + 1; // 11: enough to deny any quorum

/** Distribution of adversary seats: `a` adversary nodes of weight `wa`, `h` honest of weight `wh`. */
export function seatDistribution(a: number, wa: number, h: number, wh: number, seats = SEATS): number[] {
  // p[i] = probability of i adversary seats after k draws (honest seats = k − i).
  let p = [1];
  for (let k = 0; k < seats; k++) {
    const q = new Array<number>(k + 2).fill(0);
    for (let i = 0; i <= k; i++) {
      if (p[i] === 0) continue;
      const j = k - i;
      const ra = (a - i) * wa;
      const rh = (h - j) * wh;
      const total = ra + rh;
      if (ra > 0) q[i + 1] += (p[i] * ra) / total;
      if (rh > 0) q[i] += (p[i] * rh) / total;
    }
    p = q;
  }
  return p;
}

const atLeast = (dist: number[], n: number) => dist.slice(n).reduce((x, y) => x + y, 0);

/** Hypergeometric tail P(X ≥ n) for K marked of N, `draws` drawn: the independent check. */
export function hypergeometricTail(N: number, K: number, draws: number, n: number): number {
  const logC = (x: number, y: number) => {
    let r = 0;
    for (let i = 1; i <= y; i++) r += Math.log(x - y + i) - Math.log(i);
    return r;
  };
  let sum = 0;
  for (let x = n; x <= Math.min(K, draws); x++) sum += Math.exp(logC(K, x) + logC(N - K, draws - x) - logC(N, draws));
  return sum;
}

function row(stake: number, a: number) {
  const h = CANDIDATES - a;
  const dist = seatDistribution(a, stake / a, h, (1 - stake) / h);
  const capture = atLeast(dist, CAPTURE);
  return { capture, liveness: atLeast(dist, BLOCK), uniform: hypergeometricTail(CANDIDATES, a, SEATS, CAPTURE) };
}

function main() {
  // The DP with equal weights is the hypergeometric law: check it before trusting the rest.
  const check = atLeast(seatDistribution(25, 1, 75, 1), CAPTURE);
  const closed = hypergeometricTail(100, 25, SEATS, CAPTURE);
  if (Math.abs(check - closed) > 1e-12 * closed) throw new Error(`DP ${check} ≠ hypergeometric ${closed}`);
  const fmt = (x: number) => x.toExponential(2);
  console.log(`committee ${SEATS} of ${CANDIDATES} candidates; capture ≥ ${CAPTURE} seats, liveness ≥ ${BLOCK} seats`);
  console.log("stake | adversary nodes | P(capture) | P(≥ 1/3) | P(capture) if seats were uniform per node (old rule)");
  for (const [label, stake] of [
    ["1/4", 1 / 4],
    ["1/3", 1 / 3],
    ["40%", 0.4],
  ] as const) {
    // Equal stake per node (the adversary's share of nodes = its share of stake), then the
    // adversary spreading the same stake over more minimum-stake nodes.
    for (const a of [Math.round(stake * CANDIDATES), 50, 68, 80]) {
      const r = row(stake, a);
      console.log(`${label} | ${a} | ${fmt(r.capture)} | ${fmt(r.liveness)} | ${fmt(r.uniform)}`);
    }
  }
  // The bound: the worst split of the adversary's stake while the honest stake sits on at least as
  // many nodes as there are seats (below that the honest side cannot fill a quorum however it is drawn).
  console.log("stake | worst P(capture) over adversary node counts, honest stake on ≥ 32 nodes | at");
  for (const [label, stake] of [
    ["1/4", 1 / 4],
    ["1/3", 1 / 3],
    ["40%", 0.4],
  ] as const) {
    let worst = { a: 0, capture: 0 };
    for (let a = 1; a <= CANDIDATES - SEATS; a++) {
      const r = row(stake, a);
      if (r.capture > worst.capture) worst = { a, capture: r.capture };
    }
    console.log(`${label} | ${fmt(worst.capture)} | ${worst.a} nodes`);
  }
}

main();
