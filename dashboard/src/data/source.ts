/**
 * Everything that is a list, a history or an aggregate goes through {@link DashboardData}. This
 * implementation scans contract views and events with ethers; the indexer's GraphQL
 * (`tokenSupply`, `proposals`, `creatorTokens`, …) replaces it behind the same interface.
 */
import { ZeroAddress, type Provider } from "ethers";
import type { Deployment, Suite } from "../lib/contracts";
import { GENESIS_ALLOCATIONS, vestedAmount } from "../../../ignition/genesis";

/** Where the FLK supply is, in wei. The parts sum to `total`. */
export interface SupplyBreakdown {
  total: bigint;
  circulating: bigint;
  /**
   * Genesis supply not yet vested. Vested but unreleased tokens count as circulating: their
   * beneficiaries can release them at any time (so at the TGE circulating is SPEC §2's 28M).
   */
  vesting: bigint;
  /** Held by the staking contract: stakes, unbonding stakes and undistributed rewards. */
  staked: bigint;
  /** Treasury (the timelock) and creator-curve reserves. */
  reserves: bigint;
  /** Minted and then burned (not part of `total`). */
  burned: bigint;
  /** Minted by emission since the TGE (part of `total` unless burned). */
  emitted: bigint;
  /** Emission due but not yet minted. */
  mintable: bigint;
  /** Vesting schedules' start (the TGE), unix seconds. */
  tge: bigint;
  /** The chain's latest block time, unix seconds: "now" for every schedule. */
  now: bigint;
}

/** A governance proposal with its tally. */
export interface Proposal {
  id: bigint;
  proposer: string;
  description: string;
  targets: string[];
  values: bigint[];
  calldatas: string[];
  voteStart: bigint;
  voteEnd: bigint;
  state: ProposalState;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  quorum: bigint;
  /** When a queued proposal may be executed (0 unless queued). */
  eta: bigint;
}

/** OpenZeppelin Governor's ProposalState, in its on-chain order. */
export const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/** A creator token and its curve state. */
export interface CreatorTokenInfo {
  creator: string;
  token: string;
  index: number;
  supply: bigint;
  spotPrice: bigint;
  reserve: bigint;
}

/** One burn of FLK: a transfer to the zero address. */
export interface Burn {
  block: number;
  txHash: string;
  /** Who burned: the creator market (trading fees), the buyback burner, or a holder. */
  from: string;
  amount: bigint;
}

/** The lists and aggregates the pages show. */
export interface DashboardData {
  supply(): Promise<SupplyBreakdown>;
  /** The latest `limit` burns, newest first. */
  burns(limit: number): Promise<Burn[]>;
  proposals(): Promise<Proposal[]>;
  creatorTokens(): Promise<CreatorTokenInfo[]>;
}

/** {@link DashboardData} from contract views and event scans over the whole chain. */
export function chainData(deployment: Deployment, suite: Suite, provider: Provider): DashboardData {
  const c = deployment.contracts;
  return {
    async supply() {
      const { flk } = suite;
      const [total, totalMinted, inStaking, treasury, curves, emitted, mintable, tge, block] = await Promise.all([
        flk.totalSupply(),
        flk.totalMinted(),
        flk.balanceOf(c.staking),
        flk.balanceOf(c.timelock),
        flk.balanceOf(c.creatorMarket),
        suite.emission.minted(),
        suite.emission.mintable(),
        suite.vesting.start(),
        provider.getBlock("latest"),
      ]);
      const now = BigInt(block?.timestamp ?? 0);
      // Vesting.lockedAt(now) would cost a second round trip on the first page's critical path;
      // the genesis formulas give the same figure to within a wei per schedule.
      const locked = GENESIS_ALLOCATIONS.reduce((sum, a) => sum + a.total - vestedAmount(a, a.total, now - tge), 0n);
      const reserves = treasury + curves;
      return {
        total,
        circulating: total - locked - inStaking - reserves,
        vesting: locked,
        staked: inStaking,
        reserves,
        burned: totalMinted - total,
        emitted,
        mintable,
        tge,
        now,
      };
    },

    async burns(limit) {
      const { flk } = suite;
      const events = await flk.queryFilter(flk.filters.Transfer(undefined, ZeroAddress));
      return events
        .slice(-limit)
        .reverse()
        .map((e) => ({ block: e.blockNumber, txHash: e.transactionHash, from: e.args.from, amount: e.args.value }));
    },

    async proposals() {
      const { governor } = suite;
      const events = await governor.queryFilter(governor.filters.ProposalCreated());
      const proposals = await Promise.all(
        events.map(async (e) => {
          const a = e.args;
          const [state, votes, eta] = await Promise.all([governor.state(a.proposalId), governor.proposalVotes(a.proposalId), governor.proposalEta(a.proposalId)]);
          return {
            id: a.proposalId,
            proposer: a.proposer,
            description: a.description,
            targets: [...a.targets],
            // `values` is also Array.prototype.values on an ethers Result: read the field by position.
            values: [...a[3]],
            calldatas: [...a.calldatas],
            voteStart: a.voteStart,
            voteEnd: a.voteEnd,
            state: PROPOSAL_STATES[Number(state)],
            againstVotes: votes[0],
            forVotes: votes[1],
            abstainVotes: votes[2],
            // Quorum is a fraction of the stake at the snapshot; before it the snapshot is in the future.
            quorum: state === 0n ? 0n : await governor.quorum(a.voteStart),
            eta,
          } satisfies Proposal;
        }),
      );
      return proposals.reverse();
    },

    async creatorTokens() {
      const { market } = suite;
      const events = await market.queryFilter(market.filters.CreatorTokenCreated());
      return Promise.all(
        events.map(async (e) => {
          const { creator, token, index } = e.args;
          const [supply, spotPrice, reserve] = await Promise.all([market.supplyOf(creator), market.spotPrice(creator), market.reserveOf(creator)]);
          return { creator, token, index: Number(index), supply, spotPrice, reserve };
        }),
      );
    },
  };
}
