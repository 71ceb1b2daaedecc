import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { keccak256, toUtf8Bytes } from "ethers";
import { FLK } from "../../protocol/units";
import { beaconCommitment } from "../../protocol/committee";
import { usageTotals } from "../../protocol/usage";
import { completeEpochReport } from "../../protocol/reportRoots";
import type { RewardsTree } from "../../protocol/rewards";
import {
  MIN_STAKE,
  beaconSecret,
  committeeNodes,
  emptyReport,
  registerNodes,
  registrySuite,
  runBeacon,
  standings,
  submitReport,
  withActiveNodes,
  type RegistrySuite,
  type TestNode,
} from "../../testkit/registry";

const USDC = 10n ** 6n;
const RUNS = Number(process.env.FC_RUNS ?? 15);

async function base() {
  const s = await registrySuite();
  await s.registry.connect(s.adminSigner).setParameters(3_600, 60, 4, MIN_STAKE);
  const nodes = await withActiveNodes(s, 6, (i) => MIN_STAKE + BigInt(i) * 100n * FLK);
  return { ...s, nodes };
}

/** {@link base} after an epoch in which one committee member never committed its beacon: it is Jailed, so `rejoin` has a node to act on. */
async function withJailed() {
  const s = await base();
  const members = await committeeNodes(s, s.nodes);
  const epoch = await s.registry.epoch();
  const [silent, ...honest] = members;
  for (const m of honest) await s.registry.connect(m.owner).commitBeacon(m.id, beaconCommitment(epoch, m.id, beaconSecret(epoch, m.id)));
  await runBeacon(s, s.nodes, new Set([silent.id]));
  await submitReport(s, s.nodes, await emptyReport(s));
  expect((await s.registry.getNode(silent.id)).status).to.equal(3n); // Jailed
  return { ...s, jailed: s.nodes.indexOf(silent) };
}

type Action =
  | { kind: "register"; extra: bigint }
  | { kind: "addStake"; node: number; amount: bigint }
  | { kind: "unstake"; node: number; amount: bigint }
  | { kind: "lock"; node: number; epochs: number }
  | { kind: "deposit"; client: number; amount: bigint }
  | { kind: "report"; uptimes: number[]; usage: bigint[]; revenue: bigint[]; silent: number }
  | { kind: "skip" }
  | { kind: "claim" }
  | { kind: "withdraw"; node: number; wait: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("register" as const), extra: fc.bigInt({ min: 0n, max: 2_000n }) }),
  fc.record({ kind: fc.constant("addStake" as const), node: fc.nat({ max: 9 }), amount: fc.bigInt({ min: 1n, max: 3_000n }) }),
  fc.record({ kind: fc.constant("unstake" as const), node: fc.nat({ max: 9 }), amount: fc.bigInt({ min: 1n, max: 3_000n }) }),
  fc.record({ kind: fc.constant("lock" as const), node: fc.nat({ max: 9 }), epochs: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({ kind: fc.constant("deposit" as const), client: fc.nat({ max: 1 }), amount: fc.bigInt({ min: 1n, max: 50n }) }),
  fc.record({
    kind: fc.constant("report" as const),
    uptimes: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 12, maxLength: 12 }),
    usage: fc.array(fc.bigInt({ min: 0n, max: 60n }), { minLength: 2, maxLength: 2 }),
    revenue: fc.array(fc.bigInt({ min: 0n, max: 1000n }), { minLength: 12, maxLength: 12 }),
    silent: fc.integer({ min: -1, max: 3 }),
  }),
  fc.record({ kind: fc.constant("skip" as const) }),
  fc.record({ kind: fc.constant("claim" as const) }),
  // `wait`: skip epochs until the unstaked FLK is withdrawable (5 epochs), so withdrawals complete.
  fc.record({ kind: fc.constant("withdraw" as const), node: fc.nat({ max: 9 }), wait: fc.boolean() }),
);

