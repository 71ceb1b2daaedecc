/**
 * The epoch keeper of the local network: keeps epochs advancing when no epoch report arrives.
 *
 * NodeRegistry changes the epoch when the committee's signed report is submitted (from
 * `reportOpensAt()`), and otherwise lets anyone call `advanceEpoch()` once the committee has
 * stalled a whole epoch past that (or at the epoch's end when there is no committee). Until the
 * nodes submit reports, only `advanceEpoch()` moves the devnet on: the keeper calls it as soon as
 * the registry accepts it, and never before, so a report that lands in time always wins.
 */
import type { JsonRpcProvider, Wallet } from "ethers";
import type { Deployment } from "./chain";
import { deployedSuite } from "./contracts";

/** A running keeper. */
export interface Keeper {
  /** Epochs the keeper skipped (advanced without a report). */
  skipped(): number;
  stop(): Promise<void>;
}

/** Starts the keeper: every `pollMs`, calls `advanceEpoch()` if the registry would accept it now. */
export function startKeeper(
  deployment: Deployment,
  provider: JsonRpcProvider,
  wallet: Wallet,
  pollMs = 2_000,
  onSkip: (epoch: bigint) => void = () => {},
): Keeper {
  const registry = deployedSuite(deployment, wallet.connect(provider)).registry;
  let skipped = 0;
  let stopped = false;
  let running = Promise.resolve();
  const tick = async () => {
    const [epoch, , , members] = await registry.committee();
    const opensAt = members.length === 0 ? await registry.epochEnd() : (await registry.reportOpensAt()) + (await registry.epochDuration());
    // The chain's clock runs ahead of the wall clock after the seed's time jumps: read it from a fresh block's view.
    const now = BigInt((await provider.send("eth_getBlockByNumber", ["pending", false])).timestamp);
    if (now < opensAt) return;
    await (await registry.advanceEpoch()).wait();
    skipped++;
    onSkip(epoch);
  };
  const timer = setInterval(() => {
    running = running
      .then(() => (stopped ? undefined : tick()))
      .catch(() => {
        // A report or another caller changed the epoch first (TooEarly), or the chain is stopping: next tick.
      });
  }, pollMs);
  return {
    skipped: () => skipped,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
