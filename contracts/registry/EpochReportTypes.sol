// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice What the committee measured of one node during the epoch.
struct NodeMeasurement {
    uint32 nodeId;
    /// @dev Percent of successful pings, 0-100; below 40 the node leaves the active set.
    uint8 uptime;
    /// @dev Mean round-trip latency measured by peers, milliseconds.
    uint32 latencyMs;
    uint64 bytesServed;
    /// @dev Client-signed delivery acknowledgments the node collected.
    uint64 deliveryAcks;
    /// @dev Service revenue units (USDC, 6 decimals) of the usage the node served: its USDC reward
    /// weight. The sum over the report is the report's `totalUsdcWeight`.
    uint64 revenue;
    /// @dev Reputation score 0-100 after this epoch's update: a leaf of the reputation root and a
    /// factor of the node's FLK weight, so anyone can recompute both roots from the report.
    uint8 reputation;
}

/// @notice USDC (6 decimals) a client owes for the service it received during the epoch.
struct ClientUsage {
    address client;
    uint128 amount;
}

/// @notice What one node earned from one service during the epoch: the per-function (and
/// per-content) split of its `revenue` (docs/payments.md "Charges per service").
struct ServiceCharge {
    uint32 nodeId;
    /// @dev 0: content delivery (`service` zero); 1: edge function (`service` its content root,
    /// or zero for the functions folded together when the report would exceed its bound); 2:
    /// agent calls (`service` the agent's id in AgentMarketplace, `bytes32(agentId)`).
    uint8 kind;
    bytes32 service;
    /// @dev Acknowledged requests: delivery acks (kind 0) or invocations (kind 1).
    uint64 requests;
    /// @dev CPU milliseconds of the invocations, rounded down (0 for content).
    uint64 cpuMs;
    /// @dev USDC units (6 decimals) paid for this service, after the escrow's caps.
    uint128 amount;
}

/// @notice The report the committee signs (EIP-712) at the end of an epoch. `totalFlkWeight` and
/// `totalUsdcWeight` are the sums of the rewards tree's leaf weights.
struct EpochReport {
    uint64 epoch;
    NodeMeasurement[] nodes;
    ClientUsage[] usage;
    /// @dev In strictly increasing (nodeId, kind, service) order; each node's amounts sum to its revenue.
    ServiceCharge[] charges;
    bytes32 reputationRoot;
    bytes32 rewardsRoot;
    /// @dev StandardMerkleTree over the epoch's newest snapshot record of each agent that its
    /// assigned host signed: (agentId, root, bytes, sequence, signer node key); zero for none.
    /// Not checked on chain: the committee signs it, and a node taking an agent over proves a
    /// record against it (docs/agents-runtime.md "Snapshots through consensus").
    bytes32 agentSnapshotsRoot;
    uint256 totalFlkWeight;
    uint256 totalUsdcWeight;
    uint256 totalUsage;
}

/// @notice Errors of a malformed report, raised by {EpochReports} inside NodeRegistry's call (the
/// registry inherits this interface so its ABI decodes them).
interface IEpochReportErrors {
    /// @notice Measurements must name existing nodes in increasing id order, uptime and reputation at most 100.
    error NodeRegistryBadMeasurement(uint32 nodeId);
    /// @notice Usage must list clients in increasing address order and sum to `totalUsage`.
    error NodeRegistryBadUsage();
    /// @notice The nodes' revenues do not add up to the report's USDC weight.
    error NodeRegistryBadRevenue(uint256 revenue, uint256 totalUsdcWeight);
    /// @notice The report is not in its canonical ABI encoding (the arrays right after the head
    /// and each other, in order, each word a clean value of its field), which the registry logs as it is.
    error NodeRegistryNonCanonicalReport();
    /// @notice More charges than {EpochReports.MAX_CHARGES}.
    error NodeRegistryTooManyCharges(uint256 count, uint256 max);
    /// @notice Charge `index` is out of (nodeId, kind, service) order, of an unknown kind, or names a node not in the report.
    error NodeRegistryBadCharge(uint256 index);
    /// @notice A node's charges do not add up to its revenue.
    error NodeRegistryBadChargeTotal(uint32 nodeId, uint256 charged, uint256 revenue);
}

/// @notice The service escrow as the registry drives it.
interface IServiceEscrow {
    /// @notice Debits each client exactly its usage (reverts above its balance or its spending
    /// limit of the epoch) and pays out the split: agent charges (kind 2) through the agent
    /// marketplace's split, the rest through the escrow's node share.
    /// @param epoch the reported epoch
    /// @param usage what each client owes (the report's `usage`)
    /// @param charges what each node earned per service (the report's `charges`, checked by the registry)
    /// @return toNodes USDC sent to the rewards contract for the epoch's node pool
    function debit(uint64 epoch, ClientUsage[] calldata usage, ServiceCharge[] calldata charges) external returns (uint256 toNodes);
}

/// @notice The rewards contract as the registry drives it.
interface IEpochRewards {
    /// @notice Fixes the epoch's pools and rewards root.
    function settle(uint64 epoch, bytes32 rewardsRoot, uint256 totalFlkWeight, uint256 totalUsdcWeight) external;
}
