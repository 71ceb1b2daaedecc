import type { KeyObject } from "node:crypto";
import { LRUCache } from "lru-cache";
import { agentCallCharge } from "../../protocol/agentUsage";
import { computeCharge, type ComputePrices } from "../../protocol/usage";
import { newAckNonce } from "./deliveryAck";
import type { AckRefusal, DeliveryAckSink } from "./deliveryAckDesk";
import type { PayerBinding } from "./payerBinding";
import type { ComputeAckJson } from "../../protocol/computeAck";
import { computeAckToJson, signComputeReceipt, verifyComputeAck, type ComputeReceipt, type SignedComputeAck } from "./computeReceipt";
import { ReplayGuard } from "./replayGuard";

/** What the escrow lets the current epoch's report debit an account, and the epoch's prices. */
export interface ComputeTerms {
  epoch: number;
  /** `ServiceEscrow.debitable(account, epoch)` at the epoch's first block (what the report may charge). */
  debitable: bigint;
  /** The prices at the epoch's first block (what the report charges with). */
  prices: ComputePrices;
}

/**
 * The header the functions service answers the gateway with what it measured (an
 * {@link InvocationMeter} as JSON); the gateway, which holds the node key, turns it into the
 * signed receipt of {@link RECEIPT_HEADER} and never passes it on.
 */
export const METER_HEADER = "x-fleek-meter";
/** The header that carries the node-signed receipt to the client (computeReceipt.ts JSON, no client signature). */
export const RECEIPT_HEADER = "x-fleek-receipt";
/** The header a paying client names its Ed25519 key in (hex), as bound with POST /acks/payer. */
export const CLIENT_HEADER = "x-fleek-client";

/** What the functions service measured of one invocation. */
export interface InvocationMeter {
  root: string;
  requestHash: string;
  responseHash: string;
  cpuUs: number;
  wallMs: number;
  egressBytes: number;
  /** Agent calls: the LLM tokens the host metered (the receipt is then an agent call's). */
  llmTokens?: number;
}

/** A request admitted to run: what it reserved of its payer's epoch budget. */
export interface ComputeAdmission {
  clientKey: Buffer;
  account: string;
  /** Owner-pays: the function whose per-epoch cap the request also draws on. */
  functionId?: number;
  epoch: number;
  prices: ComputePrices;
  reserved: bigint;
  /** An agent call: the agent's price per call this epoch (protocol/agentUsage.ts charges it). */
  callPrice?: bigint;
}

/** An owner-pays function: its owner's escrow account pays, at most `cap` per epoch (FunctionRegistry.ownerPaysCap). */
export interface FunctionSponsor {
  functionId: number;
  account: string;
  cap: bigint;
}

/** Settings of a {@link ComputeDesk}. */
export interface ComputeDeskOptions {
  /** The node's Ed25519 key: signs receipts; acks must name its public half. */
  nodePrivateKey: KeyObject;
  nodeKey: Buffer;
  sink: DeliveryAckSink;
  /** The escrow account a client key is bound to (DeliveryAckDesk.payerOf). */
  payerOf: (clientKey: Buffer) => PayerBinding | undefined;
  /** Reads the current epoch's terms for an account (RegistryReporting.computeTerms). */
  terms: (account: string) => Promise<ComputeTerms>;
  /** The functions' CPU limit (the node's): a request reserves what it would cost at its function's limit, at most this. */
  cpuLimitMs: number;
  /**
   * Who pays for a function's invocations when its owner does (FunctionRegistry read at the
   * current epoch's first block, as the report reads it); undefined: the client's payer pays.
   */
  sponsorOf?: (root: string) => Promise<FunctionSponsor | undefined>;
  /** Longest window (default 10 min), clock skew (default 30 s), clock, as DeliveryAckDesk. */
  maxWindowMs?: number;
  clockSkewMs?: number;
  now?: () => number;
  /** How long terms read from the chain are reused (default 2 s). */
  termsCacheMs?: number;
  /** Accounts tracked at once (budgets, cached terms; default 100,000). */
  maxAccounts?: number;
  /**
   * Receipts a client may leave unacknowledged in an epoch before its requests are refused (402)
   * on this node (default 100): a client that never countersigns is served at most this many
   * unpaid invocations, whether or not its receipts have expired.
   */
  maxUnacknowledged?: number;
}

