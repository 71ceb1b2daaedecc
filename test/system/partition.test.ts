/**
 * Issue 15, system test (2): seven node processes over loopback; one is cut off (SIGSTOP: it
 * neither sends nor reads) for more than 100 rounds while the others commit under load, healed
 * (SIGCONT), SIGKILLed while it catches up by round range, and restarted. It must catch up within
 * a stated time with no frame errors, and every node must end with the same committed sequence,
 * batch by batch. Seeded (which node, how long, the load); the seed is printed.
 */
import { expect } from "chai";
import { prng } from "../../testkit/prng";
import { Cluster, NodeProcess, payloads, waitFor } from "../node/consensus/cluster";

const SEED = Number(process.env.PARTITION_SEED ?? Math.floor(Math.random() * 2 ** 31));
const GC_DEPTH = 5;
/** From restart to caught up (at the others' leader round when it restarted). */
const CATCH_UP_MS = 30_000;

describe("System: a partitioned node heals, is killed mid-catch-up and converges (7 processes)", function () {
  this.timeout(240_000);
  let cluster: Cluster | undefined;
  let load: NodeJS.Timeout | undefined;
  afterEach(async function () {
    clearInterval(load);
    if (this.currentTest?.state === "failed") {
      console.error(`partition test seed ${SEED} (rerun with PARTITION_SEED=${SEED})`);
      for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-2000));
    }
    await cluster?.stop();
  });

  it("same committed sequence everywhere after a 100+ round partition and a crash during catch-up", async () => {
    console.log(`      seed ${SEED}`);
    const rand = prng(SEED);
    cluster = await Cluster.create(7, { parameters: { gcDepth: GC_DEPTH } });
    const nodes = cluster.nodes;
    const cut = Math.floor(rand() * 7);
    const downRounds = 110 + Math.floor(rand() * 40);
    const p = nodes[cut];
    const others = nodes.filter((n) => n !== p);
    const [a] = others;
    await Promise.all(nodes.map((n) => n.start(n === p ? "info" : undefined)));
    await Promise.all(nodes.map((n) => n.subscribe()));
    let wave = 0;
    const submitters = (n: NodeProcess) => n !== p || p.alive;
    load = setInterval(() => {
      const w = wave++;
      for (const [i, n] of nodes.entries())
        if (submitters(n) && rand() < 0.5) void n.submit(payloads(`w${w}n${i}`, 1 + Math.floor(rand() * 4))).catch(() => {});
    }, 40);

    await waitFor(
      "first commits everywhere",
      () => nodes.every((n) => n.leaderRound >= 4 * GC_DEPTH),
      60_000,
      () => nodes.map((n) => n.leaderRound),
    );
    p.signal("SIGSTOP");
    const cutAt = a.leaderRound;
    await waitFor(
      `${downRounds} rounds without node ${cut}`,
      () => a.leaderRound >= cutAt + downRounds,
      90_000,
      () => a.leaderRound,
    );
    p.signal("SIGCONT");
    await waitFor("node catching up by round range", () => p.stderr.includes('"msg":"catching up by round range"'), 30_000);
    await p.stop("SIGKILL");
    const restartedAt = Date.now();
    await p.start("info");
    await p.subscribe();
    const target = a.leaderRound;
    await waitFor(
      "the restarted node catches up",
      () => p.leaderRound >= target,
      CATCH_UP_MS,
      () => [p.leaderRound, target],
    );
    const catchUpMs = Date.now() - restartedAt;

    clearInterval(load);
    // Quiet: every node reaches the same last batch.
    await waitFor(
      "every node at the same sequence",
      () => nodes.every((n) => n.committed.length === a.committed.length && n.committed.length > 0),
      30_000,
      () => nodes.map((n) => n.committed.length),
    );
    for (const n of nodes) expect(n.committed).to.deep.equal(a.committed, "same committed sequence, batch by batch");
    const first = new Map<string, number>();
    const twice = a.committed.flatMap((tx, i) => {
      const j = first.get(tx);
      first.set(tx, j ?? i);
      return j === undefined ? [] : [`${tx} at sub-DAG@leader ${a.committedAt[j]} and ${a.committedAt[i]}`];
    });
    expect(twice, `committed twice (node ${cut} cut at leader round ${cutAt})`).to.deep.equal([]);
    for (const n of nodes) expect(n.stderr).to.not.match(/malformed stream from peer|send queue full/, "frame errors");
    console.log(`      node ${cut} cut for ${downRounds} rounds, caught up ${catchUpMs} ms after its restart`);
  });
});
