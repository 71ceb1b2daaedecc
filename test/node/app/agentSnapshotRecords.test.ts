/**
 * Agent snapshot records through consensus (docs/agents-runtime.md "Snapshots through consensus"):
 * the host's signed records travel in AgentSnapshots transactions; the epoch state keeps the newest
 * record (by sequence) of each marketplace agent signed by its assigned host in the epoch's hosting
 * set (the active nodes), drops and counts the others, and commits them in the report's
 * `agentSnapshotsRoot`, a StandardMerkleTree a node taking an agent over proves a record against.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ed25519PrivateKeyFromSeed } from "../../../node/acks/ed25519Keys";
import { signSnapshot, type SnapshotRecord } from "../../../node/agents/agentRecords";
import { AppTxKind, decodeAppTx, encodeAppTx } from "../../../node/app/appTransactions";
import { EpochState } from "../../../node/app/epochState";
import { reportedAgentSnapshot, writeReportedAgentSnapshots } from "../../../node/app/reportedAgentSnapshots";
import { agentHostOrder } from "../../../protocol/agentHosting";
import { agentSnapshotProofs, verifyAgentSnapshotLeaf } from "../../../protocol/agentSnapshots";
import { agentService } from "../../../protocol/usage";
import { context, members, tx, type Member } from "./appFixtures";

const ZERO = `0x${"00".repeat(32)}`;
const root = (b: number) => b.toString(16).padStart(2, "0").repeat(32);

describe("app: agent snapshot records in the epoch state", () => {
  const ms = members(4);
  const ctx = context(ms);
  const byKey = new Map(ms.map((m) => [m.node.nodeKey, m]));
  // Agent 7's host among the active nodes, and a node of the set that is not its host.
  const order7 = agentHostOrder(
    "7",
    ms.map((m) => m.node.nodeKey),
  ).map((k) => byKey.get(k)!);
  const [host7, second7] = order7;
  const host9 = byKey.get(
    agentHostOrder(
      "9",
      ms.map((m) => m.node.nodeKey),
    )[0],
  )!;
  const record = (m: Member, agent: string, sequence: number, rootByte: number): SnapshotRecord =>
    signSnapshot(
      { agent, root: root(rootByte), bytes: 1000 + sequence, sequence, takenAt: 1_800_000_000_000 + sequence, nodeKey: m.node.nodeKey },
      ed25519PrivateKeyFromSeed(m.key.seed),
    );
  const snapshots = (m: Member, records: SnapshotRecord[]) => tx(m.key, { kind: AppTxKind.AgentSnapshots, records });
  const fresh = () => {
    const state = new EpochState(ctx);
    state.setAgentTerms(
      new Map([
        [agentService(7).slice(2), { price: 0n, owner: ms[0].node.owner }],
        [agentService(9).slice(2), { price: 0n, owner: ms[0].node.owner }],
        [agentService(500).slice(2), undefined],
      ]),
    );
    return state;
  };
  const close = (state: EpochState) => {
    for (const m of ms.slice(0, 3)) expect(state.apply(tx(m.key, { kind: AppTxKind.CloseEpoch, epoch: ctx.epoch }))).to.deep.equal({ ok: true });
    return state.report!.report;
  };

  it("encodes records with a marketplace agent id, and refuses others", () => {
    const r = record(host7, "7", 3, 0xab);
    const encoded = encodeAppTx({ kind: AppTxKind.AgentSnapshots, records: [r] });
    // kind 1 | count 2 | agent 8 | root 32 | bytes 8 | sequence 8 | takenAt 8 | node key 32 | signature 64
    expect(encoded.length).to.equal(1 + 2 + 8 + 32 + 8 + 8 + 8 + 32 + 64);
    expect(decodeAppTx(encoded)).to.deep.equal({ kind: AppTxKind.AgentSnapshots, records: [r] });
    expect(() => encodeAppTx({ kind: AppTxKind.AgentSnapshots, records: [{ ...r, agent: "memo" }] })).to.throw('agent "memo" is not a marketplace id');
    expect(() => encodeAppTx({ kind: AppTxKind.AgentSnapshots, records: [] })).to.throw("1..64 snapshot records per transaction");
  });

  it("keeps each agent's newest record of its assigned host; a non-host's, a replay, an unlisted agent's and an altered one are dropped and counted", () => {
    const state = fresh();
    expect(state.unknownAgents([snapshots(host7, [record(host7, "12", 1, 1)])])).to.deep.equal([agentService(12).slice(2)]);
    expect(state.apply(snapshots(host7, [record(host7, "7", 1, 0x01), record(host7, "7", 2, 0x02)]))).to.deep.equal({ ok: true, refusedAcks: 0 });
    // Signed by a node of the hosting set that is not agent 7's host: dropped.
    expect(state.apply(snapshots(second7, [record(second7, "7", 5, 0x05)]))).to.deep.equal({ ok: true, refusedAcks: 1 });
    // Record 2 again, and record 1: not newer.
    expect(state.apply(snapshots(host7, [record(host7, "7", 2, 0x22), record(host7, "7", 1, 0x01)]))).to.deep.equal({ ok: true, refusedAcks: 2 });
    // Not a marketplace agent; and a record altered after signing (its root).
    const altered = { ...record(host9, "9", 4, 0x04), root: root(0x44) };
    expect(state.apply(snapshots(host9, [record(host9, "500", 1, 0x50), altered]))).to.deep.equal({ ok: true, refusedAcks: 2 });
    expect(state.apply(snapshots(host9, [record(host9, "9", 4, 0x04)]))).to.deep.equal({ ok: true, refusedAcks: 0 });
    expect(state.refusedSnapshots).to.equal(5);

    const report = close(state);
    // The tree over (agentId, root, bytes, sequence, signer) of agent 7's record 2 and agent 9's record 4, written out here.
    const expected = StandardMerkleTree.of(
      [
        [7n, `0x${root(0x02)}`, 1002n, 2n, `0x${host7.node.nodeKey}`],
        [9n, `0x${root(0x04)}`, 1004n, 4n, `0x${host9.node.nodeKey}`],
      ],
      ["uint256", "bytes32", "uint64", "uint64", "bytes32"],
    );
    expect(report.agentSnapshotsRoot).to.equal(expected.root);
    // A node taking agent 7 over proves record 2 against the reported root; record 1, or another root, does not prove.
    const proven = {
      leaf: { agentId: 7n, root: root(0x02), bytes: 1002n, sequence: 2n, nodeKey: host7.node.nodeKey },
      proof: agentSnapshotProofs(state.agentSnapshotLeaves()).get(7n)!,
    };
    expect(verifyAgentSnapshotLeaf(report.agentSnapshotsRoot, proven.leaf, proven.proof)).to.equal(true);
    expect(verifyAgentSnapshotLeaf(report.agentSnapshotsRoot, { ...proven.leaf, sequence: 1n, bytes: 1001n, root: root(0x01) }, proven.proof)).to.equal(false);
    expect(verifyAgentSnapshotLeaf(report.agentSnapshotsRoot, { ...proven.leaf, root: root(0x66) }, proven.proof)).to.equal(false);
    // After the close, records are late.
    expect(state.apply(snapshots(host7, [record(host7, "7", 3, 0x03)]))).to.deep.equal({ ok: false, reason: "epoch closed", late: true });
    // Saved and restored, the state keeps its records and its root.
    const again = EpochState.restore({ ...state.save(), seenAcks: state.acksSince(0) });
    expect(again.report!.report.agentSnapshotsRoot).to.equal(expected.root);
    expect(again.refusedSnapshots).to.equal(5);
  });

  it("refuses a record taken outside the epoch's window: an older record of an earlier epoch cannot be replayed into a later root", () => {
    // Epoch 1 commits agent 7's record 5; records 3 and 5 were both signed by its host in epoch 1.
    const first = fresh();
    const three = record(host7, "7", 3, 0x03);
    const five = record(host7, "7", 5, 0x05);
    expect(first.apply(snapshots(host7, [three, five]))).to.deep.equal({ ok: true, refusedAcks: 0 });
    expect(first.agentSnapshotLeaves().map((l) => l.sequence)).to.deep.equal([5n]);
    // Epoch 2 (its window starts where epoch 1's ends) starts empty: record 3 again is refused, not committed as the newest.
    const day = 86_400_000;
    const second = new EpochState({ ...ctx, epoch: ctx.epoch + 1, acksFromMs: ctx.acksUntilMs, acksUntilMs: ctx.acksUntilMs + day });
    second.setAgentTerms(new Map([[agentService(7).slice(2), { price: 0n, owner: ms[0].node.owner }]]));
    expect(second.apply(snapshots(host7, [three, five]))).to.deep.equal({ ok: true, refusedAcks: 2 });
    // A record taken after the window ends is refused too; the host's next record, taken in epoch 2, is kept.
    const late = signSnapshot(
      { agent: "7", root: root(0x07), bytes: 7, sequence: 7, takenAt: ctx.acksUntilMs + day, nodeKey: host7.node.nodeKey },
      ed25519PrivateKeyFromSeed(host7.key.seed),
    );
    const six = signSnapshot(
      { agent: "7", root: root(0x06), bytes: 6, sequence: 6, takenAt: ctx.acksUntilMs + 1_000, nodeKey: host7.node.nodeKey },
      ed25519PrivateKeyFromSeed(host7.key.seed),
    );
    expect(second.apply(snapshots(host7, [late, six]))).to.deep.equal({ ok: true, refusedAcks: 1 });
    expect(second.agentSnapshotLeaves().map((l) => [l.sequence, l.root])).to.deep.equal([[6n, root(0x06)]]);
    expect(second.refusedSnapshots).to.equal(3);
  });

  it("a member keeps each agent's record of the latest closed epoch that had one, however long ago, with its proof", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reported-snapshots-"));
    try {
      // Epochs 1-8 close with agent 7's record of the epoch's number; agent 9's only in epoch 1, an epoch with none writes nothing.
      for (let epoch = 1; epoch <= 8; epoch++) {
        const records = [record(host7, "7", epoch, epoch), ...(epoch === 1 ? [record(host9, "9", 1, 0x90)] : [])];
        await writeReportedAgentSnapshots(dir, epoch, records);
      }
      await writeReportedAgentSnapshots(dir, 9, []);
      // A late write of an older epoch (a member closing it again after a restart) does not replace a newer entry.
      await writeReportedAgentSnapshots(dir, 2, [record(host7, "7", 2, 2)]);
      expect(fs.readdirSync(path.join(dir, "agent-snapshots")).sort()).to.deep.equal(["7.json", "9.json"]);
      const seven = (await reportedAgentSnapshot(dir, 7n))!;
      expect(seven.epoch).to.equal(8);
      expect(seven.record).to.deep.equal(record(host7, "7", 8, 8));
      // The tree of epoch 8 is agent 7's record alone, written out here: its root is the leaf's hash and the proof is empty.
      const epoch8 = StandardMerkleTree.of([[7n, `0x${root(8)}`, 1008n, 8n, `0x${host7.node.nodeKey}`]], ["uint256", "bytes32", "uint64", "uint64", "bytes32"]);
      expect(seven.proof).to.deep.equal([]);
      expect(
        verifyAgentSnapshotLeaf(epoch8.root, { agentId: 7n, root: root(8), bytes: 1008n, sequence: 8n, nodeKey: host7.node.nodeKey }, seven.proof),
      ).to.equal(true);
      // The entry it replaced (epoch 7's) stays beside it, for the time epoch 8's report is not on chain.
      const epoch7 = StandardMerkleTree.of([[7n, `0x${root(7)}`, 1007n, 7n, `0x${host7.node.nodeKey}`]], ["uint256", "bytes32", "uint64", "uint64", "bytes32"]);
      expect(seven.previous?.epoch).to.equal(7);
      expect(
        verifyAgentSnapshotLeaf(epoch7.root, { agentId: 7n, root: root(7), bytes: 1007n, sequence: 7n, nodeKey: host7.node.nodeKey }, seven.previous!.proof),
      ).to.equal(true);
      expect((await reportedAgentSnapshot(dir, 9n))?.previous).to.equal(undefined);
      // Agent 9's record is in epoch 1's report only, seven closes ago: still there, proven against epoch 1's tree of two leaves.
      const nine = (await reportedAgentSnapshot(dir, 9n))!;
      expect(nine.epoch).to.equal(1);
      const epoch1 = StandardMerkleTree.of(
        [
          [7n, `0x${root(1)}`, 1001n, 1n, `0x${host7.node.nodeKey}`],
          [9n, `0x${root(0x90)}`, 1001n, 1n, `0x${host9.node.nodeKey}`],
        ],
        ["uint256", "bytes32", "uint64", "uint64", "bytes32"],
      );
      expect(
        StandardMerkleTree.verify(
          epoch1.root,
          ["uint256", "bytes32", "uint64", "uint64", "bytes32"],
          [9n, `0x${root(0x90)}`, 1001n, 1n, `0x${host9.node.nodeKey}`],
          nine.proof,
        ),
      ).to.equal(true);
      expect(await reportedAgentSnapshot(dir, 8n)).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a write torn by a crash costs only the agent it wrote: the next close keeps every other agent's proof", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reported-snapshots-"));
    try {
      await writeReportedAgentSnapshots(dir, 1, [record(host9, "9", 1, 0x90)]);
      await new Promise((r) => setTimeout(r, 20)); // the writes' modification times differ
      await writeReportedAgentSnapshots(dir, 2, [record(host7, "7", 2, 2)]);
      // The crash tore the last file written (no complete JSON left in it).
      const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
      const last = files.map((f) => path.join(f.parentPath, f.name)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
      fs.truncateSync(last, Math.floor(fs.statSync(last).size / 2));
      await writeReportedAgentSnapshots(dir, 3, [record(host7, "7", 3, 3)]);
      expect((await reportedAgentSnapshot(dir, 7n))?.epoch).to.equal(3);
      const nine = (await reportedAgentSnapshot(dir, 9n))!;
      expect(nine.epoch).to.equal(1);
      expect(nine.record).to.deep.equal(record(host9, "9", 1, 0x90));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the first close after a restart deletes the temporary files a crash left mid-write", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reported-snapshots-"));
    try {
      const folder = path.join(dir, "agent-snapshots");
      fs.mkdirSync(folder);
      // Left by a process (another pid) killed between writing the temporary file and renaming it.
      const strays = ["9.json.4242.tmp", "7.json.4243.tmp"];
      for (const name of strays) fs.writeFileSync(path.join(folder, name), '{"epoch":1');
      await writeReportedAgentSnapshots(dir, 2, [record(host7, "7", 2, 2)]);
      expect(fs.readdirSync(folder).sort()).to.deep.equal(["7.json"]);
      expect((await reportedAgentSnapshot(dir, 7n))?.epoch).to.equal(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a failed write is the returned promise's rejection, not a throw into the reporter's batch", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reported-snapshots-"));
    try {
      const notAFolder = path.join(dir, "file");
      fs.writeFileSync(notAFolder, "");
      let write: unknown;
      expect(() => (write = writeReportedAgentSnapshots(notAFolder, 1, [record(host7, "7", 1, 1)]))).not.to.throw();
      await expect(write).to.be.rejectedWith(/ENOTDIR|EEXIST/);
      // The folder's later writes go on.
      await writeReportedAgentSnapshots(dir, 1, [record(host7, "7", 1, 1)]);
      expect((await reportedAgentSnapshot(dir, 7n))?.epoch).to.equal(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an epoch with no snapshot has a zero root; a node outside the active set hosts nothing", () => {
    expect(close(fresh()).agentSnapshotsRoot).to.equal(ZERO);
    // The host of agent 7 left the active set: its records are dropped, and the next node of the order is the host.
    const state = new EpochState({ ...ctx, active: ctx.active.filter((n) => n.nodeKey !== host7.node.nodeKey) });
    state.setAgentTerms(new Map([[agentService(7).slice(2), { price: 0n, owner: ms[0].node.owner }]]));
    expect(state.apply(snapshots(second7, [record(host7, "7", 1, 0x01), record(second7, "7", 2, 0x02)]))).to.deep.equal({ ok: true, refusedAcks: 1 });
    expect(state.agentSnapshotLeaves().map((l) => [l.sequence, l.nodeKey])).to.deep.equal([[2n, second7.node.nodeKey]]);
  });
});
