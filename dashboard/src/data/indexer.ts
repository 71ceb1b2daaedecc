/**
 * {@link DashboardData} from the indexer's GraphQL API (indexer/README.md, "GraphQL API"). Each
 * query also asks for `health { indexedBlock }`: after a transaction the page must not show a list
 * from before it, so a query is repeated until the indexer has reached the transaction's block.
 */
import { IndexerError, type GraphQuery } from "./graphql";
import {
  PROPOSAL_STATES,
  type Burn,
  type DashboardData,
  type AgentEarnings,
  type AgentInfo,
  type AgentMarketInfo,
  type EdgeFunctionInfo,
  type FunctionVersionInfo,
  type NodeStatus,
  type Proposal,
  type ProposalEvent,
  type ProposalState,
  type ReputationPoint,
  type SupplySample,
  type TokenStats,
  type Vote,
} from "./source";
import type { Deployment } from "../lib/contracts";

/** How long a read waits for the indexer to reach a confirmed transaction's block, by default. */
const CATCH_UP_MS = 20_000;
const RETRY_MS = 250;
/** Votes listed per proposal: the 20 proposals' lists stay within the indexer's query-cost limit. */
const VOTES_PER_PROPOSAL = 50;

interface Fresh {
  health: { indexedBlock: number | null };
}

const SUPPLY = /* GraphQL */ `
  query Supply($staking: String!, $treasury: String!, $curves: String!) {
    health {
      indexedBlock
    }
    tokenSupply {
      timestamp
      total
      burned
      emitted
      lockedInVesting
    }
    emission {
      mintable
    }
    vestingAllocations {
      start
    }
    staking: account(address: $staking) {
      balance
    }
    treasury: account(address: $treasury) {
      balance
    }
    curves: account(address: $curves) {
      balance
    }
  }
`;

const ALLOCATIONS = /* GraphQL */ `
  query Allocations {
    health {
      indexedBlock
    }
    vestingAllocations {
      id
      name
      total
      tgeBps
      cliff
      duration
    }
  }
`;

const TOKEN_STATS = /* GraphQL */ `
  query TokenStats {
    health {
      indexedBlock
    }
    tokenStats {
      holders
      transfers
    }
  }
`;

const HOLDERS = /* GraphQL */ `
  query Holders($first: Int!) {
    health {
      indexedBlock
    }
    accounts(first: $first, where: { balance_gt: "0" }, orderBy: BALANCE, orderDirection: DESC) {
      nodes {
        address
        balance
      }
    }
  }
`;

const TRANSFERS = /* GraphQL */ `
  query Transfers($first: Int!) {
    health {
      indexedBlock
    }
    transfers(first: $first, orderDirection: DESC) {
      nodes {
        blockNumber
        timestamp
        transactionHash
        from
        to
        value
      }
    }
  }
`;

const BURNS = /* GraphQL */ `
  query Burns($first: Int!) {
    health {
      indexedBlock
    }
    burns(first: $first, orderDirection: DESC) {
      nodes {
        blockNumber
        transactionHash
        from
        value
        source
      }
    }
  }
`;

const CREATOR_TOKENS = /* GraphQL */ `
  query CreatorTokens {
    health {
      indexedBlock
    }
    creatorTokens(first: 1000) {
      nodes {
        address
        creator
        index
        symbol
        supply
        price
        reserve
        volume
        holderCount
      }
    }
  }
`;

const CREATOR_ACTIVITY = /* GraphQL */ `
  query CreatorActivity($creator: String!, $trades: Int!, $holders: Int!) {
    health {
      indexedBlock
    }
    creatorToken(creator: $creator) {
      trades(first: $trades, orderDirection: DESC) {
        nodes {
          blockNumber
          timestamp
          transactionHash
          trader
          side
          amount
          traderFlk
          priceAfter
        }
      }
      holders(first: $holders) {
        nodes {
          address
          balance
        }
      }
    }
  }
`;

