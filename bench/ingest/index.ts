/**
 * Ingest benchmark: how fast content is named (hashed to its BLAKE3 root with its 256 KiB block
 * chaining values) on one core, alone and on the paths that ingest it: the blockstore's put, and
 * the gateway's POST /origins pulling from a local HTTP origin. Goal: ≥ 800 MB/s (0.8 GB/s).
 * `b3sum --num-threads 1` on the same bytes is printed beside it when installed.
 * Run: `npx tsx bench/ingest/index.ts [MiB, default 256]`. MB = 10^6 bytes; best of 5 runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createBLAKE3 } from "hash-wasm";
import { loadBlockHashing } from "../../node/blockstore/blockHashing";
import { BlockStore } from "../../node/blockstore/blockStore";
import { BLOCK_SIZE } from "../../node/blockstore/blockTree";
import { startEdgeNode } from "../../node/edge/edgeNode";

const MIB = Number(process.argv[2] ?? 256);
const SIZE = MIB * 1024 * 1024;
const GOAL_MB_S = 800;
const TOKEN = "bench-operator-token";

/** MB/s of `work` over SIZE bytes, best of five (the machine may be shared). */
async function throughput(work: () => unknown): Promise<number> {
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint();
    await work();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return SIZE / best / 1e6;
}

function report(path: string, megabytesPerSecond: number): void {
  const verdict = megabytesPerSecond >= GOAL_MB_S ? "meets" : "misses";
  console.log(`  ${path.padEnd(58)}${megabytesPerSecond.toFixed(0).padStart(7)} MB/s  (${verdict} ${GOAL_MB_S})`);
  console.log(`BENCH ${JSON.stringify({ bench: "ingest", path, bytes: SIZE, megabytesPerSecond })}`);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "bench-ingest-"));
  const data = Buffer.alloc(SIZE);
  for (let at = 0; at < SIZE; at += 4) data.writeUInt32LE((at * 2654435761) >>> 0, at);
  const pieces = Array.from({ length: Math.ceil(SIZE / (1 << 20)) }, (_, i) => data.subarray(i << 20, (i + 1) << 20));
  console.log(
    `ingest benchmark: ${MIB} MiB, ${cpus().length} cores (${cpus()[0].model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `Node.js ${process.version}, one thread; load average at start ${loadavg()[0].toFixed(1)}`,
  );
  try {
    const hashing = await loadBlockHashing();
    report(
      "block chaining values (hash-wasm + fold), in memory",
      await throughput(() => {
        for (let at = 0; at < SIZE; at += BLOCK_SIZE) hashing.blockChainingValue(data.subarray(at, at + BLOCK_SIZE), at / BLOCK_SIZE);
      }),
    );
    const plain = await createBLAKE3();
    report("plain BLAKE3, hash-wasm one pass, in memory", await throughput(() => plain.init().update(data).digest()));

    const store = await BlockStore.open({ directory: join(work, "store"), maxBytes: 4 * SIZE });
    report(
      "BlockStore.put (hash + write to disk)",
      await throughput(async () => {
        const { hash } = await store.put(pieces);
        await store.evict(hash);
      }),
    );

    const origin = createServer((_req, res) => {
      res.writeHead(200, { "content-length": SIZE, "content-type": "application/octet-stream" });
      for (const piece of pieces) res.write(piece);
      res.end();
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    const node = await startEdgeNode({ directory: join(work, "edge"), maxBytes: 4 * SIZE, operatorToken: TOKEN });
    let round = 0;
    try {
      report(
        "gateway POST /origins (HTTP in, hash, write)",
        await throughput(async () => {
          // A new URL each round: the gateway remembers pointers it already fetched.
          const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/bench-${round++}.bin`;
          const response = await fetch(`${node.gateway.url}/origins`, {
            method: "POST",
            headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({ url }),
          });
          if (response.status !== 201) throw new Error(`POST /origins answered ${response.status}: ${await response.text()}`);
          await node.store.evict(((await response.json()) as { hash: never }).hash);
        }),
      );
    } finally {
      await node.close();
      origin.close();
    }

    if (spawnSync("sh", ["-c", "command -v b3sum"]).status === 0) {
      const file = join(work, "input.bin");
      await writeFile(file, data);
      const root = plain.init().update(data).digest();
      const printed = execFileSync("b3sum", ["--no-names", file]).toString().trim();
      if (printed !== root) throw new Error(`b3sum printed ${printed}, hash-wasm ${root}`);
      report("b3sum --num-threads 1 --no-mmap (file in page cache)", await throughput(() => execFileSync("b3sum", ["--num-threads", "1", "--no-mmap", file])));
    } else {
      console.log("  (b3sum not installed: apt-get install -y b3sum to compare)");
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
