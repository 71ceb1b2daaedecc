/**
 * Consensus benchmark: 4 node processes on this machine, clients submitting 512-byte transactions
 * at a controlled aggregate rate, one subscriber measuring end-to-end latency (submit → committed
 * on the subscribed node) of every transaction.
 *
 *   npx tsx bench/consensus/run.ts [--rate 50000] [--seconds 20] [--warmup 5] [--crashed 0] [--verify] [--dir /dev/shm]
 *   npx tsx bench/consensus/run.ts --rate 10000 --seconds 600 --sample-seconds 15 --epoch-seconds 120   (soak)
 *
 * --crashed k: the last k nodes are never started (as in the Narwhal papers' fault runs).
 * --verify: nodes verify each transaction's ed25519 signature (off by default: see RESULTS.md).
 * --batch-size: worker batch size in bytes (default: the node default).
 * --dir: where the nodes' data folders go (default: the OS temp folder, i.e. the disk).
 * --sample-seconds s: every s seconds, print each node's resident memory and the data folders'
 *   size (`SOAK {...}` lines), and report how both moved after the first sample past the warm-up.
 * --epoch-seconds e: every e seconds, rewrite the committee file with the next epoch (same members),
 *   as the registry does at each epoch change: each node then deletes the folders of epochs before
 *   the previous one.
 * --retain-rounds r: leader rounds of the committed sequence whose batches a node keeps (default:
 *   the node default); older batch segments are compacted away, so disk stays flat within an epoch.
 *   A value above the run's rounds keeps the whole epoch, as before compaction (the anchor).
 * --base-port p: the nodes' first port (default 24000), to run two benchmarks side by side.
 *
 * The result's `cpu` says where the cores went in the window (Linux /proc): per node, cores used by
 * its main thread (consensus, admission) and by its other threads (signature verifier pool, GC,
 * libuv), the client's cores, and microseconds of node CPU per committed transaction, a figure
 * that other load on a shared machine disturbs less than the rates.
 */
import { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NodeClient } from "../../node/client/client";
import { SubmitStatus } from "../../node/client/protocol";
import { signTransaction } from "../../node/client/transaction";
import { KeyPair } from "../../node/consensus/types/crypto";
import { DEFAULT_PARAMETERS } from "../../node/consensus/parameters";
import { consecutivePorts, writeClusterConfigs, writeCommittee } from "../../node/clusterConfigs";
import { spawnNode } from "../../node/nodeProcess";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const RATE = option("rate", 50_000);
const SECONDS = option("seconds", 20);
const WARMUP = option("warmup", 5);
const CRASHED = option("crashed", 0);
const BATCH_SIZE = option("batch-size", DEFAULT_PARAMETERS.batchSize);
const VERIFY = process.argv.includes("--verify");
const SAMPLE_SECONDS = option("sample-seconds", 0);
const EPOCH_SECONDS = option("epoch-seconds", 0);
const RETAIN_ROUNDS = option("retain-rounds", DEFAULT_PARAMETERS.retainRounds);
const BASE_PORT = option("base-port", 24_000);
const DIR = process.argv.includes("--dir") ? process.argv[process.argv.indexOf("--dir") + 1] : os.tmpdir();
const TX_SIZE = 512;
const TICK_MS = 50;

const MiB = 1024 * 1024;

/** Resident memory of a process in MiB (Linux /proc), NaN once it is gone. */
function rssMiB(pid: number | undefined): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return NaN;
  }
}

/** Bytes under a folder (files only). */
function folderBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? folderBytes(p) : e.isFile() ? fs.statSync(p).size : 0;
  }
  return total;
}

