/**
 * The snapshot records behind the reports this node closed as a committee member
 * (docs/agents-runtime.md "Snapshots through consensus"): at each close the reporter merges the
 * epoch's records, each with its proof against the report's `agentSnapshotsRoot`, into
 * `<reports>/agent-snapshots.json`, which holds per marketplace agent the record of the latest
 * closed epoch that had one: an agent left unchanged for many epochs keeps its last. The gateway
 * serves an entry (`GET /agents/_snapshots/<agentId>`) to a node taking the agent over, which
 * checks the proof against the root the chain holds for that epoch. The file has one entry per
 * marketplace agent ever snapshotted (~1 KB with its proof), and is parsed once per change, not
 * per request.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { agentSnapshotProofs } from "../../protocol/agentSnapshots";
import { snapshotLeaf, type SnapshotRecord } from "../agents/agentRecords";

/** Largest file read back. */
const MAX_FILE_BYTES = 64 * 2 ** 20;
const FILE = "agent-snapshots.json";

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

/** The last parse of each folder's file, and the file's stamp when it was read. */
const parsed = new Map<string, { stamp: string; entries: Map<string, ReportedAgentSnapshot> }>();

/** The entries of the file in `dir` by agent id; none when it is missing, too large or damaged. */
function entriesOf(dir: string): Map<string, ReportedAgentSnapshot> {
  const file = path.join(dir, FILE);
  let stamp: string;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_FILE_BYTES) return new Map();
    stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return new Map();
  }
  const known = parsed.get(dir);
  if (known?.stamp === stamp) return known.entries;
  let entries = new Map<string, ReportedAgentSnapshot>();
  try {
    const list = (JSON.parse(fs.readFileSync(file, "utf8")) as { entries?: unknown }).entries;
    if (Array.isArray(list)) entries = new Map((list as ReportedAgentSnapshot[]).map((e) => [e.record.agent, e]));
  } catch {
    // Damaged: served as empty until the next close rewrites it.
  }
  parsed.set(dir, { stamp, entries });
  return entries;
}

/**
 * Merges the closed epoch's records into the file (atomically: a reader sees the old file or the
 * new one): each agent's entry is replaced by this epoch's record and its proof (the replaced one
 * kept as its `previous`), unless the file already holds this epoch's or a later one's.
 */
export function writeReportedAgentSnapshots(dir: string, epoch: number, records: readonly SnapshotRecord[]): void {
  if (records.length === 0) return;
  const proofs = agentSnapshotProofs(records.map(snapshotLeaf));
  const entries = new Map(entriesOf(dir));
  for (const record of records) {
    const old = entries.get(record.agent);
    if (old && old.epoch >= epoch) continue;
    const leaf = snapshotLeaf(record);
    entries.set(record.agent, {
      epoch,
      record,
      leaf: { agentId: leaf.agentId.toString(), root: leaf.root, bytes: leaf.bytes.toString(), sequence: leaf.sequence.toString(), nodeKey: leaf.nodeKey },
      proof: proofs.get(leaf.agentId)!,
      ...(old ? { previous: { epoch: old.epoch, record: old.record, leaf: old.leaf, proof: old.proof } } : {}),
    });
  }
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ entries: [...entries.values()] }));
  fs.renameSync(`${file}.tmp`, file);
}

/** Agent `agentId`'s record of the latest closed epoch that had one, with its proof, or undefined. */
export function reportedAgentSnapshot(dir: string, agentId: bigint): ReportedAgentSnapshot | undefined {
  return entriesOf(dir).get(agentId.toString());
}
