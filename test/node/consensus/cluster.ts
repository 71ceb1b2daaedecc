/**
 * Runs real node processes (`tsx node/cli.ts run`) on loopback for the multi-node tests, with
 * clients that submit signed transactions and record each node's committed sequence.
 */
import { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { NodeClient } from "../../../node/client/client";
import { CommittedFrame, SubmitStatus } from "../../../node/client/protocol";
import { signTransaction, transactionPayload } from "../../../node/client/transaction";
import { Parameters } from "../../../node/consensus/parameters";
import { KeyPair } from "../../../node/consensus/types/crypto";
import { Committee } from "../../../node/consensus/types/committee";
import { parseCommittee } from "../../../node/committee/committeeSource";
import { ClusterConfigs, writeClusterConfigs } from "../../../node/clusterConfigs";
import { spawnNode } from "../../../node/nodeProcess";
import { PeerNetwork } from "../../../node/network/peerNetwork";
import { Logger } from "../../../node/logger";
import { freePorts } from "../../../testkit/freePorts";

/** Fast timers so tests take seconds, not minutes. */
export const TEST_PARAMETERS: Partial<Parameters> = {
  maxBatchDelayMs: 20,
  maxHeaderDelayMs: 100,
  headerResendMs: 500,
  syncRetryMs: 500,
};

/** The segment files of log `name` (batches, certificates, consensus) in an epoch folder, oldest first (`<name>.log`: one file, before segments). */
export function logSegments(epochDir: string, name: string): string[] {
  return fs
    .readdirSync(epochDir)
    .filter((f) => new RegExp(`^${name}(-\\d{16})?\\.log$`).test(f))
    .sort()
    .map((f) => path.join(epochDir, f));
}

/** Bytes of batches on disk in an epoch folder (read from the files, not from the store). */
export function batchBytes(epochDir: string): number {
  return logSegments(epochDir, "batches").reduce((n, f) => n + fs.statSync(f).size, 0);
}

/** Polls `cond` until true or fails after `ms`, with `detail()` in the error. */
export async function waitFor(what: string, cond: () => boolean, ms = 30_000, detail: () => unknown = () => ""): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} ${JSON.stringify(detail())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One node process and what its subscriber saw. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  /** Committed transaction payloads (utf-8), in order, as "epoch/payload". */
  readonly committed: string[] = [];
  /** Where each of {@link committed} came from: "subDagIndex@leaderRound", for failure reports. */
  readonly committedAt: string[] = [];
  /** Leader round of the last committed batch received. */
  leaderRound = 0;
  /** Standard error of the process (structured logs). */
  stderr = "";
  client: NodeClient | undefined;
  private subscriber: NodeClient | undefined;

  constructor(
    readonly configFile: string,
    readonly mempoolPort: number,
    readonly key: KeyPair,
  ) {}

  /** Starts the process (logging at `logLevel`, default LOG_LEVEL or warn) and waits until it serves clients. */
  async start(logLevel?: string): Promise<void> {
    this.child = await spawnNode(this.configFile, (d) => (this.stderr += d), logLevel);
    this.client = await NodeClient.connect("127.0.0.1", this.mempoolPort);
  }

  /** Subscribes from the epoch's first sub-DAG, recording the committed payloads. */
  async subscribe(): Promise<void> {
    this.committed.length = 0;
    this.committedAt.length = 0;
    this.subscriber = await NodeClient.connect("127.0.0.1", this.mempoolPort);
    this.subscriber.subscribe(1, (f: CommittedFrame) => {
      this.leaderRound = f.leaderRound;
      for (const tx of f.txs) {
        this.committed.push(`${f.epoch}/${transactionPayload(tx).toString()}`);
        this.committedAt.push(`${f.subDagIndex}@${f.leaderRound}`);
      }
    });
  }

  /** Submits signed transactions with the given payloads; returns the node's answer. */
  submit(payloads: string[], signer = KeyPair.generate()) {
    return this.client!.submit(payloads.map((p) => signTransaction(Buffer.from(p), signer)));
  }

  /** Submits and expects every transaction to be accepted. */
  async submitAll(payloads: string[]): Promise<void> {
    const res = await this.submit(payloads);
    if (res.status !== SubmitStatus.Ok) throw new Error(`submit refused: ${res.reason}`);
  }

  /** Resident memory of the process in bytes (Linux /proc), or 0 when it is not running. */
  get rss(): number {
    if (!this.alive) return 0;
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.child!.pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` to the running process (SIGSTOP/SIGCONT cut it off the network and back). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Stops the process (SIGKILL simulates a crash) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    this.client?.close();
    this.subscriber?.close();
    const child = this.child;
    if (!child || !this.alive) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }
}

/** A local cluster of node processes in a temporary folder. */
export class Cluster {
  readonly configs: ClusterConfigs;
  readonly nodes: NodeProcess[];
  readonly dir: string;

  private constructor(n: number, ports: number[], opts: { members?: number; parameters?: Partial<Parameters> }) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-"));
    this.configs = writeClusterConfigs(this.dir, n, ports, { ...TEST_PARAMETERS, ...opts.parameters }, { members: opts.members });
    this.nodes = this.configs.nodes.map((x) => new NodeProcess(x.configFile, x.mempoolPort, x.key));
  }

  /** Writes the configs of `n` nodes on free loopback ports (not started). */
  static async create(n: number, opts: { members?: number; parameters?: Partial<Parameters> } = {}): Promise<Cluster> {
    return new Cluster(n, await freePorts(3 * n), opts);
  }

  /** Starts every node (in parallel) and subscribes to each. */
  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start()));
    await Promise.all(this.nodes.map((n) => n.subscribe()));
  }

  /** Stops every node still running. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop("SIGKILL")));
  }
}

/** Polls an async condition every 200 ms until true or fails after `ms`. */
export async function eventually(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `count` distinct payloads tagged with `tag`. */
export function payloads(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${tag}-${i}`);
}