/** Runs `f`; a revert with one of the contracts' custom errors is a rejected input (false), anything else fails. */
async function attempt(f: () => Promise<unknown>): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    if (!String(e).includes("reverted with custom error")) throw e;
    return false;
  }
}

/** A forced epoch change after the committee's beacon (members that run none are jailed for silence). */
async function skip(s: RegistrySuite, nodes: readonly TestNode[]) {
  await runBeacon(s, nodes);
  const committee = await s.registry.committeeIds();
  const opens = committee.length === 0 ? await s.registry.epochEnd() : (await s.registry.reportOpensAt()) + 3_600n;
  if (BigInt(await time.latest()) < opens) await time.increaseTo(opens);
  await s.registry.advanceEpoch();
}

/** Successes and attempts of each action kind over a whole property run. */
class ActionCounts {
  private readonly counts = new Map<string, { ok: number; tried: number }>();
  record(kind: string, ok: boolean) {
    const c = this.counts.get(kind) ?? { ok: 0, tried: 0 };
    c.tried++;
    if (ok) c.ok++;
    this.counts.set(kind, c);
  }
  /** Prints each action's count and fails if one of `kinds` never succeeded. */
  check(kinds: readonly string[]) {
    console.log(`      ${[...this.counts].map(([k, c]) => `${k} ${c.ok}/${c.tried}`).join(", ")}`);
    for (const k of kinds) expect(this.counts.get(k)?.ok ?? 0, `${k} never succeeded`).to.be.greaterThan(0);
  }
}

async function checkInvariants(s: RegistrySuite, nodes: readonly TestNode[], flkIn: bigint) {
  const min = await s.registry.minimumStake();
  const active = await s.registry.activeSetIds();
  const committee = await s.registry.committeeIds();
  expect(active.length <= 100).to.equal(true);
  for (const id of committee) {
    expect(active).to.include(id);
    const n = await s.registry.getNode(id);
    expect(n.status).to.equal(2n);
    expect(n.stake >= min).to.equal(true);
  }
  // Staked FLK is all accounted for.
  let staked = 0n;
  for (const n of nodes) {
    const v = await s.registry.getNode(n.id);
    staked += v.stake + v.unstaking;
  }
  expect(await s.flk.balanceOf(await s.registry.getAddress())).to.equal(staked);
  // Rewards: paid out ≤ what came in, and what is owed is held.
  const rewards = await s.rewards.getAddress();
  const flkHeld = await s.flk.balanceOf(rewards);
  const paidFlk = (await s.rewards.queryFilter(s.rewards.filters.Claimed())).reduce((a, e) => a + e.args.flk, 0n);
  const paidUsdc = (await s.rewards.queryFilter(s.rewards.filters.Claimed())).reduce((a, e) => a + e.args.usdc, 0n);
  expect(flkHeld + paidFlk).to.equal(flkIn);
  expect(flkHeld >= (await s.rewards.flkOwed())).to.equal(true);
  const usdcIn = (await s.escrow.queryFilter(s.escrow.filters.EpochDebited())).reduce((a, e) => a + e.args.toNodes, 0n);
  expect((await s.usdc.balanceOf(rewards)) + paidUsdc).to.equal(usdcIn);
  expect((await s.usdc.balanceOf(rewards)) >= (await s.rewards.usdcOwed())).to.equal(true);
  // Escrow holds exactly the clients' balances.
  let balances = 0n;
  for (const c of s.clients) balances += (await s.escrow.accounts(c.address)).balance;
  expect(await s.usdc.balanceOf(await s.escrow.getAddress())).to.equal(balances);
}

