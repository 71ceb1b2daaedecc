/**
 * Issue 20, agent snapshots: an agent's state snapshotted on node A (its PGlite folder as a
 * tarball in A's blockstore, the record signed by A), restored on node B from the record (the
 * tarball fetched from A as a peer, block by block verified, then hashed against the root): B
 * answers as A did. Tampering is refused: a record altered after signing, a record signed by a
 * node that does not host agents, a snapshot altered on the host's disk, a record of another agent.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { rawEd25519PublicKey } from "../../../node/acks/ed25519Keys";
import { signSnapshot, type SnapshotRecord } from "../../../node/agents/agentRecords";
import { agentHostOrder } from "../../../protocol/agentHosting";
import { planAgentNode, startAgentNode, type AgentNode } from "../../../testkit/agentNode";

const MEMO = {
  config: { name: "Memo" },
  bundle: `export default { async fetch(request, env) {
    await env.sql.query("create table if not exists memo (id serial primary key, body text not null)");
    if (request.method === "POST") {
      const body = await request.text();
      await env.sql.query("insert into memo (body) values ($1)", [body]);
      await env.kv.put("last", body);
    }
    const { rows } = await env.sql.query("select id, body from memo order by id");
    return Response.json({ rows, last: await env.kv.get("last") });
  } }`,
};

describe("agent snapshots (issue 20)", function () {
  this.timeout(300_000);
  let a: AgentNode;
  let b: AgentNode;
  let firstRecord: SnapshotRecord;
  const call = async (node: AgentNode, path = "/", init: RequestInit = {}) => {
    const answer = await fetch(`${node.gatewayUrl}/agents/memo${path}`, init);
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
  };
  const operator = (node: AgentNode, body?: unknown): RequestInit => ({
    method: "POST",
    headers: { authorization: `Bearer ${node.operatorToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  before(async () => {
    // B restores A's records only with A in its hosting set (the nodes that may host agents); B
    // ranks first for "memo" among the two (planned so), so B serves it rather than redirect to A.
    let planA = await planAgentNode();
    const planB = await planAgentNode();
    while (agentHostOrder("memo", [planA.nodeKey, planB.nodeKey])[0] !== planB.nodeKey) {
      fs.rmSync(planA.dir, { recursive: true, force: true });
      planA = await planAgentNode();
    }
    const hosting = { nodes: [planA, planB].map((p) => ({ nodeKey: p.nodeKey, gatewayUrl: p.gatewayUrl })) };
    a = await startAgentNode({ memo: MEMO, other: MEMO }, { plan: planA });
    b = await startAgentNode({ memo: MEMO }, { plan: planB, peers: [a.gatewayUrl], hosting });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it("restores on node B an agent snapshotted on node A: same answers", async () => {
    for (const note of ["alpha", "beta", "gamma"]) expect((await call(a, "/", { method: "POST", body: note })).status).to.equal(200);
    const onA = await call(a);
    expect(onA.json).to.deep.equal({
      rows: [
        { id: 1, body: "alpha" },
        { id: 2, body: "beta" },
        { id: 3, body: "gamma" },
      ],
      last: "gamma",
    });
    // Management is the operator's: no bearer, or a guessed service token, is refused at the gateway.
    const refused = await fetch(`${a.gatewayUrl}/agents/memo/_fleek/snapshot`, { method: "POST", headers: { "x-fleek-service-token": "guess" } });
    expect(refused.status).to.equal(401);
    const guessed = await fetch(`${a.gatewayUrl}/agents/_snapshots?agent=memo`, { method: "POST", headers: { "x-fleek-service-token": "guess" }, body: "x" });
    expect([guessed.status, ((await guessed.json()) as { error: string }).error]).to.deep.equal([401, "only the node's agents service stores snapshots"]);
    const taken = await fetch(`${a.gatewayUrl}/agents/memo/_fleek/snapshot`, operator(a));
    expect(taken.status, await taken.clone().text()).to.equal(201);
    const record = (await taken.json()) as SnapshotRecord;
    expect(record.agent).to.equal("memo");
    // The agent's first snapshot.
    expect(record.sequence).to.equal(1);
    firstRecord = record;
    const key = (await (await fetch(`${a.gatewayUrl}/agents/_key`)).json()) as { nodeKey: string };
    expect(record.nodeKey).to.equal(key.nodeKey);
    // The tarball is in A's blockstore under the record's root, with the record's length.
    const stored = await fetch(`${a.gatewayUrl}/blake3/${record.root}`);
    expect(Buffer.from(await stored.arrayBuffer()).length).to.equal(record.bytes);

    // B hosts the same agent with nothing in it yet.
    expect((await call(b)).json).to.deep.equal({ rows: [], last: null });
    const restored = await fetch(`${b.gatewayUrl}/agents/memo/_fleek/restore`, operator(b, { record }));
    expect(restored.status, JSON.stringify(await restored.clone().json())).to.equal(200);
    expect(await restored.json()).to.deep.equal({ restored: record.root, bytes: record.bytes });
    expect((await call(b)).json).to.deep.equal(onA.json);
    // And it goes on from there.
    expect((await call(b, "/", { method: "POST", body: "delta" })).json.rows).to.have.length(4);
  });

  it("numbers an agent's snapshots and refuses a replayed older record", async () => {
    const second = (await (await fetch(`${a.gatewayUrl}/agents/memo/_fleek/snapshot`, operator(a))).json()) as SnapshotRecord;
    expect(second.sequence).to.equal(2);
    const onA = await call(a);
    const restore = async (r: unknown) => {
      const answer = await fetch(`${b.gatewayUrl}/agents/memo/_fleek/restore`, operator(b, { record: r }));
      return { status: answer.status, body: (await answer.json()) as { error?: string } };
    };
    expect((await restore(second)).status).to.equal(200);
    expect((await call(b)).json).to.deep.equal(onA.json);
    // Record 1 again: a replay of an older state, refused before its content is read; B keeps record 2's state.
    expect(await restore(firstRecord)).to.deep.equal({ status: 409, body: { error: "snapshot refused: record 1 is not newer than the state's record 2" } });
    expect((await call(b)).json).to.deep.equal(onA.json);
  });

  it("refuses an altered record, another agent's record, a record signed by a node that does not host agents, and a snapshot altered on the host's disk", async () => {
    const record = (await (await fetch(`${a.gatewayUrl}/agents/memo/_fleek/snapshot`, operator(a))).json()) as SnapshotRecord;
    const before = await call(b);
    const restore = async (r: unknown) => {
      const answer = await fetch(`${b.gatewayUrl}/agents/memo/_fleek/restore`, operator(b, { record: r }));
      return { status: answer.status, error: ((await answer.json()) as { error: string }).error };
    };
    expect(await restore({ ...record, root: a.roots.memo.bundle })).to.deep.equal({
      status: 400,
      error: "snapshot refused: the snapshot record's signature does not hold (altered, or not signed by the node it names)",
    });
    expect(await restore({ ...record, agent: "other" })).to.deep.equal({
      status: 400,
      error: 'snapshot refused: the snapshot record is of agent "other", not "memo"',
    });
    // A record correctly signed by a key that is not one of the hosting nodes: refused before its content is read.
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const strangerKey = rawEd25519PublicKey(stranger).toString("hex");
    const forged = signSnapshot(
      { agent: "memo", root: a.roots.memo.bundle, bytes: record.bytes, sequence: 9, takenAt: Date.now(), nodeKey: strangerKey },
      stranger,
    );
    expect(await restore(forged)).to.deep.equal({
      status: 403,
      error: `snapshot refused: signed by node ${strangerKey}, which is not one of the nodes that host agents`,
    });
    // The snapshot's bytes altered on A's disk: A re-hashes every block it reads, so B gets nothing it could restore.
    const data = path.join(a.blockstore, "objects", `${record.root}.data`);
    const bytes = fs.readFileSync(data);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(data, bytes);
    const altered = await restore(record);
    expect(altered.status).to.be.oneOf([404, 502]);
    expect(altered.error).to.match(/^snapshot refused: /);
    // None of it touched B's state.
    expect((await call(b)).json).to.deep.equal(before.json);
  });
});
