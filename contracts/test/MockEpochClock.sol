// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The registry's epoch counter for tests of contracts that only read it: anyone sets it.
contract MockEpochClock {
    /// @notice The current epoch.
    uint64 public epoch;

    /// @notice Sets the current epoch.
    /// @param epoch_ the new epoch
    function setEpoch(uint64 epoch_) external {
        epoch = epoch_;
    }
}
