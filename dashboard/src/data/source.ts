/**
 * Everything that is a list, a history or an aggregate goes through {@link DashboardData}: the
 * indexer's GraphQL implements it (`data/indexer.ts`). ethers stays for the connected account's
 * live reads and for transactions.
 */
import type { AllocationShape } from "../lib/schedule";
import type { ComputePrices, FunctionLimits } from "../lib/functions";

/** Where the FLK supply is, in wei. The parts sum to `total`. */
export interface SupplyBreakdown {
  total: bigint;
  circulating: bigint;
  /**
   * Genesis supply not yet vested. Vested but unreleased tokens count as circulating: their
   * beneficiaries can release them at any time (so at the TGE circulating is docs/spec.md §2's 28M).
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
  /** When it was created, unix seconds. */
  created: bigint;
  /** Its queue, execute and cancel, in order. */
  lifecycle: ProposalEvent[];
  /** How many accounts voted (`votes` may hold fewer). */
  voters: number;
  /** The heaviest votes, heaviest first. */
  votes: Vote[];
}

/** A step of a proposal after its creation. */
export interface ProposalEvent {
  kind: "queued" | "executed" | "canceled";
  /** Unix seconds. */
  time: bigint;
  txHash: string;
}

/** OpenZeppelin Governor's ProposalState, in its on-chain order. */
export const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/** A creator token and its curve state. */
export interface CreatorTokenInfo {
  creator: string;
  token: string;
  index: number;
  symbol: string;
  supply: bigint;
  spotPrice: bigint;
  reserve: bigint;
  /** Curve amounts of all buys and sells (fees excluded), FLK wei. */
  volume: bigint;
  /** Accounts holding a positive balance. */
  holders: number;
}

/** One trade on a creator's curve. */
export interface CreatorTrade {
  block: number;
  /** Unix seconds. */
  time: number;
  txHash: string;
  trader: string;
  side: "buy" | "sell";
  amount: bigint;
  /** FLK the trader paid (buy) or received (sell), fees included. */
  flk: bigint;
  /** Spot price after the trade, FLK wei per whole token. */
  priceAfter: bigint;
}

/** A creator token's latest trades (newest first) and largest holders. */
export interface CreatorActivity {
  trades: CreatorTrade[];
  holders: { address: string; balance: bigint }[];
}

/** How many accounts hold FLK and how many transfers moved it. */
export interface TokenStats {
  holders: number;
  transfers: number;
}

/** One FLK transfer (mints from and burns to the zero address included). */
export interface Transfer {
  block: number;
  /** Unix seconds. */
  time: number;
  txHash: string;
  from: string;
  to: string;
  amount: bigint;
}

/** One burn of FLK: a transfer to the zero address. */
export interface Burn {
  block: number;
  txHash: string;
  /** The account the FLK was burned from (for a buyback: the auction's buyer). */
  from: string;
  amount: bigint;
  /** What burned it: a buyback auction sale, the creator market's fee, or a holder. */
  source: "BUYBACK" | "CREATOR_MARKET" | "OTHER";
}

/** The supply at one past instant, as the indexer measured it (wei). */
export interface SupplySample {
  /** Unix seconds. */
  time: bigint;
  total: bigint;
  /** Not yet vested. */
  vesting: bigint;
  /** Staked (without unbonding stakes and undistributed rewards, which the indexer keeps per account only). */
  staked: bigint;
  burned: bigint;
  emitted: bigint;
}

/** A genesis allocation's vesting shape as the Vesting contract holds it (`key` is its id). */
export type VestingAllocation = AllocationShape;

/** One vote on a proposal. */
export interface Vote {
  voter: string;
  support: "For" | "Against" | "Abstain";
  weight: bigint;
  /** The voter's reason ("" when none was given). */
  reason: string;
}

/** The accounts holding the most votes, and the votes there are in all. */
export interface DelegateBoard {
  /** All staked FLK: the governor's total voting power (`getPastTotalSupply`). */
  totalVotes: bigint;
  /** Most votes first. */
  delegates: { address: string; votes: bigint; staked: bigint }[];
}

/** A node's lifecycle state (`NodeStaking.Status`), in words. */
export type NodeStatus = "pending" | "active" | "jailed" | "exited";

