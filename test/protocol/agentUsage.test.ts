import { expect } from "chai";
import fc from "fast-check";
import { agentCallCharge, llmTokenCharge, MAX_REPORT_AGENTS } from "../../protocol/agentUsage";
import { agentService, compareCharges, NO_SERVICE, usageTotals, type Delivery } from "../../protocol/usage";

const A = "0x00000000000000000000000000000000000000aA";
const B = "0x00000000000000000000000000000000000000bB";
const OWNER = "0x00000000000000000000000000000000000000cC";
const paysAll = new Map([A, B, OWNER].map((a) => [a.toLowerCase(), 10n ** 30n]));
const CPU = { perMillionRequests: 300_000n, perMillionCpuMs: 20_000n };

describe("protocol: agent calls and LLM tokens", () => {
  it("charges calls × the epoch's price plus CPU-ms at the escrow's price, rounded down once", () => {
    expect(agentCallCharge(1n, 0n, { perCall: 50_000n, perMillionCpuMs: 20_000n })).to.equal(50_000n);
    // 3 calls of $0.05 and 250,000 CPU-ms at $0.02 per million CPU-ms: 150,000 + 5,000 units.
    expect(agentCallCharge(3n, 250_000_000n, { perCall: 50_000n, perMillionCpuMs: 20_000n })).to.equal(155_000n);
    // 12,345 µs at 20,000 per million ms is 0.2469 units: rounded down once over the total.
    expect(agentCallCharge(2n, 12_345n, { perCall: 7n, perMillionCpuMs: 20_000n })).to.equal(14n);
    expect(agentCallCharge(0n, 100_000_000n, { perCall: 7n, perMillionCpuMs: 20_000n })).to.equal(2_000n);
  });

  it("charges LLM tokens per 1,000, rounded down", () => {
    expect(llmTokenCharge(1_500n, 2_000n)).to.equal(3_000n);
    expect(llmTokenCharge(999n, 1n)).to.equal(0n);
    expect(llmTokenCharge(1_000n, 1n)).to.equal(1n);
  });

  it("itemizes calls per agent (kind 2) for the caller and tokens as the owner's (agent, zero) charge: known answers", () => {
    const deliveries: Delivery[] = [
      { nodeId: 1, account: A, bytes: 0n, requests: 2n, cpuUs: 100_000_000n, service: agentService(7), callPrice: 50_000n },
      { nodeId: 1, account: A, bytes: 0n, requests: 1n, cpuUs: 150_000_000n, service: agentService(7), callPrice: 50_000n },
      { nodeId: 1, account: OWNER, bytes: 0n, llmTokens: 1_500n },
      { nodeId: 2, account: B, bytes: 0n, requests: 2n, service: agentService(9), callPrice: 10_000n },
    ];
    const { usage, revenue, charges } = usageTotals(deliveries, paysAll, undefined, CPU, undefined, { per1kTokens: 2_000n });
    expect(charges).to.deep.equal([
      { nodeId: 1, kind: 2, service: NO_SERVICE, requests: 0n, cpuMs: 0n, amount: 3_000n },
      { nodeId: 1, kind: 2, service: agentService(7), requests: 3n, cpuMs: 250_000n, amount: 155_000n },
      { nodeId: 2, kind: 2, service: agentService(9), requests: 2n, cpuMs: 0n, amount: 20_000n },
    ]);
    expect(revenue).to.deep.equal(
      new Map([
        [1, 158_000n],
        [2, 20_000n],
      ]),
    );
    expect(usage).to.deep.equal(
      new Map([
        [A.toLowerCase(), 155_000n],
        [OWNER.toLowerCase(), 3_000n],
        [B.toLowerCase(), 20_000n],
      ]),
    );
  });

  it("folds the smallest (node, agent) entries when 128 agents served on 10 nodes exceed the report's 1,024 charges: known answers", () => {
    // Agent a (1..128) called a × 100 + n times on node n (1..10), at 1 unit a call: 1,280 entries.
    const deliveries: Delivery[] = [];
    for (let a = 1; a <= 128; a++)
      for (let n = 1; n <= 10; n++)
        deliveries.push({ nodeId: n, account: A, bytes: 0n, requests: BigInt(a * 100 + n), service: agentService(a), callPrice: 1n });
    const { revenue, charges } = usageTotals(deliveries, paysAll, undefined, CPU);
    // Room: 1,024 − 2 × 10 nodes (content, folded functions) − 10 nodes with agents (folded agents)
    // = 994 entries kept; the 286 smallest are folded: agents 1..28 on every node, agent 29 on 1..6.
    expect(charges.length).to.equal(994 + 10);
    const zero = (n: number) => charges.find((c) => c.nodeId === n && c.kind === 2 && c.service === NO_SERVICE)!;
    // Node n: Σ_{a=1..28} (100a + n) = 40,600 + 28n, plus 2,900 + n when agent 29 is folded there.
    expect([1, 6, 7, 10].map((n) => zero(n).amount)).to.deep.equal([43_529n, 43_674n, 40_796n, 40_880n]);
    expect(zero(1).requests).to.equal(43_529n);
    expect(charges.some((c) => c.service === agentService(29) && c.nodeId === 7)).to.equal(true);
    expect(charges.some((c) => c.service === agentService(29) && c.nodeId === 6)).to.equal(false);
    for (const [id, r] of revenue) expect(charges.filter((c) => c.nodeId === id).reduce((t, c) => t + c.amount, 0n)).to.equal(r);
  });

  it("property: up to 100 nodes serving up to 128 agents and functions never make a report over 1,024 charges", () => {
    const cases = { foldedAgents: 0, foldedFunctions: 0, fits: 0 };
    fc.assert(
      fc.property(
        // (nodes, agents, functions): anywhere in the range, and in each of the three outcomes'
        // regions, so each comes up in a few dozen runs (~1 in 9 fold agents over the whole range).
        fc.oneof(
          fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 128 }), fc.integer({ min: 0, max: 1_200 })),
          fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 800 })),
          fc.tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1_000, max: 1_200 })),
          fc.tuple(fc.integer({ min: 30, max: 100 }), fc.integer({ min: 60, max: 128 }), fc.integer({ min: 0, max: 1_200 })),
        ),
        fc.integer({ min: 1, max: 1_000 }),
        ([nodes, agents, functions], seed) => {
          const deliveries: Delivery[] = [];
          // Each agent on a pseudo-random subset of nodes; functions spread over the nodes.
          for (let a = 1; a <= agents; a++)
            for (let n = 1; n <= nodes; n++)
              if ((a * 31 + n * 17 + seed) % 3 !== 0)
                deliveries.push({ nodeId: n, account: A, bytes: 0n, requests: BigInt(((a * n + seed) % 97) + 1), service: agentService(a), callPrice: 1n });
          for (let f = 1; f <= functions; f++)
            deliveries.push({ nodeId: (f % nodes) + 1, account: B, bytes: 0n, requests: BigInt(f), service: `0x${(f + 7).toString(16).padStart(64, "0")}` });
          const { revenue, charges } = usageTotals(deliveries, paysAll, undefined, CPU);
          expect(charges.length).to.be.at.most(1_024);
          for (const [id, r] of revenue) expect(charges.filter((c) => c.nodeId === id).reduce((t, c) => t + c.amount, 0n)).to.equal(r);
          for (let i = 1; i < charges.length; i++) expect(compareCharges(charges[i - 1], charges[i])).to.be.lessThan(0);
          const itemizedAgents = charges.filter((c) => c.kind === 2 && c.service !== NO_SERVICE).length;
          const agentEntries = deliveries.filter((d) => d.callPrice !== undefined).length;
          if (itemizedAgents < agentEntries) cases.foldedAgents++;
          else if (charges.some((c) => c.kind === 1 && c.service === NO_SERVICE)) cases.foldedFunctions++;
          else cases.fits++;
        },
      ),
      // Each outcome's region is drawn ~1 run in 4: 2 or fewer of 40 has a chance of about 1 in 10,000.
      { numRuns: 40 },
    );
    for (const [name, n] of Object.entries(cases)) expect(n, name).to.be.greaterThan(2);
  });

  it("charges the same calls at each epoch's own price (a price change applies from the next epoch)", () => {
    const calls = (callPrice: bigint): Delivery[] => [{ nodeId: 1, account: A, bytes: 0n, requests: 4n, service: agentService(3), callPrice }];
    // priceAt(3, N) = 10,000 and priceAt(3, N + 1) = 90,000 after a setPrice during epoch N.
    expect(usageTotals(calls(10_000n), paysAll, undefined, CPU).usage.get(A.toLowerCase())).to.equal(40_000n);
    expect(usageTotals(calls(90_000n), paysAll, undefined, CPU).usage.get(A.toLowerCase())).to.equal(360_000n);
    // One agent with two prices in one epoch is a caller bug, not a charge.
    expect(() => usageTotals([...calls(10_000n), ...calls(90_000n)], paysAll, undefined, CPU)).to.throw(/charged at 10000 and 90000/);
  });

  it("keeps the 128 largest agents of 200 and folds the rest per node into (node, agent, zero)", () => {
    expect(MAX_REPORT_AGENTS).to.equal(128);
    // Agent i (1..200) called once at i units; agents alternate between nodes 1 and 2.
    const deliveries: Delivery[] = [];
    for (let i = 1; i <= 200; i++)
      deliveries.push({ nodeId: 1 + (i % 2), account: A, bytes: 0n, requests: 1n, service: agentService(i), callPrice: BigInt(i) });
    const { charges, revenue } = usageTotals(deliveries, paysAll, undefined, { perMillionRequests: 0n, perMillionCpuMs: 0n });
    const itemized = charges.filter((c) => c.service !== NO_SERVICE);
    expect(itemized.length).to.equal(128);
    // Agents 73..200 kept; 1..72 folded: odd ones (node 2) 1+3+…+71 = 1,296, even ones (node 1) 2+4+…+72 = 1,332.
    expect(itemized.map((c) => Number(BigInt(c.service))).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 128 }, (_, k) => 73 + k));
    expect(charges.filter((c) => c.service === NO_SERVICE)).to.deep.equal([
      { nodeId: 1, kind: 2, service: NO_SERVICE, requests: 36n, cpuMs: 0n, amount: 1_332n },
      { nodeId: 2, kind: 2, service: NO_SERVICE, requests: 36n, cpuMs: 0n, amount: 1_296n },
    ]);
    for (const id of [1, 2]) expect(charges.filter((c) => c.nodeId === id).reduce((s, c) => s + c.amount, 0n)).to.equal(revenue.get(id));
    expect(revenue.get(1)! + revenue.get(2)!).to.equal((200n * 201n) / 2n);
  });

  it("property: with agent calls, tokens and functions, each node's charges sum to its revenue and revenue to usage", () => {
    const accounts = [A, B, OWNER];
    const prices = [0n, 1n, 50_000n, 10n ** 9n];
    const call = fc.record({
      nodeId: fc.integer({ min: 1, max: 3 }),
      account: fc.constantFrom(...accounts),
      agent: fc.integer({ min: 1, max: 140 }),
      requests: fc.bigInt({ min: 0n, max: 10n ** 6n }),
      cpuUs: fc.bigInt({ min: 0n, max: 10n ** 10n }),
      llmTokens: fc.bigInt({ min: 0n, max: 10n ** 7n }),
      fn: fc.boolean(),
    });
    const cap = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 6n }), fc.constant(10n ** 30n));
    const cases = { scaled: 0, folded: 0, tokens: 0, mixed: 0 };
    fc.assert(
      fc.property(
        fc.array(call, { minLength: 1, maxLength: 200 }),
        fc.array(cap, { minLength: 3, maxLength: 3 }),
        fc.constantFrom(...prices),
        fc.boolean(),
        (drawn, caps, per1kTokens, many) => {
          // Half the runs add 130 more agents, one call each: over the report's 128.
          const extra = Array.from({ length: 130 }, (_, k) => ({ ...drawn[0], agent: 1_000 + k, fn: false }));
          const calls = many ? [...drawn, ...extra] : drawn;
          const debitable = new Map(accounts.map((a, i) => [a.toLowerCase(), caps[i]]));
          // One price per agent (its price at the epoch): agent id × 1,000 units.
          const deliveries: Delivery[] = calls.map((c) =>
            c.fn
              ? { nodeId: c.nodeId, account: c.account, bytes: 0n, requests: c.requests, cpuUs: c.cpuUs, service: agentService(c.agent) }
              : {
                  nodeId: c.nodeId,
                  account: c.account,
                  bytes: 0n,
                  requests: c.requests,
                  cpuUs: c.cpuUs,
                  service: agentService(c.agent),
                  callPrice: BigInt(c.agent) * 1_000n,
                  llmTokens: c.llmTokens,
                },
          );
          const { usage, revenue, charges } = usageTotals(deliveries, debitable, undefined, CPU, undefined, { per1kTokens });
          const total = (xs: Iterable<bigint>) => [...xs].reduce((s, x) => s + x, 0n);
          expect(total(revenue.values())).to.equal(total(usage.values()));
          for (const [id, r] of revenue) expect(total(charges.filter((c) => c.nodeId === id).map((c) => c.amount))).to.equal(r);
          for (const [account, paid] of usage) expect(paid <= debitable.get(account)!).to.equal(true);
          for (let i = 1; i < charges.length; i++) expect(compareCharges(charges[i - 1], charges[i])).to.be.lessThan(0);
          const agents = new Set(charges.filter((c) => c.kind === 2 && c.service !== NO_SERVICE).map((c) => c.service));
          expect(agents.size).to.be.at.most(MAX_REPORT_AGENTS);
          if (caps.some((c) => c < 10n ** 30n)) cases.scaled++;
          if (new Set(calls.filter((c) => !c.fn).map((c) => c.agent)).size > MAX_REPORT_AGENTS) cases.folded++;
          if (per1kTokens > 0n && calls.some((c) => !c.fn && c.llmTokens > 0n)) cases.tokens++;
          if (calls.some((c) => c.fn) && calls.some((c) => !c.fn)) cases.mixed++;
        },
      ),
      { numRuns: 300 },
    );
    // Each kind of case was exercised, not just generated.
    expect(cases.scaled).to.be.greaterThan(30);
    expect(cases.folded).to.be.greaterThan(0);
    expect(cases.tokens).to.be.greaterThan(30);
    expect(cases.mixed).to.be.greaterThan(30);
  });
});