describe("invariants under random operations", () => {
  it("committee ⊆ active nodes with the minimum stake; FLK and USDC paid out ≤ what came in", async () => {
    const s0 = await loadFixture(base);
    // Guards against a vacuous run: the generated sequences must reach reports and paid claims.
    let reports = 0;
    let paidClaims = 0;
    const counts = new ActionCounts();
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 10 }), async (actions) => {
        const snapshot = await takeSnapshot();
        try {
          const s = s0;
          const nodes = [...s0.nodes];
          const trees = new Map<bigint, RewardsTree>();
          const claimed = new Set<string>();
          const rewardsAddress = await s.rewards.getAddress();
          const flkIn = async () =>
            (await s.emission.queryFilter(s.emission.filters.EmissionMinted(undefined, undefined, rewardsAddress))).reduce((a, e) => a + e.args.nodeAmount, 0n);
          for (const a of actions) {
            const node = (i: number) => nodes[i % nodes.length];
            switch (a.kind) {
              case "register":
                counts.record(
                  a.kind,
                  nodes.length < 12 && (await attempt(async () => nodes.push(...(await registerNodes(s, 1, () => MIN_STAKE + a.extra * FLK, nodes.length))))),
                );
                break;
              case "addStake":
                await s.registry.connect(node(a.node).owner).addStake(node(a.node).id, a.amount * FLK);
                counts.record(a.kind, true);
                break;
              case "unstake":
                counts.record(a.kind, await attempt(() => s.registry.connect(node(a.node).owner).unstake(node(a.node).id, a.amount * FLK)));
                break;
              case "lock":
                counts.record(a.kind, await attempt(() => s.registry.connect(node(a.node).owner).lockStake(node(a.node).id, a.epochs)));
                break;
              case "withdraw": {
                const v = await s.registry.getNode(node(a.node).id);
                if (a.wait && v.unstaking > 0n) while ((await s.registry.epoch()) < v.unstakeReadyAt) await skip(s, nodes);
                counts.record(a.kind, await attempt(() => s.registry.connect(node(a.node).owner).withdraw(node(a.node).id)));
                break;
              }
              case "deposit":
                await s.escrow.connect(s.clients[a.client]).deposit(s.clients[a.client].address, a.amount * USDC);
                counts.record(a.kind, true);
                break;
              case "skip":
                await skip(s, nodes);
                counts.record(a.kind, true);
                break;
              case "report": {
                const committee = (await s.registry.committeeIds()).map(Number);
                if (committee.length === 0) {
                  counts.record(a.kind, false);
                  break;
                }
                const epoch = await s.registry.epoch();
                const byId = (id: number) => nodes.find((n) => n.id === id)!;
                const secret = (id: number) => keccak256(toUtf8Bytes(`${epoch}-${id}`));
                // Commits may have closed already (a withdraw waited): then the committee stays silent.
                if (BigInt(await time.latest()) + 1n < (await s.registry.epochEnd())) {
                  for (const id of committee) await s.registry.connect(byId(id).owner).commitBeacon(id, beaconCommitment(epoch, id, secret(id)));
                  await time.increaseTo(await s.registry.epochEnd());
                  for (const [i, id] of committee.entries()) if (i !== a.silent) await s.registry.connect(byId(id).owner).revealBeacon(id, secret(id));
                }
                const active = (await s.registry.activeSetIds()).map(Number);
                // Each client's usage spread over the nodes by the drawn weights, charged at most what
                // the escrow lets the report debit (protocol/usage.ts, as the committee does).
                const debitable = await s.escrow.debitable(
                  s.clients.map((c) => c.address),
                  epoch,
                );
                const deliveries = active.flatMap((id, i) =>
                  s.clients.map((c, j) => ({ nodeId: id, account: c.address, bytes: a.usage[j] * a.revenue[i % 12] * 10n ** 7n })),
                );
                const paid = usageTotals(deliveries, new Map(s.clients.map((c, j) => [c.address.toLowerCase(), debitable[j]])));
                const { report, rewards } = completeEpochReport(
                  {
                    epoch,
                    nodes: active.map((id, i) => ({
                      nodeId: id,
                      uptime: a.uptimes[i % 12],
                      latencyMs: 10,
                      bytesServed: 1n,
                      deliveryAcks: 1n,
                      revenue: paid.revenue.get(id) ?? 0n,
                      reputation: 50,
                    })),
                    usage: [...paid.usage].map(([client, amount]) => ({ client, amount })),
                    charges: paid.charges,
                  },
                  await standings(s, active),
                );
                trees.set(epoch, rewards);
                await submitReport(s, nodes, report);
                reports++;
                counts.record(a.kind, true);
                break;
              }
              case "claim":
                for (const [epoch, tree] of trees) {
                  if (!tree.tree) continue;
                  for (const [i, [account, f, u]] of tree.tree.entries()) {
                    if (claimed.has(`${epoch}-${account}`)) continue;
                    claimed.add(`${epoch}-${account}`);
                    await s.rewards.claim(epoch, account, f, u, tree.tree.getProof(i));
                    paidClaims++;
                    counts.record(a.kind, true);
                  }
                }
                break;
            }
            await checkInvariants(s, nodes, await flkIn());
          }
        } finally {
          await snapshot.restore();
        }
      }),
      {
        numRuns: RUNS,
        // One sequence that always reaches a report and paid claims, so the guard below holds whatever the seed.
        examples: [
          [
            [
              { kind: "deposit", client: 0, amount: 5n },
              { kind: "report", uptimes: Array(12).fill(100), usage: [5n, 0n], revenue: Array(12).fill(500n), silent: -1 },
              { kind: "claim" },
            ],
          ],
          [
            [
              { kind: "unstake", node: 1, amount: 100n },
              { kind: "withdraw", node: 1, wait: true },
            ],
          ],
        ],
      },
    );
    expect(reports).to.be.greaterThan(0);
    expect(paidClaims).to.be.greaterThan(0);
    counts.check(["register", "addStake", "unstake", "lock", "withdraw", "deposit", "report", "skip", "claim"]);
  });

  it("no action after commits close changes the committee of the next epoch", async () => {
    const s0 = await loadFixture(withJailed);
    const counts = new ActionCounts();
    type Move = { kind: "register" | "addStake" | "unstake" | "rejoin" | "lock"; node: number; amount: bigint };
    const move: fc.Arbitrary<Move> = fc.record({
      kind: fc.constantFrom("register" as const, "addStake" as const, "unstake" as const, "rejoin" as const, "lock" as const),
      node: fc.nat({ max: 11 }),
      amount: fc.bigInt({ min: 1n, max: 5_000n }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(move, { minLength: 1, maxLength: 6 }), async (moves) => {
        const snapshot = await takeSnapshot();
        try {
          const s = s0;
          const nodes = [...s0.nodes];
          await runBeacon(s, nodes);
          // The committee that the change would pick right now, with the seed known.
          const before = await takeSnapshot();
          await submitReport(s, nodes, await emptyReport(s));
          const predicted = (await s.registry.committeeIds()).map(Number);
          await before.restore();
          for (const m of moves) {
            const n = nodes[m.node % nodes.length];
            const r = s.registry.connect(n.owner);
            let ok: boolean;
            if (m.kind === "register")
              ok = await attempt(async () => nodes.push(...(await registerNodes(s, 1, () => MIN_STAKE + m.amount * FLK, nodes.length))));
            else if (m.kind === "addStake") ok = await attempt(() => r.addStake(n.id, m.amount * FLK));
            else if (m.kind === "unstake")
              ok = await attempt(() => r.unstake(n.id, (m.amount * FLK) / 100n)); // up to 50 FLK: above the minimum it is allowed
            else if (m.kind === "lock") ok = await attempt(() => r.lockStake(n.id, Number(m.amount % 1000n) + 1));
            else ok = await attempt(() => r.rejoin(n.id));
            counts.record(m.kind, ok);
          }
          await submitReport(s, nodes, await emptyReport(s));
          expect((await s.registry.committeeIds()).map(Number)).to.deep.equal(predicted);
        } finally {
          await snapshot.restore();
        }
      }),
      // One sequence that always has the jailed node (slashed below the minimum) top up and rejoin,
      // so the guard below holds whatever the seed.
      {
        numRuns: RUNS,
        examples: [
          [
            [
              { kind: "addStake", node: s0.jailed, amount: 5_000n },
              { kind: "rejoin", node: s0.jailed, amount: 1n },
            ],
          ],
        ],
      },
    );
    counts.check(["register", "addStake", "unstake", "lock", "rejoin"]);
  });
});

