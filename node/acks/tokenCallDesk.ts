/**
 * The node's side of agent calls paid in the owner's creator token (docs/agents.md "Calls paid in
 * the creator token", contracts/agents/TokenCallEscrow.sol). With each call the client sends a
 * voucher raising its channel (caller, agent, this node, token) by at least the agent's token price
 * for the epoch; the desk admits the call only if the voucher is the caller's, in the agent's token,
 * and the caller's deposit for this node (less a requested withdrawal) covers everything it vouched
 * to this node in that token, over all agents, and this node has not redeemed: otherwise the call
 * is refused (402) before it runs. Deposits are per node on chain, so what the caller vouched to
 * other nodes, which this node cannot see, is paid from other deposits (docs/agents.md).
 * The desk keeps the latest voucher of each channel and redeems them on chain ({@link redeemDue}), a
 * channel only once what it pays reaches `minRedeem` unless a withdrawal or a full table calls for
 * it (docs/agents.md "Small channels wait"); when its table is full, a new paying caller takes the
 * place of a channel left part-paid by a caller whose deposit for this node pays less than
 * `minRedeem` of it (docs/agents.md "Part-paid channels give up their place").
 * With a `file`, each voucher is on disk before its call is admitted and a restarted node redeems it:
 * the vouchers are the operator's money for calls already served. The file also keeps the block of
 * the last redemption, so a restarted desk still refuses reads of a chain reader behind it.
 */
import type { TypedDataDomain } from "ethers";
import { tokenVoucherSignatureFault, type TokenVoucher } from "../../protocol/tokenVoucher";
import { AppendLog, type LogDamage } from "../storage/appendLog";

/** What the desk reads from the chain. */
export interface TokenCallChain {
  /** Agent `marketId`'s token and token price for `epoch` (`priceAt` at the epoch's first block); undefined: unknown agent. */
  tokenPriceOf(marketId: bigint, epoch: number): Promise<{ token: string; tokenPrice: bigint } | undefined>;
  /** The latest block the reader knows. */
  blockNumber(): Promise<number>;
  /** The caller's deposit of `token` for node `nodeId` at `blockTag`: its balance and the withdrawal it asked for (TokenCallEscrow.deposits). */
  depositOf(caller: string, token: string, nodeId: number, blockTag: number): Promise<{ balance: bigint; pending: bigint }>;
  /** What the channel of `v` redeemed on chain (TokenCallEscrow.redeemed(channelId)) at `blockTag` (undefined: the latest block). */
  redeemedOf(v: TokenVoucher, blockTag?: number): Promise<bigint>;
}

/** A voucher and its caller's signature. */
export interface SignedTokenVoucher {
  voucher: TokenVoucher;
  signature: string;
}

/** One channel as the node knows it: the latest voucher it accepted and what it knows is redeemed. */
interface Channel extends SignedTokenVoucher {
  redeemed: bigint;
  /** The block its latest voucher was admitted at (kept in the log): a read of an older block predates that voucher's deposit. */
  admittedAt: number;
}

/** Options of {@link TokenCallDesk}. */
export interface TokenCallDeskOptions {
  /** This node's id in the registry (vouchers name it). */
  nodeId: number;
  /** TokenCallEscrow's EIP-712 domain. */
  domain: TypedDataDomain;
  chain: TokenCallChain;
  /**
   * Most channels held with unredeemed vouchers (default 100,000): a new caller beyond it is
   * refused until a redemption frees room, or takes the place of a channel a redemption round left
   * unpaid (docs/agents.md).
   */
  maxChannels?: number;
  /**
   * Least wei of the token a redemption must pay for a round to send it (default 10^18, one whole
   * token): below it a channel waits, unless its caller asked a withdrawal or the table is full
   * (docs/agents.md "Small channels wait"). The gas of a redemption is the node's.
   */
  minRedeem?: bigint;
  /** The append-only log the vouchers are kept in across restarts (undefined: in memory only). */
  file?: string;
  /** The log is rewritten to the live channels once past this or twice its last rewrite, whichever is more (default 1 MiB). */
  logBytes?: number;
  /** Told when opening the log found its end damaged and dropped it (a torn last record: a crash mid-write). */
  onDamage?: (damage: LogDamage) => void;
}

