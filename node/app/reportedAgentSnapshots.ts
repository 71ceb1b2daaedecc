/**
 * The snapshot records behind the reports this node closed as a committee member
 * (docs/agents-runtime.md "Snapshots through consensus"): at each close the reporter merges the
 * epoch's records, each with its proof against the report's `agentSnapshotsRoot`, into one small
 * file per marketplace agent, `<reports>/agent-snapshots/<agentId>.json`, which holds the record of
 * the latest closed epoch that had one (an agent left unchanged for many epochs keeps its last) and
 * the entry it replaced. The gateway serves it (`GET /agents/_snapshots/<agentId>`) to a node
 * taking the agent over, which checks the proof against the root the chain holds for that epoch.
 * One file per agent (not one for all): a damaged or oversized file costs that agent's entry only,
 * a request reads ~1 KB, and a close rewrites only the agents its epoch holds.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { agentSnapshotProofs } from "../../protocol/agentSnapshots";
import { snapshotLeaf, type SnapshotRecord } from "../agents/agentRecords";

/** Largest entry read back: a record, two proofs of 32-byte hashes and the entry replaced. */
const MAX_ENTRY_BYTES = 64 * 1024;
const FOLDER = "agent-snapshots";

/** A reported record and its proof (`leaf` in JSON form: decimal strings for the integers). */
export interface ReportedAgentSnapshot {
  epoch: number;
  record: SnapshotRecord;
  leaf: { agentId: string; root: string; bytes: string; sequence: string; nodeKey: string };
  proof: string[];
  /**
   * The agent's entry before this epoch's: from the close until the report is on chain the new
   * proof does not verify yet, and a node taking the agent over proves this one instead.
   */
  previous?: Omit<ReportedAgentSnapshot, "previous">;
}

/** Writes under way per reports folder: closes merge one after the other. */
const writing = new Map<string, Promise<void>>();
/** Reports folders this process has swept of the temporary files a crashed process left. */
const swept = new Set<string>();

function entryFile(dir: string, agentId: bigint): string {
  return path.join(dir, FOLDER, `${agentId}.json`);
}

/**
 * Agent `agentId`'s record of the latest closed epoch that had one, with its proof; undefined when
 * it has none, or its file is too large or damaged.
 */
export async function reportedAgentSnapshot(dir: string, agentId: bigint): Promise<ReportedAgentSnapshot | undefined> {
  let file: fs.promises.FileHandle | undefined;
  try {
    file = await fs.promises.open(entryFile(dir, agentId), "r");
    const buffer = Buffer.alloc(MAX_ENTRY_BYTES + 1);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_ENTRY_BYTES) return undefined;
    const entry = JSON.parse(buffer.subarray(0, bytesRead).toString("utf8")) as ReportedAgentSnapshot;
    return entry.record?.agent === agentId.toString() && Number.isSafeInteger(entry.epoch) ? entry : undefined;
  } catch {
    return undefined;
  } finally {
    await file?.close();
  }
}

/** Writes `content` to `file` durably and atomically (a reader, or a crash, sees the old file or the new one). */
async function writeDurably(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.promises.open(tmp, "w");
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
}

/**
 * Deletes the `.tmp` files of writes a crash interrupted (each names the pid that wrote it, so a
 * later process never reuses one, and an agent not written again would keep it for good). Runs
 * before this process's first write in `dir`: merges are serialized, so none of its own is open.
 */
async function removeStrayTemporaries(dir: string): Promise<void> {
  const folder = path.join(dir, FOLDER);
  for (const name of await fs.promises.readdir(folder)) {
    if (name.endsWith(".tmp")) await fs.promises.rm(path.join(folder, name), { force: true });
  }
  swept.add(dir);
}

/**
 * Merges the closed epoch's records into their agents' files: each agent's entry is replaced by
 * this epoch's record and its proof (the replaced one kept as its `previous`), unless it already
 * holds this epoch's or a later one's. Runs after the writes before it in `dir`; the caller (the
 * reporter, mid-batch) does not wait, and logs a failure.
 */
export function writeReportedAgentSnapshots(dir: string, epoch: number, records: readonly SnapshotRecord[]): Promise<void> {
  const run = (writing.get(dir) ?? Promise.resolve()).then(async () => {
    if (records.length === 0) return;
    const proofs = agentSnapshotProofs(records.map(snapshotLeaf));
    await fs.promises.mkdir(path.join(dir, FOLDER), { recursive: true });
    if (!swept.has(dir)) await removeStrayTemporaries(dir);
    for (const record of records) {
      const leaf = snapshotLeaf(record);
      const old = await reportedAgentSnapshot(dir, leaf.agentId);
      if (old && old.epoch >= epoch) continue;
      const entry: ReportedAgentSnapshot = {
        epoch,
        record,
        leaf: { agentId: leaf.agentId.toString(), root: leaf.root, bytes: leaf.bytes.toString(), sequence: leaf.sequence.toString(), nodeKey: leaf.nodeKey },
        proof: proofs.get(leaf.agentId)!,
        ...(old ? { previous: { epoch: old.epoch, record: old.record, leaf: old.leaf, proof: old.proof } } : {}),
      };
      await writeDurably(entryFile(dir, leaf.agentId), JSON.stringify(entry));
    }
  });
  const settled = run.catch(() => undefined);
  writing.set(dir, settled);
  void settled.then(() => {
    if (writing.get(dir) === settled) writing.delete(dir);
  });
  return run;
}