const PROPOSALS = /* GraphQL */ `
  query Proposals($votes: Int!) {
    health {
      indexedBlock
    }
    proposals(first: 20) {
      nodes {
        id
        proposer
        description
        targets
        values
        calldatas
        voteStart
        voteEnd
        state
        forVotes
        againstVotes
        abstainVotes
        quorum
        eta
        timestamp
        voters
        lifecycle {
          kind
          timestamp
          transactionHash
        }
        votes(first: $votes, orderBy: WEIGHT, orderDirection: DESC) {
          nodes {
            voter
            support
            weight
            reason
          }
        }
      }
    }
  }
`;

const VOTE = /* GraphQL */ `
  query Vote($proposalId: String!, $voter: String!) {
    health {
      indexedBlock
    }
    votes(first: 1, where: { proposalId: $proposalId, voter: $voter }) {
      nodes {
        voter
        support
        weight
        reason
      }
    }
  }
`;

const DELEGATES = /* GraphQL */ `
  query Delegates($first: Int!) {
    health {
      indexedBlock
    }
    stakingTotals {
      totalStaked
    }
    delegates(first: $first) {
      nodes {
        address
        votes
        staked
      }
    }
  }
`;

const REWARD_PAYMENTS = /* GraphQL */ `
  query RewardPayments($account: String!, $first: Int!) {
    health {
      indexedBlock
    }
    stakingRewardPayments(account: $account, first: $first, orderDirection: DESC) {
      nodes {
        kind
        amount
        blockNumber
        timestamp
        transactionHash
      }
    }
  }
`;

const CREDIT_MONTHS = /* GraphQL */ `
  query CreditMonths($account: String!) {
    health {
      indexedBlock
    }
    serviceCreditMonths(account: $account) {
      month
      credits
      averageStake
      tier
      complete
    }
  }
`;

const NODES = /* GraphQL */ `
  query Nodes {
    health {
      indexedBlock
    }
    nodes(first: 1000) {
      nodes {
        id
        owner
        nodeKey
        signer
        endpoints {
          host
        }
        status
        stake
        unstaking
        unstakeReadyAt
        lockedUntil
      }
    }
  }
`;

// Its own query, for fewer nodes than the list: nested lists of all 1,000 nodes exceed the indexer's query cost limit.
const RECENT_REPUTATION = /* GraphQL */ `
  query RecentReputation($first: Int!, $last: Int!) {
    health {
      indexedBlock
    }
    nodes(first: $first) {
      nodes {
        id
        reputation(last: $last) {
          epoch
          score
        }
      }
    }
  }
`;

const CURRENT_EPOCH = /* GraphQL */ `
  query CurrentEpoch {
    health {
      indexedBlock
    }
    epochs(first: 1) {
      nodes {
        number
        start
        duration
        committee
      }
    }
  }
`;

const FUNCTION_FIELDS = "id name owner version root limits { memoryMiB cpuMs wallMs bundleBytes } updatedAt invocations revenue";

const EDGE_FUNCTIONS = /* GraphQL */ `
  query EdgeFunctions($first: Int!) {
    health { indexedBlock }
    edgeFunctions(first: $first) { nodes { ${FUNCTION_FIELDS} } }
  }`;

const FUNCTION_VERSIONS = /* GraphQL */ `
  query FunctionVersions($id: Int!, $first: Int!) {
    health {
      indexedBlock
    }
    edgeFunction(id: $id) {
      versions(first: $first, orderDirection: DESC) {
        nodes {
          version
          root
          limits {
            memoryMiB
            cpuMs
            wallMs
            bundleBytes
          }
          publishedAt
          transactionHash
        }
      }
    }
  }
`;

const COMPUTE_PRICES = /* GraphQL */ `
  query ComputePrices {
    health {
      indexedBlock
    }
    computePrices {
      perMillionRequests
      perMillionCpuMs
      timestamp
    }
  }
`;

type FunctionRow = Omit<EdgeFunctionInfo, "updatedAt" | "invocations" | "revenue"> & { updatedAt: number; invocations: string; revenue: string };
const edgeFunction = (f: FunctionRow): EdgeFunctionInfo => ({
  ...f,
  updatedAt: BigInt(f.updatedAt),
  invocations: BigInt(f.invocations),
  revenue: BigInt(f.revenue),
});