/** Admits token-paid agent calls and keeps their vouchers until redeemed. */
export class TokenCallDesk {
  private readonly channels = new Map<string, Channel>();
  private closed = false;
  private readonly maxChannels: number;
  private readonly minRedeem: bigint;
  private log: AppendLog | undefined;
  /** Bumped whenever this desk's redemptions change the chain or its channels: an admission whose reads span a bump reads again. */
  private redemptions = 0;
  /**
   * The newest block whose redemptions the channels' `redeemed` reflect (this desk's last
   * redemption receipt, or a read that showed a channel redeemed further): an admission reading an
   * older block would see a deposit those redemptions took. Kept in the log: after a restart the
   * replayed `redeemed` are as new as it.
   */
  private redeemedBlock = 0;
  /**
   * Channels a redemption round left due with nothing payable (the caller's deposit for this node
   * empty), kept marked while what they could pay stays under `minRedeem`, oldest first: when the
   * table is full a new paying caller takes the place of the first one (read under `minRedeem`
   * again at its admission's block). A marked channel is not redeemed for a withdrawal or a full
   * table, only once it pays `minRedeem`: a 1-wei top-up neither keeps its place nor costs a redemption.
   */
  private readonly unpaid = new Set<string>();

  constructor(private readonly o: TokenCallDeskOptions) {
    this.maxChannels = o.maxChannels ?? 100_000;
    this.minRedeem = o.minRedeem ?? 10n ** 18n;
    if (o.file) {
      // Bounded: past `logBytes` and twice its length after the last rewrite, it is replaced by the
      // live channels (their voucher and what they redeemed), so settled channels and superseded
      // vouchers leave the disk and a rewrite costs at most as much as the appends since the last.
      const compact = { bytes: o.logBytes ?? 2 ** 20, records: () => this.liveRecords() };
      this.log = AppendLog.open(o.file, (payload) => this.replay(payload), { onDamage: o.onDamage, compact });
      // Replay kept the channels' redemptions only to drop the channels they settle.
      for (const [key, c] of this.channels) if (c.voucher.cumulative <= c.redeemed) this.channels.delete(key);
    }
  }

  /**
   * Admits one call of agent `marketId` in `epoch` paid by `v` (the call's price is the agent's
   * token price for that epoch), keeping it as the channel's latest voucher; or says why not (the
   * 402's message). The chain is read first, then the checks and the update run without a pause,
   * so two calls racing with the same voucher cannot both pass. The reads are at a block no older
   * than this desk's last redemption, and read again if a redemption of this desk landed meanwhile:
   * otherwise a deposit read before a redemption would be checked against channels after it.
   */
  async admit(marketId: bigint, epoch: number, v: SignedTokenVoucher): Promise<string | undefined> {
    const { voucher } = v;
    if (voucher.nodeId !== this.o.nodeId || voucher.agentId !== marketId)
      return `the voucher is for agent ${voucher.agentId} on node ${voucher.nodeId}, not agent ${marketId} on node ${this.o.nodeId}`;
    const terms = await this.o.chain.tokenPriceOf(marketId, epoch);
    if (!terms || terms.tokenPrice === 0n) return `agent ${marketId} has no price in a creator token in epoch ${epoch}: pay in USDC`;
    if (voucher.token.toLowerCase() !== terms.token.toLowerCase())
      return `agent ${marketId} is priced in token ${terms.token} in epoch ${epoch}, the voucher is in ${voucher.token}`;
    const fault = tokenVoucherSignatureFault(this.o.domain, voucher, v.signature);
    if (fault) return fault;
    const key = channelKey(voucher);
    const full = !this.channels.has(key) && this.channels.size >= this.maxChannels;
    // Full: the oldest unpaid channel is the one this call may replace, if its deposit is still empty.
    const replace = full ? this.unpaid.values().next().value : undefined;
    if (full && replace === undefined) return TOO_MANY_CHANNELS;
    const read = await this.readChannel(voucher, replace);
    if (typeof read === "string") return read;
    const { block, onChain, deposit } = read;

    // No await from here: check and record at once.
    if (this.closed) return "this node is shutting down: try again later"; // its voucher could no longer be kept
    const current = this.channels.get(key);
    const redeemed = current && current.redeemed > onChain ? current.redeemed : onChain;
    const accepted = current && current.voucher.cumulative > redeemed ? current.voucher.cumulative : redeemed;
    const least = accepted + terms.tokenPrice;
    if (voucher.cumulative < least)
      return `the voucher must raise the cumulative to at least ${least} (a call costs ${terms.tokenPrice} of ${terms.token} in epoch ${epoch})`;
    const available = deposit.balance > deposit.pending ? deposit.balance - deposit.pending : 0n;
    const vouched = this.outstanding(voucher, key) + voucher.cumulative - redeemed;
    if (vouched > available)
      return `the deposit of ${voucher.caller} in ${voucher.token} for node ${this.o.nodeId} covers ${available} (less a requested withdrawal), ${vouched} would be vouched to this node over all its agents: deposit more for node ${this.o.nodeId} in TokenCallEscrow`;
    if (!current && this.channels.size >= this.maxChannels && !this.evict(replace, read.replaced, block)) return TOO_MANY_CHANNELS;
    if (onChain > (current?.redeemed ?? 0n)) this.raiseRedeemedBlock(block); // redeemed by someone else: the channel is as new as `block`
    this.channels.set(key, { ...v, redeemed, admittedAt: block });
    // Its deposit covers all it vouched here: a paying caller, whose channel keeps its place.
    this.unpaid.delete(key);
    if (this.log) {
      // The call is served only once its voucher survives a crash.
      this.log.append(encodeVoucher(v, block));
      await this.log.sync();
    }
    return undefined;
  }

