import type { SignedComputeAck } from "../acks/computeReceipt";
import type { SignedDeliveryAck } from "../acks/deliveryAck";
import type { DeliveryAckSink } from "../acks/deliveryAckDesk";
import type { PayerBinding } from "../acks/payerBinding";
import { SubmitStatus, type SubmitResult } from "../client/protocol";
import { signTransaction } from "../client/transaction";
import type { KeyPair } from "../consensus/types/crypto";
import type { Logger } from "../logger";
import { newestRecord, type SnapshotRecord } from "../agents/agentRecords";
import { AppTxKind, encodeAppTx, MAX_ACKS_PER_TX, MAX_COMPUTE_ACKS_PER_TX, MAX_SNAPSHOTS_PER_TX } from "./appTransactions";
import type { TxSubmitter } from "./committeeSubmitter";

/**
 * The gateway's ack sink: queues verified acks and payer bindings and submits them as consensus
 * transactions signed with the node key (through its own consensus instance, or a committee
 * member's when it is not a member: see CommitteeSubmitter), acks in batches of up to
 * {@link MAX_ACKS_PER_TX} (compute acknowledgments in their own transactions of up to
 * {@link MAX_COMPUTE_ACKS_PER_TX}). A client's binding is sent (again) in each epoch before its acks, since
 * each epoch's state starts empty. Refused submissions (Busy, between epochs) stay queued.
 * The node's signed agent snapshot records go the same way, in AgentSnapshots transactions (the
 * newest per agent waits, so the queue is bounded by the agents hosted here).
 */
export class AckForwarder implements DeliveryAckSink {
  private queue: (SignedDeliveryAck | SignedComputeAck)[] = [];
  /** Agent → its newest snapshot record not yet submitted. */
  private snapshots = new Map<string, SnapshotRecord>();
  private readonly payers = new Map<string, PayerBinding>();
  /** Client key → epoch in which its binding was last submitted. */
  private readonly boundIn = new Map<string, number>();
  private flushing: Promise<void> | undefined;
  /** Acks whose window starts at or after this (the current epoch's ack interval end) wait for the next epoch. */
  private holdFromMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly node: TxSubmitter,
    private readonly key: KeyPair,
    private readonly logger: Logger,
    /** Acks held at most; beyond it the oldest are dropped (and logged). */
    private readonly maxQueued = 1_000_000,
  ) {}

  /** @inheritdoc */
  submit(signed: SignedDeliveryAck): void {
    this.enqueue(signed);
  }

  /** @inheritdoc */
  submitCompute(signed: SignedComputeAck): void {
    this.enqueue(signed);
  }

  private enqueue(signed: SignedDeliveryAck | SignedComputeAck): void {
    this.queue.push(signed);
    if (this.queue.length > this.maxQueued) {
      this.queue.shift();
      this.logger.warn("ack queue full, oldest ack dropped", { maxQueued: this.maxQueued });
    }
  }

  /** Queues a snapshot record this node signed (a marketplace agent's) for the epoch report's `agentSnapshotsRoot`. */
  submitSnapshot(record: SnapshotRecord): void {
    this.snapshots.set(record.agent, newestRecord([this.snapshots.get(record.agent), record])!);
  }

  /** @inheritdoc */
  bindPayer(binding: PayerBinding): void {
    const client = binding.clientKey.toString("hex");
    this.payers.set(client, binding);
    this.boundIn.delete(client);
  }

  /**
   * Sets where the current epoch's acks end (EpochContext.acksUntilMs): later acks belong to the
   * next epoch, which would refuse them now, so they stay queued until this moves on.
   */
  holdFrom(ms: number): void {
    this.holdFromMs = ms;
  }

  /** Acks waiting to be submitted. */
  get pending(): number {
    return this.queue.length;
  }

  /** Submits what is queued; what is refused stays for the next call. Calls never overlap. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    await this.flushSnapshots();
    const { epoch } = this.node.status();
    const ready = this.queue.filter((a) => windowOf(a).windowStart < this.holdFromMs);
    if (ready.length === 0) return;
    const held = this.queue.filter((a) => windowOf(a).windowStart >= this.holdFromMs);
    // Acks arriving during the submission queue up behind what is put back.
    this.queue = [];
    let left = ready;
    try {
      const bindings = [...new Set(ready.map((a) => windowOf(a).clientKey.toString("hex")))].filter((c) => this.payers.has(c) && this.boundIn.get(c) !== epoch);
      if (bindings.length > 0) {
        const res = await this.node.submit(bindings.map((c) => this.sign({ kind: AppTxKind.Payer, binding: this.payers.get(c)! })));
        for (const c of bindings.slice(0, res.accepted)) this.boundIn.set(c, epoch);
        if (res.status !== SubmitStatus.Ok) return this.logRefusal(res);
      }
      while (left.length > 0) {
        // The longest run of one kind at the head, as one transaction: order is kept.
        const kind = kindOf(left[0]);
        const max = kind === AppTxKind.Acks ? MAX_ACKS_PER_TX : MAX_COMPUTE_ACKS_PER_TX;
        let n = 1;
        while (n < left.length && n < max && kindOf(left[n]) === kind) n++;
        const chunk = left.slice(0, n);
        const tx = kind === AppTxKind.Acks ? ({ kind, acks: chunk as SignedDeliveryAck[] } as const) : { kind, acks: chunk as SignedComputeAck[] };
        const res = await this.node.submit([this.sign(tx)]);
        if (res.accepted === 0) return this.logRefusal(res);
        left = left.slice(n);
      }
    } finally {
      this.queue = [...left, ...held, ...this.queue];
    }
  }

  /** Submits the queued snapshot records; those refused wait for the next flush unless a newer one of the agent came meanwhile. */
  private async flushSnapshots(): Promise<void> {
    let left = [...this.snapshots.values()];
    this.snapshots = new Map();
    try {
      while (left.length > 0) {
        const res = await this.node.submit([this.sign({ kind: AppTxKind.AgentSnapshots, records: left.slice(0, MAX_SNAPSHOTS_PER_TX) })]);
        if (res.accepted === 0) return this.logRefusal(res);
        left = left.slice(MAX_SNAPSHOTS_PER_TX);
      }
    } finally {
      for (const r of left) this.submitSnapshot(r);
    }
  }

  private sign(tx: Parameters<typeof encodeAppTx>[0]): Buffer {
    return signTransaction(encodeAppTx(tx), this.key);
  }

  private logRefusal(res: SubmitResult): void {
    this.logger.debug("ack submission deferred", { status: res.status, reason: res.reason });
  }
}

/** The transaction kind that carries a queued acknowledgment: content, function or agent call. */
function kindOf(a: SignedDeliveryAck | SignedComputeAck): AppTxKind.Acks | AppTxKind.ComputeAcks | AppTxKind.AgentAcks {
  if (!("receipt" in a)) return AppTxKind.Acks;
  return a.receipt.agent ? AppTxKind.AgentAcks : AppTxKind.ComputeAcks;
}

/** The window and client of a queued acknowledgment of either kind. */
function windowOf(a: SignedDeliveryAck | SignedComputeAck): { windowStart: number; clientKey: Buffer } {
  return "receipt" in a ? a.receipt : a.ack;
}
