/**
 * Writes a local cluster: n fresh node keys, a static committee file and one config per node, on
 * given loopback ports, with no chain. Used by `node cluster`, the multi-process tests and
 * the consensus benchmark. (The devnet of `npm start` reads its committee from the chain.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CommitteeFile } from "./committee/committeeSource";
import { Parameters } from "./consensus/parameters";
import { KeyPair } from "./consensus/types/crypto";
import { NodeConfigFile } from "./config";

/** What {@link writeClusterConfigs} created. */
export interface ClusterConfigs {
  committeeFile: string;
  /** One per node, in creation order (not committee order). */
  nodes: { configFile: string; key: KeyPair; mempoolPort: number; member: CommitteeFile["members"][number] }[];
}

/** `count` consecutive ports from `base`, for {@link writeClusterConfigs} on a chosen range. */
export function consecutivePorts(base: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => base + k);
}

/**
 * Creates `n` node configs under `dir`; node i uses `ports[3i]` (primary), `ports[3i + 1]` (worker)
 * and `ports[3i + 2]` (mempool). The first `members` nodes (default all) form the committee of `epoch`.
 */
export function writeClusterConfigs(
  dir: string,
  n: number,
  ports: readonly number[],
  parameters: Partial<Parameters> = {},
  opts: { members?: number; epoch?: number } = {},
): ClusterConfigs {
  if (ports.length < 3 * n) throw new Error(`${n} nodes need ${3 * n} ports, got ${ports.length}`);
  fs.mkdirSync(dir, { recursive: true });
  const committeeFile = path.join(dir, "committee.json");
  const nodes: ClusterConfigs["nodes"] = [];
  for (let i = 0; i < n; i++) {
    const key = KeyPair.generate();
    const [primaryPort, workerPort, mempoolPort] = ports.slice(3 * i, 3 * i + 3);
    const member = { publicKey: key.publicKey.toString("hex"), host: "127.0.0.1", primaryPort, workerPort };
    const config: NodeConfigFile = {
      keySeed: key.seed.toString("hex"),
      dataDir: `data-${i}`,
      host: "127.0.0.1",
      mempoolPort,
      committee: { file: "committee.json" },
      parameters,
    };
    const configFile = path.join(dir, `node-${i}.json`);
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    nodes.push({ configFile, key, mempoolPort, member });
  }
  writeCommittee(
    committeeFile,
    opts.epoch ?? 1,
    nodes.slice(0, opts.members ?? n).map((x) => x.member),
  );
  return { committeeFile, nodes };
}

/** Atomically (write + rename) replaces a committee file, e.g. to change epoch. */
export function writeCommittee(file: string, epoch: number, members: CommitteeFile["members"]): void {
  const body: CommitteeFile = { epoch, members };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(body, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}
