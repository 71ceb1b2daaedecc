// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {NodeStaking} from "./NodeStaking.sol";
import {Selection} from "./Selection.sol";
import {EpochReports} from "./EpochReports.sol";
import {EpochReport, IEpochReportErrors, IEpochRewards, IServiceEscrow, NodeMeasurement} from "./EpochReportTypes.sol";

/// @title NodeRegistry: nodes, epochs, the committee and epoch reports (docs/spec.md §5)
/// @notice Epoch `e` runs from {epochStart} for {epochDuration} seconds. Its committee commits to
/// beacon secrets until the epoch's end and reveals them during the next {revealDuration} seconds;
/// from then on {submitEpochReport} accepts one EIP-712 report signed by more than 2/3 of the
/// committee, which debits the clients' service usage, settles the rewards, and changes the epoch:
/// non-revealers are slashed and jailed, silent members jailed, nodes under 40% uptime are jailed,
/// the next committee is drawn by stake from the epoch's own active set (frozen before any seed is
/// known; if a reveal was withheld there is no draw and the ending committee stays, less the
/// jailed), the next active set (the committee, then the top {MAX_ACTIVE} by stake) is chosen, and the next
/// epoch starts at once.
/// If the committee is empty, or stalls for a whole epoch past the reporting time, anyone may
/// change the epoch without a report ({advanceEpoch}). docs/registry.md has the algorithm.
/// The report's EIP-712 types, hash and checks live in the linked library {EpochReports}.
contract NodeRegistry is NodeStaking, EIP712, IEpochReportErrors {
    /// @notice EIP-712 type of the proof of possession of a node's keys ({keyProofDigest}).
    bytes32 public constant NODE_KEY_PROOF_TYPEHASH = keccak256("NodeKeyProof(address operator,bytes32 nodeKey,address signer)");
    /// @notice Nodes measured below this uptime (percent) are jailed at the epoch change.
    uint8 public constant MIN_UPTIME = 40;
    /// @notice Cap of {committeeSize}: the next committee keeps its places in the active set, so at
    /// least half of the places stay open to the stake ranking (and to the join queue).
    uint32 public constant MAX_COMMITTEE = 50;
    /// @notice Cap of {epochDuration}.
    uint64 public constant MAX_EPOCH_DURATION = 30 days;
    /// @notice Cap of {revealDuration}.
    uint64 public constant MAX_REVEAL_DURATION = 1 days;

    /// @notice Current epoch number (0 from deployment).
    uint64 public epoch;
    /// @notice When the current epoch started.
    uint64 public epochStart;
    /// @notice Epoch length in seconds (governance parameter; 1 day on Base).
    uint64 public epochDuration;
    /// @notice Seconds after the epoch's end for beacon reveals, before reports are accepted.
    uint64 public revealDuration;
    /// @notice Committee size (governance parameter, at most {MAX_COMMITTEE}).
    uint32 public committeeSize;
    /// @notice FLK burned from a committee member that commits a beacon and does not reveal it.
    uint256 public slashAmount;
    /// @notice The USDC escrow debited by each report.
    IServiceEscrow public escrow;
    /// @notice The rewards contract settled by each report.
    IEpochRewards public rewards;

    uint32[] private _activeSet;
    /// @dev Draw weight of each `_activeSet` entry: whole FLK staked when the set was selected (at
    /// least 1). The next committee is drawn from this frozen pool.
    uint32[] private _activeWeights;
    uint32[] private _committee;

    /// @notice A committee member's beacon for an epoch.
    struct Beacon {
        bytes32 commitment;
        bool revealed;
    }

    /// @notice Beacon of each committee member per epoch.
    mapping(uint64 epoch => mapping(uint32 nodeId => Beacon)) public beacons;
    /// @notice XOR of the secrets revealed in each epoch.
    mapping(uint64 epoch => bytes32) public beaconMix;
    mapping(uint64 epoch => uint32[]) private _committers;
    /// @notice The `agentSnapshotsRoot` of each reported epoch's report: zero for an epoch not
    /// reported (not over, or skipped) and for a report whose epoch snapshotted no agent, none of
    /// which proves a record. Kept in storage so a node taking an agent over reads it in one call at
    /// the latest block, where the {EpochReported} event alone needed an archive endpoint.
    mapping(uint64 epoch => bytes32) public agentSnapshotsRoot;

    /// @notice A new epoch started.
    event EpochStarted(uint64 indexed epoch, uint64 start, uint64 duration);
    /// @notice The active set of `epoch` and the draw weight of each node (whole FLK staked now): the
    /// pool the committee of `epoch + 1` is drawn from.
    event ActiveSetSelected(uint64 indexed epoch, uint32[] nodeIds, uint32[] weights);
    /// @notice The committee of `epoch`; `seed` is what the draw used (zero when the whole pool fits).
    event CommitteeSelected(uint64 indexed epoch, uint32[] nodeIds, bytes32 seed);
    /// @notice A committee member did not commit a beacon in `epoch`: it is jailed.
    event BeaconMissed(uint64 indexed epoch, uint32 indexed nodeId);
    /// @notice A committee member committed to a beacon secret.
    event BeaconCommitted(uint64 indexed epoch, uint32 indexed nodeId, bytes32 commitment);
    /// @notice A committee member revealed its beacon secret.
    event BeaconRevealed(uint64 indexed epoch, uint32 indexed nodeId, bytes32 secret);
    /// @notice The committee's report for `epoch` was accepted: everything the indexer needs.
    event EpochReported(uint64 indexed epoch, bytes32 digest, EpochReport report, uint32[] signers);
    /// @notice `epoch` ended without a report.
    event EpochSkipped(uint64 indexed epoch);
    /// @notice A timing or committee parameter changed.
    event ParametersSet(uint64 epochDuration, uint64 revealDuration, uint32 committeeSize, uint256 slashAmount);
    /// @notice The escrow and rewards contracts were connected.
    event PaymentsSet(address escrow, address rewards);

    /// @notice The report is not for the current epoch.
    error NodeRegistryWrongEpoch(uint64 reportEpoch, uint64 epoch);
    /// @notice Too early: reports (or a forced change) are accepted from `opensAt`.
    error NodeRegistryTooEarly(uint64 opensAt);
    /// @notice Fewer valid committee signatures than `required`.
    error NodeRegistryNotEnoughSignatures(uint256 count, uint256 required);
    /// @notice Signatures must come sorted by signer address, each signer once.
    error NodeRegistryUnsortedSignatures(address signer);
    /// @notice The signer is not a member of the current committee.
    error NodeRegistryNotCommitteeSigner(address signer);
    /// @notice The caller is neither the node's owner nor its signer.
    error NodeRegistryNotNodeOperator(uint32 nodeId, address caller);
    /// @notice Only current committee members commit and reveal beacons.
    error NodeRegistryNotCommitteeMember(uint32 nodeId);
    /// @notice Commits close at the epoch's end; reveals run from then until {reportOpensAt}.
    error NodeRegistryBeaconPhase();
    /// @notice A second commit, a reveal without a commit, a second reveal, or a wrong secret.
    error NodeRegistryBadBeacon(uint32 nodeId);
    /// @notice The escrow and rewards are connected once.
    error NodeRegistryPaymentsSet();

    /// @param flk_ the staked token (FLK)
    /// @param owner_ owner of the parameters (the timelock)
    /// @param minimumStake_ minimum stake of an active node (1,000 FLK)
    /// @param epochDuration_ epoch length in seconds
    /// @param revealDuration_ beacon reveal window after each epoch's end, seconds
    /// @param committeeSize_ committee size
    /// @param slashAmount_ FLK slashed from a beacon non-revealer (the minimum stake)
    constructor(
        IERC20 flk_,
        address owner_,
        uint256 minimumStake_,
        uint64 epochDuration_,
        uint64 revealDuration_,
        uint32 committeeSize_,
        uint256 slashAmount_
    ) NodeStaking(flk_, owner_, minimumStake_) EIP712("FleekNodeRegistry", "1") {
        _setParameters(epochDuration_, revealDuration_, committeeSize_, slashAmount_);
        epochStart = SafeCast.toUint64(block.timestamp);
        emit EpochStarted(0, epochStart, epochDuration_);
    }

    /// @inheritdoc NodeStaking
    function currentEpoch() public view override returns (uint64) {
        return epoch;
    }

    // ------------------------------------------------------------------ beacon

    /// @notice Commits a committee member to a beacon secret for the current epoch, before its end.
    /// A member that commits and does not reveal in time is slashed {slashAmount}; a member that
    /// does not commit is jailed at the epoch change.
    /// @param nodeId the member
    /// @param commitment keccak256(abi.encode(epoch, nodeId, secret))
    function commitBeacon(uint32 nodeId, bytes32 commitment) external {
        uint64 e = epoch;
        _checkMember(nodeId, e);
        if (block.timestamp >= epochEnd()) revert NodeRegistryBeaconPhase();
        Beacon storage b = beacons[e][nodeId];
        if (b.commitment != bytes32(0) || commitment == bytes32(0)) revert NodeRegistryBadBeacon(nodeId);
        b.commitment = commitment;
        _committers[e].push(nodeId);
        emit BeaconCommitted(e, nodeId, commitment);
    }

    /// @notice Reveals a committed secret, from the epoch's end until {reportOpensAt}: the seed is
    /// fixed before any report can be submitted, so no reveal can be ordered around one.
    /// @param nodeId the member
    /// @param secret the committed secret
    function revealBeacon(uint32 nodeId, bytes32 secret) external {
        uint64 e = epoch;
        _checkMember(nodeId, e);
        if (block.timestamp < epochEnd() || block.timestamp >= reportOpensAt()) revert NodeRegistryBeaconPhase();
        Beacon storage b = beacons[e][nodeId];
        if (b.revealed || b.commitment != keccak256(abi.encode(e, nodeId, secret))) revert NodeRegistryBadBeacon(nodeId);
        b.revealed = true;
        beaconMix[e] ^= secret;
        emit BeaconRevealed(e, nodeId, secret);
    }

    // ------------------------------------------------------------------ reports

    /// @notice Accepts the committee's report for the current epoch and changes the epoch.
    /// @param report the report (see {EpochReport}); `epoch` must be the current epoch
    /// @param signatures EIP-712 signatures of {reportDigest} by more than 2/3 of the committee's
    /// signers, sorted by signer address
    function submitEpochReport(EpochReport calldata report, bytes[] calldata signatures) external nonReentrant {
        uint64 e = epoch;
        if (report.epoch != e) revert NodeRegistryWrongEpoch(report.epoch, e);
        if (block.timestamp < reportOpensAt()) revert NodeRegistryTooEarly(reportOpensAt());
        (bytes32 hash, uint32 lastNodeId, uint256 reportLength) = abi.decode(_callReports(EpochReports.verify.selector), (bytes32, uint32, uint256));
        // Ids increase strictly: the last one exists, so all do.
        if (lastNodeId > nodeCount) revert NodeRegistryBadMeasurement(lastNodeId);
        bytes32 digest = _hashTypedDataV4(hash);
        uint32[] memory signers = _checkSignatures(digest, signatures, e);
        agentSnapshotsRoot[e] = report.agentSnapshotsRoot;
        _emitReported(e, digest, report, reportLength, signers);
        escrow.debit(e, report.usage, report.charges);
        rewards.settle(e, report.rewardsRoot, report.totalFlkWeight, report.totalUsdcWeight);
        for (uint256 i = 0; i < report.nodes.length; ++i) {
            NodeMeasurement calldata m = report.nodes[i];
            Node storage n = _nodes[m.nodeId];
            if (m.uptime < MIN_UPTIME && n.status == Status.Active) _setStatus(m.nodeId, n, Status.Jailed, e + 1);
        }
        _changeEpoch(e);
    }

    /// @notice Changes the epoch without a report, when there is no committee to sign one (after the
    /// epoch's end) or the committee has stalled for a whole epoch past {reportOpensAt}. Nothing is
    /// debited or paid; the epoch's FLK rolls over to the next report.
    function advanceEpoch() external nonReentrant {
        uint64 opensAt = _committee.length == 0 ? epochEnd() : reportOpensAt() + epochDuration;
        if (block.timestamp < opensAt) revert NodeRegistryTooEarly(opensAt);
        emit EpochSkipped(epoch);
        _changeEpoch(epoch);
    }

    /// @notice The EIP-712 digest the committee signs for `report`.
    /// @param report the report
    function reportDigest(EpochReport calldata report) external view returns (bytes32) {
        report; // read by the library from this call's arguments
        return _hashTypedDataV4(abi.decode(_callReports(EpochReports.structHash.selector), (bytes32)));
    }

    // ------------------------------------------------------------------ views

    function _drawFrozen() internal view override returns (bool) {
        return block.timestamp >= epochEnd();
    }

    /// @inheritdoc NodeStaking
    function keyProofDigest(address operator, bytes32 nodeKey, address signer) public view override returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(NODE_KEY_PROOF_TYPEHASH, operator, nodeKey, signer)));
    }

    /// @notice When the current epoch ends (commits close, reveals open).
    function epochEnd() public view returns (uint64) {
        return epochStart + epochDuration;
    }

    /// @notice From when the current epoch's report is accepted.
    function reportOpensAt() public view returns (uint64) {
        return epochEnd() + revealDuration;
    }

    /// @notice Everything the consensus node needs in one call: the epoch, its timing and the
    /// committee with each member's keys, signer and endpoints (in committee order).
    /// @return epoch_ the current epoch
    /// @return start when it started
    /// @return duration its length in seconds
    /// @return members the committee
    function committee() external view returns (uint64 epoch_, uint64 start, uint64 duration, NodeView[] memory members) {
        return (epoch, epochStart, epochDuration, getNodes(_committee));
    }

    /// @notice Node ids of the current committee.
    function committeeIds() external view returns (uint32[] memory) {
        return _committee;
    }

    /// @notice Node ids of the current active set.
    function activeSetIds() external view returns (uint32[] memory) {
        return _activeSet;
    }

    /// @notice The current active set with keys and endpoints (the peers a node connects to).
    function activeNodes() external view returns (NodeView[] memory) {
        return getNodes(_activeSet);
    }

    /// @notice Whether `nodeId` is on the current committee.
    /// @param nodeId the node
    function isCommitteeMember(uint32 nodeId) public view returns (bool) {
        return _inCommittee(nodeId, epoch);
    }

    /// @notice Nodes that committed a beacon in `epoch_`.
    /// @param epoch_ the epoch
    function beaconCommitters(uint64 epoch_) external view returns (uint32[] memory) {
        return _committers[epoch_];
    }

    // ------------------------------------------------------------------ governance

    /// @notice Connects the escrow and the rewards contract, once (done by the deployment).
    /// @param escrow_ the service escrow
    /// @param rewards_ the rewards contract
    function setPayments(IServiceEscrow escrow_, IEpochRewards rewards_) external onlyOwner {
        if (address(escrow) != address(0)) revert NodeRegistryPaymentsSet();
        if (address(escrow_) == address(0) || address(rewards_) == address(0)) revert NodeRegistryBadParameter();
        escrow = escrow_;
        rewards = rewards_;
        emit PaymentsSet(address(escrow_), address(rewards_));
    }

    /// @notice Sets the timing and committee parameters (owner: the timelock). A new epoch duration
    /// applies to the current epoch too; a new committee size from the next selection.
    /// @param epochDuration_ 1 second to {MAX_EPOCH_DURATION}
    /// @param revealDuration_ 1 second to {MAX_REVEAL_DURATION}
    /// @param committeeSize_ 1 to {MAX_COMMITTEE}
    /// @param slashAmount_ at most {MAX_MINIMUM_STAKE}
    function setParameters(uint64 epochDuration_, uint64 revealDuration_, uint32 committeeSize_, uint256 slashAmount_) external onlyOwner {
        _setParameters(epochDuration_, revealDuration_, committeeSize_, slashAmount_);
    }

    // ------------------------------------------------------------------ internals

    function _setParameters(uint64 epochDuration_, uint64 revealDuration_, uint32 committeeSize_, uint256 slashAmount_) private {
        if (
            epochDuration_ == 0 || epochDuration_ > MAX_EPOCH_DURATION || revealDuration_ == 0 || revealDuration_ > MAX_REVEAL_DURATION
                || committeeSize_ == 0 || committeeSize_ > MAX_COMMITTEE || slashAmount_ > MAX_MINIMUM_STAKE
        ) revert NodeRegistryBadParameter();
        epochDuration = epochDuration_;
        revealDuration = revealDuration_;
        committeeSize = committeeSize_;
        slashAmount = slashAmount_;
        emit ParametersSet(epochDuration_, revealDuration_, committeeSize_, slashAmount_);
    }

    /// @dev Calls {EpochReports} function `selector` with this call's own arguments, the report
    /// first: the library reads the report from the same calldata bytes, where passing it as an
    /// argument would decode and re-encode each field of each element (about 1,500 gas per
    /// measurement or charge).
    function _callReports(bytes4 selector) private view returns (bytes memory) {
        return Address.functionStaticCall(address(EpochReports), bytes.concat(selector, msg.data[4:]));
    }

    /// @dev Emits {EpochReported} with the report's bytes copied from calldata: {EpochReports.verify}
    /// checked that the `reportLength` bytes there are its canonical ABI encoding, the bytes
    /// `emit EpochReported(e, digest, report, signers)` would write after decoding and re-encoding
    /// each field (about 1,400 gas per measurement or charge).
    function _emitReported(uint64 e, bytes32 digest, EpochReport calldata report, uint256 reportLength, uint32[] memory signers) private {
        uint256 start;
        assembly ("memory-safe") {
            start := report
        }
        // abi.encode(digest, report, signers): the head (the report's and the signers' offsets), the
        // report, the signers' length and ids.
        bytes memory data = bytes.concat(
            abi.encode(digest, uint256(0x60), 0x60 + reportLength), msg.data[start:start + reportLength], abi.encode(signers.length), abi.encodePacked(signers)
        );
        bytes32 topic = EpochReported.selector;
        assembly ("memory-safe") {
            log2(add(data, 0x20), mload(data), topic, e)
        }
    }

    function _checkMember(uint32 nodeId, uint64 e) private view {
        Node storage n = _node(nodeId);
        if (msg.sender != n.owner && msg.sender != n.signer) revert NodeRegistryNotNodeOperator(nodeId, msg.sender);
        if (!_inCommittee(nodeId, e)) revert NodeRegistryNotCommitteeMember(nodeId);
    }

    /// @dev Recovers each signer (sorted, so each counts once), checks it is on epoch `e`'s
    /// committee, and requires more than 2/3 of the committee.
    function _checkSignatures(bytes32 digest, bytes[] calldata signatures, uint64 e) private view returns (uint32[] memory ids) {
        uint256 required = (_committee.length * 2) / 3 + 1;
        if (signatures.length < required) revert NodeRegistryNotEnoughSignatures(signatures.length, required);
        ids = new uint32[](signatures.length);
        address last;
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= last) revert NodeRegistryUnsortedSignatures(signer);
            last = signer;
            uint32 id = nodeIdOfSigner[signer];
            if (id == 0 || !_inCommittee(id, e)) revert NodeRegistryNotCommitteeSigner(signer);
            ids[i] = id;
        }
    }

    /// @dev The epoch change. Bounded: at most {MAX_ACTIVE} + {MAX_PENDING} candidates are read
    /// and ranked in O(n log n), the committee's beacons are checked, the committee is drawn in
    /// O(committeeSize × MAX_ACTIVE), and at most {MAX_ACTIVE} nodes are written.
    function _changeEpoch(uint64 e) private {
        uint64 next = e + 1;
        uint256 minStake = minimumStake;
        uint32[] memory ending = _committee;
        (bytes32 mix, bool complete) = _settleBeacon(e, next, ending);
        bool bootstrap = _activeSet.length == 0;
        bytes32 seed;
        uint32[] memory members;
        // The committee of `next` is drawn from this epoch's active set and the weights frozen at
        // its selection, before any secret of this epoch's beacon was committed: nothing done once
        // the seed can be known (register, stake, unstake, rejoin) changes who is drawn. Members no
        // longer eligible now (jailed, slashed or unstaked below the minimum: only their own doing
        // or the report's) leave their seat empty rather than pass it on.
        if (!bootstrap) (members, seed) = _drawCommittee(e, mix, complete, complete ? _activeSet : ending, next, minStake);

        (uint32[] memory active, uint32[] memory weights) = Selection.selectActiveSet(_nodes, _activeSet, _pending, _committeeBits[next], next, minStake);
        _activeSet = active;
        _activeWeights = weights;
        emit ActiveSetSelected(next, active, weights);
        // The first committee (no active set before) comes from the first active set.
        if (bootstrap) (members, seed) = _drawCommittee(e, mix, true, _activeSet, next, minStake);
        _committee = members;
        emit CommitteeSelected(next, members, seed);

        delete _pending;
        epoch = next;
        epochStart = SafeCast.toUint64(block.timestamp);
        emit EpochStarted(next, epochStart, epochDuration);
    }

    /// @dev Slashes the members of epoch `e`'s committee that committed and did not reveal and jails
    /// them, jails those that did not commit. `complete`: every committed secret was revealed.
    function _settleBeacon(uint64 e, uint64 next, uint32[] memory members) private returns (bytes32 mix, bool complete) {
        uint256 amount = slashAmount;
        mix = beaconMix[e];
        complete = true;
        for (uint256 i = 0; i < members.length; ++i) {
            uint32 id = members[i];
            Beacon storage b = beacons[e][id];
            Node storage n = _nodes[id];
            if (b.commitment == bytes32(0)) {
                emit BeaconMissed(e, id);
                if (n.status == Status.Active) _setStatus(id, n, Status.Jailed, next);
            } else if (!b.revealed) {
                complete = false;
                _slash(id, n, amount, e);
                if (n.status == Status.Active) _setStatus(id, n, Status.Jailed, next);
            }
        }
    }

    /// @dev The committee of `next` from `source`. Every committed secret revealed: `source` is
    /// `_activeSet`, drawn by `_activeWeights` (all of it when it fits). A reveal withheld: `source`
    /// is `e`'s committee and there is no draw, its members keep their seats (seed zero), less the
    /// withholders, who were jailed. So a withholder never
    /// gets a second draw (a fixed fallback seed would be known before the pool is frozen, and the
    /// pool could be tuned against it offline): it only chooses between the honest draw and the
    /// committee it already sits on, less its own seat. Keeps the members still Active with the
    /// minimum stake and marks them.
    function _drawCommittee(uint64 e, bytes32 mix, bool complete, uint32[] memory source, uint64 next, uint256 minStake) private returns (uint32[] memory members, bytes32 seed) {
        members = source;
        if (complete && members.length > committeeSize) {
            uint32[] memory w = _activeWeights;
            uint256[] memory weights = new uint256[](w.length);
            for (uint256 i = 0; i < w.length; ++i) weights[i] = w[i];
            seed = keccak256(abi.encode(e, mix));
            members = Selection.draw(members, weights, committeeSize, seed);
        }
        mapping(uint256 => uint256) storage bits = _committeeBits[next];
        uint256 count;
        for (uint256 i = 0; i < members.length; ++i) {
            uint32 id = members[i];
            Node storage n = _nodes[id];
            if (n.status != Status.Active || n.stake < minStake) continue;
            members[count++] = id;
            bits[id >> 8] |= uint256(1) << (id & 255);
        }
        assembly ("memory-safe") {
            mstore(members, count)
        }
    }
}