  /**
   * What the chain shows of `voucher`'s channel and deposit, and of the deposit of the channel
   * `replace` (if any) would take the place of, read together at one block after this desk's last
   * redemption; or why not (a 402's message).
   */
  private async readChannel(voucher: TokenVoucher, replace: string | undefined): Promise<ChannelRead | string> {
    const other = replace === undefined ? undefined : this.channels.get(replace)?.voucher;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const seen = this.redemptions;
      const block = await this.o.chain.blockNumber();
      // A reader behind (a lagging RPC) still shows the deposit this desk's redemption took.
      if (block < this.redeemedBlock)
        return `this node's chain reader is at block ${block}, before its last redemption at ${this.redeemedBlock}: try again shortly`;
      const [onChain, deposit, replaced] = await Promise.all([
        this.o.chain.redeemedOf(voucher, block),
        this.o.chain.depositOf(voucher.caller, voucher.token, this.o.nodeId, block),
        other && this.o.chain.depositOf(other.caller, other.token, this.o.nodeId, block),
      ]);
      if (this.redemptions === seen) return { block, onChain, deposit, replaced };
    }
    return "this node is redeeming vouchers of this deposit: try again shortly";
  }

  /**
   * Forgets unpaid channel `key` to make room, if the caller's deposit for this node still paid
   * less than `minRedeem` of it at the admission's block (`deposit`): what it forgoes is under
   * `minRedeem`, deposited after a round found the deposit empty. If the caller deposited
   * `minRedeem` or more the channel is payable and stays (the next round redeems it). A read at a
   * block before the channel's latest voucher was admitted (a slow or lagging reader) proves
   * nothing about the deposit that voucher was admitted on: the channel stays.
   */
  private evict(key: string | undefined, deposit: { balance: bigint } | undefined, block: number): boolean {
    // Unmarked either way: evicted, payable, or taken by a racing admission already.
    if (key === undefined || !this.unpaid.delete(key)) return false;
    const c = this.channels.get(key);
    if (!c || !deposit || block < c.admittedAt || payable(c.voucher.cumulative, c.redeemed, deposit.balance) >= this.minRedeem) return false;
    this.channels.delete(key);
    this.log?.append(encodeEvicted(key)); // synced with the voucher that takes its place
    return true;
  }

  /** The latest voucher of every channel that pays more than it redeemed. */
  due(): SignedTokenVoucher[] {
    return this.dueKeys().map((key) => {
      const { voucher, signature } = this.channels.get(key)!;
      return { voucher, signature };
    });
  }

  /** The channels whose latest voucher pays more than they redeemed. */
  private dueKeys(): string[] {
    return [...this.channels].filter(([, c]) => c.voucher.cumulative > c.redeemed).map(([key]) => key);
  }

  /**
   * Redeems due vouchers with `send` (TokenCallEscrow.redeem from the node's wallet, resolving to
   * its receipt's block; anyone may send it, the node's share goes to its operator), then records
   * what the chain shows the channel redeemed and forgets the channels it settled. Each channel's
   * latest voucher is sent only if what it would pay now (the rest of the voucher, at most the
   * caller's deposit for this node) is at least `minRedeem`, or, if not marked unpaid, is more than
   * 0 while its caller asked a withdrawal that would leave the deposit short of what it vouched here
   * (it must be redeemed before the delay ends) or the table is full (places are scarce): a small channel waits, kept, and nobody makes the node pay a
   * redemption's gas for 1 wei each round (docs/agents.md "Small channels wait"). The contract pays
   * at most the deposit, so a redemption may settle part of its voucher: the rest stays due. A
   * failed redemption keeps its channel for the next round, unless the chain shows the voucher
   * redeemed already (by anyone, or by this node before a restart lost the record of it). A channel
   * left due with nothing payable is marked unpaid, and stays marked while it could pay less than
   * `minRedeem`: a new caller may take its place when the table is full. Returns how many this round redeemed.
   */
  async redeemDue(send: (v: SignedTokenVoucher) => Promise<number>): Promise<number> {
    let count = 0;
    const full = this.channels.size >= this.maxChannels;
    for (const key of this.dueKeys()) {
      let read = await this.readPayable(key, undefined);
      if (read !== undefined && read.payable > 0n && this.worthRedeeming(key, read, full)) {
        let block: number | undefined;
        try {
          block = await send(read.v);
          count++;
          this.raiseRedeemedBlock(block);
          this.redemptions++;
        } catch {
          // Read below: redeemed already, or not at all.
        }
        read = await this.readPayable(key, block);
      }
      // Unread (the reader failed), the mark stays as it was: the next round reads again.
      if (!this.channels.has(key)) this.unpaid.delete(key);
      else if (read !== undefined && !read.stale) this.markUnpaid(key, read.payable);
    }
    await this.log?.sync();
    return count;
  }

  /** Marks channel `key`, left due, unpaid when it can pay nothing, keeps it marked while it could pay under `minRedeem`, else unmarks it. */
  private markUnpaid(key: string, payable: bigint): void {
    if (payable === 0n || (payable < this.minRedeem && this.unpaid.has(key))) this.unpaid.add(key);
    else this.unpaid.delete(key);
  }

  /** Whether a round sends a redemption paying `read.payable` (more than 0) on channel `key`. */
  private worthRedeeming(key: string, read: PayableRead, full: boolean): boolean {
    if (read.payable >= this.minRedeem) return true;
    // Small: once for a withdrawal that could take what is vouched or for a full table, not again
    // while the caller pays nothing new.
    return !this.unpaid.has(key) && (this.withdrawalThreatens(read) || full);
  }

  /**
   * Whether the caller's requested withdrawal, once withdrawn, would leave its deposit for this
   * node short of what it vouched here in the token (over all its channels). Calls admitted after
   * the request are covered without it (admission counts the deposit less the request), so only
   * a request that reaches vouchers admitted before it calls for a small redemption.
   */
  private withdrawalThreatens({ v, deposit }: PayableRead): boolean {
    if (deposit.pending === 0n) return false;
    const left = deposit.balance > deposit.pending ? deposit.balance - deposit.pending : 0n;
    return this.outstanding(v.voucher, "") > left;
  }

  /**
   * Channel `key`'s latest voucher and what redeeming it would pay at block `at` (undefined: the
   * reader's head, not before this desk's last redemption), after recording what the chain shows
   * redeemed; undefined if the channel is gone or the chain could not be read.
   */
  private async readPayable(key: string, at: number | undefined): Promise<PayableRead | undefined> {
    const c = this.channels.get(key);
    if (!c) return undefined;
    const head = at ?? (await this.o.chain.blockNumber().catch(() => undefined));
    if (head === undefined) return undefined;
    const block = Math.max(head, this.redeemedBlock);
    const [onChain, deposit] = await Promise.all([
      this.o.chain.redeemedOf(c.voucher, block).catch(() => undefined),
      this.o.chain.depositOf(c.voucher.caller, c.voucher.token, this.o.nodeId, block).catch(() => undefined),
    ]);
    if (onChain !== undefined) this.settle(c.voucher, onChain, block);
    if (onChain === undefined || deposit === undefined) return undefined;
    const now = this.channels.get(key) ?? c;
    const v = { voucher: now.voucher, signature: now.signature };
    // A voucher admitted during the reads, or at a later block than they read, was admitted on a
    // newer deposit than `deposit`: the read may still redeem it (the contract pays what the
    // deposit holds), but says nothing of whether its caller pays (it would mark a paying caller
    // unpaid). Not a reason to skip the redemption: a caller calling during every round's reads
    // would never be redeemed.
    const stale = now.voucher !== c.voucher || block < now.admittedAt;
    return { v, deposit, payable: payable(now.voucher.cumulative, now.redeemed, deposit.balance), stale };
  }

  /** Records that `voucher`'s channel redeemed `onChain` on chain at block `at`, and forgets the channel if that settles it. */
  private settle(voucher: TokenVoucher, onChain: bigint, at: number): void {
    const key = channelKey(voucher);
    const c = this.channels.get(key);
    if (!c || onChain <= c.redeemed) return;
    this.raiseRedeemedBlock(at);
    c.redeemed = onChain;
    this.redemptions++;
    // A call admitted meanwhile may have raised the channel above what is redeemed: then it stays.
    if (c.voucher.cumulative <= onChain) this.channels.delete(key);
    // Not synced: a lost redemption record only makes the next round ask the chain again. It
    // follows its block's record, so a replay never restores it without the block.
    this.log?.append(encodeRedeemed(key, onChain));
  }

  /** Raises {@link redeemedBlock} to `block`, in the log before any record of what was redeemed there. */
  private raiseRedeemedBlock(block: number): void {
    if (block <= this.redeemedBlock) return;
    this.redeemedBlock = block;
    this.log?.append(encodeRedeemedBlock(block));
  }

  /** Flushes and closes the log; the desk admits nothing after. */
  async close(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    this.closed = true;
    await log?.close();
  }

  /** Applies one record of the log: the highest voucher of each channel and what it is known to have redeemed. */
  private replay(payload: Buffer): void {
    const r = decodeRecord(payload);
    if (!r) return; // written by this desk and CRC-checked: only a newer format's record, which this one cannot use
    if ("block" in r) {
      this.redeemedBlock = Math.max(this.redeemedBlock, r.block);
      return;
    }
    if ("evicted" in r) {
      this.channels.delete(r.evicted);
      return;
    }
    if ("redeemed" in r) {
      const c = this.channels.get(r.key);
      if (c && c.redeemed < r.redeemed) c.redeemed = r.redeemed;
      return;
    }
    const key = channelKey(r.voucher);
    const c = this.channels.get(key);
    if (!c) this.channels.set(key, { ...r, redeemed: 0n });
    else if (c.voucher.cumulative < r.voucher.cumulative) this.channels.set(key, { ...r, redeemed: c.redeemed });
  }

  /** The records a rewritten log holds: the last redemption's block, each live channel's voucher and what it redeemed. */
  private liveRecords(): Buffer[] {
    const records: Buffer[] = this.redeemedBlock > 0 ? [encodeRedeemedBlock(this.redeemedBlock)] : [];
    for (const [key, c] of this.channels) {
      records.push(encodeVoucher(c, c.admittedAt));
      if (c.redeemed > 0n) records.push(encodeRedeemed(key, c.redeemed));
    }
    return records;
  }

  /** What `caller` vouched to this node in `token` on its channels other than `except` (a key, or "" for none) and the node has not redeemed. */
  private outstanding(v: TokenVoucher, except: string): bigint {
    let sum = 0n;
    for (const [key, c] of this.channels) {
      if (key === except || c.voucher.caller.toLowerCase() !== v.caller.toLowerCase() || c.voucher.token.toLowerCase() !== v.token.toLowerCase()) continue;
      sum += c.voucher.cumulative - c.redeemed;
    }
    return sum;
  }
}