/**
 * The node's counter for paid function invocations (docs/functions.md, "Metering and payment").
 * Before a request runs it checks that its payer (the function's owner when it pays, the client's
 * bound account otherwise) can cover it: its debitable amount this
 * epoch, less what this node already charged it, must cover a request at the CPU limit; otherwise
 * the gateway answers 402 and nothing runs; so does a client that left too many receipts
 * unacknowledged. After the run it signs the receipt of what was measured. It accepts the client's countersigned receipt as the delivery desk accepts acks:
 * addressed to this node, inside its window, both signatures valid, never seen before.
 */
export class ComputeDesk {
  private readonly guard: ReplayGuard;
  private readonly maxWindowMs: number;
  private readonly clockSkewMs: number;
  private readonly now: () => number;
  private readonly termsCacheMs: number;
  /** "epoch:account" → what this node's receipts (and running requests' reservations) charge it. */
  private readonly spent: LRUCache<string, bigint>;
  private readonly cachedTerms: LRUCache<string, { at: number; terms: ComputeTerms }>;
  /** Function root → its owner-pays sponsor (undefined: its clients pay), as read with the terms. */
  private readonly cachedSponsors: LRUCache<string, { at: number; sponsor: FunctionSponsor | undefined }>;
  /** "epoch:client key" → receipts issued to the client in the epoch and not acknowledged. */
  private readonly unacknowledged: LRUCache<string, number>;
  /** Nonce (hex) of each receipt issued and not acknowledged → its "epoch:client key". */
  private readonly issued: LRUCache<string, string>;
  private readonly maxUnacknowledged: number;
  /** Admissions holding a reservation (weakly held: one dropped by its caller costs no memory). */
  private readonly reserved = new WeakSet<ComputeAdmission>();

  constructor(private readonly o: ComputeDeskOptions) {
    this.guard = new ReplayGuard();
    this.maxWindowMs = o.maxWindowMs ?? 10 * 60_000;
    this.clockSkewMs = o.clockSkewMs ?? 30_000;
    this.now = o.now ?? Date.now;
    this.termsCacheMs = o.termsCacheMs ?? 2_000;
    this.spent = new LRUCache({ max: o.maxAccounts ?? 100_000 });
    this.cachedTerms = new LRUCache({ max: o.maxAccounts ?? 100_000 });
    this.cachedSponsors = new LRUCache({ max: o.maxAccounts ?? 100_000 });
    this.maxUnacknowledged = o.maxUnacknowledged ?? 100;
    this.unacknowledged = new LRUCache({ max: o.maxAccounts ?? 100_000 });
    this.issued = new LRUCache({ max: (o.maxAccounts ?? 100_000) * 10 });
  }

  /**
   * Admits a request of `clientKey` to function `root` (whose CPU limit is `cpuLimitMs`, at most
   * the node's) or says why its payer cannot cover it (the 402's message). The payer is the
   * function's owner when it pays (within its cap per epoch), the client's bound account otherwise.
   */
  async admit(clientKey: Buffer, root: string, cpuLimitMs = this.o.cpuLimitMs): Promise<ComputeAdmission | string> {
    const sponsor = await this.sponsorOf(root);
    const binding = sponsor ? undefined : this.o.payerOf(clientKey);
    if (!sponsor && !binding) return `no escrow account pays for client key ${clientKey.toString("hex")}: bind one with POST /acks/payer`;
    const account = (sponsor?.account ?? binding!.account).toLowerCase();
    const terms = await this.termsOf(account);
    const reserved = computeCharge(1n, BigInt(Math.min(cpuLimitMs, this.o.cpuLimitMs)) * 1_000n, terms.prices);
    return this.reserve({ clientKey, account, functionId: sponsor?.functionId, epoch: terms.epoch, prices: terms.prices, reserved }, terms, sponsor, binding);
  }