const AGENTS = /* GraphQL */ `
  query Agents($first: Int!) {
    health {
      indexedBlock
    }
    agents(first: $first) {
      nodes {
        id
        name
        owner
        version
        configRoot
        bundleRoot
        memoryMiB
        paused
        leaseEndsAt
        calls
        charged
        revenue
        toOwner
        price {
          price
          token
          tokenPrice
          fromEpoch
        }
      }
    }
  }
`;

const AGENT_MARKET = /* GraphQL */ `
  query AgentMarket($first: Int!) {
    health {
      indexedBlock
    }
    agentMarket {
      split {
        nodeBps
        ownerBps
        protocolBps
      }
      agentCount
      revenue
      toOwners
      toProtocol
    }
    agentSettlements(first: $first) {
      nodes {
        epoch
        amount
        toProtocol
      }
    }
  }
`;

const AGENT_EARNINGS = /* GraphQL */ `
  query AgentEarnings($owner: String!) {
    health {
      indexedBlock
    }
    agentOwner(owner: $owner) {
      credited
      withdrawn
      balance
    }
  }
`;

const ESCROW_DEBITS = /* GraphQL */ `
  query EscrowDebits($client: String!, $first: Int!) {
    health {
      indexedBlock
    }
    escrowAccount(client: $client) {
      debits(first: $first, orderDirection: DESC) {
        nodes {
          epoch
          amount
          transactionHash
        }
      }
    }
  }
`;

type AgentRow = Omit<AgentInfo, "price" | "calls" | "charged" | "revenue" | "toOwner"> & {
  price: { price: string; token: string | null; tokenPrice: string; fromEpoch: number } | null;
  calls: string;
  charged: string;
  revenue: string;
  toOwner: string;
};
const agentInfo = ({ price, calls, charged, revenue, toOwner, ...a }: AgentRow): AgentInfo => ({
  ...a,
  price: price && { ...price, price: BigInt(price.price), tokenPrice: BigInt(price.tokenPrice) },
  calls: BigInt(calls),
  charged: BigInt(charged),
  revenue: BigInt(revenue),
  toOwner: BigInt(toOwner),
});

const NODE_HISTORY = /* GraphQL */ `
  query NodeHistory($id: Int!) {
    health {
      indexedBlock
    }
    node(id: $id) {
      reputation {
        epoch
        score
      }
      rewards {
        epoch
        account
        flkAmount
        usdcAmount
        claimed
      }
    }
  }
`;

const REWARD_PROOF = /* GraphQL */ `
  query RewardProof($epoch: Int!, $node: Int!) {
    health {
      indexedBlock
    }
    rewardProof(epoch: $epoch, node: $node) {
      epoch
      nodeId
      account
      flkWeight
      usdcWeight
      flkAmount
      usdcAmount
      proof
      claimed
    }
  }
`;

type Amount = string;
type SupplyFields = { timestamp: number; total: Amount; burned: Amount; emitted: Amount; lockedInVesting: Amount; staked: Amount };

/** `ACTIVE` → `Active`: the API's enum in the Governor's own spelling. */
function proposalState(state: string): ProposalState {
  const found = PROPOSAL_STATES.find((s) => s.toUpperCase() === state);
  if (!found) throw new IndexerError(`The indexer returned an unknown proposal state: ${state}.`);
  return found;
}

const SUPPORT: Record<string, Vote["support"]> = { FOR: "For", AGAINST: "Against", ABSTAIN: "Abstain" };

/** A `Vote` as GraphQL answers it. */
type VoteRow = { voter: string; support: string; weight: Amount; reason: string };

function toVote(v: VoteRow): Vote {
  return { voter: v.voter, support: SUPPORT[v.support], weight: BigInt(v.weight), reason: v.reason };
}

/**
 * The indexer behind `query`. `minBlock` is the block of the latest transaction the user
 * confirmed: reads wait up to `catchUpMs` for the indexer to reach it.
 */
