// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title NodeStaking: node records and the stake rules of docs/spec.md §5
/// @notice An operator registers a node (ed25519 key, consensus signer, endpoints, and proofs that
/// it holds both keys) with at least {minimumStake} FLK; it may add stake, lock stake for up to {MAX_LOCK_EPOCHS} epochs (reward boost),
/// unstake (withdrawable {UNSTAKE_DELAY_EPOCHS} epochs later) and withdraw. Status changes other than
/// joining happen only at epoch changes (see NodeRegistry), so the active set and the committee
/// never change under an epoch.
/// @dev Abstract: NodeRegistry adds epochs, the committee and reports, and supplies {currentEpoch}.
abstract contract NodeStaking is Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Lifecycle of a node. Pending: waiting for the next epoch change to enter the active set.
    /// Active: in the active set. Jailed: dropped for low uptime or slashed below the minimum.
    /// Exited: stake below the minimum, or outbid for one of the {MAX_ACTIVE} places.
    enum Status {
        None,
        Pending,
        Active,
        Jailed,
        Exited
    }

    /// @notice Network ports of a node (see docs/registry.md for what listens on each).
    struct Ports {
        uint16 primary;
        uint16 worker;
        uint16 mempool;
        uint16 rpc;
        uint16 pool;
        uint16 gateway;
    }

    /// @notice Where peers and clients reach a node.
    struct Endpoints {
        string host;
        Ports ports;
    }

    /// @dev Slot 0 holds everything the epoch change reads per candidate (owner, stake, status).
    /// uint88 holds any FLK amount: the supply is capped at 116.5M FLK < 2^88 wei, and every stake
    /// is backed by FLK this contract received.
    struct Node {
        address owner;
        uint88 stake;
        Status status;
        address signer;
        uint64 lockedUntil;
        uint88 unstaking;
        uint64 unstakeReadyAt;
        bytes32 nodeKey;
        Endpoints endpoints;
        bytes32[2] keyProof;
    }

    /// @notice A node as the views return it. `keyProof` is the ed25519 signature (R, S) of
    /// {keyProofDigest} by `nodeKey`: the chain cannot check it (no ed25519 precompile on Base),
    /// so nodes and the indexer do, and ignore a node whose proof is invalid.
    struct NodeView {
        uint32 id;
        address owner;
        bytes32 nodeKey;
        address signer;
        Status status;
        uint256 stake;
        uint64 lockedUntil;
        uint256 unstaking;
        uint64 unstakeReadyAt;
        Endpoints endpoints;
        bytes32[2] keyProof;
    }

    /// @notice Longest stake lock, in epochs (4 years of daily epochs); gives the maximum boost.
    uint64 public constant MAX_LOCK_EPOCHS = 1460;
    /// @notice Epochs between {unstake} and {withdraw}.
    uint64 public constant UNSTAKE_DELAY_EPOCHS = 5;
    /// @notice Size cap of the active set (the top nodes by stake).
    uint256 public constant MAX_ACTIVE = 100;
    /// @notice Size cap of the queue of nodes waiting to join at the next epoch change. When full, a
    /// node with more stake than the weakest queued node takes its place (that node exits).
    uint256 public constant MAX_PENDING = 100;
    /// @notice Hard cap of {minimumStake}: governance cannot price operators out beyond it.
    uint256 public constant MAX_MINIMUM_STAKE = 1_000_000 ether;
    /// @notice Longest accepted host name (DNS limit).
    uint256 public constant MAX_HOST_LENGTH = 253;

    /// @notice The staked token (FLK).
    IERC20 public immutable flk;
    /// @notice Minimum stake of an active node (governance parameter; default 1,000 FLK).
    uint256 public minimumStake;
    /// @notice Number of nodes ever registered; ids run from 1 to this.
    uint32 public nodeCount;

    mapping(uint32 id => Node) internal _nodes;
    /// @notice Node id of each ed25519 node key (0: none).
    mapping(bytes32 nodeKey => uint32) public nodeIdOfKey;
    /// @notice Node id of each consensus signer (0: none).
    mapping(address signer => uint32) public nodeIdOfSigner;
    /// @dev Nodes registered or rejoined since the last epoch change, in order.
    uint32[] internal _pending;
    /// @dev Committee membership per epoch as bitmaps over node ids: a committee of dense ids
    /// costs one fresh word per epoch instead of one write per member.
    mapping(uint64 epoch => mapping(uint256 word => uint256 bits)) internal _committeeBits;

    /// @notice A node was registered; `keyProof` is the node key's ed25519 signature of {keyProofDigest}.
    event NodeRegistered(uint32 indexed nodeId, address indexed owner, bytes32 nodeKey, address signer, Endpoints endpoints, uint256 stake, bytes32[2] keyProof);
    /// @notice A node's endpoints changed.
    event EndpointsUpdated(uint32 indexed nodeId, Endpoints endpoints);
    /// @notice A node's status changed; `epoch` is the epoch from which it holds.
    event NodeStatusChanged(uint32 indexed nodeId, Status status, uint64 epoch);
    /// @notice Stake was added to a node.
    event StakeAdded(uint32 indexed nodeId, uint256 amount, uint256 stake);
    /// @notice A node's stake is locked until epoch `lockedUntil` (exclusive).
    event StakeLocked(uint32 indexed nodeId, uint64 lockedUntil);
    /// @notice Stake moved to unstaking; withdrawable from epoch `readyAt`.
    event Unstaked(uint32 indexed nodeId, uint256 amount, uint256 stake, uint64 readyAt);
    /// @notice Unstaked FLK was paid to the owner.
    event Withdrawn(uint32 indexed nodeId, address indexed owner, uint256 amount);
    /// @notice A node was slashed; the FLK was burned.
    event Slashed(uint32 indexed nodeId, uint64 indexed epoch, uint256 amount);
    /// @notice The minimum stake changed.
    event MinimumStakeSet(uint256 minimumStake);

    /// @notice The node key is zero.
    error NodeRegistryBadNodeKey();
    /// @notice The consensus signer is the zero address.
    error NodeRegistryBadSigner();
    /// @notice The node key is registered already.
    error NodeRegistryDuplicateNodeKey(bytes32 nodeKey, uint32 nodeId);
    /// @notice The signer belongs to another node already.
    error NodeRegistryDuplicateSigner(address signer, uint32 nodeId);
    /// @notice Host empty or longer than {MAX_HOST_LENGTH}, or a port is zero.
    error NodeRegistryBadEndpoints();
    /// @notice The stake would be below the minimum.
    error NodeRegistryUnderStaked(uint256 stake, uint256 minimum);
    /// @notice No node with this id.
    error NodeRegistryUnknownNode(uint32 nodeId);
    /// @notice The caller is not the node's owner.
    error NodeRegistryNotOwner(uint32 nodeId, address caller);
    /// @notice A zero amount.
    error NodeRegistryZeroAmount();
    /// @notice The lock would run past {MAX_LOCK_EPOCHS} from now, or adds nothing.
    error NodeRegistryBadLock(uint64 lockedUntil, uint64 maxLockedUntil);
    /// @notice Locked stake cannot be unstaked before epoch `lockedUntil`.
    error NodeRegistryStakeLocked(uint64 lockedUntil);
    /// @notice More than the node's stake.
    error NodeRegistryInsufficientStake(uint256 amount, uint256 stake);
    /// @notice A member of the current committee cannot go below the minimum before the epoch
    /// changes, nor any active node once the beacon's commits have closed.
    error NodeRegistryCommitteeMember(uint32 nodeId);
    /// @notice Nothing to withdraw yet (ready at epoch `readyAt`).
    error NodeRegistryNotWithdrawable(uint64 readyAt);
    /// @notice Only jailed or exited nodes may rejoin.
    error NodeRegistryCannotRejoin(Status status);
    /// @notice The join queue holds {MAX_PENDING} nodes, none with less stake than `weakest`.
    error NodeRegistryQueueFull(uint256 weakest);
    /// @notice The signer's signature of {keyProofDigest} is missing or by another key.
    error NodeRegistryBadSignerProof(address signer);
    /// @notice A parameter outside its bounds.
    error NodeRegistryBadParameter();

    /// @param flk_ the staked token
    /// @param owner_ owner of the parameters (the timelock)
    /// @param minimumStake_ minimum stake of an active node
    constructor(IERC20 flk_, address owner_, uint256 minimumStake_) Ownable(owner_) {
        flk = flk_;
        _setMinimumStake(minimumStake_);
    }

    /// @notice The current epoch (supplied by the epoch logic).
    function currentEpoch() public view virtual returns (uint64);

    /// @dev Whether the beacon's commits have closed: from then on no active node may leave the
    /// draw pool of its own accord (the seed may be known).
    function _drawFrozen() internal view virtual returns (bool);

    /// @notice The digest both of a node's keys sign at registration (proof of possession): EIP-712
    /// `NodeKeyProof(address operator,bytes32 nodeKey,address signer)` under the registry's domain,
    /// so a proof binds the chain, this registry, the registering owner and both keys, and cannot
    /// be replayed by a squatter.
    /// @param operator the registering owner (msg.sender of {register})
    /// @param nodeKey the node's ed25519 public key
    /// @param signer the node's report signer
    function keyProofDigest(address operator, bytes32 nodeKey, address signer) public view virtual returns (bytes32);

    // ------------------------------------------------------------------ operators

    /// @notice Registers a node and stakes `stake` FLK from the caller, who becomes its owner.
    /// The node joins the active set at the next epoch change.
    /// @param nodeKey ed25519 public key of the node (32 bytes, unique, non-zero)
    /// @param signer Ethereum address that signs epoch reports and beacons for the node (unique)
    /// @param endpoints host and ports
    /// @param stake FLK to stake, at least {minimumStake}; approve it first
    /// @param signerProof the signer's ECDSA signature of {keyProofDigest}, checked here
    /// @param keyProof the node key's ed25519 signature of {keyProofDigest}, stored for nodes and
    /// the indexer to check (they ignore a node without a valid one)
    /// @return nodeId the new node's id
    function register(
        bytes32 nodeKey,
        address signer,
        Endpoints calldata endpoints,
        uint256 stake,
        bytes calldata signerProof,
        bytes32[2] calldata keyProof
    ) external nonReentrant returns (uint32 nodeId) {
        if (nodeKey == bytes32(0)) revert NodeRegistryBadNodeKey();
        if (signer == address(0)) revert NodeRegistryBadSigner();
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(keyProofDigest(msg.sender, nodeKey, signer), signerProof);
        if (err != ECDSA.RecoverError.NoError || recovered != signer) revert NodeRegistryBadSignerProof(signer);
        if (nodeIdOfKey[nodeKey] != 0) revert NodeRegistryDuplicateNodeKey(nodeKey, nodeIdOfKey[nodeKey]);
        if (nodeIdOfSigner[signer] != 0) revert NodeRegistryDuplicateSigner(signer, nodeIdOfSigner[signer]);
        _checkEndpoints(endpoints);
        if (stake < minimumStake) revert NodeRegistryUnderStaked(stake, minimumStake);
        nodeId = ++nodeCount;
        Node storage n = _nodes[nodeId];
        n.owner = msg.sender;
        n.stake = SafeCast.toUint88(stake);
        n.signer = signer;
        n.nodeKey = nodeKey;
        n.endpoints = endpoints;
        n.keyProof = keyProof;
        nodeIdOfKey[nodeKey] = nodeId;
        nodeIdOfSigner[signer] = nodeId;
        emit NodeRegistered(nodeId, msg.sender, nodeKey, signer, endpoints, stake, keyProof);
        _enqueue(nodeId, n);
        flk.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @notice Replaces a node's endpoints.
    /// @param nodeId the node
    /// @param endpoints new host and ports
    function updateEndpoints(uint32 nodeId, Endpoints calldata endpoints) external {
        _checkEndpoints(endpoints);
        _ownedNode(nodeId).endpoints = endpoints;
        emit EndpointsUpdated(nodeId, endpoints);
    }

    /// @notice Adds `amount` FLK from the caller to a node's stake. Anyone may top up any node.
    /// @param nodeId the node
    /// @param amount FLK to add; approve it first
    function addStake(uint32 nodeId, uint256 amount) external nonReentrant {
        if (amount == 0) revert NodeRegistryZeroAmount();
        Node storage n = _node(nodeId);
        uint256 stake = n.stake + amount;
        n.stake = SafeCast.toUint88(stake);
        emit StakeAdded(nodeId, amount, stake);
        flk.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Locks the node's stake for `epochs` more epochs (from the current lock end, or from
    /// now if none), for a reward boost of min(4, 1 + 3 × remaining / 1460). Locked stake cannot be
    /// unstaked. The lock may reach at most {MAX_LOCK_EPOCHS} past the current epoch.
    /// @param nodeId the node
    /// @param epochs epochs to add to the lock
    function lockStake(uint32 nodeId, uint64 epochs) external {
        Node storage n = _ownedNode(nodeId);
        uint64 epoch = currentEpoch();
        uint64 from = n.lockedUntil > epoch ? n.lockedUntil : epoch;
        uint64 until = from + epochs;
        if (epochs == 0 || until > epoch + MAX_LOCK_EPOCHS) revert NodeRegistryBadLock(until, epoch + MAX_LOCK_EPOCHS);
        n.lockedUntil = until;
        emit StakeLocked(nodeId, until);
    }

    /// @notice Moves `amount` of the node's stake to unstaking, withdrawable {UNSTAKE_DELAY_EPOCHS}
    /// epochs from now (a later unstake restarts the delay for the whole unstaking amount). A node
    /// left below the minimum exits the active set at the next epoch change; a member of the current
    /// committee may not go below the minimum before that change, nor may any active node once the
    /// beacon's commits have closed (docs/registry.md). Unstaking FLK can still be slashed.
    /// @param nodeId the node
    /// @param amount FLK to unstake
    function unstake(uint32 nodeId, uint256 amount) external {
        Node storage n = _ownedNode(nodeId);
        uint64 epoch = currentEpoch();
        if (amount == 0) revert NodeRegistryZeroAmount();
        if (n.lockedUntil > epoch) revert NodeRegistryStakeLocked(n.lockedUntil);
        if (amount > n.stake) revert NodeRegistryInsufficientStake(amount, n.stake);
        uint256 stake = n.stake - amount;
        if (stake < minimumStake && (_inCommittee(nodeId, epoch) || (n.status == Status.Active && _drawFrozen()))) {
            revert NodeRegistryCommitteeMember(nodeId);
        }
        n.stake = SafeCast.toUint88(stake);
        n.unstaking += SafeCast.toUint88(amount);
        uint64 readyAt = epoch + UNSTAKE_DELAY_EPOCHS;
        n.unstakeReadyAt = readyAt;
        emit Unstaked(nodeId, amount, stake, readyAt);
    }

    /// @notice Pays the node's unstaked FLK to its owner once the delay has passed.
    /// @param nodeId the node
    function withdraw(uint32 nodeId) external nonReentrant {
        Node storage n = _ownedNode(nodeId);
        uint256 amount = n.unstaking;
        if (amount == 0 || n.unstakeReadyAt > currentEpoch()) revert NodeRegistryNotWithdrawable(n.unstakeReadyAt);
        n.unstaking = 0;
        emit Withdrawn(nodeId, msg.sender, amount);
        flk.safeTransfer(msg.sender, amount);
    }

    /// @notice Puts a jailed or exited node with enough stake back in the queue for the next epoch change.
    /// @param nodeId the node
    function rejoin(uint32 nodeId) external {
        Node storage n = _ownedNode(nodeId);
        if (n.status != Status.Jailed && n.status != Status.Exited) revert NodeRegistryCannotRejoin(n.status);
        if (n.stake < minimumStake) revert NodeRegistryUnderStaked(n.stake, minimumStake);
        _enqueue(nodeId, n);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Sets the minimum stake of an active node (owner: the timelock); applies from the next epoch change.
    /// @param minimumStake_ FLK, non-zero and at most {MAX_MINIMUM_STAKE}
    function setMinimumStake(uint256 minimumStake_) external onlyOwner {
        _setMinimumStake(minimumStake_);
    }

    // ------------------------------------------------------------------ views

    /// @notice One node with its keys, stake, status and endpoints.
    /// @param nodeId the node
    function getNode(uint32 nodeId) public view returns (NodeView memory v) {
        Node storage n = _node(nodeId);
        v = NodeView(nodeId, n.owner, n.nodeKey, n.signer, n.status, n.stake, n.lockedUntil, n.unstaking, n.unstakeReadyAt, n.endpoints, n.keyProof);
    }

    /// @notice Several nodes at once.
    /// @param ids node ids
    function getNodes(uint32[] memory ids) public view returns (NodeView[] memory views) {
        views = new NodeView[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) views[i] = getNode(ids[i]);
    }

    /// @notice Ids of the nodes queued to join at the next epoch change.
    function pendingNodes() external view returns (uint32[] memory) {
        return _pending;
    }

    // ------------------------------------------------------------------ internals

    function _node(uint32 nodeId) internal view returns (Node storage n) {
        n = _nodes[nodeId];
        if (n.owner == address(0)) revert NodeRegistryUnknownNode(nodeId);
    }

    function _ownedNode(uint32 nodeId) internal view returns (Node storage n) {
        n = _node(nodeId);
        if (n.owner != msg.sender) revert NodeRegistryNotOwner(nodeId, msg.sender);
    }

    function _inCommittee(uint32 nodeId, uint64 epoch) internal view returns (bool) {
        return (_committeeBits[epoch][nodeId >> 8] >> (nodeId & 255)) & 1 == 1;
    }

    /// @dev Queues the node. A full queue evicts its weakest node (least stake; of equals, the
    /// latest queued) if `n` has more stake; the evicted node exits and may rejoin with more stake.
    /// So whatever fills the queue, a node with more stake than its weakest gets in (docs/registry.md).
    function _enqueue(uint32 nodeId, Node storage n) private {
        uint64 epoch = currentEpoch();
        uint256 len = _pending.length;
        if (len < MAX_PENDING) {
            _pending.push(nodeId);
        } else {
            uint256 weakestAt;
            uint256 weakest = type(uint256).max;
            for (uint256 i = 0; i < len; ++i) {
                uint256 stake = _nodes[_pending[i]].stake;
                if (stake <= weakest) (weakest, weakestAt) = (stake, i);
            }
            if (n.stake <= weakest) revert NodeRegistryQueueFull(weakest);
            uint32 evicted = _pending[weakestAt];
            _setStatus(evicted, _nodes[evicted], Status.Exited, epoch);
            _pending[weakestAt] = nodeId;
        }
        _setStatus(nodeId, n, Status.Pending, epoch);
    }

    function _setStatus(uint32 nodeId, Node storage n, Status status, uint64 epoch) internal {
        n.status = status;
        emit NodeStatusChanged(nodeId, status, epoch);
    }

    /// @dev Burns up to `amount` from the node's stake, then from its unstaking FLK.
    function _slash(uint32 nodeId, Node storage n, uint256 amount, uint64 epoch) internal returns (uint256 slashed) {
        uint256 stake = n.stake;
        uint256 fromStake = amount < stake ? amount : stake;
        uint256 fromUnstaking = amount - fromStake;
        if (fromUnstaking > n.unstaking) fromUnstaking = n.unstaking;
        n.stake = SafeCast.toUint88(stake - fromStake);
        n.unstaking -= SafeCast.toUint88(fromUnstaking);
        slashed = fromStake + fromUnstaking;
        emit Slashed(nodeId, epoch, slashed);
        // FLK is burnable by holders: slashed stake leaves the supply for good.
        if (slashed != 0) IBurnable(address(flk)).burn(slashed);
    }

    function _checkEndpoints(Endpoints calldata e) private pure {
        uint256 len = bytes(e.host).length;
        Ports calldata p = e.ports;
        if (len == 0 || len > MAX_HOST_LENGTH || p.primary == 0 || p.worker == 0 || p.mempool == 0 || p.rpc == 0 || p.pool == 0 || p.gateway == 0) {
            revert NodeRegistryBadEndpoints();
        }
    }

    function _setMinimumStake(uint256 minimumStake_) private {
        if (minimumStake_ == 0 || minimumStake_ > MAX_MINIMUM_STAKE) revert NodeRegistryBadParameter();
        minimumStake = minimumStake_;
        emit MinimumStakeSet(minimumStake_);
    }
}

/// @dev FLK's holder burn (ERC20Burnable).
interface IBurnable {
    /// @notice Burns `amount` of the caller's tokens.
    function burn(uint256 amount) external;
}
