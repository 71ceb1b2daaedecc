/**
 * The epoch application's snapshot (docs/consensus.md "Compaction", "The epoch application"): an
 * {@link EpochState} and the position in the committed sequence it has applied, in two files of
 * the epoch's folder, so a restart resumes from there instead of replaying the epoch from sub-DAG
 * 1, which compaction may have deleted.
 *
 * The ids of the acks counted (`seenAcks`, the bulk of the state: ~100 bytes each, 1M acks ≈ 100 MB)
 * only grow within an epoch, so they go to `<epochDir>/app-acks.log`, one per line, and each
 * snapshot appends only the ids counted since the previous one (bench/RESULTS.md "Epoch
 * application snapshot": a whole-state write at 1M acks blocked the event loop for 1.3-1.9 s of
 * CPU every 30 s).
 *
 * File `<epochDir>/app-state.snapshot`: magic `FLKAPPST`, version (u32 BE), body length (u32 BE),
 * SHA-256 of the body (32 bytes), then the body: JSON of `{ epoch, subDag, batch, acks, state }`
 * where `acks` = `{ count, bytes, sha256 }` names the prefix of app-acks.log that holds the
 * state's ack ids, and `state` is the rest of the state, with bigints, byte strings, maps and
 * undefined values tagged (`{"$b": "12"}`, `{"$x": "ab"}`, `{"$m": [[k, v]]}`, `{"$u": 1}`) so
 * {@link EpochState.restore} gets back exactly what {@link EpochState.save} gave. The ids are
 * appended and fsynced first, then the snapshot is replaced atomically (temporary file, fsync,
 * rename, fsync of the folder): a crash in between leaves ids past the named prefix, which the
 * next read ignores and the next write cuts. The state is copied (without its ids) and encoded
 * when {@link writeSnapshot} is called; the writes and fsyncs then run off the event loop (the
 * thread pool), one snapshot of a folder at a time, in the order above. A snapshot that does not check, or whose prefix of
 * app-acks.log does not, is ignored with a warning and the epoch replays from 1.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { createHash, type Hash } from "node:crypto";
import type { Logger } from "../logger";
import { EpochState, type EpochStateData } from "./epochState";

/** The snapshot's file name inside the epoch's folder. */
export const SNAPSHOT_FILE = "app-state.snapshot";
/** The file of counted ack ids, one per line, inside the epoch's folder. */
export const ACKS_FILE = "app-acks.log";
/** Largest prefix of app-acks.log read back (4 GiB, ~40M acks): bounds what a damaged snapshot can make us read. */
const MAX_ACKS_BYTES = 4 * 2 ** 30;
/**
 * Largest snapshot written or read (256 MiB): bounds the memory a damaged or foreign file can
 * cost at start. A state past it is not snapshotted (a restart replays, as before snapshots).
 */
export const MAX_SNAPSHOT_BYTES = 256 * 2 ** 20;

const MAGIC = Buffer.from("FLKAPPST");
const VERSION = 2;
const HEADER = MAGIC.length + 4 + 4 + 32;

/**
 * Where in the committed sequence a state stands: every batch of the sub-DAGs below `subDag`,
 * and the first `batch` batches of sub-DAG `subDag` (batches are delivered one at a time, so a
 * snapshot may fall inside a sub-DAG). A fresh state stands at `{ subDag: 0, batch: 0 }`.
 */
export interface AppliedPosition {
  subDag: number;
  batch: number;
}

/** A snapshot read back: the state of `epoch` after the batches up to `position`. */
export interface EpochSnapshot {
  epoch: number;
  position: AppliedPosition;
  state: EpochState;
}

/** What app-acks.log holds for a state written or read in this process: its first `count` ids. */
interface AckJournal {
  dir: string;
  /** Which write of `dir` in this process this is (see `lastJournal`). */
  generation: number;
  count: number;
  bytes: number;
  /** SHA-256 over those bytes, to be continued. */
  hash: Hash;
}

/** Per state object: the journal its ids went to (a state's ids only grow, so it appends). */
const journals = new WeakMap<EpochState, AckJournal>();
/** Per folder, the generation of the journal last written or read there: another state's is stale. */
const lastJournal = new Map<string, number>();
let generations = 0;

/** Per folder, the snapshot being written (the next one waits for it: they share app-acks.log). */
const writing = new Map<string, Promise<unknown>>();

