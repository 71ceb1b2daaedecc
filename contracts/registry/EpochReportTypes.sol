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

/// @notice The report the committee signs (EIP-712) at the end of an epoch. `totalFlkWeight` and
/// `totalUsdcWeight` are the sums of the rewards tree's leaf weights.
struct EpochReport {
    uint64 epoch;
    NodeMeasurement[] nodes;
    ClientUsage[] usage;
    bytes32 reputationRoot;
    bytes32 rewardsRoot;
    uint256 totalFlkWeight;
    uint256 totalUsdcWeight;
    uint256 totalUsage;
}

/// @notice The service escrow as the registry drives it.
interface IServiceEscrow {
    /// @notice Debits each client exactly its usage (reverts above its balance or its spending
    /// limit of the epoch) and pays out the split.
    /// @return toNodes USDC sent to the rewards contract for the epoch's node pool
    function debit(uint64 epoch, ClientUsage[] calldata usage) external returns (uint256 toNodes);
}

/// @notice The rewards contract as the registry drives it.
interface IEpochRewards {
    /// @notice Fixes the epoch's pools and rewards root.
    function settle(uint64 epoch, bytes32 rewardsRoot, uint256 totalFlkWeight, uint256 totalUsdcWeight) external;
}
