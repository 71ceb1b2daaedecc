// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ClientUsage, EpochReport, IEpochReportErrors, NodeMeasurement, ServiceCharge} from "./EpochReportTypes.sol";

/// @title EpochReports: the EIP-712 hash and the consistency checks of an {EpochReport}
/// @notice A linked library of NodeRegistry (its code would not fit in the registry's). The
/// registry wraps {structHash} in its own EIP-712 domain; {verify} checks a report and hashes it in
/// one call (the report is copied into the library's call once); the errors are
/// {IEpochReportErrors}, which the registry inherits.
library EpochReports {
    /// @notice EIP-712 type of a {NodeMeasurement}.
    bytes32 public constant NODE_MEASUREMENT_TYPEHASH =
        keccak256("NodeMeasurement(uint32 nodeId,uint8 uptime,uint32 latencyMs,uint64 bytesServed,uint64 deliveryAcks,uint64 revenue,uint8 reputation)");
    /// @notice EIP-712 type of a {ClientUsage}.
    bytes32 public constant CLIENT_USAGE_TYPEHASH = keccak256("ClientUsage(address client,uint128 amount)");
    /// @notice EIP-712 type of a {ServiceCharge}.
    bytes32 public constant SERVICE_CHARGE_TYPEHASH =
        keccak256("ServiceCharge(uint32 nodeId,uint8 kind,bytes32 service,uint64 requests,uint64 cpuMs,uint128 amount)");
    /// @notice EIP-712 type of an {EpochReport} (referenced types in alphabetical order).
    bytes32 public constant EPOCH_REPORT_TYPEHASH = keccak256(
        "EpochReport(uint64 epoch,NodeMeasurement[] nodes,ClientUsage[] usage,ServiceCharge[] charges,bytes32 reputationRoot,bytes32 rewardsRoot,bytes32 agentSnapshotsRoot,uint256 totalFlkWeight,uint256 totalUsdcWeight,uint256 totalUsage)"
        "ClientUsage(address client,uint128 amount)"
        "NodeMeasurement(uint32 nodeId,uint8 uptime,uint32 latencyMs,uint64 bytesServed,uint64 deliveryAcks,uint64 revenue,uint8 reputation)"
        "ServiceCharge(uint32 nodeId,uint8 kind,bytes32 service,uint64 requests,uint64 cpuMs,uint128 amount)"
    );
    /// @notice Most charges a report may carry: with {NodeStaking.MAX_ACTIVE} = 100 nodes the node
    /// keeps two per node for content and folded functions and itemizes up to 824 functions
    /// (protocol/usage.ts MAX_REPORT_CHARGES); the report's submission stays well under a block.
    uint256 public constant MAX_CHARGES = 1024;
    /// @notice Highest {ServiceCharge} kind: 0 content, 1 edge function, 2 agent (settled through AgentMarketplace by the escrow).
    uint8 public constant MAX_KIND = 2;

    /// @notice The EIP-712 struct hash of `report` (NodeRegistry.reportDigest wraps it in its domain).
    /// @param report the report
    function structHash(EpochReport calldata report) public pure returns (bytes32) {
        bytes32[] memory nodeHashes = new bytes32[](report.nodes.length);
        for (uint256 i = 0; i < nodeHashes.length; ++i) {
            NodeMeasurement calldata m = report.nodes[i];
            nodeHashes[i] = keccak256(
                abi.encode(NODE_MEASUREMENT_TYPEHASH, m.nodeId, m.uptime, m.latencyMs, m.bytesServed, m.deliveryAcks, m.revenue, m.reputation)
            );
        }
        bytes32[] memory usageHashes = new bytes32[](report.usage.length);
        for (uint256 i = 0; i < usageHashes.length; ++i) {
            ClientUsage calldata u = report.usage[i];
            usageHashes[i] = keccak256(abi.encode(CLIENT_USAGE_TYPEHASH, u.client, u.amount));
        }
        bytes32[] memory chargeHashes = new bytes32[](report.charges.length);
        for (uint256 i = 0; i < chargeHashes.length; ++i) {
            ServiceCharge calldata c = report.charges[i];
            chargeHashes[i] = keccak256(abi.encode(SERVICE_CHARGE_TYPEHASH, c.nodeId, c.kind, c.service, c.requests, c.cpuMs, c.amount));
        }
        return keccak256(
            abi.encode(
                EPOCH_REPORT_TYPEHASH,
                report.epoch,
                keccak256(abi.encodePacked(nodeHashes)),
                keccak256(abi.encodePacked(usageHashes)),
                keccak256(abi.encodePacked(chargeHashes)),
                report.reputationRoot,
                report.rewardsRoot,
                report.agentSnapshotsRoot,
                report.totalFlkWeight,
                report.totalUsdcWeight,
                report.totalUsage
            )
        );
    }

    /// @notice Reverts unless `report` is well formed: nodes exist (ids 1..`nodeCount`) in
    /// increasing id order with uptime and reputation at most 100, revenues sum to
    /// `totalUsdcWeight`, clients in increasing address order with usage summing to `totalUsage`
    /// and to the revenue, and charges (at most {MAX_CHARGES}) in strictly increasing (nodeId,
    /// kind, service) order, each of a reported node and a known kind (content with a zero
    /// service), summing per node to that node's revenue.
    /// @param report the report
    /// @param nodeCount the registry's node count
    /// @return the report's {structHash}
    function verify(EpochReport calldata report, uint32 nodeCount) external pure returns (bytes32) {
        check(report, nodeCount);
        return structHash(report);
    }

    /// @dev The checks of {verify}, without the hash.
    /// @param report the report
    /// @param nodeCount the registry's node count
    function check(EpochReport calldata report, uint32 nodeCount) internal pure {
        uint32 lastId;
        uint256 revenue;
        for (uint256 i = 0; i < report.nodes.length; ++i) {
            NodeMeasurement calldata m = report.nodes[i];
            if (m.nodeId <= lastId || m.nodeId > nodeCount || m.uptime > 100 || m.reputation > 100) {
                revert IEpochReportErrors.NodeRegistryBadMeasurement(m.nodeId);
            }
            lastId = m.nodeId;
            revenue += m.revenue;
        }
        if (revenue != report.totalUsdcWeight) revert IEpochReportErrors.NodeRegistryBadRevenue(revenue, report.totalUsdcWeight);
        address lastClient;
        uint256 total;
        for (uint256 i = 0; i < report.usage.length; ++i) {
            if (report.usage[i].client <= lastClient) revert IEpochReportErrors.NodeRegistryBadUsage();
            lastClient = report.usage[i].client;
            total += report.usage[i].amount;
        }
        // Revenue weights are USDC actually debited: the escrow debits each amount exactly or reverts.
        if (total != report.totalUsage || total != revenue) revert IEpochReportErrors.NodeRegistryBadUsage();
        _checkCharges(report.nodes, report.charges);
    }

    /// @dev One walk over both sorted lists: node `n` owns the run of charges with its id; a
    /// charge whose id is not the current or a later node's is out of order or of no reported node.
    function _checkCharges(NodeMeasurement[] calldata nodes, ServiceCharge[] calldata charges) private pure {
        if (charges.length > MAX_CHARGES) revert IEpochReportErrors.NodeRegistryTooManyCharges(charges.length, MAX_CHARGES);
        uint256 c;
        for (uint256 n = 0; n < nodes.length; ++n) {
            uint32 id = nodes[n].nodeId;
            uint256 charged;
            // Sort key of the previous charge of this node; kind + 1 so a first (0, 0) entry is above it.
            uint256 lastKind;
            bytes32 lastService;
            for (; c < charges.length && charges[c].nodeId <= id; ++c) {
                ServiceCharge calldata ch = charges[c];
                uint256 kind = uint256(ch.kind) + 1;
                bool ordered = kind > lastKind || (kind == lastKind && ch.service > lastService);
                if (ch.nodeId != id || !ordered || ch.kind > MAX_KIND || (ch.kind == 0 && ch.service != bytes32(0))) {
                    revert IEpochReportErrors.NodeRegistryBadCharge(c);
                }
                (lastKind, lastService) = (kind, ch.service);
                charged += ch.amount;
            }
            if (charged != nodes[n].revenue) revert IEpochReportErrors.NodeRegistryBadChargeTotal(id, charged, nodes[n].revenue);
        }
        // Charges left over name no reported node (ids above the last node's).
        if (c < charges.length) revert IEpochReportErrors.NodeRegistryBadCharge(c);
    }
}
