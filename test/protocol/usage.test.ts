import { expect } from "chai";
import { BANDWIDTH_PRICE_PER_GB, bandwidthCharge, computeCharge, DEFAULT_COMPUTE_PRICES, usageTotals } from "../../protocol/usage";

const A = "0x00000000000000000000000000000000000000aA";
const B = "0x00000000000000000000000000000000000000bB";

describe("protocol: usage and revenue", () => {
  it("charges bytes × price per 10^9 bytes, rounded down", () => {
    expect(BANDWIDTH_PRICE_PER_GB).to.equal(100_000n);
    expect(bandwidthCharge(1_000_000_000n)).to.equal(100_000n);
    expect(bandwidthCharge(9_999n)).to.equal(0n);
    expect(bandwidthCharge(10_000n)).to.equal(1n);
    expect(bandwidthCharge(25_000n, 1_000_000n)).to.equal(25n);
  });

  it("charges invocations per million requests and CPU-ms, rounded down once (Cloudflare's $0.30 and $0.02 by default)", () => {
    expect(DEFAULT_COMPUTE_PRICES).to.deep.equal({ perMillionRequests: 300_000n, perMillionCpuMs: 20_000n });
    // A million requests of 1 CPU-ms each: $0.30 + $0.02.
    expect(computeCharge(1_000_000n, 1_000_000_000n)).to.equal(320_000n);
    // One request of 10 ms: 0.3 + 0.2 units, rounded down once to 0; ten of them: 5 units.
    expect(computeCharge(1n, 10_000n)).to.equal(0n);
    expect(computeCharge(10n, 100_000n)).to.equal(5n);
    // 2,000 units a request and 500 a CPU-ms: 3 requests of 1,234 µs in all = 6,000 + 617.
    expect(computeCharge(3n, 1_234n, { perMillionRequests: 2_000_000_000n, perMillionCpuMs: 500_000_000n })).to.equal(6_617n);
  });

  it("adds a pair's invocations to its bytes before capping at the debitable amount", () => {
    const prices = { perMillionRequests: 2_000_000_000n, perMillionCpuMs: 500_000_000n };
    const { usage, revenue } = usageTotals(
      [
        { nodeId: 1, account: A, bytes: 10_000n, requests: 2n, cpuUs: 1_000n },
        { nodeId: 1, account: A, bytes: 0n, requests: 1n, cpuUs: 1n },
        { nodeId: 2, account: A, bytes: 0n, requests: 1n, cpuUs: 0n },
      ],
      new Map([[A.toLowerCase(), 5_000n]]),
      BANDWIDTH_PRICE_PER_GB,
      prices,
    );
    // Node 1: 1 unit of bandwidth + 3 × 2,000 + 1,001 µs × 0.5 = 6,501; node 2: 2,000. Charges
    // 8,501 over a debitable 5,000: 6,501 × 5,000 / 8,501 = 3,823 and 2,000 × 5,000 / 8,501 = 1,176.
    expect(revenue).to.deep.equal(
      new Map([
        [1, 3_823n],
        [2, 1_176n],
      ]),
    );
    expect(usage).to.deep.equal(new Map([[A.toLowerCase(), 4_999n]]));
  });

  const paysAll = new Map([
    [A.toLowerCase(), 10n ** 12n],
    [B.toLowerCase(), 10n ** 12n],
  ]);

  it("sums each (node, account) pair before rounding and credits the same charge to usage and revenue", () => {
    const { usage, revenue } = usageTotals(
      [
        { nodeId: 1, account: A, bytes: 6_000n },
        { nodeId: 1, account: A.toLowerCase(), bytes: 6_000n },
        { nodeId: 2, account: A, bytes: 25_000n },
        { nodeId: 2, account: B, bytes: 5_000n },
      ],
      paysAll,
    );
    // 12,000 bytes on one pair charge 1 unit although each delivery alone would round to 0.
    expect(usage).to.deep.equal(
      new Map([
        [A.toLowerCase(), 3n],
        [B.toLowerCase(), 0n],
      ]),
    );
    expect(revenue).to.deep.equal(
      new Map([
        [1, 1n],
        [2, 2n],
      ]),
    );
    const sum = <K>(m: Map<K, bigint>) => [...m.values()].reduce((s, v) => s + v, 0n);
    expect(sum(usage)).to.equal(sum(revenue));
  });

  it("charges an account at most its debitable amount, scaling each node's charge down, rounded down", () => {
    const deliveries = [
      { nodeId: 1, account: A, bytes: 10_000n },
      { nodeId: 2, account: A, bytes: 20_000n },
      { nodeId: 3, account: A, bytes: 70_000n },
      { nodeId: 1, account: B, bytes: 50_000n },
    ];
    // A owes 1 + 2 + 7 = 10 units and may be debited 5: 1×5/10 = 0, 2×5/10 = 1, 7×5/10 = 3.
    // B is unknown to the escrow (no balance): nothing.
    const { usage, revenue } = usageTotals(deliveries, new Map([[A.toLowerCase(), 5n]]));
    expect(usage).to.deep.equal(
      new Map([
        [A.toLowerCase(), 4n],
        [B.toLowerCase(), 0n],
      ]),
    );
    expect(revenue).to.deep.equal(
      new Map([
        [1, 0n],
        [2, 1n],
        [3, 3n],
      ]),
    );
    // Exactly the debitable amount: charged in full.
    expect(usageTotals(deliveries, new Map([[A.toLowerCase(), 10n]])).usage.get(A.toLowerCase())).to.equal(10n);
  });

  it("caps an owner-pays function's charges at its budget first, then the owner's account at its debitable amount", () => {
    const prices = { perMillionRequests: 1_000_000n, perMillionCpuMs: 0n }; // 1 unit a request
    const deliveries = [
      { nodeId: 1, account: A, budget: "fn:1", bytes: 0n, requests: 4n },
      { nodeId: 2, account: A, budget: "fn:1", bytes: 0n, requests: 6n },
      { nodeId: 1, account: A, bytes: 0n, requests: 3n }, // A's own invocations as a client
      { nodeId: 2, account: B, budget: "fn:2", bytes: 0n, requests: 5n }, // a budget with no cap: nothing
    ];
    const budgets = new Map([["fn:1", 5n]]);
    // fn:1 owes 4 + 6 = 10 over its cap of 5: 4×5/10 = 2, 6×5/10 = 3; A's own 3 in full.
    const roomy = usageTotals(
      deliveries,
      new Map([
        [A.toLowerCase(), 100n],
        [B.toLowerCase(), 100n],
      ]),
      0n,
      prices,
      budgets,
    );
    expect(roomy.usage).to.deep.equal(
      new Map([
        [A.toLowerCase(), 8n],
        [B.toLowerCase(), 0n],
      ]),
    );
    expect(roomy.revenue).to.deep.equal(
      new Map([
        [1, 5n],
        [2, 3n],
      ]),
    );
    // Then A's 8 over its debitable 4: 2×4/8 = 1, 3×4/8 = 1, 3×4/8 = 1.
    const tight = usageTotals(deliveries, new Map([[A.toLowerCase(), 4n]]), 0n, prices, budgets);
    expect(tight.usage.get(A.toLowerCase())).to.equal(3n);
    expect(tight.revenue).to.deep.equal(
      new Map([
        [1, 2n],
        [2, 1n],
      ]),
    );
  });
});