export function indexerData(query: GraphQuery, deployment: Pick<Deployment, "contracts">, minBlock: () => number, catchUpMs = CATCH_UP_MS): DashboardData {
  const c = deployment.contracts;

  async function fresh<T extends Fresh>(document: string, variables?: Record<string, unknown>): Promise<T> {
    const deadline = Date.now() + catchUpMs;
    for (;;) {
      const data = await query<T>(document, variables);
      const indexed = data.health.indexedBlock ?? -1;
      const wanted = minBlock();
      if (indexed >= wanted) return data;
      if (Date.now() > deadline)
        throw new IndexerError(
          `The indexer is behind: it has reached block ${indexed}, your last transaction is in block ${wanted}. Lists will catch up when it does.`,
          "BEHIND",
        );
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  return {
    async supply() {
      const d = await fresh<
        Fresh & {
          tokenSupply: Omit<SupplyFields, "staked">;
          emission: { mintable: Amount };
          vestingAllocations: { start: number }[];
          staking: { balance: Amount } | null;
          treasury: { balance: Amount } | null;
          curves: { balance: Amount } | null;
        }
      >(SUPPLY, { staking: c.staking, treasury: c.timelock, curves: c.creatorMarket });
      if (d.vestingAllocations.length === 0)
        throw new IndexerError("The indexer has not seen the vesting allocations yet; try again in a moment.", "NOT_INDEXED");
      const s = d.tokenSupply;
      const balance = (a: { balance: Amount } | null) => BigInt(a?.balance ?? 0);
      const [total, vesting, staked, reserves] = [BigInt(s.total), BigInt(s.lockedInVesting), balance(d.staking), balance(d.treasury) + balance(d.curves)];
      return {
        total,
        circulating: total - vesting - staked - reserves,
        vesting,
        staked,
        reserves,
        burned: BigInt(s.burned),
        emitted: BigInt(s.emitted),
        mintable: BigInt(d.emission.mintable),
        tge: BigInt(d.vestingAllocations[0].start),
        now: BigInt(s.timestamp),
      };
    },

    async supplyHistory(from, to, points) {
      const times = Array.from({ length: points }, (_, i) => from + ((to - from) * BigInt(i)) / BigInt(Math.max(points - 1, 1)));
      // One request: an alias per sample (the API allows 20).
      const fields = times.map((t, i) => `p${i}: tokenSupply(at: ${t}) { timestamp total burned emitted lockedInVesting staked }`).join("\n");
      const d = await fresh<Fresh & Record<string, SupplyFields>>(`query SupplyHistory { health { indexedBlock } ${fields} }`);
      return times.map((_, i): SupplySample => {
        const p = d[`p${i}`];
        return {
          time: BigInt(p.timestamp),
          total: BigInt(p.total),
          vesting: BigInt(p.lockedInVesting),
          staked: BigInt(p.staked),
          burned: BigInt(p.burned),
          emitted: BigInt(p.emitted),
        };
      });
    },

    async allocations() {
      const d = await fresh<Fresh & { vestingAllocations: { id: number; name: string; total: Amount; tgeBps: number; cliff: number; duration: number }[] }>(
        ALLOCATIONS,
      );
      return d.vestingAllocations.map((a) => ({
        key: String(a.id),
        name: a.name,
        total: BigInt(a.total),
        tgeBps: a.tgeBps,
        cliff: BigInt(a.cliff),
        duration: BigInt(a.duration),
      }));
    },

    async tokenStats() {
      const d = await fresh<Fresh & { tokenStats: TokenStats }>(TOKEN_STATS);
      return d.tokenStats;
    },

    async holders(limit) {
      const d = await fresh<Fresh & { accounts: { nodes: { address: string; balance: Amount }[] } }>(HOLDERS, { first: limit });
      return d.accounts.nodes.map((a) => ({ address: a.address, balance: BigInt(a.balance) }));
    },

    async transfers(limit) {
      type Row = { blockNumber: number; timestamp: number; transactionHash: string; from: string; to: string; value: Amount };
      const d = await fresh<Fresh & { transfers: { nodes: Row[] } }>(TRANSFERS, { first: limit });
      return d.transfers.nodes.map((t) => ({
        block: t.blockNumber,
        time: t.timestamp,
        txHash: t.transactionHash,
        from: t.from,
        to: t.to,
        amount: BigInt(t.value),
      }));
    },

    async burns(limit) {
      const d = await fresh<
        Fresh & { burns: { nodes: { blockNumber: number; transactionHash: string; from: string; value: Amount; source: Burn["source"] }[] } }
      >(BURNS, { first: limit });
      return d.burns.nodes.map((b) => ({ block: b.blockNumber, txHash: b.transactionHash, from: b.from, amount: BigInt(b.value), source: b.source }));
    },

    async creatorTokens() {
      type Row = {
        address: string;
        creator: string;
        index: number;
        symbol: string;
        supply: Amount;
        price: Amount;
        reserve: Amount;
        volume: Amount;
        holderCount: number;
      };
      const d = await fresh<Fresh & { creatorTokens: { nodes: Row[] } }>(CREATOR_TOKENS);
      return d.creatorTokens.nodes.map((t) => ({
        creator: t.creator,
        token: t.address,
        index: t.index,
        symbol: t.symbol,
        supply: BigInt(t.supply),
        spotPrice: BigInt(t.price),
        reserve: BigInt(t.reserve),
        volume: BigInt(t.volume),
        holders: t.holderCount,
      }));
    },

    async creatorActivity(creator, trades, holders) {
      type Trade = {
        blockNumber: number;
        timestamp: number;
        transactionHash: string;
        trader: string;
        side: "BUY" | "SELL";
        amount: Amount;
        traderFlk: Amount;
        priceAfter: Amount;
      };
      const d = await fresh<Fresh & { creatorToken: { trades: { nodes: Trade[] }; holders: { nodes: { address: string; balance: Amount }[] } } | null }>(
        CREATOR_ACTIVITY,
        {
          creator: creator.toLowerCase(),
          trades,
          holders,
        },
      );
      if (!d.creatorToken) return { trades: [], holders: [] };
      return {
        trades: d.creatorToken.trades.nodes.map((t) => ({
          block: t.blockNumber,
          time: t.timestamp,
          txHash: t.transactionHash,
          trader: t.trader,
          side: t.side === "BUY" ? ("buy" as const) : ("sell" as const),
          amount: BigInt(t.amount),
          flk: BigInt(t.traderFlk),
          priceAfter: BigInt(t.priceAfter),
        })),
        holders: d.creatorToken.holders.nodes.map((h) => ({ address: h.address, balance: BigInt(h.balance) })),
      };
    },

    async proposals() {
      type Row = Omit<
        Proposal,
        | "id"
        | "values"
        | "voteStart"
        | "voteEnd"
        | "state"
        | "forVotes"
        | "againstVotes"
        | "abstainVotes"
        | "quorum"
        | "eta"
        | "created"
        | "lifecycle"
        | "votes"
      > & {
        id: string;
        values: Amount[];
        voteStart: number;
        voteEnd: number;
        state: string;
        forVotes: Amount;
        againstVotes: Amount;
        abstainVotes: Amount;
        quorum: Amount | null;
        eta: number | null;
        timestamp: number;
        lifecycle: { kind: string; timestamp: number; transactionHash: string }[];
        votes: { nodes: VoteRow[] };
      };
      const d = await fresh<Fresh & { proposals: { nodes: Row[] } }>(PROPOSALS, { votes: VOTES_PER_PROPOSAL });
      return d.proposals.nodes.map(({ timestamp, ...p }) => ({
        ...p,
        id: BigInt(p.id),
        values: p.values.map(BigInt),
        voteStart: BigInt(p.voteStart),
        voteEnd: BigInt(p.voteEnd),
        state: proposalState(p.state),
        forVotes: BigInt(p.forVotes),
        againstVotes: BigInt(p.againstVotes),
        abstainVotes: BigInt(p.abstainVotes),
        quorum: BigInt(p.quorum ?? 0),
        eta: BigInt(p.eta ?? 0),
        created: BigInt(timestamp),
        lifecycle: p.lifecycle.map((e) => ({ kind: e.kind.toLowerCase() as ProposalEvent["kind"], time: BigInt(e.timestamp), txHash: e.transactionHash })),
        votes: p.votes.nodes.map(toVote),
      }));
    },

    async vote(proposalId, voter) {
      const d = await fresh<Fresh & { votes: { nodes: VoteRow[] } }>(VOTE, { proposalId: proposalId.toString(), voter });
      return d.votes.nodes.map(toVote)[0];
    },

    async delegates(limit) {
      const d = await fresh<Fresh & { stakingTotals: { totalStaked: Amount }; delegates: { nodes: { address: string; votes: Amount; staked: Amount }[] } }>(
        DELEGATES,
        { first: limit },
      );
      return {
        totalVotes: BigInt(d.stakingTotals.totalStaked),
        delegates: d.delegates.nodes.map((x) => ({ address: x.address, votes: BigInt(x.votes), staked: BigInt(x.staked) })),
      };
    },

    async rewardPayments(account, limit) {
      type Row = { kind: "CLAIMED" | "COMPOUNDED"; amount: Amount; blockNumber: number; timestamp: number; transactionHash: string };
      const d = await fresh<Fresh & { stakingRewardPayments: { nodes: Row[] } }>(REWARD_PAYMENTS, { account, first: limit });
      return d.stakingRewardPayments.nodes.map((p) => ({
        block: p.blockNumber,
        time: p.timestamp,
        txHash: p.transactionHash,
        kind: p.kind === "CLAIMED" ? ("claimed" as const) : ("compounded" as const),
        amount: BigInt(p.amount),
      }));
    },

    async creditMonths(account) {
      type Row = { month: string; credits: Amount; averageStake: Amount; tier: number; complete: boolean };
      const d = await fresh<Fresh & { serviceCreditMonths: Row[] }>(CREDIT_MONTHS, { account });
      return d.serviceCreditMonths.map((m) => ({ ...m, credits: BigInt(m.credits), averageStake: BigInt(m.averageStake) }));
    },

    async nodes() {
      type Row = {
        id: number;
        owner: string;
        nodeKey: string;
        signer: string;
        endpoints: { host: string };
        status: string;
        stake: Amount;
        unstaking: Amount;
        unstakeReadyAt: number;
        lockedUntil: number;
      };
      const d = await fresh<Fresh & { nodes: { nodes: Row[] } }>(NODES);
      return d.nodes.nodes.map((n) => ({
        id: n.id,
        owner: n.owner,
        nodeKey: n.nodeKey,
        signer: n.signer,
        host: n.endpoints.host,
        status: n.status.toLowerCase() as NodeStatus,
        stake: BigInt(n.stake),
        unstaking: BigInt(n.unstaking),
        unstakeReadyAt: BigInt(n.unstakeReadyAt),
        lockedUntil: BigInt(n.lockedUntil),
      }));
    },

    async recentReputation(nodes, epochs) {
      const d = await fresh<Fresh & { nodes: { nodes: { id: number; reputation: ReputationPoint[] }[] } }>(RECENT_REPUTATION, { first: nodes, last: epochs });
      return new Map(d.nodes.nodes.map((n) => [n.id, n.reputation]));
    },

    async currentEpoch() {
      const d = await fresh<Fresh & { epochs: { nodes: { number: number; start: number; duration: number; committee: number[] }[] } }>(CURRENT_EPOCH);
      const [e] = d.epochs.nodes;
      if (!e) throw new IndexerError("The indexer has not seen the registry's first epoch yet; try again in a moment.", "NOT_INDEXED");
      return { number: BigInt(e.number), start: BigInt(e.start), end: BigInt(e.start + e.duration), committee: e.committee };
    },

    async nodeHistory(id) {
      type Reward = { epoch: number; account: string; flkAmount: Amount | null; usdcAmount: Amount | null; claimed: boolean };
      const d = await fresh<Fresh & { node: { reputation: { epoch: number; score: number }[]; rewards: Reward[] } | null }>(NODE_HISTORY, { id });
      if (!d.node) return null;
      const byEpoch = <T extends { epoch: number }>(list: T[]) => [...list].sort((a, b) => a.epoch - b.epoch);
      return {
        reputation: byEpoch(d.node.reputation),
        rewards: byEpoch(d.node.rewards).map((r) => ({
          ...r,
          flkAmount: r.flkAmount === null ? null : BigInt(r.flkAmount),
          usdcAmount: r.usdcAmount === null ? null : BigInt(r.usdcAmount),
        })),
      };
    },

    async edgeFunctions(limit) {
      const d = await fresh<Fresh & { edgeFunctions: { nodes: FunctionRow[] } }>(EDGE_FUNCTIONS, { first: limit });
      return d.edgeFunctions.nodes.map(edgeFunction);
    },

    async functionVersions(id, limit) {
      type Row = Omit<FunctionVersionInfo, "publishedAt" | "txHash"> & { publishedAt: number; transactionHash: string };
      const d = await fresh<Fresh & { edgeFunction: { versions: { nodes: Row[] } } | null }>(FUNCTION_VERSIONS, { id, first: limit });
      if (!d.edgeFunction) throw new IndexerError(`The indexer has no function ${id}.`, "NOT_FOUND");
      return d.edgeFunction.versions.nodes.map(({ transactionHash, publishedAt, ...v }) => ({
        ...v,
        publishedAt: BigInt(publishedAt),
        txHash: transactionHash,
      }));
    },

    async computePrices() {
      const d = await fresh<Fresh & { computePrices: { perMillionRequests: Amount; perMillionCpuMs: Amount; timestamp: number } | null }>(COMPUTE_PRICES);
      const p = d.computePrices;
      return p && { perMillionRequests: BigInt(p.perMillionRequests), perMillionCpuMs: BigInt(p.perMillionCpuMs), setAt: BigInt(p.timestamp) };
    },

    async agents(limit) {
      const d = await fresh<Fresh & { agents: { nodes: AgentRow[] } }>(AGENTS, { first: limit });
      return d.agents.nodes.map(agentInfo);
    },

    async agentMarket(settlements) {
      type Market = { split: AgentMarketInfo["split"]; agentCount: number; revenue: Amount; toOwners: Amount; toProtocol: Amount };
      type Settlement = { epoch: number; amount: Amount; toProtocol: Amount };
      const d = await fresh<Fresh & { agentMarket: Market | null; agentSettlements: { nodes: Settlement[] } }>(AGENT_MARKET, { first: settlements });
      const m = d.agentMarket;
      return (
        m && {
          ...m,
          revenue: BigInt(m.revenue),
          toOwners: BigInt(m.toOwners),
          toProtocol: BigInt(m.toProtocol),
          settlements: d.agentSettlements.nodes.map((s) => ({ epoch: s.epoch, amount: BigInt(s.amount), toProtocol: BigInt(s.toProtocol) })),
        }
      );
    },

    async agentEarnings(owner) {
      const d = await fresh<Fresh & { agentOwner: Record<keyof AgentEarnings, Amount> | null }>(AGENT_EARNINGS, { owner });
      const o = d.agentOwner;
      return o ? { credited: BigInt(o.credited), withdrawn: BigInt(o.withdrawn), balance: BigInt(o.balance) } : { credited: 0n, withdrawn: 0n, balance: 0n };
    },

    async escrowDebits(client, limit) {
      type Debit = { epoch: number; amount: Amount; transactionHash: string };
      const d = await fresh<Fresh & { escrowAccount: { debits: { nodes: Debit[] } } | null }>(ESCROW_DEBITS, { client, first: limit });
      return (d.escrowAccount?.debits.nodes ?? []).map((x) => ({ epoch: x.epoch, amount: BigInt(x.amount), txHash: x.transactionHash }));
    },

    async rewardProof(epoch, node) {
      type Proof = {
        epoch: number;
        nodeId: number;
        account: string;
        flkWeight: Amount;
        usdcWeight: Amount;
        flkAmount: Amount;
        usdcAmount: Amount;
        proof: string[];
        claimed: boolean;
      };
      const { rewardProof: p } = await fresh<Fresh & { rewardProof: Proof | null }>(REWARD_PROOF, { epoch, node });
      if (!p) throw new IndexerError(`The indexer has no reward proof for node ${node} in epoch ${epoch}.`, "NOT_FOUND");
      return { ...p, flkWeight: BigInt(p.flkWeight), usdcWeight: BigInt(p.usdcWeight), flkAmount: BigInt(p.flkAmount), usdcAmount: BigInt(p.usdcAmount) };
    },
  };
}
