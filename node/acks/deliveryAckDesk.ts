import { LRUCache } from "lru-cache";
import type { ContentHash } from "../blockstore/contentHash";
import type { SignedComputeAck } from "./computeReceipt";
import { newAckNonce, verifyDeliveryAckSignature, type DeliveryAck, type SignedDeliveryAck } from "./deliveryAck";
import { verifyPayerBinding, type PayerBinding } from "./payerBinding";
import { ReplayGuard } from "./replayGuard";

/**
 * Where accepted acks go. The consensus side implements this to turn acks into transactions and,
 * at epoch end, into the per-node and per-client service figures of the epoch report.
 */
export interface DeliveryAckSink {
  /** Takes one verified, first-seen ack addressed to this node. */
  submit(signed: SignedDeliveryAck): void;
  /** Takes a verified binding of a client key to the escrow account that pays for it. */
  bindPayer(binding: PayerBinding): void;
  /** Takes one countersigned compute receipt (both signatures verified, first seen) of this node. */
  submitCompute(signed: SignedComputeAck): void;
}

/** A sink that queues acks in memory until they are drained (by consensus, or by tests). */
export class QueuedAckSink implements DeliveryAckSink {
  private queue: SignedDeliveryAck[] = [];
  private computeQueue: SignedComputeAck[] = [];
  /** Bindings received, by client key (hex); the latest one of each client. */
  readonly payers = new Map<string, PayerBinding>();

  /** @inheritdoc */
  submitCompute(signed: SignedComputeAck): void {
    this.computeQueue.push(signed);
  }

  /** Takes every queued compute acknowledgment, oldest first. */
  drainCompute(): SignedComputeAck[] {
    const drained = this.computeQueue;
    this.computeQueue = [];
    return drained;
  }

  /** @inheritdoc */
  submit(signed: SignedDeliveryAck): void {
    this.queue.push(signed);
  }

  /** @inheritdoc */
  bindPayer(binding: PayerBinding): void {
    this.payers.set(binding.clientKey.toString("hex"), binding);
  }

  /** Takes every queued ack, oldest first. */
  drain(): SignedDeliveryAck[] {
    const drained = this.queue;
    this.queue = [];
    return drained;
  }
}

/** Settings of a {@link DeliveryAckDesk}. */
export interface DeliveryAckDeskOptions {
  /** This node's Ed25519 public key (raw 32 bytes): acks must name it. */
  nodeKey: Buffer;
  sink: DeliveryAckSink;
  /** Longest window an ack may span (default 10 min). */
  maxWindowMs?: number;
  /** Tolerated clock difference between client and node (default 30 s). */
  clockSkewMs?: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** Acks remembered for replay protection at once (default 1,000,000). */
  replayCapacity?: number;
  /** Payer bindings remembered for the compute desk's admission, least recently used forgotten (default 100,000). */
  payerCapacity?: number;
}

/** Why an ack was refused. */
export type AckRefusal = "wrong-node" | "bad-window" | "expired" | "bad-signature" | "replay" | "busy";

/**
 * The node's counter for delivery acknowledgments: it hands clients the ack to sign for what
 * they received, and accepts signed acks: addressed to this node, inside a short current window,
 * correctly signed and never seen before, in that order, so a forged ack never reaches the
 * replay guard and cannot block the genuine one.
 */
export class DeliveryAckDesk {
  private readonly guard: ReplayGuard;
  private readonly maxWindowMs: number;
  private readonly clockSkewMs: number;
  private readonly now: () => number;
  /** Client key (hex) → its latest verified binding, for {@link payerOf}. */
  private readonly payers: LRUCache<string, PayerBinding>;

  constructor(private readonly options: DeliveryAckDeskOptions) {
    this.guard = new ReplayGuard(options.replayCapacity);
    this.payers = new LRUCache({ max: options.payerCapacity ?? 100_000 });
    this.maxWindowMs = options.maxWindowMs ?? 10 * 60_000;
    this.clockSkewMs = options.clockSkewMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** This node's public key, as acks must carry it. */
  get nodeKey(): Buffer {
    return this.options.nodeKey;
  }

  /** The ack a client should sign for `bytes` of `contentHash` received now. */
  draft(clientKey: Buffer, contentHash: ContentHash, bytes: number): DeliveryAck {
    const now = this.now();
    return { nodeKey: this.options.nodeKey, clientKey, contentHash, bytes, windowStart: now, windowEnd: now + this.maxWindowMs, nonce: newAckNonce() };
  }

  /** Checks a signed ack and passes it to the sink; returns the refusal if it is not accepted. */
  accept(signed: SignedDeliveryAck): AckRefusal | undefined {
    const { ack } = signed;
    const now = this.now();
    if (!ack.nodeKey.equals(this.options.nodeKey)) return "wrong-node";
    if (ack.windowEnd <= ack.windowStart || ack.windowEnd - ack.windowStart > this.maxWindowMs) return "bad-window";
    if (now < ack.windowStart - this.clockSkewMs || now > ack.windowEnd + this.clockSkewMs) return "expired";
    if (!verifyDeliveryAckSignature(signed)) return "bad-signature";
    const id = `${ack.clientKey.toString("hex")}:${ack.nonce.toString("hex")}`;
    const claim = this.guard.claim(id, ack.windowEnd + this.clockSkewMs, now);
    if (claim === "replay") return "replay";
    if (claim === "full") return "busy";
    this.options.sink.submit(signed);
    return undefined;
  }

  /** Checks a payer binding's two signatures and passes it to the sink; false if they do not hold. */
  acceptPayer(binding: PayerBinding): boolean {
    if (!verifyPayerBinding(binding)) return false;
    this.payers.set(binding.clientKey.toString("hex"), binding);
    this.options.sink.bindPayer(binding);
    return true;
  }

  /** The latest verified binding of `clientKey` this node received (undefined: none, or forgotten). */
  payerOf(clientKey: Buffer): PayerBinding | undefined {
    return this.payers.get(clientKey.toString("hex"));
  }
}