/** A function on FunctionRegistry with its latest version (what its name resolves to). */
export interface EdgeFunctionInfo {
  id: number;
  name: string;
  owner: string;
  version: number;
  /** The latest version's content root (bytes32). */
  root: string;
  limits: FunctionLimits;
  /** When the latest version was published, unix seconds. */
  updatedAt: bigint;
  /** Invocations of all its versions the epoch reports charged (their `ServiceCharge`s). */
  invocations: bigint;
  /** USDC units those invocations paid the nodes. */
  revenue: bigint;
}

/** One published version of a function. */
export interface FunctionVersionInfo {
  version: number;
  root: string;
  limits: FunctionLimits;
  /** Unix seconds. */
  publishedAt: bigint;
  txHash: string;
}

/** ServiceEscrow's latest compute prices and when they were set (unix seconds). */
export interface ComputePriceInfo extends ComputePrices {
  setAt: bigint;
}

/** An agent on AgentMarketplace with its listing and what its calls brought (USDC units). */
export interface AgentInfo {
  id: number;
  name: string;
  owner: string;
  version: number;
  configRoot: string;
  bundleRoot: string;
  memoryMiB: number;
  paused: boolean;
  /** Until when its hosting lease is funded (unix seconds; 0: paused; null: free hosting). */
  leaseEndsAt: number | null;
  /** The latest price set: USDC units per call, from epoch `fromEpoch` (null: none set). */
  price: { price: bigint; token: string | null; tokenPrice: bigint; fromEpoch: number } | null;
  /** Calls the epoch reports charged, and the USDC they paid (gross, before the split). */
  calls: bigint;
  charged: bigint;
  /** Settled call revenue and its owner's share. */
  revenue: bigint;
  toOwner: bigint;
}

/** The marketplace's split, totals and latest settlements (USDC units). */
export interface AgentMarketInfo {
  split: { nodeBps: number; ownerBps: number; protocolBps: number };
  agentCount: number;
  revenue: bigint;
  toOwners: bigint;
  /** Protocol fees deposited into BuybackBurner: the marketplace's contribution to burns. */
  toProtocol: bigint;
  /** Settled epochs, newest first. */
  settlements: { epoch: number; amount: bigint; toProtocol: bigint }[];
}

/** An owner's agent revenue: credited by settlements, withdrawn, and what `withdraw` pays. */
export interface AgentEarnings {
  credited: bigint;
  withdrawn: bigint;
  balance: bigint;
}

/** One epoch's debit of a client's escrow account (all services together). */
export interface EscrowDebitInfo {
  epoch: number;
  amount: bigint;
  txHash: string;
}

/** A registered node, as `NodeRegistry.getNode` returns it. */
export interface NodeInfo {
  id: number;
  owner: string;
  nodeKey: string;
  signer: string;
  host: string;
  status: NodeStatus;
  stake: bigint;
  /** Unstaked FLK not yet withdrawn. */
  unstaking: bigint;
  /** Epoch from which `unstaking` can be withdrawn. */
  unstakeReadyAt: bigint;
  /** Epoch until which the stake is locked (0: never locked). */
  lockedUntil: bigint;
}

/** The current epoch: its number, bounds (unix seconds) and committee (node ids in committee order). */
export interface EpochInfo {
  number: bigint;
  start: bigint;
  end: bigint;
  committee: number[];
}

/** A node's reputation score (0-100) after one epoch's report. */
export interface ReputationPoint {
  epoch: number;
  score: number;
}

/**
 * A node's part in one reported epoch's rewards, in wei and USDC units. Its owner claims one leaf
 * per epoch for all its nodes, so `claimed` is the owner's leaf.
 */
export interface EpochReward {
  epoch: number;
  /** The owner at the report: the account that claims. */
  account: string;
  /** Null until the epoch is settled (or when its signed root does not follow from the report). */
  flkAmount: bigint | null;
  usdcAmount: bigint | null;
  claimed: boolean;
}

/** Reputation over epochs and rewards per epoch of one node. */
export interface NodeHistory {
  reputation: ReputationPoint[];
  rewards: EpochReward[];
}

/** The rewards-tree leaf of a node's owner for one epoch and its Merkle proof: what `EpochRewards.claim` takes. */
export interface RewardProof {
  epoch: number;
  nodeId: number;
  account: string;
  flkWeight: bigint;
  usdcWeight: bigint;
  flkAmount: bigint;
  usdcAmount: bigint;
  proof: string[];
  claimed: boolean;
}