  /**
   * Admits a call of an agent (docs/agents.md "Payment of calls") the way {@link admit} admits a
   * function's request: the client's bound account must cover the agent's price for this epoch
   * (`priceOf(epoch)`, AgentMarketplace.priceAt at the epoch's first block; undefined: not a
   * marketplace agent, refused) plus `cpuLimitMs` of CPU, or the call is refused (402) before it runs.
   */
  async admitAgent(clientKey: Buffer, priceOf: (epoch: number) => Promise<bigint | undefined>, cpuLimitMs: number): Promise<ComputeAdmission | string> {
    const binding = this.o.payerOf(clientKey);
    if (!binding) return `no escrow account pays for client key ${clientKey.toString("hex")}: bind one with POST /acks/payer`;
    const account = binding.account.toLowerCase();
    const terms = await this.termsOf(account);
    const callPrice = await priceOf(terms.epoch);
    if (callPrice === undefined) return "this agent is not listed on the marketplace: its calls cannot be paid";
    const reserved = agentCallCharge(1n, BigInt(cpuLimitMs) * 1_000n, { perCall: callPrice, perMillionCpuMs: terms.prices.perMillionCpuMs });
    return this.reserve({ clientKey, account, epoch: terms.epoch, prices: terms.prices, reserved, callPrice }, terms, undefined, binding);
  }

  /** Reserves `a.reserved` of its payer's epoch budget, or says why the payer cannot cover it (the 402's message). */
  private reserve(
    a: ComputeAdmission,
    terms: ComputeTerms,
    sponsor: FunctionSponsor | undefined,
    binding: PayerBinding | undefined,
  ): ComputeAdmission | string {
    const { clientKey, account, reserved } = a;
    const pending = this.unacknowledged.get(`${terms.epoch}:${clientKey.toString("hex")}`) ?? 0;
    if (pending >= this.maxUnacknowledged) {
      return `client key ${clientKey.toString("hex")} left ${pending} receipts unacknowledged in epoch ${terms.epoch}: countersign them (POST /acks/compute) first`;
    }
    const key = `${terms.epoch}:${account}`;
    const spent = this.spent.get(key) ?? 0n;
    let left = terms.debitable > spent ? terms.debitable - spent : 0n;
    if (sponsor) {
      const used = this.spent.get(`${terms.epoch}:fn:${sponsor.functionId}`) ?? 0n;
      const capLeft = sponsor.cap > used ? sponsor.cap - used : 0n;
      if (capLeft < left) left = capLeft;
    }
    if (reserved > left) {
      const payer = sponsor ? `the owner of function ${sponsor.functionId} (escrow account ${account}, owner pays)` : `escrow account ${binding!.account}`;
      return `${payer} cannot cover this request in epoch ${terms.epoch}: ${left} USDC units left, a request may cost ${reserved}`;
    }
    this.charge(a, reserved);
    this.reserved.add(a);
    return a;
  }

  /**
   * Gives back an admitted request's reservation (it did not run to a receipt). Once only: a
   * second release of the same admission (a caller's error path after `issue` released it and
   * then threw on a bad meter) would hand the payer budget it never had.
   */
  release(a: ComputeAdmission): void {
    if (!this.reserved.delete(a)) return;
    this.charge(a, -a.reserved);
  }

  /** Adds `amount` to what this node charged the admission's account (and its owner-pays function) this epoch. */
  private charge(a: ComputeAdmission, amount: bigint): void {
    const keys = [`${a.epoch}:${a.account}`, ...(a.functionId === undefined ? [] : [`${a.epoch}:fn:${a.functionId}`])];
    for (const key of keys) this.spent.set(key, (this.spent.get(key) ?? 0n) + amount);
  }

