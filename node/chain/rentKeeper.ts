/**
 * The rent keeper (docs/agents.md "Hosting lease"): AgentMarketplace charges leases only at a
 * checkpoint, and rent reaches the node rewards pool only through the permissionless
 * `collectRent(ids)` (at most 256 ids). A node whose config names the keeper (`rentKeeper`, off by
 * default: one designated node per network is enough, as any caller's collection serves all) looks
 * at up to `scanPerTick` agents per tick, from a cursor that wraps around `agentCount`, and sends one
 * `collectRent` with those whose lease owes at least one whole USDC unit now (running, not paused,
 * with credit). Gas is the keeper's signer's; the call is skipped when no lease owes anything.
 */
import { Contract, type Wallet } from "ethers";
import { AGENT_MARKETPLACE_ABI } from "./registryAbi";
import type { RpcProvider } from "./registryCommittee";

/** AgentMarketplace.MAX_COLLECT: most leases one `collectRent` charges. */
export const MAX_COLLECT = 256;

/** Settings of a {@link RentKeeper}. */
export interface RentKeeperOptions {
  /** Agents examined per tick (at most {@link MAX_COLLECT}). */
  scanPerTick: number;
}

interface LeaseView {
  credit: bigint;
  paidTo: bigint;
  rate: bigint;
}

/** Collects due rent for AgentMarketplace's leases, a bounded batch per tick. */
export class RentKeeper {
  private readonly market: Contract;
  private cursor = 1n;

  constructor(
    private readonly provider: RpcProvider,
    address: string,
    wallet: Wallet,
    private readonly options: RentKeeperOptions,
  ) {
    if (!Number.isSafeInteger(options.scanPerTick) || options.scanPerTick < 1 || options.scanPerTick > MAX_COLLECT)
      throw new Error(`rent keeper: scanPerTick must be 1-${MAX_COLLECT}`);
    this.market = new Contract(address, AGENT_MARKETPLACE_ABI, wallet.connect(provider));
  }

  /** The ids of the next batch whose lease owes at least one whole unit now (by the latest block's time). */
  async dueIds(): Promise<bigint[]> {
    const [count, scale, block] = await Promise.all([
      this.market.agentCount() as Promise<bigint>,
      this.market.LEASE_SCALE() as Promise<bigint>,
      this.provider.getBlock("latest"),
    ]);
    if (count === 0n) return [];
    const now = BigInt(block!.timestamp);
    const ids: bigint[] = [];
    for (let i = 0; i < this.options.scanPerTick && i < Number(count); i++) {
      if (this.cursor > count) this.cursor = 1n;
      ids.push(this.cursor++);
    }
    const owing = await Promise.all(
      ids.map(async (id) => {
        const [lease, ends] = await Promise.all([this.market.leases(id) as Promise<LeaseView>, this.market.leaseEnds(id) as Promise<bigint>]);
        // leaseEnds is 0 while paused (no rent runs); the charge stops at the credit.
        if (ends === 0n || lease.rate === 0n || now <= lease.paidTo) return false;
        const due = (now - lease.paidTo) * lease.rate;
        return (due < lease.credit ? due : lease.credit) >= scale;
      }),
    );
    return ids.filter((_, i) => owing[i]);
  }

  /** One tick: collects the due leases of the next batch; the USDC units sent to the rewards pool (0: nothing due, no transaction). */
  async tick(): Promise<bigint> {
    const ids = await this.dueIds();
    if (ids.length === 0) return 0n;
    const receipt = await (await this.market.collectRent(ids)).wait();
    const event = receipt!.logs
      .map((l: { topics: string[]; data: string }) => this.market.interface.parseLog(l))
      .find((e: { name?: string } | null) => e?.name === "RentCollected");
    return event ? (event.args[1] as bigint) : 0n;
  }
}