/** CPU seconds used so far by a process: its main thread, and its other threads together (Linux /proc). */
function cpuSeconds(pid: number | undefined): { main: number; other: number } {
  const ticks = (stat: string): number => {
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 a second)
  };
  let main = 0;
  let other = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const t = ticks(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")) / 100;
        if (Number(tid) === pid) main += t;
        else other += t;
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return { main, other };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(DIR, "bench-consensus-"));
  const cluster = writeClusterConfigs(dir, 4, consecutivePorts(BASE_PORT, 12), {
    verifyTxSignatures: VERIFY,
    batchSize: BATCH_SIZE,
    retainRounds: RETAIN_ROUNDS,
  });
  const live = cluster.nodes.slice(0, 4 - CRASHED);
  const children: ChildProcess[] = await Promise.all(live.map((n) => spawnNode(n.configFile, (d) => process.stderr.write(d))));
  const clients = await Promise.all(live.map((n) => NodeClient.connect("127.0.0.1", n.mempoolPort)));
  const subscriber = await NodeClient.connect("127.0.0.1", live[0].mempoolPort);

  // Transaction payload: u32 sequence at byte 8, zero padding to 512 bytes overall. The send time
  // of each sequence number is kept here, not in the transaction, so that with --verify every
  // transaction can be signed before the run: a client signing inside the window would take the
  // cores the nodes need to verify (37k signs/s per core) and offer less than asked.
  const perClientTick = Math.round(RATE / (1000 / TICK_MS) / live.length);
  const capacity = (Math.ceil(((WARMUP + SECONDS) * 1000) / TICK_MS) + 2) * perClientTick * live.length;
  const sendTimes = new Float64Array(capacity);
  const SEQ_OFFSET = 96 + 8;
  const signer = KeyPair.generate();
  const payloadSize = TX_SIZE - 96;
  let presigned: Buffer[] = [];
  if (VERIFY) {
    const t0 = Date.now();
    presigned = Array.from({ length: capacity }, (_, s) => {
      const payload = Buffer.alloc(payloadSize);
      payload.writeUInt32LE(s, 8);
      return signTransaction(payload, signer);
    });
    console.error(`pre-signed ${capacity} transactions in ${Date.now() - t0} ms`);
  }
  let seq = 0;
  // Unsigned transactions of one tick are views into one zeroed allocation (the generator shares
  // the 2 cores with the nodes, so it must stay cheap).
  const makeTxs = (count: number, now: number): Buffer[] => {
    count = Math.min(count, capacity - seq);
    if (VERIFY) {
      for (let i = 0; i < count; i++) sendTimes[seq + i] = now;
      seq += count;
      return presigned.slice(seq - count, seq);
    }
    const block = Buffer.alloc(count * TX_SIZE);
    return Array.from({ length: count }, (_, i) => {
      const s = seq++;
      sendTimes[s] = now;
      const tx = block.subarray(i * TX_SIZE, (i + 1) * TX_SIZE);
      tx.writeUInt32LE(s, SEQ_OFFSET);
      return tx;
    });
  };

  const start = Date.now();
  const windowStart = start + WARMUP * 1000;
  const windowEnd = windowStart + SECONDS * 1000;
  const latencies: number[] = [];
  let committedInWindow = 0;
  subscriber.subscribe(1, (f) => {
    const now = Date.now();
    if (now < windowStart || now > windowEnd) return;
    for (const tx of f.txs) {
      committedInWindow++;
      latencies.push(now - sendTimes[tx.readUInt32LE(SEQ_OFFSET)]);
    }
  });

  // Soak: epoch changes and samples of memory and disk.
  let epoch = 1;
  const timers: NodeJS.Timeout[] = [];
  if (EPOCH_SECONDS > 0) {
    timers.push(
      setInterval(
        () =>
          writeCommittee(
            cluster.committeeFile,
            ++epoch,
            cluster.nodes.map((n) => n.member),
          ),
        EPOCH_SECONDS * 1000,
      ),
    );
  }
  const samples: { t: number; epoch: number; rssMiB: number[]; diskMiB: number }[] = [];
  if (SAMPLE_SECONDS > 0) {
    timers.push(
      setInterval(() => {
        const sample = {
          t: Math.round((Date.now() - start) / 1000),
          epoch,
          rssMiB: children.map((c) => rssMiB(c.pid)),
          diskMiB: Math.round((folderBytes(dir) / MiB) * 10) / 10,
        };
        samples.push(sample);
        console.log(`SOAK ${JSON.stringify(sample)}`);
      }, SAMPLE_SECONDS * 1000),
    );
  }

  // CPU used in the measured window, per node process (main thread / other threads: the verifier
  // pool with --verify) and by this client: CPU per transaction is disturbed less by other load on
  // the machine than the wall-clock rate.
  const pids = [...children.map((c) => c.pid), process.pid];
  let cpuAtStart: { main: number; other: number }[] = [];
  let cpuAtEnd: { main: number; other: number }[] = [];
  timers.push(setTimeout(() => (cpuAtStart = pids.map(cpuSeconds)), windowStart - Date.now()));
  timers.push(setTimeout(() => (cpuAtEnd = pids.map(cpuSeconds)), windowEnd - Date.now()));

  let sent = 0;
  let refused = 0;
  let late = 0;
  await new Promise<void>((resolve) => {
    let next = Date.now();
    const tick = (): void => {
      const now = Date.now();
      if (now > windowEnd) return resolve();
      if (now - next > TICK_MS) late++;
      // Split the tick's transactions across the live nodes, one submission each.
      for (let i = 0; i < clients.length; i++) {
        const count = perClientTick;
        if (clients[i].buffered > 64 * 1024 * 1024) {
          refused += count; // the client's own socket is backed up: count as not sent
          continue;
        }
        const txs = makeTxs(count, now);
        sent += txs.length;
        void clients[i].submit(txs).then((r) => {
          if (r.status !== SubmitStatus.Ok) refused += txs.length - r.accepted;
        });
      }
      next += TICK_MS;
      setTimeout(tick, Math.max(0, next - Date.now()));
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 500));
  timers.forEach((t) => clearInterval(t));

  // Growth after the warm-up (the first GC windows): the first sample past it against the last.
  const settled = samples.find((x) => x.t * 1000 >= windowStart - start);
  const last = samples[samples.length - 1];
  const soak =
    settled && last
      ? {
          samples: samples.length,
          epochs: epoch,
          rssSettledMiB: Math.max(...settled.rssMiB),
          rssEndMiB: Math.max(...last.rssMiB),
          rssPeakMiB: Math.max(...samples.flatMap((x) => x.rssMiB)),
          diskSettledMiB: settled.diskMiB,
          diskEndMiB: last.diskMiB,
          diskPeakMiB: Math.max(...samples.map((x) => x.diskMiB)),
        }
      : undefined;

  latencies.sort((a, b) => a - b);
  const used = cpuAtEnd.map((e, i) => ({ main: e.main - cpuAtStart[i].main, other: e.other - cpuAtStart[i].other }));
  const nodesUsed = used.slice(0, -1);
  const perTxUs = (seconds: number): number => Math.round((seconds / Math.max(1, committedInWindow)) * 1e6 * 10) / 10;
  const cpu = {
    // cores used on average in the window
    nodeMainCores: nodesUsed.map((u) => Math.round((u.main / SECONDS) * 100) / 100),
    nodeOtherCores: nodesUsed.map((u) => Math.round((u.other / SECONDS) * 100) / 100),
    clientCores: Math.round(((used[used.length - 1].main + used[used.length - 1].other) / SECONDS) * 100) / 100,
    // microseconds of CPU per committed transaction, all nodes together
    nodeMainUsPerTx: perTxUs(nodesUsed.reduce((a, u) => a + u.main, 0)),
    nodeOtherUsPerTx: perTxUs(nodesUsed.reduce((a, u) => a + u.other, 0)),
  };
  const result = {
    nodes: 4,
    crashed: CRASHED,
    cores: os.cpus().length,
    inputRate: RATE,
    txSize: TX_SIZE,
    verifySignatures: VERIFY,
    batchSize: BATCH_SIZE,
    retainRounds: RETAIN_ROUNDS,
    seconds: SECONDS,
    committedTps: Math.round(committedInWindow / SECONDS),
    p50LatencyMs: percentile(latencies, 50),
    p99LatencyMs: percentile(latencies, 99),
    sent,
    refusedOrBackedUp: refused,
    lateTicks: late,
    cpu,
    ...(soak ? { soak } : {}),
  };
  console.log(JSON.stringify(result));
  console.log(`BENCH ${JSON.stringify({ bench: "consensus", ...result, loadAverage: os.loadavg()[0] })}`);
  for (const c of clients) c.close();
  subscriber.close();
  await Promise.all(children.map((c) => new Promise((resolve) => c.once("exit", resolve).kill("SIGTERM"))));
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