/** Reads of one admission before it gives up while this desk's redemptions keep landing. */
const READ_ATTEMPTS = 3;

/** The 402's message when the table of channels is full. */
const TOO_MANY_CHANNELS = "this node holds too many unredeemed channels: try again later";

/** An admission's reads, at `block`: its channel's redemptions, its deposit and that of the unpaid channel it may replace. */
interface ChannelRead {
  block: number;
  onChain: bigint;
  deposit: { balance: bigint; pending: bigint };
  replaced: { balance: bigint } | undefined;
}

/** What redeeming a channel would pay: its voucher's `cumulative` over what it `redeemed`, at most the deposit's `balance` (TokenCallEscrow.redeem). */
function payable(cumulative: bigint, redeemed: bigint, balance: bigint): bigint {
  const rest = cumulative > redeemed ? cumulative - redeemed : 0n;
  return rest < balance ? rest : balance;
}

/** A round's read of one channel: its latest voucher, its caller's deposit for this node and what a redemption would pay. */
interface PayableRead {
  v: SignedTokenVoucher;
  deposit: { balance: bigint; pending: bigint };
  payable: bigint;
  /** Read before the channel's latest voucher was admitted: no ground to mark the channel unpaid. */
  stale: boolean;
}

function channelKey(v: TokenVoucher): string {
  return `${v.caller.toLowerCase()}:${v.agentId}:${v.nodeId}:${v.token.toLowerCase()}`;
}

