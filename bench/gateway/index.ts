/**
 * Gateway benchmark: requests/s and MB/s for 4 KiB and 1 MiB objects served by this node's
 * gateway and by nginx serving the same files, side by side (hashing throughput is
 * bench/ingest's). Run: `npx tsx bench/gateway/index.ts [seconds per run, default 5] [rounds, default 3] [nginx workers, default 1]`.
 * Needs Debian's nginx and wrk: `apt-get install -y nginx-light wrk`.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { BlockStore } from "../../node/blockstore/blockStore";
import { startGateway } from "../../node/gateway/gatewayServer";

const SECONDS = Number(process.argv[2] ?? 5);
/** Runs alternate between the two servers and the best of each counts: the machine may be shared. */
const ROUNDS = Number(process.argv[3] ?? 3);
/** nginx worker processes: 1 by default, matching the gateway's one event loop; "auto" = one per core. */
const NGINX_WORKERS = process.argv[4] ?? "1";
const CONNECTIONS = 32;
const NGINX_PORT = 18_080;
/** The goals are set at 4 KiB and 1 MiB; 64 and 256 KiB draw the curve between them (bench/run's chart). */
const SIZES = [
  { label: "4 KiB", bytes: 4 * 1024 },
  { label: "64 KiB", bytes: 64 * 1024 },
  { label: "256 KiB", bytes: 256 * 1024 },
  { label: "1 MiB", bytes: 1024 * 1024 },
];

interface Figures {
  requestsPerSecond: number;
  megabytesPerSecond: number;
}

function requireTools(): void {
  const missing = ["nginx", "wrk"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) {
    console.error(`missing ${missing.join(", ")}: install with  apt-get install -y nginx-light wrk`);
    process.exit(1);
  }
}

/** Runs wrk against `url`; MB/s counts body bytes only (size × requests/s), 1 MB = 10^6 bytes. */
async function wrk(url: string, bodyBytes: number): Promise<Figures> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`, url]);
    let text = "";
    child.stdout.on("data", (part) => (text += part));
    child.on("error", reject);
    child.on("close", () => resolve(text));
  });
  const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  if (!Number.isFinite(requestsPerSecond) || /Non-2xx/.test(output)) throw new Error(`wrk failed on ${url}:\n${output}`);
  return { requestsPerSecond, megabytesPerSecond: (requestsPerSecond * bodyBytes) / 1e6 };
}

async function startNginx(root: string, prefix: string): Promise<() => void> {
  // sendfile, no access log: nginx at its fastest for static files.
  const conf = `
worker_processes ${NGINX_WORKERS};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/tmp; proxy_temp_path ${prefix}/tmp; fastcgi_temp_path ${prefix}/tmp;
  uwsgi_temp_path ${prefix}/tmp; scgi_temp_path ${prefix}/tmp;
  server {
    listen 127.0.0.1:${NGINX_PORT};
    root ${root};
    location / { add_header Cache-Control "public, max-age=31536000, immutable"; }
  }
}`;
  await mkdir(join(prefix, "tmp"), { recursive: true });
  await writeFile(join(prefix, "nginx.conf"), conf);
  const child = spawn("nginx", ["-p", prefix, "-c", join(prefix, "nginx.conf")], { stdio: "inherit" });
  await new Promise((resolve) => setTimeout(resolve, 500));
  return () => child.kill("SIGTERM");
}

async function main(): Promise<void> {
  requireTools();
  const work = await mkdtemp(join(tmpdir(), "bench-gateway-"));
  await chmod(work, 0o755); // nginx workers run unprivileged and must read the files
  const root = join(work, "www");
  await mkdir(root);
  const store = await BlockStore.open({ directory: join(work, "store"), maxBytes: 1 << 30 });
  const gateway = await startGateway({ store });
  const stopNginx = await startNginx(root, join(work, "nginx"));
  try {
    console.log(
      `gateway benchmark: ${cpus().length} cores, ${cpus()[0].model}; wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, best of ${ROUNDS} alternating rounds; ` +
        `nginx ${NGINX_WORKERS} worker(s) (sendfile), gateway 1 Node.js ${process.version} process; load average at start ${loadavg()[0].toFixed(1)}`,
    );
    console.log(`\n${"object".padEnd(8)}${"server".padEnd(10)}${"req/s".padStart(10)}${"MB/s".padStart(10)}`);
    for (const { label, bytes } of SIZES) {
      const content = Buffer.alloc(bytes);
      for (let at = 0; at < bytes; at++) content[at] = (at * 31 + bytes) & 0xff;
      const { hash } = await store.put([content]);
      await writeFile(join(root, hash), content);
      let ours: Figures = { requestsPerSecond: 0, megabytesPerSecond: 0 };
      let nginx = ours;
      const best = (a: Figures, b: Figures) => (b.requestsPerSecond > a.requestsPerSecond ? b : a);
      for (let round = 0; round < ROUNDS; round++) {
        ours = best(ours, await wrk(`${gateway.url}/blake3/${hash}`, bytes));
        nginx = best(nginx, await wrk(`http://127.0.0.1:${NGINX_PORT}/${hash}`, bytes));
      }
      for (const [name, figures] of [
        ["gateway", ours],
        ["nginx", nginx],
      ] as const) {
        console.log(
          `${label.padEnd(8)}${name.padEnd(10)}${figures.requestsPerSecond.toFixed(0).padStart(10)}${figures.megabytesPerSecond.toFixed(1).padStart(10)}`,
        );
        console.log(`BENCH ${JSON.stringify({ bench: "gateway", object: label, bytes, server: name, nginxWorkers: NGINX_WORKERS, ...figures })}`);
      }
      console.log(
        `${label.padEnd(8)}${"ratio".padEnd(10)}${`${((100 * ours.requestsPerSecond) / nginx.requestsPerSecond).toFixed(0)}%`.padStart(10)}${`${((100 * ours.megabytesPerSecond) / nginx.megabytesPerSecond).toFixed(0)}%`.padStart(10)}`,
      );
    }
  } finally {
    stopNginx();
    await gateway.close();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
