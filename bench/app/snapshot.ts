/**
 * Epoch application snapshot benchmark: the cost of `writeSnapshot` for a state holding many
 * counted acks (docs/consensus.md "Compaction", the epoch application). The state is built with
 * `EpochState.restore` (ack ids of random 16-byte nonces, one served entry per client): signing and
 * applying a million acks would take minutes and is not what is measured. The first write puts every
 * ack id in app-acks.log (once per state: a restart restores from the snapshot instead); the
 * following writes append only new ids, so they show the recurring cost. `loopMs` is what the
 * call blocks the event loop for (copying and encoding the state); the writes and fsyncs then run
 * on the thread pool, and wall is until the snapshot is durable.
 *
 *   npx tsx bench/app/snapshot.ts [acks, default 1000000] [clients, default 10000] [folder, default the OS temp folder]
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EpochState, type EpochContext, type EpochStateData } from "../../node/app/epochState";
import { readSnapshot, writeSnapshot } from "../../node/app/epochStateSnapshot";
import { Logger } from "../../node/logger";

const ACKS = Number(process.argv[2] ?? 1_000_000);
const CLIENTS = Number(process.argv[3] ?? 10_000);
const DIR = process.argv[4] ?? os.tmpdir();

// Four members (keys and addresses only shape the state: nothing is signed or checked here).
const nodes = Array.from({ length: 4 }, (_, i) => ({
  id: i + 1,
  nodeKey: randomBytes(32).toString("hex"),
  signer: `0x${randomBytes(20).toString("hex")}`,
  owner: `0x${randomBytes(20).toString("hex")}`,
  lockedUntil: 0n,
}));
const ctx: EpochContext = {
  epoch: 3,
  acksFromMs: 1_800_000_000_000,
  acksUntilMs: 1_800_086_400_000,
  chainId: 31337n,
  registry: `0x${"5f".repeat(20)}`,
  committee: nodes,
  active: nodes,
  previousReputation: new Map(),
};
const clients = Array.from({ length: CLIENTS }, () => randomBytes(32).toString("hex"));
const empty = new EpochState(ctx).save();
const data: EpochStateData = {
  ...empty,
  seenAcks: Array.from({ length: ACKS }, (_, i) => `${clients[i % CLIENTS]}:${randomBytes(16).toString("hex")}`),
  served: clients.map((c, i) => [
    `${i % 4}:${c}`,
    { nodeId: i % 4, client: c, bytes: 123_456_789n, acks: BigInt(Math.ceil(ACKS / CLIENTS)), requests: 0n, cpuUs: 0n },
  ]),
};
const state = EpochState.restore(data);
const dir = fs.mkdtempSync(path.join(DIR, "snapshot-bench-"));
void (async () => {
  const writes: { first: boolean; mb: number; loopMs: number; cpuMs: number; wallMs: number }[] = [];
  for (let i = 0; i < 4; i++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const pending = writeSnapshot(dir, ctx.epoch, { subDag: i + 1, batch: 0 }, state);
    const loopMs = performance.now() - t0;
    const bytes = await pending;
    const wallMs = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    writes.push({
      first: i === 0,
      mb: Math.round(bytes / 1e5) / 10,
      loopMs: Math.round(loopMs),
      cpuMs: Math.round((used.user + used.system) / 1000),
      wallMs: Math.round(wallMs),
    });
  }
  const t1 = performance.now();
  const back = readSnapshot(dir, ctx.epoch, new Logger({}, 100));
  const readMs = Math.round(performance.now() - t1);
  if (!back) throw new Error("the snapshot did not read back");
  fs.rmSync(dir, { recursive: true, force: true });
  const result = { acks: ACKS, clients: CLIENTS, writes, readMs };
  console.log(`BENCH ${JSON.stringify({ bench: "app-snapshot", ...result, loadAverage: os.loadavg()[0] })}`);
})();