/** {@link base} with the join queue stuffed: 100 adversary nodes of 1,000-1,004 FLK. */
async function stuffed() {
  const s = await base();
  const adversary = await registerNodes(s, 100, (i) => MIN_STAKE + BigInt(i % 5) * FLK, 100);
  expect((await s.registry.pendingNodes()).length).to.equal(100);
  return { ...s, adversary };
}

describe("queue liveness under random adversary moves", () => {
  it("a node with more stake than the weakest queued one is queued at once, evicting exactly that one, and is Active at the next change unless 100 candidates outrank it", async () => {
    const s0 = await loadFixture(stuffed);
    const counts = new ActionCounts();
    type Move = { kind: "register" | "addStake" | "rejoin"; node: number; amount: bigint };
    const move: fc.Arbitrary<Move> = fc.record({
      kind: fc.constantFrom("register" as const, "addStake" as const, "rejoin" as const),
      node: fc.nat({ max: 199 }),
      amount: fc.bigInt({ min: 0n, max: 8n }),
    });
    let admitted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(move, { minLength: 1, maxLength: 8 }), async (moves) => {
        const snapshot = await takeSnapshot();
        try {
          const s = s0;
          const adversary = [...s0.adversary];
          for (const m of moves) {
            const n = adversary[m.node % adversary.length];
            let ok: boolean;
            if (m.kind === "register")
              ok = await attempt(async () => adversary.push(...(await registerNodes(s, 1, () => MIN_STAKE + m.amount * FLK, 200 + adversary.length))));
            else if (m.kind === "addStake") ok = await attempt(() => s.registry.connect(n.owner).addStake(n.id, (m.amount + 1n) * FLK));
            else ok = await attempt(() => s.registry.connect(n.owner).rejoin(n.id));
            counts.record(m.kind, ok);
          }
          // The honest newcomer brings 1 wei more than the weakest queued node (adversary stakes are whole FLK: no ties).
          const queue = (await s.registry.pendingNodes()).map(Number);
          expect(queue.length).to.equal(100);
          const stakes = await Promise.all(queue.map(async (id) => (await s.registry.getNode(id)).stake));
          const weakest = stakes.reduce((a, b) => (a < b ? a : b));
          // Of equal stakes, the latest queued is evicted.
          const evicted = queue[stakes.lastIndexOf(weakest)];
          const honest = await registerNodes(s, 1, () => weakest + 1n, 5_000);
          const id = honest[0].id;
          expect((await s.registry.getNode(id)).status).to.equal(1n); // Pending
          expect((await s.registry.getNode(evicted)).status).to.equal(4n); // Exited
          const candidates = [...(await s.registry.activeSetIds()).map(Number), ...(await s.registry.pendingNodes()).map(Number)].filter((c) => c !== id);
          const stronger = new Set<number>();
          for (const c of candidates) if ((await s.registry.getNode(c)).stake > weakest + 1n) stronger.add(c);
          await submitReport(s, [...s.nodes, ...adversary, ...honest], await emptyReport(s));
          // The next committee's members rank first whatever their stake.
          for (const c of await s.registry.committeeIds()) if (Number(c) !== id) stronger.add(Number(c));
          const active = (await s.registry.getNode(id)).status === 2n;
          expect(active).to.equal(stronger.size < 100);
          if (active) admitted++;
        } finally {
          await snapshot.restore();
        }
      }),
      // One sequence where every move succeeds whatever the seed: a stronger node evicts the weakest, which tops up and rejoins.
      {
        numRuns: RUNS,
        examples: [
          [
            [
              { kind: "register", node: 0, amount: 8n },
              { kind: "addStake", node: 95, amount: 8n },
              { kind: "rejoin", node: 95, amount: 0n },
            ],
          ],
        ],
      },
    );
    counts.check(["register", "addStake", "rejoin"]);
    expect(admitted).to.be.greaterThan(0);
  });
});
