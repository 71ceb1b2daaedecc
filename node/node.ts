/**
 * A Fleek consensus node: follows the committee source, runs a consensus instance for each epoch
 * in which it is a member (a member that leaves stops; one that joins starts from the new epoch's
 * genesis), and serves clients: transaction submission and the committed sequence.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CommitteeSource } from "./committee/committeeSource";
import { ConsensusInstance } from "./consensus/instance";
import { Parameters } from "./consensus/parameters";
import { Committee } from "./consensus/types/committee";
import { KeyPair } from "./consensus/types/crypto";
import { CommittedBatch } from "./consensus/executor/executor";
import { checkTransaction, TxRules } from "./client/transaction";
import { SubmitResult, SubmitStatus } from "./client/protocol";
import { Logger } from "./logger";
import { SequenceCompacted } from "./storage/consensusStore";

/** A committed batch tagged with its epoch. */
export interface EpochBatch extends CommittedBatch {
  epoch: number;
}

/** Options of a {@link FleekNode}. */
export interface NodeOptions {
  key: KeyPair;
  dataDir: string;
  source: CommitteeSource;
  params: Parameters;
  logger: Logger;
}

/** A subscription refused in `epoch`: its batches from the index asked for were compacted away. */
export interface EpochCompacted extends SequenceCompacted {
  epoch: number;
}

interface Subscription {
  from: number;
  listener: (b: EpochBatch) => void;
  onCompacted?: (err: EpochCompacted) => void;
  cancel?: () => void;
}

/** The node: epochs, consensus instances and the in-process client API. */
export class FleekNode {
  private instance: ConsensusInstance | undefined;
  private epoch = -1;
  private stopWatching: (() => void) | undefined;
  private readonly subscriptions = new Set<Subscription>();
  /** Serialises reconfigurations so two epoch changes never overlap. */
  private reconfiguring: Promise<void> = Promise.resolve();

  constructor(private readonly o: NodeOptions) {}

  /** Reads the current committee, starts consensus if we are a member, and follows epoch changes. */
  async start(): Promise<void> {
    await this.reconfigure(await this.o.source.current());
    this.stopWatching = this.o.source.watch((c) => {
      this.reconfiguring = this.reconfiguring
        .then(() => this.reconfigure(c))
        .catch((err) => {
          this.o.logger.error("reconfiguration failed", { err: String(err) });
        });
    });
  }

  /** The epoch the node follows, and whether it runs consensus in it. */
  status(): { epoch: number; member: boolean; round: number } {
    return { epoch: this.epoch, member: this.instance !== undefined, round: this.instance?.primary.round ?? 0 };
  }

  private async reconfigure(committee: Committee): Promise<void> {
    if (committee.epoch <= this.epoch) return;
    const previous = this.instance;
    this.instance = undefined;
    this.epoch = committee.epoch;
    if (previous) {
      for (const s of this.subscriptions) s.cancel?.();
      await previous.stop();
      this.o.logger.info("left epoch", { epoch: previous.committee.epoch });
    }
    this.deleteEpochsBefore(committee.epoch - 1);
    if (committee.indexOf(this.o.key.publicKey) === undefined) {
      this.o.logger.info("not in the committee", { epoch: committee.epoch });
      return;
    }
    const instance = await ConsensusInstance.start(committee, this.o.key, this.o.dataDir, this.o.params, this.o.logger);
    if (this.epoch !== committee.epoch) {
      await instance.stop(); // a newer epoch arrived while starting
      return;
    }
    this.instance = instance;
    for (const s of this.subscriptions) this.attach(s, 1);
  }

  /** The folder of `epoch`'s consensus data; the epoch application keeps its snapshot there too. */
  epochDir(epoch: number): string {
    return path.join(this.o.dataDir, `epoch-${epoch}`);
  }

  /**
   * Deletes the consensus folders of epochs below `epoch`. The chain moved on only once their
   * reports were settled (submitted, or skipped by the keeper), and a node only ever serves its
   * current epoch, so nothing reads them again; the previous epoch's folder is kept for inspection.
   */
  private deleteEpochsBefore(epoch: number): void {
    if (!fs.existsSync(this.o.dataDir)) return;
    for (const entry of fs.readdirSync(this.o.dataDir)) {
      const m = /^epoch-(\d+)$/.exec(entry);
      if (!m || Number(m[1]) >= epoch) continue;
      fs.rmSync(path.join(this.o.dataDir, entry), { recursive: true, force: true });
      this.o.logger.info("deleted the consensus data of a past epoch", { epoch: Number(m[1]) });
    }
  }

  private attach(s: Subscription, from: number): void {
    const instance = this.instance;
    if (!instance) return;
    const epoch = instance.committee.epoch;
    s.cancel = instance.subscribe(
      from,
      (b) => s.listener({ ...b, epoch }),
      (err) => s.onCompacted?.(Object.assign(err, { epoch })),
    );
  }

  /** Admission rules for client transactions, from the parameters. */
  get txRules(): TxRules {
    return { maxTxSize: this.o.params.maxTxSize, verifySignatures: this.o.params.verifyTxSignatures };
  }

  /** Bytes of transactions the node takes now (0 when saturated); undefined when not a member. */
  room(): number | undefined {
    return this.instance?.worker.room;
  }

  /** Adds transactions that passed admission, in order; returns how many were taken. */
  addChecked(txs: Buffer[]): number {
    const worker = this.instance?.worker;
    let taken = 0;
    while (worker && taken < txs.length && worker.submit(txs[taken])) taken++;
    return taken;
  }

  /**
   * Submits the node's own transactions (signed in this process; clients go through
   * client/admission.ts) in order until the first refusal: Invalid (breaks the rules), Busy
   * (backpressure: retry later) or Unavailable (not a committee member now).
   */
  submit(txs: Buffer[]): SubmitResult {
    const instance = this.instance;
    if (!instance) return { accepted: 0, status: SubmitStatus.Unavailable, reason: "not in the current committee" };
    for (let i = 0; i < txs.length; i++) {
      const bad = checkTransaction(txs[i], this.txRules);
      if (bad) return { accepted: i, status: SubmitStatus.Invalid, reason: bad };
      if (!instance.worker.submit(txs[i])) return { accepted: i, status: SubmitStatus.Busy, reason: "node saturated, retry" };
    }
    return { accepted: txs.length, status: SubmitStatus.Ok, reason: "" };
  }

  /**
   * Calls `listener` with every committed batch of the current epoch from sub-DAG `from` on, and
   * of each later epoch from its start. Returns a function that unsubscribes. `onCompacted` is
   * called instead if this node no longer holds the current epoch's sequence from `from`.
   */
  subscribe(from: number, listener: (b: EpochBatch) => void, onCompacted?: (err: EpochCompacted) => void): () => void {
    const s: Subscription = { from, listener, onCompacted };
    this.subscriptions.add(s);
    this.attach(s, from);
    return () => {
      s.cancel?.();
      this.subscriptions.delete(s);
    };
  }

  /** Stops following the committee and stops consensus. */
  async stop(): Promise<void> {
    this.stopWatching?.();
    this.epoch = Number.MAX_SAFE_INTEGER;
    await this.reconfiguring;
    for (const s of this.subscriptions) s.cancel?.();
    await this.instance?.stop();
    this.instance = undefined;
  }
}
