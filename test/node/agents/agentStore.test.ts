/**
 * Issue 20, an agent's store (node/agents/agentStore.ts) on its own: the quota's size measured by
 * the store's thread with Node's `stat` is what PostgreSQL's `pg_database_size` answers, and kv
 * writes queued while a batch is committing (later writes of a key replacing queued ones) reach
 * the database in the order the single writer made them, interleaved with reads, SQL and deletes.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { AgentStore } from "../../../node/agents/agentStore";
import { databaseBytes } from "../../../node/agents/agentStoreSize";

const LIMITS = { storageBytes: 64 * 2 ** 20, queryMs: 60_000, keyBytes: 512, valueBytes: 128 * 1024, rows: 1000 };

describe("agent store (issue 20)", function () {
  this.timeout(240_000);
  let root: string;
  let template: string;
  let baseline: number;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "agent-store-"));
    template = path.join(root, "template");
    baseline = await AgentStore.prepareTemplate(template, LIMITS);
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("measures the database as pg_database_size does, empty and after writes", async () => {
    const dir = path.join(root, "measured");
    fs.cpSync(template, dir, { recursive: true });
    const db = await PGlite.create({ dataDir: dir });
    try {
      const oid = (await db.query<{ oid: number }>("select oid::int as oid from pg_database where datname = current_database()")).rows[0].oid;
      const sizes: [number, number][] = [];
      const measure = async () =>
        sizes.push([databaseBytes(dir, oid), Number((await db.query<{ s: string }>("select pg_database_size(current_database())::text as s")).rows[0].s)]);
      await measure();
      await db.exec("create table t (id serial primary key, body text not null)");
      await db.exec("insert into t (body) select repeat('x', 1000) from generate_series(1, 3000)");
      await measure();
      await db.exec("drop table t");
      await measure();
      for (const [ours, postgres] of sizes) expect(ours).to.equal(postgres);
      // The writes grew it by at least the 3 MB of rows: the figures are not both zero.
      expect(sizes[1][1] - sizes[0][1]).to.be.greaterThan(3_000_000);
    } finally {
      await db.close();
    }
    // The template's size (an AgentStore's baseline) was measured the same way.
    expect(baseline).to.be.greaterThan(1_000_000);
  });

  it("keeps the single writer's order: queued writes of a key replaced by later ones, reads, SQL and deletes in between", async () => {
    const dir = path.join(root, "ordered");
    let store = await AgentStore.open(dir, LIMITS, { template, baseline });
    try {
      const seen: unknown[] = [];
      const sqlValue = async (key: string) =>
        (await store.query("select value from fleek_kv where key = $1", [key])).rows.map((r) => r.value as string)[0] ?? null;
      // Not awaited between calls: the first put's batch is in hand while the next ones queue.
      const writes = [store.put("a", "1"), store.put("b", "1"), store.put("a", "2"), store.put("a", "3")];
      seen.push(await sqlValue("a")); // SQL reaches the thread after the writes queued before it
      writes.push(store.put("b", "2"), store.put("c", "1"));
      seen.push(await store.delete("b")); // as does a delete: it deleted b = 2
      writes.push(store.put("b", "3"), store.put("a", "4"), store.put("b", "4"));
      seen.push(await sqlValue("b"), await store.get("a"));
      await Promise.all(writes);
      await store.flush();
      expect(seen).to.deep.equal(["3", true, "4", "4"]);
      await store.close();
      // What was committed, read from the database (a new store has an empty cache).
      store = await AgentStore.open(dir, LIMITS, { baseline });
      const { rows } = await store.query("select key, value from fleek_kv order by key");
      expect(rows).to.deep.equal([
        { key: "a", value: "4" },
        { key: "b", value: "4" },
        { key: "c", value: "1" },
      ]);
    } finally {
      await store.close();
    }
  });

  it("answers a queued put synchronously and says when the quota's measure is due", async () => {
    const dir = path.join(root, "queued");
    const store = await AgentStore.open(dir, { ...LIMITS, storageBytes: 512 * 1024 }, { template, baseline });
    try {
      expect(store.queuePut("k", '"v"')).to.be.an.instanceOf(Promise); // within 1 MiB of the quota: every write is measured
      expect(store.cached("k")).to.deep.equal({ value: '"v"' });
      expect(() => store.queuePut("", "1")).to.throw(/non-empty string/);
      // Incompressible values, each write awaited with its measure: the quota holds once it is used up.
      let refused: unknown;
      for (let i = 0; i < 100 && !refused; i++) {
        try {
          await store.queuePut(`big-${i}`, JSON.stringify(randomBytes(50_000).toString("base64")));
        } catch (error) {
          refused = error;
        }
      }
      expect(String(refused)).to.match(/storage quota is used up/);
    } finally {
      await store.close();
    }
  });
});
