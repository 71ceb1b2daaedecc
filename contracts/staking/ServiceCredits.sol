// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title ServiceCredits: the on-chain parameters of stakers' monthly service credits
/// @notice Credits are derived off-chain (by the indexer) from the on-chain stake history: credits
/// for a calendar month (UTC) = time-weighted average stake over the month × {creditsPerFlkMonth}
/// / 1e18. Tiers by stake unlock advanced features: an account is in tier `n` when its stake reaches
/// the `n`-th threshold (tier 0 below the first). Both are governance parameters (owner: the timelock).
contract ServiceCredits is Ownable {
    /// @notice Most tiers a schedule may have.
    uint256 public constant MAX_TIERS = 16;

    /// @notice Credits earned per staked FLK held for a month, with 18 decimals (1e18 = one credit).
    uint256 public creditsPerFlkMonth;
    uint256[] private _tierThresholds;

    /// @notice The owner changed the credit rate; it applies from the block of this event.
    event CreditRateSet(uint256 previousRate, uint256 newRate);
    /// @notice The owner replaced the tier thresholds (wei of staked FLK, strictly ascending).
    event TierThresholdsSet(uint256[] thresholds);

    /// @notice Thresholds not strictly ascending, starting at zero, or more than {MAX_TIERS}.
    error ServiceCreditsInvalidThresholds();

    /// @param owner_ sets the parameters (the timelock)
    /// @param rate initial {creditsPerFlkMonth}
    /// @param thresholds initial tier thresholds
    constructor(address owner_, uint256 rate, uint256[] memory thresholds) Ownable(owner_) {
        _setCreditRate(rate);
        _setTierThresholds(thresholds);
    }

    /// @notice Sets the credit rate. Only the owner (the timelock).
    /// @param rate credits per FLK-month, 18 decimals
    function setCreditRate(uint256 rate) external onlyOwner {
        _setCreditRate(rate);
    }

    /// @notice Replaces the tier thresholds. Only the owner (the timelock).
    /// @param thresholds wei of staked FLK, strictly ascending, first above zero
    function setTierThresholds(uint256[] calldata thresholds) external onlyOwner {
        _setTierThresholds(thresholds);
    }

    /// @notice The tier thresholds, ascending.
    function tierThresholds() external view returns (uint256[] memory) {
        return _tierThresholds;
    }

    /// @notice The tier of a stake: how many thresholds it reaches.
    /// @param stakeAmount wei of staked FLK
    function tierOf(uint256 stakeAmount) external view returns (uint256 tier) {
        uint256 n = _tierThresholds.length;
        while (tier < n && stakeAmount >= _tierThresholds[tier]) ++tier;
    }

    function _setCreditRate(uint256 rate) private {
        emit CreditRateSet(creditsPerFlkMonth, rate);
        creditsPerFlkMonth = rate;
    }

    function _setTierThresholds(uint256[] memory thresholds) private {
        if (thresholds.length > MAX_TIERS) revert ServiceCreditsInvalidThresholds();
        uint256 previous = 0;
        for (uint256 i = 0; i < thresholds.length; ++i) {
            if (thresholds[i] <= previous) revert ServiceCreditsInvalidThresholds();
            previous = thresholds[i];
        }
        _tierThresholds = thresholds;
        emit TierThresholdsSet(thresholds);
    }
}
