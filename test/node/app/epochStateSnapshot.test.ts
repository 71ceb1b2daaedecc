/**
 * The epoch application's snapshot (issue 15): a state written at any point of a sequence and read
 * back, then given the rest of the sequence, is the state that applied the whole sequence: same
 * report digest, rewards tree, signatures, closes, measurements and every stored entry. Checked on
 * a sequence exercising every transaction kind cut at every position, and on random sequences
 * (fast-check). A damaged, truncated, foreign or oversized file is ignored with a warning.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Wallet } from "ethers";
import { AppTxKind } from "../../../node/app/appTransactions";
import { EpochState } from "../../../node/app/epochState";
import { ACKS_FILE, readSnapshot, SNAPSHOT_FILE, writeSnapshot } from "../../../node/app/epochStateSnapshot";
import { Logger } from "../../../node/logger";
import { ackFrom, computeAckTx, context, members, newClient, payerTx, signatureTx, START_MS, tx, type Member, type TestClient } from "./appFixtures";

const SPONSORED = "5a".repeat(32);
const CLIENT_PAYS = "c1".repeat(32);
const OWNER = Wallet.createRandom().address.toLowerCase();

/** Applies `t` after loading what a member reads from the chain for it, as the reporter does per batch. */
function applyLoaded(state: EpochState, t: Buffer) {
  const roots = state.unknownFunctions([t]);
  if (roots.length > 0) state.setSponsors(new Map(roots.map((r) => [r, r === SPONSORED ? { functionId: 4, account: OWNER, cap: 5_000n } : undefined])));
  const payers = state.unknownPayers([t]);
  if (payers.length > 0) state.setDebitable(new Map(payers.map((a, i) => [a, 10n ** 9n + BigInt(i)])));
  return state.apply(t);
}

/** Everything the state shows: its saved data and every accessor the reporter reads. */
function observe(s: EpochState, ms: Member[]) {
  return {
    data: s.save(),
    acks: s.acksSince(0),
    closed: s.closed,
    report: s.report?.report,
    digest: s.report?.digest,
    rewards: s.report && { root: s.report.rewards.root, tree: s.report.rewards.tree?.dump() },
    signatures: s.reportSignatures,
    quorum: s.hasQuorum,
    measurements: s.orderedMeasurements(),
    closers: ms.map((m) => s.hasClosed(m.node.id)),
    signers: ms.map((m) => s.hasSigned(m.node.id)),
  };
}

type Action =
  | { kind: "acks"; by: number; client: number; bytes: number }
  | { kind: "compute"; by: number; client: number; sponsored: boolean }
  | { kind: "payer"; by: number; client: number }
  | { kind: "measure"; by: number; uptime: number }
  | { kind: "close"; by: number }
  | { kind: "sign"; by: number }
  | { kind: "replay"; back: number };

/**
 * The transactions of `actions`, built against a reference state as they are applied (a signature
 * signs the report's digest as it stands, or a wrong one before the close), and that state.
 */
function build(ms: Member[], clients: TestClient[], payers: Buffer[][], actions: Action[]) {
  const state = new EpochState(context(ms));
  const txs: Buffer[] = [];
  const ok = new Map<string, number>();
  let at = START_MS;
  for (const a of actions) {
    let t: Buffer;
    if (a.kind === "acks") t = tx(ms[a.by].key, { kind: AppTxKind.Acks, acks: [ackFrom(clients[a.client], ms[a.by].key.publicKey, a.bytes, at++)] });
    else if (a.kind === "compute") t = computeAckTx(ms[a.by].key, clients[a.client], a.sponsored ? SPONSORED : CLIENT_PAYS, at++);
    else if (a.kind === "payer") t = payers[a.by][a.client];
    else if (a.kind === "measure") {
      const reports = ms.filter((_, i) => i !== a.by).map((p) => ({ peer: p.node.id, uptime: a.uptime, latency: 10 + a.by }));
      t = tx(ms[a.by].key, { kind: AppTxKind.Measurements, epoch: 3, reports });
    } else if (a.kind === "close") t = tx(ms[a.by].key, { kind: AppTxKind.CloseEpoch, epoch: 3 });
    else if (a.kind === "sign") t = signatureTx(ms[a.by].key, ms[a.by].signer, 3, state.report?.digest ?? `0x${"11".repeat(32)}`);
    else t = txs[Math.max(0, txs.length - 1 - a.back)] ?? tx(ms[0].key, { kind: AppTxKind.CloseEpoch, epoch: 3 });
    txs.push(t);
    if (applyLoaded(state, t).ok) ok.set(a.kind, (ok.get(a.kind) ?? 0) + 1);
  }
  return { txs, state, ok };
}

