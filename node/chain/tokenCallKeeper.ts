/**
 * A running node's token-paid agent calls (docs/agents.md "Calls paid in the creator token"):
 * the desk the gateway admits them with, and the redemption keeper that turns the desk's vouchers
 * into the node's earnings on TokenCallEscrow. The keeper redeems the due vouchers each
 * `redeemEveryMs` (those paying `minRedeem` or more, docs/agents.md "Small channels wait"), and at once when the escrow logs a `WithdrawalRequested` of a deposit for this
 * node (looked for each `watchMs`): a caller who asks its deposit back has `withdrawDelay` before it leaves, and the
 * node must redeem what it was vouched within it. The desk keeps its vouchers in `dataDir`, one
 * log per escrow, so a restarted node still redeems what it was vouched before.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Contract, type Provider, type Wallet } from "ethers";
import { tokenVoucherDomain } from "../../protocol/tokenVoucher";
import { TokenCallDesk } from "../acks/tokenCallDesk";
import type { TokenPaidAgents } from "../gateway/agentTokenRoutes";
import type { Logger } from "../logger";
import { NODE_REGISTRY_ABI, TOKEN_CALL_ESCROW_ABI } from "./registryAbi";
import { tokenCallChain } from "./tokenCallChain";

/** Most blocks one look for withdrawal requests reads: after a longer gap the keeper redeems everything instead. */
const MAX_WATCH_BLOCKS = 10_000;

export interface TokenCallsOptions {
  provider: Provider;
  chainId: bigint;
  /** NodeRegistry: this node's id is read from it by the node's key. */
  registry: string;
  /** The node's ed25519 public key (32 bytes, hex without 0x). */
  nodeKey: string;
  escrow: string;
  /** Where the desk's vouchers are kept across restarts (created if missing). */
  dataDir: string;
  /** Pays the redemptions' gas (the node's share goes to its operator whoever sends them). */
  signer: Wallet;
  /** The AgentMarketplace id of a hosted agent (undefined: not listed). */
  marketId: (agent: string) => bigint | undefined;
  /** The current epoch and the block that started it (RegistryReporting.currentEpochStart). */
  currentEpochStart: () => Promise<{ epoch: number; startBlock: number }>;
  redeemEveryMs: number;
  watchMs: number;
  /** Least wei a redemption must pay unless a withdrawal or a full table calls for it (TokenCallDeskOptions.minRedeem; undefined: its default). */
  minRedeem?: bigint;
  logger: Logger;
}

/** The gateway's token-paid calls and the keeper running beside them; `close` stops the keeper and closes the desk's log. */
export interface TokenCalls {
  paid: TokenPaidAgents;
  desk: TokenCallDesk;
  close(): Promise<void>;
}

/** Starts token-paid calls, or returns undefined (logged) while this node is not in the registry. */
export async function startTokenCalls(o: TokenCallsOptions): Promise<TokenCalls | undefined> {
  const registry = new Contract(o.registry, NODE_REGISTRY_ABI, o.provider);
  const nodeId = Number((await registry.nodeIdOfKey(`0x${o.nodeKey}`)) as bigint);
  if (nodeId === 0) {
    o.logger.warn("token-paid agent calls off: this node's key is not in the registry", { registry: o.registry });
    return undefined;
  }
  const escrow = new Contract(o.escrow, TOKEN_CALL_ESCROW_ABI, o.signer.connect(o.provider));
  const epochStartBlock = async (epoch: number) => {
    const start = await o.currentEpochStart();
    if (start.epoch !== epoch) throw new Error(`epoch ${epoch} is not the current one (${start.epoch})`);
    return start.startBlock;
  };
  const chain = tokenCallChain({ provider: o.provider, escrow: o.escrow, marketplace: (await escrow.marketplace()) as string, epochStartBlock });
  fs.mkdirSync(o.dataDir, { recursive: true });
  const desk = new TokenCallDesk({
    nodeId,
    domain: tokenVoucherDomain(o.chainId, o.escrow),
    chain,
    minRedeem: o.minRedeem,
    // Vouchers are signed for one escrow: another escrow in the config starts a log of its own.
    file: path.join(o.dataDir, `vouchers-${o.escrow.toLowerCase()}.log`),
    onDamage: (damage) => o.logger.warn("token voucher log: a damaged end dropped (a crash mid-write)", { ...damage }),
  });
  if (desk.due().length > 0) o.logger.info("token vouchers reloaded", { due: desk.due().length });
  const keeper = new RedemptionKeeper(desk, escrow, nodeId, o.provider, await o.provider.getBlockNumber(), o.logger);
  const redeemTimer = setInterval(() => keeper.run(), o.redeemEveryMs);
  const watchTimer = setInterval(() => keeper.watch(), o.watchMs);
  o.logger.info("token-paid agent calls on", { nodeId, escrow: o.escrow });
  return {
    desk,
    paid: { desk, nodeId, marketId: o.marketId, epoch: async () => (await o.currentEpochStart()).epoch },
    close: async () => {
      clearInterval(redeemTimer);
      clearInterval(watchTimer);
      await desk.close();
    },
  };
}

/** The block of a mined transaction's receipt (ethers' `wait()` resolves to null only without confirmations). */
export function receiptBlock(receipt: { blockNumber: number } | null): number {
  if (!receipt) throw new Error("a redemption without a receipt");
  return receipt.blockNumber;
}

/** Redeems the desk's due vouchers, one round at a time; failures are logged and retried next round. */
class RedemptionKeeper {
  private running = false;

  constructor(
    private readonly desk: TokenCallDesk,
    private readonly escrow: Contract,
    /** This node: only requests against its deposits concern it. */
    private readonly nodeId: number,
    private readonly provider: Provider,
    /** The last block looked at for withdrawal requests. */
    private seen: number,
    private readonly logger: Logger,
  ) {}

  /** One redemption round (skipped while one runs). */
  run(): void {
    if (this.running) return;
    this.running = true;
    this.desk
      .redeemDue(async ({ voucher, signature }) => receiptBlock(await (await this.escrow.redeem(voucher, signature)).wait()))
      .then((count) => count > 0 && this.logger.info("token vouchers redeemed", { count }))
      .catch((err: unknown) => this.logger.warn("redeeming token vouchers failed", { err: String(err) }))
      .finally(() => (this.running = false));
  }

  /** Runs a round now if the escrow logged a withdrawal request of a deposit for this node since the last look (or the gap is too long to read). */
  watch(): void {
    void this.requestedSince()
      .then((requested) => requested && this.run())
      .catch((err: unknown) => this.logger.warn("watching withdrawal requests failed", { err: String(err) }));
  }

  private async requestedSince(): Promise<boolean> {
    const latest = await this.provider.getBlockNumber();
    if (latest <= this.seen) return false;
    const from = this.seen + 1;
    const requested =
      latest - from >= MAX_WATCH_BLOCKS ||
      (await this.escrow.queryFilter(this.escrow.filters.WithdrawalRequested(undefined, undefined, this.nodeId), from, latest)).length > 0;
    this.seen = latest;
    return requested;
  }
}
