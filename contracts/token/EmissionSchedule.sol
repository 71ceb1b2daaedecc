// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title EmissionSchedule: the fixed five-year FLK emission formula
/// @notice The one implementation of the schedule, used by {Emission} to mint and by the staking
/// contract to accrue rewards without calling {Emission} on every update (the schedule depends on
/// nothing but the start time, which is immutable, so both always agree).
library EmissionSchedule {
    /// @notice Length of an emission year.
    uint256 internal constant YEAR = 365 days;
    /// @notice Total emission over the whole schedule.
    uint256 internal constant TOTAL_EMISSION = 16_500_000 ether;

    /// @notice FLK minted in emission year `year` (0-based); zero from the sixth year on.
    function yearly(uint256 year) internal pure returns (uint256) {
        if (year == 0) return 5_000_000 ether;
        if (year == 1) return 4_000_000 ether;
        if (year == 2) return 3_000_000 ether;
        if (year == 3) return 2_500_000 ether;
        if (year == 4) return 2_000_000 ether;
        return 0;
    }

    /// @notice Emission due from `start` up to `timestamp`, rounded down (zero before the start).
    function cumulative(uint256 start, uint256 timestamp) internal pure returns (uint256 total) {
        if (timestamp <= start) return 0;
        // No overflow: elapsed is positive, and five years of amounts below 2^83 times seconds below 2^25.
        unchecked {
            uint256 elapsed = timestamp - start;
            uint256 fullYears = elapsed / YEAR;
            if (fullYears >= 5) return TOTAL_EMISSION;
            for (uint256 y = 0; y < fullYears; ++y) total += yearly(y);
            total += (yearly(fullYears) * (elapsed - fullYears * YEAR)) / YEAR;
        }
    }

    /// @notice The stakers' half of {cumulative} (rounded down; the node operators' half gets the odd wei).
    function stakingHalf(uint256 start, uint256 timestamp) internal pure returns (uint256) {
        return cumulative(start, timestamp) / 2;
    }
}