/** A log record: an accepted voucher with its signature (JSON, amounts in decimal). */
/** A log record: a voucher and the block it was admitted at (see {@link Channel}'s `admittedAt`). */
function encodeVoucher({ voucher: v, signature }: SignedTokenVoucher, admittedAt: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      caller: v.caller,
      agentId: String(v.agentId),
      nodeId: v.nodeId,
      token: v.token,
      cumulative: String(v.cumulative),
      signature,
      at: admittedAt,
    }),
  );
}

/** A log record: channel `key` redeemed up to `redeemed` on chain. */
function encodeRedeemed(key: string, redeemed: bigint): Buffer {
  return Buffer.from(JSON.stringify({ channel: key, redeemed: String(redeemed) }));
}

/** A log record: the desk's redemptions are known up to block `block` ({@link TokenCallDesk}'s `redeemedBlock`). */
function encodeRedeemedBlock(block: number): Buffer {
  return Buffer.from(JSON.stringify({ redeemedBlock: block }));
}

/** A log record: unpaid channel `key` was forgotten to make room for a new caller. */
function encodeEvicted(key: string): Buffer {
  return Buffer.from(JSON.stringify({ evicted: key }));
}

type LogRecord = (SignedTokenVoucher & { admittedAt: number }) | { key: string; redeemed: bigint } | { block: number } | { evicted: string };

function decodeRecord(payload: Buffer): LogRecord | undefined {
  try {
    const r = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
    if (typeof r.redeemedBlock === "number") return { block: r.redeemedBlock };
    if (typeof r.evicted === "string") return { evicted: r.evicted };
    if (typeof r.channel === "string" && typeof r.redeemed === "string") return { key: r.channel, redeemed: BigInt(r.redeemed) };
    const { caller, agentId, nodeId, token, cumulative, signature } = r;
    if (typeof caller !== "string" || typeof agentId !== "string" || typeof nodeId !== "number" || typeof token !== "string") return undefined;
    if (typeof cumulative !== "string" || typeof signature !== "string") return undefined;
    const admittedAt = typeof r.at === "number" ? r.at : 0;
    return { voucher: { caller, agentId: BigInt(agentId), nodeId, token, cumulative: BigInt(cumulative) }, signature, admittedAt };
  } catch {
    return undefined;
  }
}
