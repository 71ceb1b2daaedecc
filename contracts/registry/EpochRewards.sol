// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IEpochRewards} from "./EpochReportTypes.sol";

/// @dev Emission's permissionless mint (pays the node half to this contract).
interface IEmission {
    /// @notice Mints the emission due to both recipients.
    function mint() external returns (uint256);
}

/// @title EpochRewards: the node operators' FLK and USDC, claimed per epoch with Merkle proofs
/// @notice Receives the node half of FLK emission (it is Emission's `nodeRecipient`) and the nodes'
/// share of USDC service payments (from the escrow). When the registry accepts an epoch report,
/// {settle} fixes that epoch's pools: all FLK and USDC not owed to earlier epochs. Each leaf of the
/// report's rewards tree is `(account, flkWeight, usdcWeight)` (OpenZeppelin StandardMerkleTree,
/// types `address, uint256, uint256`); an account claims `pool × weight / totalWeight` of each.
/// A pool whose total weight is zero stays unowed and rolls over to the next epoch.
contract EpochRewards is IEpochRewards, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice One epoch's settlement.
    struct EpochPools {
        bytes32 root;
        uint128 flkPool;
        uint128 usdcPool;
        uint128 totalFlkWeight;
        uint128 totalUsdcWeight;
        uint128 flkPaid;
        uint128 usdcPaid;
    }

    /// @notice One claim of {claimMany}.
    struct Claim {
        uint64 epoch;
        address account;
        uint256 flkWeight;
        uint256 usdcWeight;
        bytes32[] proof;
    }

    /// @notice The reward token (FLK).
    IERC20 public immutable flk;
    /// @notice The service-payment token (USDC).
    IERC20 public immutable usdc;
    /// @notice The registry: the only caller of {settle}.
    address public immutable registry;
    /// @notice Emission, minted before each settlement so the pool holds everything due.
    IEmission public immutable emission;

    /// @notice FLK owed to settled epochs and not yet claimed.
    uint256 public flkOwed;
    /// @notice USDC owed to settled epochs and not yet claimed.
    uint256 public usdcOwed;
    /// @notice Settlement of each epoch.
    mapping(uint64 epoch => EpochPools) public pools;
    /// @notice Whether an account has claimed an epoch.
    mapping(uint64 epoch => mapping(address account => bool)) public claimed;

    /// @notice An epoch's pools were fixed.
    event EpochSettled(uint64 indexed epoch, bytes32 root, uint256 flkPool, uint256 usdcPool, uint256 totalFlkWeight, uint256 totalUsdcWeight);
    /// @notice An account claimed an epoch.
    event Claimed(uint64 indexed epoch, address indexed account, uint256 flk, uint256 usdc);

    /// @notice Only the registry settles epochs.
    error RewardsUnauthorized(address caller);
    /// @notice The account has claimed this epoch already.
    error RewardsAlreadyClaimed(uint64 epoch, address account);
    /// @notice The proof does not match the epoch's rewards root (or the epoch is unsettled).
    error RewardsInvalidProof(uint64 epoch, address account);
    /// @notice The leaves claimed so far exceed the epoch's pool: the report's totals were wrong.
    error RewardsPoolExceeded(uint64 epoch);

    /// @param flk_ FLK
    /// @param usdc_ USDC (6 decimals)
    /// @param registry_ the node registry
    /// @param emission_ FLK emission (this contract must be its node recipient)
    constructor(IERC20 flk_, IERC20 usdc_, address registry_, IEmission emission_) {
        flk = flk_;
        usdc = usdc_;
        registry = registry_;
        emission = emission_;
    }

    /// @notice Fixes `epoch`'s pools from everything not owed yet (the registry calls it when it
    /// accepts the epoch's report, after the escrow has paid in the epoch's USDC).
    /// @param epoch the reported epoch
    /// @param root the rewards Merkle root (zero: both pools roll over)
    /// @param totalFlkWeight sum of the leaves' FLK weights (zero: the FLK rolls over)
    /// @param totalUsdcWeight sum of the leaves' USDC weights (zero: the USDC rolls over)
    function settle(uint64 epoch, bytes32 root, uint256 totalFlkWeight, uint256 totalUsdcWeight) external nonReentrant {
        // The registry settles each epoch once, as it moves past it.
        if (msg.sender != registry) revert RewardsUnauthorized(msg.sender);
        // Without a root nothing can be claimed: keep the pools unfixed so they roll over.
        if (root == bytes32(0)) (totalFlkWeight, totalUsdcWeight) = (0, 0);
        // Emission may not point here (or not be configured yet): reports must not depend on it.
        try emission.mint() {} catch {}
        uint256 flkPool = totalFlkWeight == 0 ? 0 : flk.balanceOf(address(this)) - flkOwed;
        uint256 usdcPool = totalUsdcWeight == 0 ? 0 : usdc.balanceOf(address(this)) - usdcOwed;
        flkOwed += flkPool;
        usdcOwed += usdcPool;
        // Weights above 2^128 would make a report revert here (SafeCast): far beyond any real epoch.
        pools[epoch] = EpochPools(root, flkPool.toUint128(), usdcPool.toUint128(), totalFlkWeight.toUint128(), totalUsdcWeight.toUint128(), 0, 0);
        emit EpochSettled(epoch, root, flkPool, usdcPool, totalFlkWeight, totalUsdcWeight);
    }

    /// @notice Pays `account` its share of `epoch`'s pools. Anyone may submit the proof; the
    /// tokens always go to `account`.
    /// @param epoch the epoch
    /// @param account the leaf's account
    /// @param flkWeight the leaf's FLK weight
    /// @param usdcWeight the leaf's USDC weight
    /// @param proof Merkle proof of the leaf against the epoch's rewards root
    /// @return flkAmount FLK paid
    /// @return usdcAmount USDC paid
    function claim(uint64 epoch, address account, uint256 flkWeight, uint256 usdcWeight, bytes32[] calldata proof)
        public
        nonReentrant
        returns (uint256 flkAmount, uint256 usdcAmount)
    {
        (flkAmount, usdcAmount) = _claim(epoch, account, flkWeight, usdcWeight, proof);
    }

    /// @notice Several claims (several epochs, or several accounts) in one transaction.
    /// @param claims the claims
    /// @return flkTotal FLK paid in all
    /// @return usdcTotal USDC paid in all
    function claimMany(Claim[] calldata claims) external nonReentrant returns (uint256 flkTotal, uint256 usdcTotal) {
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            (uint256 f, uint256 u) = _claim(c.epoch, c.account, c.flkWeight, c.usdcWeight, c.proof);
            flkTotal += f;
            usdcTotal += u;
        }
    }

    /// @notice What a leaf is worth: `pool × weight / totalWeight` of each token, rounded down.
    /// @param epoch the epoch
    /// @param flkWeight the leaf's FLK weight
    /// @param usdcWeight the leaf's USDC weight
    function claimable(uint64 epoch, uint256 flkWeight, uint256 usdcWeight) public view returns (uint256 flkAmount, uint256 usdcAmount) {
        EpochPools storage p = pools[epoch];
        if (p.totalFlkWeight != 0) flkAmount = (uint256(p.flkPool) * flkWeight) / p.totalFlkWeight;
        if (p.totalUsdcWeight != 0) usdcAmount = (uint256(p.usdcPool) * usdcWeight) / p.totalUsdcWeight;
    }

    function _claim(uint64 epoch, address account, uint256 flkWeight, uint256 usdcWeight, bytes32[] calldata proof)
        private
        returns (uint256 flkAmount, uint256 usdcAmount)
    {
        if (claimed[epoch][account]) revert RewardsAlreadyClaimed(epoch, account);
        EpochPools storage p = pools[epoch];
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, flkWeight, usdcWeight))));
        if (p.root == bytes32(0) || !MerkleProof.verifyCalldata(proof, p.root, leaf)) revert RewardsInvalidProof(epoch, account);
        (flkAmount, usdcAmount) = claimable(epoch, flkWeight, usdcWeight);
        // A report whose leaves outweigh its totals cannot drain other epochs' funds.
        if (p.flkPaid + flkAmount > p.flkPool || p.usdcPaid + usdcAmount > p.usdcPool) revert RewardsPoolExceeded(epoch);
        claimed[epoch][account] = true;
        // At most the pools (checked above), which fit 128 bits.
        p.flkPaid += uint128(flkAmount);
        p.usdcPaid += uint128(usdcAmount);
        flkOwed -= flkAmount;
        usdcOwed -= usdcAmount;
        emit Claimed(epoch, account, flkAmount, usdcAmount);
        if (flkAmount != 0) flk.safeTransfer(account, flkAmount);
        if (usdcAmount != 0) usdc.safeTransfer(account, usdcAmount);
    }
}