/** An account's service credits in one UTC month. */
export interface CreditMonth {
  /** YYYY-MM */
  month: string;
  /** 18 decimals. */
  credits: bigint;
  /** Time-weighted average stake over the month (its elapsed part while it runs). */
  averageStake: bigint;
  tier: number;
  /** False for the running month. */
  complete: boolean;
}

/** A staking reward paid out: claimed to the wallet or compounded into the stake. */
export interface RewardPayment {
  block: number;
  /** Unix seconds. */
  time: number;
  txHash: string;
  kind: "claimed" | "compounded";
  amount: bigint;
}

/** The lists and aggregates the pages show. */
export interface DashboardData {
  /** The supply breakdown at the latest indexed block. */
  supply(): Promise<SupplyBreakdown>;
  /** `points` evenly spaced samples of the supply from `from` to `to` (unix seconds). */
  supplyHistory(from: bigint, to: bigint, points: number): Promise<SupplySample[]>;
  /** The genesis allocations, for the unlock calendar. */
  allocations(): Promise<VestingAllocation[]>;
  /** Holder and transfer counts. */
  tokenStats(): Promise<TokenStats>;
  /** The `limit` largest FLK holders (contracts included). */
  holders(limit: number): Promise<{ address: string; balance: bigint }[]>;
  /** The latest `limit` FLK transfers, newest first. */
  transfers(limit: number): Promise<Transfer[]>;
  /** The latest `limit` burns, newest first. */
  burns(limit: number): Promise<Burn[]>;
  /** Proposals, newest first, each with its heaviest votes. */
  proposals(): Promise<Proposal[]>;
  /** `voter`'s vote on proposal `proposalId`, if the indexer has seen one. */
  vote(proposalId: bigint, voter: string): Promise<Vote | undefined>;
  /** The `limit` accounts with the most votes (non-staking delegatees included). */
  delegates(limit: number): Promise<DelegateBoard>;
  creatorTokens(): Promise<CreatorTokenInfo[]>;
  /** The latest `trades` trades and the `holders` largest holders of `creator`'s token. */
  creatorActivity(creator: string, trades: number, holders: number): Promise<CreatorActivity>;
  /** The latest `limit` staking rewards `account` claimed or compounded, newest first. */
  rewardPayments(account: string, limit: number): Promise<RewardPayment[]>;
  /** `account`'s service credits per month, from its first stake's month to the current one. */
  creditMonths(account: string): Promise<CreditMonth[]>;
  /** Every registered node, by id. */
  nodes(): Promise<NodeInfo[]>;
  /** Reputation in the latest `epochs` measured epochs (oldest first) of the first `nodes` nodes, by node id. */
  recentReputation(nodes: number, epochs: number): Promise<Map<number, ReputationPoint[]>>;
  /** The latest epoch the indexer has seen start. */
  currentEpoch(): Promise<EpochInfo>;
  /** Reputation and rewards of node `id`, oldest epoch first (null for an unknown node). */
  nodeHistory(id: number): Promise<NodeHistory | null>;
  /** The first `limit` functions registered on FunctionRegistry, by id. */
  edgeFunctions(limit: number): Promise<EdgeFunctionInfo[]>;
  /** The latest `limit` versions of function `id`, newest first. */
  functionVersions(id: number, limit: number): Promise<FunctionVersionInfo[]>;
  /** The latest compute prices (null before the indexer has seen ServiceEscrow's deployment). */
  computePrices(): Promise<ComputePriceInfo | null>;
  /** The first `limit` agents on AgentMarketplace, by id. */
  agents(limit: number): Promise<AgentInfo[]>;
  /** The marketplace's totals and its latest `settlements` settled epochs (null before its deployment is indexed). */
  agentMarket(settlements: number): Promise<AgentMarketInfo | null>;
  /** `owner`'s agent revenue (zeros when never credited). */
  agentEarnings(owner: string): Promise<AgentEarnings>;
  /** The latest `limit` debits of `client`'s escrow account, newest first. */
  escrowDebits(client: string, limit: number): Promise<EscrowDebitInfo[]>;
  /** The proof to claim epoch `epoch`'s rewards of node `node`'s owner. */
  rewardProof(epoch: number, node: number): Promise<RewardProof>;
}
