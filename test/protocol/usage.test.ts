import { expect } from "chai";
import fc from "fast-check";
import {
  BANDWIDTH_PRICE_PER_GB,
  bandwidthCharge,
  computeCharge,
  DEFAULT_COMPUTE_PRICES,
  MAX_REPORT_CHARGES,
  NO_SERVICE,
  usageTotals,
  type Delivery,
} from "../../protocol/usage";

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

  it("charges a pair's bytes and its invocations, then caps them at the debitable amount", () => {
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

  const ROOT_A = `0x${"0a".repeat(32)}`;
  const ROOT_B = `0x${"0b".repeat(32)}`;
  /** Node 1 serves A content and both functions, node 2 serves A function A, node 1 serves B function A. */
  const twoFunctions: Delivery[] = [
    // 10^9 bytes in 4 acks: $0.10 = 100,000 units.
    { nodeId: 1, account: A, bytes: 1_000_000_000n, acks: 4n },
    // 10^6 calls of 2 ms: 300,000 + 2×10^6 ms × 0.02 = 340,000 units.
    { nodeId: 1, account: A, bytes: 0n, requests: 600_000n, cpuUs: 1_200_000_000n, service: ROOT_A },
    { nodeId: 1, account: A, bytes: 0n, requests: 400_000n, cpuUs: 800_000_000n, service: ROOT_A.toUpperCase().replace("0X", "0x") },
    // 10 calls, 100 ms in all: 3 + 2 = 5 units.
    { nodeId: 1, account: A, bytes: 0n, requests: 10n, cpuUs: 100_000n, service: ROOT_B },
    // 6,000 calls, 10,000 ms: 1,800 + 200 = 2,000 units.
    { nodeId: 2, account: A, bytes: 0n, requests: 6_000n, cpuUs: 10_000_000n, service: ROOT_A },
    // 1,000 calls of no measurable CPU: 300 units.
    { nodeId: 1, account: B, bytes: 0n, requests: 1_000n, cpuUs: 0n, service: ROOT_A },
  ];

  it("itemizes the paid charges per (node, kind, service) in canonical order: known answers at the default prices", () => {
    const full = usageTotals(twoFunctions, paysAll);
    expect(full.charges).to.deep.equal([
      { nodeId: 1, kind: 0, service: NO_SERVICE, requests: 4n, cpuMs: 0n, amount: 100_000n },
      { nodeId: 1, kind: 1, service: ROOT_A, requests: 1_001_000n, cpuMs: 2_000_000n, amount: 340_300n },
      { nodeId: 1, kind: 1, service: ROOT_B, requests: 10n, cpuMs: 100n, amount: 5n },
      { nodeId: 2, kind: 1, service: ROOT_A, requests: 6_000n, cpuMs: 10_000n, amount: 2_000n },
    ]);
    expect(full.revenue).to.deep.equal(
      new Map([
        [1, 440_305n],
        [2, 2_000n],
      ]),
    );
    // A owes 100,000 + 340,000 + 5 + 2,000 = 442,005 and may be debited 220,001: each of its
    // charges × 220,001 / 442,005, rounded down: 49,773, 169,229, 2 and 995. B's 300 in full.
    const tight = usageTotals(
      twoFunctions,
      new Map([
        [A.toLowerCase(), 220_001n],
        [B.toLowerCase(), 300n],
      ]),
    );
    expect(tight.charges.map((c) => c.amount)).to.deep.equal([49_773n, 169_529n, 2n, 995n]);
    expect(tight.usage).to.deep.equal(
      new Map([
        [A.toLowerCase(), 219_999n],
        [B.toLowerCase(), 300n],
      ]),
    );
    expect(tight.revenue).to.deep.equal(
      new Map([
        [1, 219_304n],
        [2, 995n],
      ]),
    );
  });

  it("folds the smallest function charges per node when a report would carry more than 1,024", () => {
    const prices = { perMillionRequests: 1_000_000n, perMillionCpuMs: 0n }; // 1 unit a request
    const root = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;
    // Content plus 1,100 functions on node 1, function i called i times.
    const deliveries: Delivery[] = [{ nodeId: 1, account: A, bytes: 10_000n, acks: 1n }];
    for (let i = 1; i <= 1_100; i++) deliveries.push({ nodeId: 1, account: A, bytes: 0n, requests: BigInt(i), service: root(i) });
    const { charges, revenue } = usageTotals(deliveries, paysAll, BANDWIDTH_PRICE_PER_GB, prices);
    expect(MAX_REPORT_CHARGES).to.equal(1_024);
    // 1,024 − 2 × 1 node = 1,022 functions itemized (79..1,100); 1..78 folded: 78 × 79 / 2 = 3,081 calls.
    expect(charges.length).to.equal(1_024);
    expect(charges[0]).to.deep.equal({ nodeId: 1, kind: 0, service: NO_SERVICE, requests: 1n, cpuMs: 0n, amount: 1n });
    expect(charges[1]).to.deep.equal({ nodeId: 1, kind: 1, service: NO_SERVICE, requests: 3_081n, cpuMs: 0n, amount: 3_081n });
    expect(charges[2].service).to.equal(root(79));
    expect(charges.reduce((s, c) => s + c.amount, 0n)).to.equal(revenue.get(1));
    expect(revenue.get(1)).to.equal(1n + (1_100n * 1_101n) / 2n);
  });

  it("property: each node's charges sum to its revenue exactly, in strictly increasing order, whatever the caps", () => {
    const roots = [undefined, ROOT_A, ROOT_B, `0x${"ff".repeat(32)}`];
    const accounts = [A, B, "0x00000000000000000000000000000000000000cC"];
    const delivery = fc.record({
      nodeId: fc.integer({ min: 1, max: 4 }),
      account: fc.constantFrom(...accounts),
      bytes: fc.bigInt({ min: 0n, max: 10n ** 10n }),
      acks: fc.bigInt({ min: 0n, max: 50n }),
      requests: fc.bigInt({ min: 0n, max: 10n ** 7n }),
      cpuUs: fc.bigInt({ min: 0n, max: 10n ** 10n }),
      service: fc.constantFrom(...roots),
      budget: fc.constantFrom(undefined, "fn:1", "fn:2"),
    });
    // Caps below the charges (scaled) or above any (paid in full).
    const cap = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 6n }), fc.constant(10n ** 30n));
    const cases = { scaled: 0, unscaled: 0, manyServices: 0, budgeted: 0 };
    fc.assert(
      fc.property(
        fc.array(delivery, { minLength: 1, maxLength: 25 }),
        fc.array(cap, { minLength: 3, maxLength: 3 }),
        fc.array(cap, { minLength: 2, maxLength: 2 }),
        (deliveries, caps, budgetCaps) => {
          const debitable = new Map(accounts.map((a, i) => [a.toLowerCase(), caps[i]]));
          const budgets = new Map([
            ["fn:1", budgetCaps[0]],
            ["fn:2", budgetCaps[1]],
          ]);
          const { usage, revenue, charges } = usageTotals(deliveries, debitable, BANDWIDTH_PRICE_PER_GB, DEFAULT_COMPUTE_PRICES, budgets);
          const unlimited = usageTotals(
            deliveries,
            new Map(accounts.map((a) => [a.toLowerCase(), 10n ** 30n])),
            BANDWIDTH_PRICE_PER_GB,
            DEFAULT_COMPUTE_PRICES,
            new Map([
              ["fn:1", 10n ** 30n],
              ["fn:2", 10n ** 30n],
            ]),
          );
          const sum = (xs: Iterable<bigint>) => [...xs].reduce((s, v) => s + v, 0n);
          const perNode = new Map<number, bigint>();
          for (const c of charges) perNode.set(c.nodeId, (perNode.get(c.nodeId) ?? 0n) + c.amount);
          for (const [id, r] of revenue) expect(perNode.get(id) ?? 0n, `node ${id}`).to.equal(r);
          for (const id of perNode.keys()) expect(revenue.has(id)).to.equal(true);
          expect(sum(usage.values())).to.equal(sum(revenue.values()));
          for (let i = 1; i < charges.length; i++) {
            const [a, b] = [charges[i - 1], charges[i]];
            expect(a.nodeId < b.nodeId || (a.nodeId === b.nodeId && (a.kind < b.kind || (a.kind === b.kind && a.service < b.service)))).to.equal(true);
          }
          // Requests and CPU are what was acknowledged, whatever was paid; never more paid than charged.
          expect(charges.map((c) => [c.nodeId, c.kind, c.service, c.requests, c.cpuMs])).to.deep.equal(
            unlimited.charges.map((c) => [c.nodeId, c.kind, c.service, c.requests, c.cpuMs]),
          );
          charges.forEach((c, i) => expect(c.amount <= unlimited.charges[i].amount).to.equal(true));
          const byNode = new Map<number, number>();
          for (const c of charges) if (c.kind === 1) byNode.set(c.nodeId, (byNode.get(c.nodeId) ?? 0) + 1);
          if ([...byNode.values()].some((n) => n > 1)) cases.manyServices++;
          if (deliveries.some((d) => d.budget !== undefined && d.requests > 0n)) cases.budgeted++;
          if (sum(usage.values()) < sum(unlimited.usage.values())) cases.scaled++;
          else cases.unscaled++;
        },
      ),
      {
        numRuns: 300,
        // Every cap above the charges: the unscaled case, the rarest at random (~30 of 300), whatever the seed.
        examples: [
          [
            [{ nodeId: 1, account: A, bytes: 10n ** 9n, acks: 1n, requests: 10n, cpuUs: 5_000n, service: ROOT_A, budget: "fn:1" as const }],
            [10n ** 30n, 10n ** 30n, 10n ** 30n],
            [10n ** 30n, 10n ** 30n],
          ],
        ],
      },
    );
    for (const [name, n] of Object.entries(cases)) expect(n, name).to.be.greaterThan(3);
  });
});
