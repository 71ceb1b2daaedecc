/**
 * Exact delivery to subscribers: while 4 node processes commit a steady load, clients attach to
 * random nodes at random moments (so some land in the middle of a sub-DAG's delivery) from
 * random sub-DAG indices, up to a few beyond the newest. Each must receive exactly the batches
 * of the reference sequence (a subscriber from index 1 attached before any load) whose index is
 * at least its own: no gap, no duplicate, same order.
 */
import { expect } from "chai";
import { NodeClient } from "../../../node/client/client";
import { Cluster, expectExactFromTail, frameKey as key, LateSubscriber, payloads } from "./cluster";

describe("subscribers attaching at random moments and indices", function () {
  this.timeout(180_000);
  let cluster: Cluster | undefined;
  const clients: NodeClient[] = [];
  afterEach(async function () {
    if (this.currentTest?.state === "failed") for (const n of cluster?.nodes ?? []) console.error(n.stderr.slice(-2000));
    clients.forEach((c) => c.close());
    await cluster?.stop();
  });

  it("delivers every batch from the requested index exactly once", async () => {
    // Exact delivery from any index of the epoch: nothing compacted during the test (compaction.test.ts covers refusals).
    cluster = await Cluster.create(4, { parameters: { retainRounds: 1_000_000 } });
    await cluster.start();
    const connect = async (node: number) => {
      const c = await NodeClient.connect("127.0.0.1", cluster!.nodes[node].mempoolPort);
      clients.push(c);
      return c;
    };
    const reference: string[] = [];
    let newest = 0;
    (await connect(0)).subscribe(1, (f) => {
      reference.push(key(f));
      newest = f.subDagIndex;
    });

    const late: LateSubscriber[] = [];
    const refusals: string[] = [];
    let loading = true;
    const load = (async () => {
      for (let wave = 0; loading; wave++) {
        await Promise.all(cluster!.nodes.map((n, i) => n.submitAll(payloads(`w${wave}n${i}`, 30))));
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
      }
    })();
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      const node = i % 4;
      // Two in three from an index already delivered, so at or below the tail's whatever the
      // cluster's pace; the others from up to 4 beyond the newest.
      const span = i % 3 === 2 ? newest + 4 : Math.max(newest, 1);
      const s = { from: 1 + Math.floor(Math.random() * span), got: [] as string[], label: `on node ${node}` };
      late.push(s);
      (await connect(node)).subscribe(
        s.from,
        (f) => s.got.push(key(f)),
        (r) => refusals.push(`from ${s.from} on node ${node}: ${r.reason}`),
      );
    }
    loading = false;
    await load;

    // A last transaction marks the end: every subscriber from at or below its sub-DAG must reach it.
    const { final } = await expectExactFromTail(cluster.nodes[0], reference, late, 30_000);
    expect(refusals, "subscriptions refused").to.deep.equal([]);
    // The 27 drawn from delivered indices, and those of the others the cluster reached.
    expect(late.filter((s) => s.from <= final).length, "subscribers with something to receive").to.be.at.least(27);
  });
});
