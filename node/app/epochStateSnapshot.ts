/**
 * The epoch application's snapshot (docs/consensus.md "Compaction", "The epoch application"): an
 * {@link EpochState} and the position in the committed sequence it has applied, in one file of
 * the epoch's folder, so a restart resumes from there instead of replaying the epoch from sub-DAG
 * 1, which compaction may have deleted.
 *
 * File `<epochDir>/app-state.snapshot`: magic `FLKAPPST`, version (u32 BE), body length (u32 BE),
 * SHA-256 of the body (32 bytes), then the body: JSON of `{ epoch, subDag, batch, state }` with
 * bigints, byte strings, maps and undefined values tagged (`{"$b": "12"}`, `{"$x": "ab"}`,
 * `{"$m": [[k, v]]}`, `{"$u": 1}`) so {@link EpochState.restore} gets back exactly what
 * {@link EpochState.save} gave. It is replaced atomically (temporary file, fsync, rename, fsync of
 * the folder); one that does not check is ignored with a warning and the epoch replays from 1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { Logger } from "../logger";
import { EpochState, type EpochStateData } from "./epochState";

/** The snapshot's file name inside the epoch's folder. */
export const SNAPSHOT_FILE = "app-state.snapshot";
/**
 * Largest snapshot written or read (256 MiB): bounds the memory a damaged or foreign file can
 * cost at start. A state past it is not snapshotted (a restart replays, as before snapshots).
 */
export const MAX_SNAPSHOT_BYTES = 256 * 2 ** 20;

const MAGIC = Buffer.from("FLKAPPST");
const VERSION = 1;
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

/**
 * Writes the snapshot of `state` at `position` to `<dir>/app-state.snapshot`, atomically and
 * durably; returns its size. Throws when the state encodes to more than `maxBytes`.
 */
export function writeSnapshot(dir: string, epoch: number, position: AppliedPosition, state: EpochState, maxBytes = MAX_SNAPSHOT_BYTES): number {
  let json: string;
  try {
    json = JSON.stringify({ epoch, subDag: position.subDag, batch: position.batch, state: state.save() }, tag);
  } catch (err) {
    if (err instanceof RangeError) throw new Error(`the epoch state is too large to snapshot: ${err.message}`);
    throw err;
  }
  const body = Buffer.from(json, "utf8");
  if (body.length > maxBytes) throw new Error(`the epoch state is too large to snapshot: ${body.length} bytes, at most ${maxBytes}`);
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(VERSION, 8);
  header.writeUInt32BE(body.length, 12);
  createHash("sha256").update(body).digest().copy(header, 16);
  const file = path.join(dir, SNAPSHOT_FILE);
  const fd = fs.openSync(`${file}.tmp`, "w");
  try {
    fs.writeSync(fd, header);
    fs.writeSync(fd, body);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
  const dirFd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return HEADER + body.length;
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
    const data = untag(JSON.parse(body.toString("utf8"))) as { epoch: number; subDag: number; batch: number; state: EpochStateData };
    if (data.epoch !== epoch || data.state.context.epoch !== epoch) throw new Error(`a snapshot of epoch ${data.epoch}`);
    if (!Number.isSafeInteger(data.subDag) || data.subDag < 0 || !Number.isSafeInteger(data.batch) || data.batch < 0) throw new Error("bad position");
    return { epoch, position: { subDag: data.subDag, batch: data.batch }, state: EpochState.restore(data.state) };
  } catch (err) {
    logger.warn("epoch state snapshot ignored, replaying the epoch from its start", { epoch, file, err: (err as Error).message });
    return undefined;
  }
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