describe("app: epoch state snapshots", function () {
  this.timeout(120_000);
  const ms = members(4);
  const clients = [newClient(), newClient(), newClient()];
  let payers: Buffer[][];
  let dir: string;
  const warnings: string[] = [];
  const logger = new Logger({}, 30, (line) => void warnings.push(line));

  before(async () => {
    payers = await Promise.all(ms.map((m) => Promise.all(clients.map((c) => payerTx(m.key, c)))));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-snapshot-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => void warnings.splice(0));

  /** Snapshot of the first `cut` transactions, through the file, then the rest. */
  async function resumed(txs: Buffer[], cut: number): Promise<EpochState> {
    const part = new EpochState(context(ms));
    for (const t of txs.slice(0, cut)) applyLoaded(part, t);
    await writeSnapshot(dir, 3, { subDag: cut, batch: 0 }, part);
    const back = readSnapshot(dir, 3, logger);
    expect(back, `snapshot at ${cut}`).to.not.equal(undefined);
    expect(back!.position).to.deep.equal({ subDag: cut, batch: 0 });
    expect(observe(back!.state, ms)).to.deep.equal(observe(part, ms), `restored state at ${cut}`);
    for (const t of txs.slice(cut)) applyLoaded(back!.state, t);
    return back!.state;
  }

  it("restores a state cut anywhere in a sequence of every kind to the state of the whole sequence", async () => {
    const actions: Action[] = [
      { kind: "payer", by: 0, client: 0 },
      { kind: "acks", by: 0, client: 0, bytes: 3_000_000 },
      { kind: "compute", by: 1, client: 1, sponsored: true },
      { kind: "compute", by: 0, client: 1, sponsored: false },
      { kind: "payer", by: 1, client: 1 },
      { kind: "acks", by: 1, client: 1, bytes: 5_000_000 },
      { kind: "replay", back: 0 },
      ...ms.map((_, by) => ({ kind: "measure" as const, by, uptime: by === 3 ? 30 : 100 })),
      { kind: "close", by: 0 },
      { kind: "close", by: 1 },
      { kind: "close", by: 2 },
      // After the close: acks refused, a binding still taken, then the signatures.
      { kind: "acks", by: 2, client: 0, bytes: 1 },
      { kind: "payer", by: 2, client: 2 },
      ...ms.map((_, by) => ({ kind: "sign" as const, by })),
      { kind: "replay", back: 0 },
    ];
    const { txs, state, ok } = build(ms, clients, payers, actions);
    expect(state.closed && state.hasQuorum).to.equal(true);
    expect(ok.get("sign")).to.equal(4);
    expect(ok.get("compute")).to.equal(2);
    expect(state.report!.report.usage.length).to.equal(2, "the bound client and the sponsored function's owner are charged");
    const expected = observe(state, ms);
    for (let cut = 0; cut <= txs.length; cut++) expect(observe(await resumed(txs, cut), ms)).to.deep.equal(expected, `cut at ${cut}`);
    expect(warnings).to.deep.equal([]);
  });

  it("gives the same state for random sequences cut at a random point (fast-check)", async () => {
    const by = fc.integer({ min: 0, max: 3 });
    const client = fc.integer({ min: 0, max: 2 });
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ kind: fc.constant("acks" as const), by, client, bytes: fc.integer({ min: 1, max: 10_000_000 }) }),
      fc.record({ kind: fc.constant("compute" as const), by, client, sponsored: fc.boolean() }),
      fc.record({ kind: fc.constant("payer" as const), by, client }),
      fc.record({ kind: fc.constant("measure" as const), by, uptime: fc.integer({ min: 0, max: 100 }) }),
      // Weighted so that many runs close (3 distinct closers) and then take signatures.
      { arbitrary: fc.record({ kind: fc.constant("close" as const), by }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant("sign" as const), by }), weight: 3 },
      fc.record({ kind: fc.constant("replay" as const), back: fc.integer({ min: 0, max: 5 }) }),
    );
    const successes = new Map<string, number>();
    let closedRuns = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 50 }), fc.nat(), async (actions, c) => {
        const { txs, state, ok } = build(ms, clients, payers, actions);
        for (const [k, n] of ok) successes.set(k, (successes.get(k) ?? 0) + n);
        if (state.closed) closedRuns++;
        expect(observe(await resumed(txs, c % (txs.length + 1)), ms)).to.deep.equal(observe(state, ms));
      }),
      {
        numRuns: 60,
        // One run that surely closes and signs: random runs reach "sign" only after three distinct
        // closers, and 60 of them once missed it (the count below then failed, not the property).
        examples: [
          [
            [
              { kind: "close", by: 0 },
              { kind: "close", by: 1 },
              { kind: "close", by: 2 },
              { kind: "sign", by: 0 },
              { kind: "sign", by: 1 },
            ],
            3,
          ],
        ],
      },
    );
    for (const kind of ["acks", "compute", "payer", "measure", "close", "sign", "replay"]) expect(successes.get(kind) ?? 0, kind).to.be.greaterThan(0);
    expect(closedRuns).to.be.greaterThan(0);
  });

  /** Applies `n` ack transactions (one ack each, members and clients in turn) to `state`. */
  function addAcks(state: EpochState, n: number, at: number): void {
    for (let i = 0; i < n; i++) {
      const t = tx(ms[i % 4].key, { kind: AppTxKind.Acks, acks: [ackFrom(clients[i % 3], ms[i % 4].key.publicKey, 1000, at + i)] });
      expect(applyLoaded(state, t).ok).to.equal(true);
    }
  }
  /** One journal line: client key hex (64) ":" nonce hex (32) "\n". */
  const LINE = 64 + 1 + 32 + 1;

  it("appends only the acks counted since the last snapshot, and cuts ids a crash left past it", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "journal-"));
    const journal = path.join(sub, ACKS_FILE);
    const state = new EpochState(context(ms));
    addAcks(state, 40, START_MS);
    await writeSnapshot(sub, 3, { subDag: 1, batch: 0 }, state);
    expect(fs.statSync(journal).size).to.equal(40 * LINE);
    const snapshotSize = fs.statSync(path.join(sub, SNAPSHOT_FILE)).size;
    addAcks(state, 5, START_MS + 1_000);
    // The second snapshot appends 5 lines; its snapshot file does not grow with the acks.
    const written = await writeSnapshot(sub, 3, { subDag: 2, batch: 0 }, state);
    expect(fs.statSync(journal).size).to.equal(45 * LINE);
    expect(written).to.be.lessThan(snapshotSize + 5 * LINE + 64);
    const expected = observe(state, ms);
    expect(observe(readSnapshot(sub, 3, logger)!.state, ms)).to.deep.equal(expected);

    // A crash after the journal append and before the snapshot's rename: ids past the named prefix.
    fs.appendFileSync(journal, fs.readFileSync(journal).subarray(0, 3 * LINE));
    const back = readSnapshot(sub, 3, logger)!;
    expect(observe(back.state, ms)).to.deep.equal(expected, "the ids past the snapshot's prefix are not read");
    addAcks(back.state, 2, START_MS + 2_000);
    await writeSnapshot(sub, 3, { subDag: 3, batch: 0 }, back.state);
    expect(fs.statSync(journal).size).to.equal(47 * LINE, "the restored state cut the stray ids and appended its 2");
    expect(observe(readSnapshot(sub, 3, logger)!.state, ms)).to.deep.equal(observe(back.state, ms));
    expect(warnings).to.deep.equal([]);

    // Another state written to the same folder rewrites the journal; the first one, written again, rewrites it back.
    const other = new EpochState(context(ms));
    addAcks(other, 3, START_MS + 3_000);
    await writeSnapshot(sub, 3, { subDag: 1, batch: 0 }, other);
    expect(fs.statSync(journal).size).to.equal(3 * LINE);
    await writeSnapshot(sub, 3, { subDag: 4, batch: 0 }, back.state);
    expect(observe(readSnapshot(sub, 3, logger)!.state, ms)).to.deep.equal(observe(back.state, ms));
  });

  it("copies only the ids counted since the last snapshot, writes after the call returns, and writes the state as it was at the call", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "journal-"));
    const journal = path.join(sub, ACKS_FILE);
    const file = path.join(sub, SNAPSHOT_FILE);
    const state = new EpochState(context(ms));
    addAcks(state, 40, START_MS);
    await writeSnapshot(sub, 3, { subDag: 1, batch: 0 }, state);
    addAcks(state, 5, START_MS + 1_000);
    const expected = observe(state, ms);
    const copied: number[] = [];
    const acksSince = state.acksSince.bind(state);
    state.acksSince = (from, to) => {
      const ids = acksSince(from, to);
      copied.push(ids.length);
      return ids;
    };
    const before = fs.readFileSync(file);
    const pending = writeSnapshot(sub, 3, { subDag: 2, batch: 0 }, state);
    // The call only copies and encodes: the files change later, off the event loop.
    expect(fs.readFileSync(file).equals(before), "snapshot file unchanged when the call returns").to.equal(true);
    expect(fs.statSync(journal).size).to.equal(40 * LINE);
    addAcks(state, 3, START_MS + 2_000); // after the call: not part of this snapshot
    await pending;
    expect(copied, "ack ids copied: the 5 new ones, not the 45").to.deep.equal([5]);
    expect(fs.statSync(journal).size).to.equal(45 * LINE);
    // Read from a copy: reading a folder makes the state read there the owner of its journal.
    const copy = fs.mkdtempSync(path.join(dir, "copy-"));
    for (const f of [ACKS_FILE, SNAPSHOT_FILE]) fs.copyFileSync(path.join(sub, f), path.join(copy, f));
    expect(observe(readSnapshot(copy, 3, logger)!.state, ms)).to.deep.equal(expected);
    // Snapshots started back to back are written one after the other (they share the journal).
    const third = writeSnapshot(sub, 3, { subDag: 3, batch: 0 }, state);
    addAcks(state, 2, START_MS + 3_000);
    const fourth = writeSnapshot(sub, 3, { subDag: 4, batch: 0 }, state);
    await Promise.all([third, fourth]);
    expect(copied).to.deep.equal([5, 3, 2]);
    expect(fs.statSync(journal).size).to.equal(50 * LINE);
    const back = readSnapshot(sub, 3, logger)!;
    expect(back.position).to.deep.equal({ subDag: 4, batch: 0 });
    state.acksSince = acksSince;
    expect(observe(back.state, ms)).to.deep.equal(observe(state, ms));
    expect(warnings).to.deep.equal([]);
  });

  it("ignores a snapshot whose ack journal is damaged or cut, with a warning", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "journal-"));
    const journal = path.join(sub, ACKS_FILE);
    const state = new EpochState(context(ms));
    addAcks(state, 6, START_MS);
    const cases: [string, () => void, RegExp][] = [
      ["a flipped id byte", () => fs.writeFileSync(journal, flip(fs.readFileSync(journal), 70)), /app-acks.log: checksum mismatch in its first 588 bytes/],
      ["a cut journal", () => fs.truncateSync(journal, 5 * LINE), /app-acks.log: truncated, 490 of the 588 bytes the snapshot names/],
      ["no journal", () => fs.rmSync(journal), /ENOENT/],
    ];
    for (const [what, damage, reason] of cases) {
      await writeSnapshot(sub, 3, { subDag: 1, batch: 0 }, new EpochState(context(ms)));
      await writeSnapshot(sub, 3, { subDag: 2, batch: 0 }, state);
      damage();
      warnings.splice(0);
      expect(readSnapshot(sub, 3, logger), what).to.equal(undefined);
      expect(warnings.join("\n"), what)
        .to.match(reason)
        .and.match(/snapshot ignored, replaying the epoch from its start/);
    }
  });

  it("ignores a damaged, truncated, foreign, oversized or absent snapshot, with a warning for each that exists", async () => {
    const file = path.join(dir, SNAPSHOT_FILE);
    const state = new EpochState(context(ms));
    const good = () => writeSnapshot(dir, 3, { subDag: 7, batch: 2 }, state);
    fs.rmSync(file, { force: true });
    expect(readSnapshot(dir, 3, logger)).to.equal(undefined);
    expect(warnings).to.deep.equal([], "no snapshot is not an error");

    const cases: [string, () => void, RegExp][] = [
      ["a flipped body byte", () => fs.writeFileSync(file, flip(fs.readFileSync(file), -3)), /checksum mismatch/],
      ["a flipped checksum byte", () => fs.writeFileSync(file, flip(fs.readFileSync(file), 20)), /checksum mismatch/],
      ["a cut tail", () => fs.truncateSync(file, fs.statSync(file).size - 10), /truncated/],
      ["another file", () => fs.writeFileSync(file, "{}".repeat(40)), /not a snapshot file/],
      ["another version", () => fs.writeFileSync(file, flip(fs.readFileSync(file), 11)), /version 3, this node reads 2/],
    ];
    for (const [what, damage, reason] of cases) {
      await good();
      damage();
      warnings.splice(0);
      expect(readSnapshot(dir, 3, logger), what).to.equal(undefined);
      expect(warnings.join("\n"), what)
        .to.match(reason)
        .and.match(/snapshot ignored, replaying the epoch from its start/);
    }
    await good();
    warnings.splice(0);
    expect(readSnapshot(dir, 4, logger)).to.equal(undefined);
    expect(warnings.join()).to.match(/a snapshot of epoch 3/);
    expect(readSnapshot(dir, 3, logger, 100)).to.equal(undefined);
    expect(warnings.join()).to.match(/more than the 100 a snapshot may have/);
    expect(() => void writeSnapshot(dir, 3, { subDag: 8, batch: 0 }, state, 100)).to.throw(/too large to snapshot/);
    expect(readSnapshot(dir, 3, logger)!.position).to.deep.equal({ subDag: 7, batch: 2 }, "a refused write leaves the last snapshot");
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] ^= 1;
  return bytes;
}