  /** The signed receipt of an admitted request's invocation; its actual charge replaces the reservation. */
  issue(a: ComputeAdmission, meter: InvocationMeter): ComputeAckJson {
    this.release(a);
    const cpuUs = BigInt(meter.cpuUs);
    const agent = a.callPrice === undefined ? undefined : { llmTokens: meter.llmTokens ?? 0 };
    this.charge(
      a,
      a.callPrice === undefined
        ? computeCharge(1n, cpuUs, a.prices)
        : agentCallCharge(1n, cpuUs, { perCall: a.callPrice, perMillionCpuMs: a.prices.perMillionCpuMs }),
    );
    const now = this.now();
    const receipt: ComputeReceipt = {
      nodeKey: this.o.nodeKey,
      clientKey: a.clientKey,
      functionRoot: Buffer.from(meter.root, "hex"),
      requestHash: Buffer.from(meter.requestHash, "hex"),
      responseHash: Buffer.from(meter.responseHash, "hex"),
      cpuUs: meter.cpuUs,
      wallMs: meter.wallMs,
      egressBytes: meter.egressBytes,
      windowStart: now,
      windowEnd: now + this.maxWindowMs,
      nonce: newAckNonce(),
      ...(agent ? { agent } : {}),
    };
    const client = `${a.epoch}:${a.clientKey.toString("hex")}`;
    this.unacknowledged.set(client, (this.unacknowledged.get(client) ?? 0) + 1);
    this.issued.set(receipt.nonce.toString("hex"), client);
    return computeAckToJson(receipt, signComputeReceipt(receipt, this.o.nodePrivateKey));
  }

  /** Checks a countersigned receipt and passes it to the sink; returns the refusal if not accepted. */
  accept(signed: SignedComputeAck): AckRefusal | undefined {
    const r = signed.receipt;
    const now = this.now();
    if (!r.nodeKey.equals(this.o.nodeKey)) return "wrong-node";
    if (r.windowEnd <= r.windowStart || r.windowEnd - r.windowStart > this.maxWindowMs) return "bad-window";
    if (now < r.windowStart - this.clockSkewMs || now > r.windowEnd + this.clockSkewMs) return "expired";
    // Both signatures before the replay guard: a forgery never blocks the genuine acknowledgment.
    if (!verifyComputeAck(signed)) return "bad-signature";
    const claim = this.guard.claim(`${r.clientKey.toString("hex")}:${r.nonce.toString("hex")}`, r.windowEnd + this.clockSkewMs, now);
    if (claim === "replay") return "replay";
    if (claim === "full") return "busy";
    const client = this.issued.get(r.nonce.toString("hex"));
    if (client !== undefined) {
      this.issued.delete(r.nonce.toString("hex"));
      this.unacknowledged.set(client, Math.max(0, (this.unacknowledged.get(client) ?? 1) - 1));
    }
    this.o.sink.submitCompute(signed);
    return undefined;
  }

  /** Who pays for `root` when its owner does, reused for `termsCacheMs` as terms are. */
  private async sponsorOf(root: string): Promise<FunctionSponsor | undefined> {
    if (!this.o.sponsorOf) return undefined;
    const cached = this.cachedSponsors.get(root);
    if (cached && this.now() - cached.at < this.termsCacheMs) return cached.sponsor;
    const sponsor = await this.o.sponsorOf(root);
    this.cachedSponsors.set(root, { at: this.now(), sponsor });
    return sponsor;
  }

  private async termsOf(account: string): Promise<ComputeTerms> {
    const cached = this.cachedTerms.get(account);
    if (cached && this.now() - cached.at < this.termsCacheMs) return cached.terms;
    const terms = await this.o.terms(account);
    this.cachedTerms.set(account, { at: this.now(), terms });
    return terms;
  }
}