/**
 * After an epoch change from 1 to 2 that swaps `leaver` for `joiner` (epoch 1 having committed ten
 * transactions through `a`): the leaver stops taking transactions and runs no epoch-2 consensus,
 * the joiner starts from the new genesis and commits the same epoch-2 sequence as `a`.
 */
export async function expectMemberSwap(a: NodeProcess, leaver: NodeProcess, joiner: NodeProcess, epoch = 2): Promise<void> {
  await eventually("the leaver refuses transactions", async () => (await leaver.submit(["late"])).status === SubmitStatus.Unavailable);
  await eventually("the joiner accepts transactions", async () => (await joiner.submit(["joined"])).status === SubmitStatus.Ok);
  // Sent to the joiner, which only accepts once it runs `epoch`: a member that has not switched
  // yet would still take transactions into epoch 1, which ends without committing them.
  await joiner.submitAll(payloads(`epoch${epoch}`, 10));
  const inEpoch = (n: NodeProcess) => n.committed.filter((x) => x.startsWith(`${epoch}/`));
  await waitFor(`epoch ${epoch} commits on members old and new`, () => [a, joiner].every((n) => inEpoch(n).length >= 11));
  expect(inEpoch(joiner)).to.deep.equal(inEpoch(a).slice(0, inEpoch(joiner).length));
  expect(inEpoch(a)).to.include(`${epoch}/joined`);
  expect(inEpoch(leaver)).to.deep.equal([], `the leaver runs no epoch-${epoch} consensus`);
  // "late" went to the leaver until it refused: one it took while still in epoch 1 may commit there.
  expect(a.committed.filter((x) => x.startsWith("1/") && x !== "1/late")).to.have.length(10);
  expect(joiner.committed.filter((x) => x.startsWith("1/"))).to.deep.equal([], "the joiner ran no epoch-1 consensus");
}

/** The last seat of a cluster, played by a test as a Byzantine member. */
export interface ByzantineSeat {
  honest: NodeProcess[];
  committee: Committee;
  evilKey: KeyPair;
  me: number;
  /** A peer network of the seat's key in `domain` (primary or worker); the caller closes it. */
  network(domain: "primary" | "worker", bounds: { maxFrame: number; maxQueueBytes: number }): PeerNetwork;
}

/**
 * Starts every node of `cluster` but the last, subscribed, and hands the last seat to a test that
 * plays it as a Byzantine member: the committee, that seat's key, its index and its networks.
 */
export async function startWithByzantineSeat(cluster: Cluster): Promise<ByzantineSeat> {
  const honest = cluster.nodes.slice(0, -1);
  await Promise.all(honest.map((n) => n.start()));
  await Promise.all(honest.map((n) => n.subscribe()));
  const committee = parseCommittee(JSON.parse(fs.readFileSync(cluster.configs.committeeFile, "utf8")));
  const evilKey = cluster.nodes[cluster.nodes.length - 1].key;
  const me = committee.indexOf(evilKey.publicKey)!;
  const network = (domain: "primary" | "worker", bounds: { maxFrame: number; maxQueueBytes: number }) =>
    new PeerNetwork({ key: evilKey, committee, me, domain, endpointOf: (i) => committee.members[i][domain], ...bounds, logger: new Logger({}, 100) });
  return { honest, committee, evilKey, me, network };
}

/** One received batch, as comparable text: "index|payload,payload,...". */
export function frameKey(f: CommittedFrame): string {
  return `${f.subDagIndex}|${f.txs.map((tx) => transactionPayload(tx).toString()).join(",")}`;
}

/** A subscriber attached late: the sub-DAG index it asked from and the {@link frameKey}s it got. */
export interface LateSubscriber {
  from: number;
  got: string[];
  /** Named in a failure message. */
  label?: string;
}

/**
 * Ends a subscriber test: submits a last transaction "tail" through `node`, waits until `reference`
 * (a subscriber from index 1) and every late subscriber asking from at or below the tail's sub-DAG
 * received it, then checks each got exactly the reference's batches from its index up to the tail's
 * batch: no gap, no duplicate, same order. Returns the tail's sub-DAG index and the reference up to
 * the tail.
 */
export async function expectExactFromTail(
  node: NodeProcess,
  reference: string[],
  late: LateSubscriber[],
  ms: number,
): Promise<{ final: number; upTo: string[] }> {
  await node.submitAll(["tail"]);
  await waitFor("the tail committed", () => reference.some((k) => k.includes("tail")));
  const indexOf = (k: string) => Number(k.split("|")[0]);
  const tail = reference.find((k) => k.includes("tail"))!;
  const final = indexOf(tail);
  // The tail's batch itself, not just its sub-DAG: a sub-DAG arrives batch by batch, so a
  // subscriber holding one of its batches may still be waiting for the tail's.
  await waitFor(
    "every subscriber receives the tail",
    () => late.every((s) => s.from > final || s.got.includes(tail)),
    ms,
    () => late.map((s) => [s.from, s.got.length]),
  );
  const upTo = (list: string[]) => list.slice(0, list.indexOf(tail) + 1);
  for (const s of late) {
    if (s.from > final) continue;
    expect(upTo(s.got), `subscriber from ${s.from}${s.label ? ` ${s.label}` : ""}`).to.deep.equal(upTo(reference).filter((k) => indexOf(k) >= s.from));
  }
  return { final, upTo: upTo(reference) };
}
