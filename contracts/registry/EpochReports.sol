// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ClientUsage, EpochReport, IEpochReportErrors, NodeMeasurement, ServiceCharge} from "./EpochReportTypes.sol";

/// @title EpochReports: the EIP-712 hash and the consistency checks of an {EpochReport}
/// @notice A linked library of NodeRegistry (its code would not fit in the registry's). The
/// registry wraps {structHash} in its own EIP-712 domain; {verify} checks a report and hashes it in
/// one call. The registry calls both with its own call's arguments (the report first), so the
/// report reaches the library as the same calldata bytes instead of being decoded and re-encoded
/// field by field. The errors are {IEpochReportErrors}, which the registry inherits.
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
    /// @dev ABI (and EIP-712) encoded fields of the report's head (the arrays by offset) and of
    /// its arrays' elements, one word each.
    uint256 private constant REPORT_HEAD_FIELDS = 10;
    uint256 private constant NODE_MEASUREMENT_FIELDS = 7;
    uint256 private constant CLIENT_USAGE_FIELDS = 2;
    uint256 private constant SERVICE_CHARGE_FIELDS = 6;
    /// @notice Most charges a report may carry: with {NodeStaking.MAX_ACTIVE} = 100 nodes the node
    /// keeps two per node for content and folded functions and itemizes up to 824 functions
    /// (protocol/usage.ts MAX_REPORT_CHARGES); the report's submission stays well under a block.
    uint256 public constant MAX_CHARGES = 1024;
    /// @notice Highest {ServiceCharge} kind: 0 content, 1 edge function, 2 agent (settled through AgentMarketplace by the escrow).
    uint8 public constant MAX_KIND = 2;

    /// @notice The EIP-712 struct hash of `report` (NodeRegistry.reportDigest wraps it in its domain).
    /// @param report the report
    function structHash(EpochReport calldata report) public pure returns (bytes32) {
        (uint256 nodesAt, uint256 usageAt, uint256 chargesAt) = _arrays(report);
        bytes32 nodesHash = _hashStructs(NODE_MEASUREMENT_TYPEHASH, nodesAt, report.nodes.length, NODE_MEASUREMENT_FIELDS);
        bytes32 usageHash = _hashStructs(CLIENT_USAGE_TYPEHASH, usageAt, report.usage.length, CLIENT_USAGE_FIELDS);
        bytes32 chargesHash = _hashStructs(SERVICE_CHARGE_TYPEHASH, chargesAt, report.charges.length, SERVICE_CHARGE_FIELDS);
        return keccak256(
            abi.encode(
                EPOCH_REPORT_TYPEHASH,
                report.epoch,
                nodesHash,
                usageHash,
                chargesHash,
                report.reputationRoot,
                report.rewardsRoot,
                report.agentSnapshotsRoot,
                report.totalFlkWeight,
                report.totalUsdcWeight,
                report.totalUsage
            )
        );
    }

    /// @notice Reverts unless `report` is well formed: nodes in strictly increasing id order
    /// (from 1) with uptime and reputation at most 100, revenues summing to `totalUsdcWeight`,
    /// clients in increasing address order with usage summing to `totalUsage` and to the revenue,
    /// charges (at most {MAX_CHARGES}) in strictly increasing (nodeId, kind, service) order, each of
    /// a reported node and a known kind (content with a zero service), summing per node to that
    /// node's revenue, and the whole report in its canonical ABI encoding ({encodedLength}).
    /// @param report the report
    /// @return hash the report's {structHash}
    /// @return lastNodeId the highest measured node id (zero for none): the registry checks that it
    /// exists, hence all of them do
    /// @return length the bytes of the report's encoding
    function verify(EpochReport calldata report) external pure returns (bytes32 hash, uint32 lastNodeId, uint256 length) {
        lastNodeId = check(report);
        return (structHash(report), lastNodeId, encodedLength(report));
    }

    /// @notice The length of `report`'s ABI encoding, which must be canonical (as `abi.encode`
    /// writes it: each array right after the one before, in declaration order, the head first), or
    /// it reverts with {IEpochReportErrors.NodeRegistryNonCanonicalReport}. Then those bytes from
    /// the report's offset are exactly its encoding (every array word a clean value of its field:
    /// {check} reads them all), which the registry logs as they are.
    /// @param report the report
    function encodedLength(EpochReport calldata report) internal pure returns (uint256) {
        (uint256 nodesAt, uint256 usageAt, uint256 chargesAt) = _arrays(report);
        uint256 start;
        assembly ("memory-safe") {
            start := report
        }
        // Each array's elements follow its length word, which follows the previous array.
        if (
            nodesAt != start + (REPORT_HEAD_FIELDS + 1) * 32 || usageAt != nodesAt + (report.nodes.length * NODE_MEASUREMENT_FIELDS + 1) * 32
                || chargesAt != usageAt + (report.usage.length * CLIENT_USAGE_FIELDS + 1) * 32
        ) revert IEpochReportErrors.NodeRegistryNonCanonicalReport();
        return chargesAt + report.charges.length * SERVICE_CHARGE_FIELDS * 32 - start;
    }

    /// @dev Where the elements of the report's three arrays start in calldata (Solidity checks
    /// that each array lies within it).
    function _arrays(EpochReport calldata report) private pure returns (uint256 nodesAt, uint256 usageAt, uint256 chargesAt) {
        NodeMeasurement[] calldata nodes = report.nodes;
        ClientUsage[] calldata usage = report.usage;
        ServiceCharge[] calldata charges = report.charges;
        assembly ("memory-safe") {
            nodesAt := nodes.offset
            usageAt := usage.offset
            chargesAt := charges.offset
        }
    }

    /// @dev The EIP-712 hash of an array of `count` structs of `fields` static fields laid out from
    /// calldata `offset`: keccak256 of their `hashStruct`s. A struct of static fields encodes
    /// (EIP-712 `encodeData`) as its ABI encoding, one word per field, so each element is hashed
    /// straight from calldata behind its type hash, in one copy and one keccak instead of
    /// Solidity's field-by-field decode and re-encode. That each word is a clean value of its
    /// field is {check}'s part.
    function _hashStructs(bytes32 typehash, uint256 offset, uint256 count, uint256 fields) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            // Scratch past the free memory pointer, never allocated: the element hashes, then the
            // element being hashed (type hash and fields).
            let hashes := mload(0x40)
            let element := add(hashes, shl(5, count))
            let size := shl(5, fields)
            mstore(element, typehash)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                calldatacopy(add(element, 0x20), add(offset, mul(i, size)), size)
                mstore(add(hashes, shl(5, i)), keccak256(element, add(size, 0x20)))
            }
            hash := keccak256(hashes, shl(5, count))
        }
    }

    /// @dev The checks of {verify} but the encoding's; returns the last (highest) node id. Every
    /// field of every element is read once, those no check needs too: Solidity reverts on a word
    /// that is not a clean value of its field's type, and the registry logs the words as they are.
    function check(EpochReport calldata report) internal pure returns (uint32 lastId) {
        NodeMeasurement[] calldata nodes = report.nodes;
        uint256 revenue;
        for (uint256 i = 0; i < nodes.length; ++i) {
            NodeMeasurement calldata m = nodes[i];
            uint32 id = m.nodeId;
            if (id <= lastId || m.uptime > 100 || m.reputation > 100) {
                revert IEpochReportErrors.NodeRegistryBadMeasurement(id);
            }
            _read(m.latencyMs, m.bytesServed, m.deliveryAcks);
            lastId = id;
            revenue += m.revenue;
        }
        if (revenue != report.totalUsdcWeight) revert IEpochReportErrors.NodeRegistryBadRevenue(revenue, report.totalUsdcWeight);
        ClientUsage[] calldata usage = report.usage;
        address lastClient;
        uint256 total;
        for (uint256 i = 0; i < usage.length; ++i) {
            ClientUsage calldata u = usage[i];
            address client = u.client;
            if (client <= lastClient) revert IEpochReportErrors.NodeRegistryBadUsage();
            lastClient = client;
            total += u.amount;
        }
        // Revenue weights are USDC actually debited: the escrow debits each amount exactly or reverts.
        if (total != report.totalUsage || total != revenue) revert IEpochReportErrors.NodeRegistryBadUsage();
        _checkCharges(nodes, report.charges);
    }

    /// @dev One walk over both sorted lists: node `n` owns the run of charges with its id; a
    /// charge whose id is not the current or a later node's is out of order or of no reported node.
    function _checkCharges(NodeMeasurement[] calldata nodes, ServiceCharge[] calldata charges) private pure {
        uint256 count = charges.length;
        if (count > MAX_CHARGES) revert IEpochReportErrors.NodeRegistryTooManyCharges(count, MAX_CHARGES);
        uint256 c;
        for (uint256 n = 0; n < nodes.length; ++n) {
            NodeMeasurement calldata node = nodes[n];
            uint32 id = node.nodeId;
            uint256 charged;
            // Sort key of the previous charge of this node; kind + 1 so a first (0, 0) entry is above it.
            uint256 lastKind;
            bytes32 lastService;
            for (; c < count; ++c) {
                ServiceCharge calldata ch = charges[c];
                uint32 chargeNode = ch.nodeId;
                if (chargeNode > id) break;
                uint8 kind = ch.kind;
                bytes32 service = ch.service;
                uint256 key = uint256(kind) + 1;
                bool ordered = key > lastKind || (key == lastKind && service > lastService);
                if (chargeNode != id || !ordered || kind > MAX_KIND || (kind == 0 && service != bytes32(0))) {
                    revert IEpochReportErrors.NodeRegistryBadCharge(c);
                }
                _read(ch.requests, ch.cpuMs, 0);
                (lastKind, lastService) = (key, service);
                charged += ch.amount;
            }
            uint256 nodeRevenue = node.revenue;
            if (charged != nodeRevenue) revert IEpochReportErrors.NodeRegistryBadChargeTotal(id, charged, nodeRevenue);
        }
        // Charges left over name no reported node (ids above the last node's).
        if (c < count) revert IEpochReportErrors.NodeRegistryBadCharge(c);
    }

    /// @dev Nothing: its arguments are read (and so checked clean) for it.
    function _read(uint256, uint256, uint256) private pure {}
}
