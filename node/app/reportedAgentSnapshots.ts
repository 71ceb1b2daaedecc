/**
 * The snapshot records behind the reports this node closed as a committee member
 * (docs/agents-runtime.md "Snapshots through consensus"): at each close the reporter writes the
 * epoch's records, the leaves of its report's `agentSnapshotsRoot` with their signatures, to
 * `<reports>/agent-snapshots-<epoch>.json`, keeping the last {@link KEPT_SNAPSHOT_EPOCHS} epochs;
 * the gateway serves a leaf's proof from them (`GET /agents/_snapshots/<agentId>`) to a node
 * taking the agent over, which checks it against the root the chain holds for that epoch.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { agentSnapshotProof } from "../../protocol/agentSnapshots";
import { snapshotLeaf, type SnapshotRecord } from "../agents/agentRecords";

/** Closed epochs whose records are kept (a take-over proves against the latest report holding its agent). */
export const KEPT_SNAPSHOT_EPOCHS = 4;
/** Largest records file read back (one record per marketplace agent, ~400 bytes each). */
const MAX_FILE_BYTES = 64 * 2 ** 20;
const FILE = /^agent-snapshots-(\d{1,15})\.json$/;

/** A reported record and its proof (`leaf` in JSON form: decimal strings for the integers). */
export interface ReportedAgentSnapshot {
  epoch: number;
  record: SnapshotRecord;
  leaf: { agentId: string; root: string; bytes: string; sequence: string; nodeKey: string };
  proof: string[];
}

/** The epochs of the records files in `dir`, newest first. */
function keptEpochs(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => FILE.exec(name)?.[1])
    .filter((e): e is string => e !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

/**
 * Writes the closed epoch's records (atomically: a reader sees the whole file or none) and
 * removes the files of epochs older than the last {@link KEPT_SNAPSHOT_EPOCHS}.
 */
export function writeReportedAgentSnapshots(dir: string, epoch: number, records: readonly SnapshotRecord[]): void {
  if (records.length === 0) return;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `agent-snapshots-${epoch}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ epoch, records }));
  fs.renameSync(`${file}.tmp`, file);
  for (const old of keptEpochs(dir).slice(KEPT_SNAPSHOT_EPOCHS)) fs.rmSync(path.join(dir, `agent-snapshots-${old}.json`), { force: true });
}

/** A records file's records; none when it is gone (pruned since the listing), too large or damaged. */
function readRecords(file: string): SnapshotRecord[] {
  try {
    if (fs.statSync(file).size > MAX_FILE_BYTES) return [];
    const { records } = JSON.parse(fs.readFileSync(file, "utf8")) as { records: SnapshotRecord[] };
    return Array.isArray(records) ? records : [];
  } catch {
    return [];
  }
}

/** Agent `agentId`'s record in the latest kept epoch that has one, with its proof, or undefined. */
export function reportedAgentSnapshot(dir: string, agentId: bigint): ReportedAgentSnapshot | undefined {
  for (const epoch of keptEpochs(dir).slice(0, KEPT_SNAPSHOT_EPOCHS)) {
    const records = readRecords(path.join(dir, `agent-snapshots-${epoch}.json`));
    const record = records.find((r) => r.agent === agentId.toString());
    if (!record) continue;
    const { leaf, proof } = agentSnapshotProof(records.map(snapshotLeaf), agentId)!;
    return {
      epoch,
      record,
      leaf: { agentId: leaf.agentId.toString(), root: leaf.root, bytes: leaf.bytes.toString(), sequence: leaf.sequence.toString(), nodeKey: leaf.nodeKey },
      proof,
    };
  }
  return undefined;
}