/**
 * Writes the snapshot of `state` at `position` to `<dir>/app-state.snapshot`, atomically and
 * durably, after appending the ack ids counted since this state's last snapshot to
 * `<dir>/app-acks.log`; resolves to the bytes written. The state is taken now (later
 * transactions do not change what is written); the files are written off the event loop. Throws
 * now when the rest of the state encodes to more than `maxBytes`.
 */
export function writeSnapshot(dir: string, epoch: number, position: AppliedPosition, state: EpochState, maxBytes = MAX_SNAPSHOT_BYTES): Promise<number> {
  const count = state.ackCount;
  let stateJson: string;
  try {
    stateJson = JSON.stringify(state.save(), tag);
  } catch (err) {
    if (err instanceof RangeError) throw new Error(`the epoch state is too large to snapshot: ${err.message}`);
    throw err;
  }
  const tooLarge = (bytes: number) => new Error(`the epoch state is too large to snapshot: ${bytes} bytes, at most ${maxBytes}`);
  if (Buffer.byteLength(stateJson) > maxBytes) throw tooLarge(Buffer.byteLength(stateJson));
  const write = async (): Promise<number> => {
    // Ids appended past the snapshot in place (if this one is refused below) are not read back.
    const journal = await appendAcks(dir, state, count);
    const acks = { count: journal.count, bytes: journal.bytes, sha256: journal.hash.copy().digest("hex") };
    const body = Buffer.from(
      `{"epoch":${epoch},"subDag":${position.subDag},"batch":${position.batch},"acks":${JSON.stringify(acks)},"state":${stateJson}}`,
      "utf8",
    );
    if (body.length > maxBytes) throw tooLarge(body.length);
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32BE(VERSION, 8);
    header.writeUInt32BE(body.length, 12);
    createHash("sha256").update(body).digest().copy(header, 16);
    const file = path.join(dir, SNAPSHOT_FILE);
    const fh = await fsp.open(`${file}.tmp`, "w");
    try {
      await fh.writev([header, body]);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(`${file}.tmp`, file);
    await syncFolder(dir);
    return HEADER + body.length + journal.appended;
  };
  const done = (writing.get(dir) ?? Promise.resolve()).then(write, write);
  const settled = done.catch(() => {});
  writing.set(dir, settled);
  void settled.then(() => writing.get(dir) === settled && writing.delete(dir));
  return done;
}

/**
 * Brings app-acks.log to the state's first `count` ack ids and fsyncs it: appends those counted
 * since the state's last snapshot when the file holds its earlier ids as last written, else
 * rewrites it.
 */
async function appendAcks(dir: string, state: EpochState, count: number): Promise<AckJournal & { appended: number }> {
  const file = path.join(dir, ACKS_FILE);
  let journal = journals.get(state);
  const size = await fsp.stat(file).then(
    (st) => st.size,
    () => -1, // no file yet
  );
  // Ids past the last snapshot's prefix (a crash before its rename) are cut.
  if (journal && (journal.dir !== dir || lastJournal.get(dir) !== journal.generation || size < journal.bytes || count < journal.count)) journal = undefined;
  if (!journal) journal = { dir, generation: ++generations, count: 0, bytes: 0, hash: createHash("sha256") };
  lastJournal.set(dir, journal.generation);
  const ids = state.acksSince(journal.count, count);
  const added = Buffer.from(ids.length > 0 ? ids.join("\n") + "\n" : "", "utf8");
  const fh = await fsp.open(file, size >= 0 ? "r+" : "w");
  try {
    await fh.truncate(journal.bytes);
    if (added.length > 0) await fh.write(added, 0, added.length, journal.bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (journal.bytes === 0) await syncFolder(dir);
  journal.hash.update(added);
  journal.count = count;
  journal.bytes += added.length;
  journals.set(state, journal);
  return { ...journal, appended: added.length };
}

async function syncFolder(dir: string): Promise<void> {
  const fh = await fsp.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The snapshot of `epoch` in `dir`, or undefined when there is none or it does not check (wrong
 * magic, version, length, checksum, epoch or contents; larger than `maxBytes`): then a warning
 * says why, and the caller replays the epoch from its start.
 */
export function readSnapshot(dir: string, epoch: number, logger: Logger, maxBytes = MAX_SNAPSHOT_BYTES): EpochSnapshot | undefined {
  const file = path.join(dir, SNAPSHOT_FILE);
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return undefined;
  }
  try {
    if (size > HEADER + maxBytes) throw new Error(`${size} bytes, more than the ${maxBytes} a snapshot may have`);
    const bytes = fs.readFileSync(file);
    if (bytes.length < HEADER || !bytes.subarray(0, 8).equals(MAGIC)) throw new Error("not a snapshot file");
    if (bytes.readUInt32BE(8) !== VERSION) throw new Error(`version ${bytes.readUInt32BE(8)}, this node reads ${VERSION}`);
    const body = bytes.subarray(HEADER);
    if (bytes.readUInt32BE(12) !== body.length) throw new Error(`truncated: ${body.length} of ${bytes.readUInt32BE(12)} bytes`);
    if (!createHash("sha256").update(body).digest().equals(bytes.subarray(16, HEADER))) throw new Error("checksum mismatch");
    const data = untag(JSON.parse(body.toString("utf8"))) as {
      epoch: number;
      subDag: number;
      batch: number;
      acks: { count: number; bytes: number; sha256: string };
      state: Omit<EpochStateData, "seenAcks">;
    };
    if (data.epoch !== epoch || data.state.context.epoch !== epoch) throw new Error(`a snapshot of epoch ${data.epoch}`);
    if (!Number.isSafeInteger(data.subDag) || data.subDag < 0 || !Number.isSafeInteger(data.batch) || data.batch < 0) throw new Error("bad position");
    const { count, bytes: ackBytes, sha256 } = data.acks ?? {};
    if (
      !Number.isSafeInteger(count) ||
      count < 0 ||
      !Number.isSafeInteger(ackBytes) ||
      ackBytes < 0 ||
      ackBytes > MAX_ACKS_BYTES ||
      typeof sha256 !== "string"
    ) {
      throw new Error("bad ack journal reference");
    }
    const acks = readPrefix(path.join(dir, ACKS_FILE), ackBytes);
    const hash = createHash("sha256").update(acks);
    if (hash.copy().digest("hex") !== sha256) throw new Error(`${ACKS_FILE}: checksum mismatch in its first ${ackBytes} bytes`);
    const seenAcks = ackBytes === 0 ? [] : acks.toString("utf8", 0, acks.length - 1).split("\n");
    if (seenAcks.length !== count) throw new Error(`${ACKS_FILE}: ${seenAcks.length} ids where the snapshot counts ${count}`);
    const state = EpochState.restore({ ...data.state, seenAcks });
    const generation = ++generations;
    journals.set(state, { dir, generation, count, bytes: ackBytes, hash });
    lastJournal.set(dir, generation);
    return { epoch, position: { subDag: data.subDag, batch: data.batch }, state };
  } catch (err) {
    logger.warn("epoch state snapshot ignored, replaying the epoch from its start", { epoch, file, err: (err as Error).message });
    return undefined;
  }
}

/** The first `bytes` bytes of `file`; throws when it is shorter. */
function readPrefix(file: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  if (bytes === 0) return out;
  const fd = fs.openSync(file, "r");
  try {
    let at = 0;
    while (at < bytes) {
      const n = fs.readSync(fd, out, at, bytes - at, at);
      if (n === 0) throw new Error(`${path.basename(file)}: truncated, ${at} of the ${bytes} bytes the snapshot names`);
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** JSON.stringify replacer: tags what JSON cannot hold (reads `this[key]`: Buffer's toJSON ran already). */
function tag(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (typeof raw === "bigint") return { $b: raw.toString() };
  if (raw instanceof Uint8Array) return { $x: Buffer.from(raw).toString("hex") };
  if (raw instanceof Map) return { $m: [...raw] };
  if (raw === undefined) return { $u: 1 };
  return value;
}

/** Undoes {@link tag}; keeps properties whose value is undefined (JSON.parse's reviver would drop them). */
function untag(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(untag);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const t = o[keys[0]];
    if (keys[0] === "$b" && typeof t === "string") return BigInt(t);
    if (keys[0] === "$x" && typeof t === "string") return Buffer.from(t, "hex");
    if (keys[0] === "$m" && Array.isArray(t)) return new Map(untag(t) as [unknown, unknown][]);
    if (keys[0] === "$u") return undefined;
  }
  // fromEntries defines own properties: a "__proto__" key cannot set a prototype.
  return Object.fromEntries(keys.map((k) => [k, untag(o[k])]));
}
